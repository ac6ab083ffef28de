"""Blend a frame with a blurred copy of itself through a person mask."""

from __future__ import annotations

import cv2
import numpy as np

from .frames import as_bgr


def blur_sigma(strength: float, height: int, width: int) -> float:
    """Blur strength 0..100 as a Gaussian sigma in pixels; relative to the frame so 480p and 4K look alike."""
    return strength / 100.0 * 0.04 * min(height, width)


def blur(frame: np.ndarray, strength: float) -> np.ndarray:
    """Gaussian blur computed at reduced resolution: the same look at a fraction of the cost.

    Halving with ``pyrDown`` (a proper low-pass, so no aliasing shimmer) until the remaining sigma
    is ~2 px, blurring there and scaling back up costs ~1.5 ms at 720p instead of ~8 ms.
    """
    height, width = frame.shape[:2]
    sigma = blur_sigma(strength, height, width)
    if sigma < 0.5:
        return frame.copy()
    small = frame
    while sigma >= 4.0 and min(small.shape[:2]) >= 8:
        small = cv2.pyrDown(small)
        sigma /= 2.0
    small = cv2.GaussianBlur(small, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    if small.shape[:2] == frame.shape[:2]:
        return small
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)


class Compositor:
    """Keeps the person sharp and blurs the rest; edges are feathered so the cut does not show.

    All per-frame work is 8-bit OpenCV arithmetic on reused buffers: float temporaries of a
    720p frame cost more than the blur itself.
    """

    def __init__(self, blur: float = 60.0, feather: float = 0.004) -> None:
        if not 0 <= blur <= 100:
            raise ValueError(f"blur must be between 0 and 100, not {blur}")
        self.blur = float(blur)
        self.feather = feather
        self._buffers: dict[tuple, np.ndarray] = {}

    def _buffer(self, name: str, shape: tuple) -> np.ndarray:
        key = (name, shape)
        if key not in self._buffers:
            self._buffers[key] = np.empty(shape, np.uint8)
        return self._buffers[key]

    def alpha(self, mask: np.ndarray) -> np.ndarray:
        """Person weight 0..255 per BGR channel from a 0/255 mask, feathered by an area-down/linear-up resample."""
        height, width = mask.shape[:2]
        factor = round(self.feather * min(height, width))  # integral: OpenCV's fast area path
        if factor >= 2:
            mask = cv2.resize(mask, (max(1, width // factor), max(1, height // factor)), interpolation=cv2.INTER_AREA)
        alpha3 = cv2.cvtColor(mask, cv2.COLOR_GRAY2BGR)
        if factor < 2:
            return alpha3
        return cv2.resize(alpha3, (width, height), dst=self._buffer("alpha3", (height, width, 3)), interpolation=cv2.INTER_LINEAR)

    def compose(self, frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
        frame = as_bgr(frame)
        if mask.shape != frame.shape[:2]:
            raise ValueError(f"mask {mask.shape} does not match frame {frame.shape[:2]}")
        if self.blur == 0:
            return frame.copy()
        background = blur(frame, self.blur)  # a fresh array: the result is built in it
        alpha3 = self.alpha(mask)
        person = cv2.multiply(frame, alpha3, dst=self._buffer("person", frame.shape), scale=1 / 255)
        cv2.bitwise_not(alpha3, dst=alpha3)
        cv2.multiply(background, alpha3, dst=background, scale=1 / 255)
        return cv2.add(person, background, dst=background)
