"""Segmentation networks: what each one is (registry), how it is built, loaded and run, and its masks."""
