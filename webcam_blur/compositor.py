"""Blend a frame with a blurred copy of itself through a person mask."""

from __future__ import annotations

import cv2
import numpy as np

from .frames import as_bgr


def blur_sigma(strength: float, height: int, width: int) -> float:
    """Blur strength 0..100 as a Gaussian sigma in pixels; relative to the frame so 480p and 4K look alike."""
    return strength / 100.0 * 0.04 * min(height, width)


def blur(frame: np.ndarray, strength: float) -> np.ndarray:
    """Gaussian blur computed at reduced resolution: the same look at a fraction of the cost."""
    height, width = frame.shape[:2]
    sigma = blur_sigma(strength, height, width)
    if sigma < 0.5:
        return frame.copy()
    factor = max(1.0, sigma / 3.0)
    small_size = (max(1, round(width / factor)), max(1, round(height / factor)))
    small = cv2.resize(frame, small_size, interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / factor, borderType=cv2.BORDER_REFLECT)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


class Compositor:
    """Keeps the person sharp and blurs the rest; edges are feathered so the cut does not show."""

    def __init__(self, blur: float = 60.0, feather: float = 0.004) -> None:
        if not 0 <= blur <= 100:
            raise ValueError(f"blur must be between 0 and 100, not {blur}")
        self.blur = float(blur)
        self.feather = feather

    def alpha(self, mask: np.ndarray) -> np.ndarray:
        """Person weight 0..1 from a 0/255 mask, feathered over a few pixels."""
        sigma = self.feather * min(mask.shape[:2])
        if sigma >= 0.5:
            mask = cv2.GaussianBlur(mask, (0, 0), sigma)
        return mask.astype(np.float32) * (1.0 / 255.0)

    def compose(self, frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
        frame = as_bgr(frame)
        if mask.shape != frame.shape[:2]:
            raise ValueError(f"mask {mask.shape} does not match frame {frame.shape[:2]}")
        if self.blur == 0:
            return frame.copy()
        background = blur(frame, self.blur)
        alpha = self.alpha(mask)
        return cv2.blendLinear(frame, background, alpha, 1.0 - alpha)
