"""webcam-blur: real-time background blur for video calls, with DeepLabv3+."""

__version__ = "0.1.0"
