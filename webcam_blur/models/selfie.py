"""MediaPipe / ML Kit selfie segmentation: the model family of Google Meet and Linux-Fake-Background-Webcam.

Not a Keras model: its published TFLite file runs as it is through LiteRT (float16 weights,
256x256 RGB in 0..1, one person-probability channel out at full input resolution). The frame is
stretched to the square, as MediaPipe's own graph and LFBW feed it. Apache-2.0 (model card:
``selfie-model-card.pdf`` beside the file in ``../shared/models``). NumPy only.
"""

from __future__ import annotations

import numpy as np

from .weights import WeightsSource

SELFIE = WeightsSource(
    "selfiesegmentation_mlkit-256x256-2021_01_19-v1215.f16.tflite",
    "https://raw.githubusercontent.com/floe/backscrub/c003ad7128c3b76bbd2a9078af1c035283b2d315/models/"
    "selfiesegmentation_mlkit-256x256-2021_01_19-v1215.f16.tflite",
    "8d13b7fae74af625c641226813616a2117bd6bca19eb3b75574621fc08557f27",
)
INPUT_SIZE = 256


def preprocess(rgb: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """RGB 0..255 -> 0..1 float32 (into ``out`` if given)."""
    return np.multiply(rgb, np.float32(1 / 255), out=out, dtype=np.float32, casting="unsafe")


def person(output: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The network's (H, W, 1) person probability -> (margin: > 0 where more likely person, probability)."""
    probability = output[..., 0].astype(np.float32, copy=False)
    return probability - 0.5, probability
