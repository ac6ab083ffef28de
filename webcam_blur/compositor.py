"""Blend a frame with a blurred copy of itself through a person mask."""

from __future__ import annotations

import cv2
import numpy as np

from .frames import as_bgr


def blur_sigma(strength: float, height: int, width: int) -> float:
    """Blur strength 0..100 as a Gaussian sigma in pixels; relative to the frame so 480p and 4K look alike."""
    return strength / 100.0 * 0.04 * min(height, width)


EFFECTS = ("blur", "bokeh", "replace")
_GROW = np.ones((3, 3), np.uint8)


def _levels(sigma: float, height: int, width: int) -> int:
    """How many times to halve so the remaining blur is ~2-4 px: the same look at a fraction of the cost."""
    levels = 0
    while sigma >= 4.0 and min(height, width) >= 16:
        sigma, height, width, levels = sigma / 2, (height + 1) // 2, (width + 1) // 2, levels + 1
    return levels


def blur(frame: np.ndarray, strength: float, alpha: np.ndarray | None = None, bokeh: bool = False) -> np.ndarray:
    """The frame's background, blurred, as a fresh array of the frame's size.

    Computed at reduced resolution (halved with a low-pass, so no aliasing shimmer: a 2x2 box
    first, at a third of ``pyrDown``'s cost and indistinguishable under a blur this wide, then
    ``pyrDown``). With ``alpha`` (0..255, person = 255) the blur is a normalized convolution of the
    background alone, so the person's colours do not bleed into it as a halo. ``bokeh`` uses a
    disc instead of a Gaussian and lets highlights bloom, like a lens.
    """
    height, width = frame.shape[:2]
    sigma = blur_sigma(strength, height, width)
    if sigma < 0.5:
        return frame.copy()
    small = frame
    levels = _levels(sigma, height, width)
    for level in range(levels):
        if level == 0 and height % 2 == 0 and width % 2 == 0:
            small = cv2.resize(small, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
        else:
            small = cv2.pyrDown(small)
    sigma /= 2**levels
    image = small.astype(np.float32) * (1 / 255)
    if bokeh:
        image = image * image * image  # highlights dominate the disc, as light does in a lens
        radius = max(1, round(1.7 * sigma))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1)).astype(np.float32)
        kernel /= kernel.sum()

        def spread(x):
            return cv2.filter2D(x, -1, kernel, borderType=cv2.BORDER_REFLECT)
    else:

        def spread(x):
            return cv2.GaussianBlur(x, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)

    if alpha is None:
        result = spread(image)
    else:
        # The person, grown by a pixel so that its mixed edge pixels do not count as background.
        person = cv2.dilate(cv2.resize(alpha, (small.shape[1], small.shape[0]), interpolation=cv2.INTER_AREA), _GROW)
        weight = 1.0 - person.astype(np.float32) * (1 / 255)
        plain = spread(image)
        total = spread(weight)
        background = spread(image * weight[..., None]) / np.maximum(total, 1e-3)[..., None]
        # Where no background is near (deep inside the person), fall back to the plain blur.
        trust = np.clip(total * 20.0, 0.0, 1.0)[..., None]
        result = plain + trust * (background - plain)
    if bokeh:
        result = np.cbrt(np.maximum(result, 0.0))
    result = cv2.convertScaleAbs(result, alpha=255.0)
    if result.shape[:2] == (height, width):
        return result
    return cv2.resize(result, (width, height), interpolation=cv2.INTER_LINEAR)


class Compositor:
    """Keeps the person sharp and blurs the rest; edges are feathered so the cut does not show.

    All per-frame work is 8-bit OpenCV arithmetic on reused buffers: float temporaries of a
    720p frame cost more than the blur itself.
    """

    def __init__(self, blur: float = 60.0, effect: str = "blur", background=None, feather: float = 0.004) -> None:
        if not 0 <= blur <= 100:
            raise ValueError(f"blur must be between 0 and 100, not {blur}")
        if effect not in EFFECTS:
            raise ValueError(f"effect must be one of {EFFECTS}, not {effect!r}")
        if effect == "replace" and background is None:
            raise ValueError("effect 'replace' needs a background")
        self.blur = float(blur)
        self.effect = effect
        self.background = background
        self.feather = feather
        self._buffers: dict[tuple, np.ndarray] = {}

    def _buffer(self, name: str, shape: tuple) -> np.ndarray:
        key = (name, shape)
        if key not in self._buffers:
            self._buffers[key] = np.empty(shape, np.uint8)
        return self._buffers[key]

    def alpha(self, mask: np.ndarray) -> np.ndarray:
        """Person weight 0..255, feathered by an area-down/linear-up resample (``feather`` > 0)."""
        height, width = mask.shape[:2]
        factor = round(self.feather * min(height, width))  # integral: OpenCV's fast area path
        if factor < 2:
            return mask
        small = cv2.resize(mask, (max(1, width // factor), max(1, height // factor)), interpolation=cv2.INTER_AREA)
        return cv2.resize(small, (width, height), dst=self._buffer("alpha", (height, width)), interpolation=cv2.INTER_LINEAR)

    def backdrop(self, frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """What shows behind the person: a fresh array of the frame's size."""
        if self.effect == "replace":
            return self.background.frame(frame.shape[1], frame.shape[0])
        return blur(frame, self.blur, mask, bokeh=self.effect == "bokeh")

    def compose(self, frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """``mask``: 0..255 person weight (a 0/255 mask or a soft matte) at the frame's size."""
        frame = as_bgr(frame)
        if mask.shape != frame.shape[:2]:
            raise ValueError(f"mask {mask.shape} does not match frame {frame.shape[:2]}")
        if self.blur == 0 and self.effect != "replace":
            return frame.copy()
        out = self.backdrop(frame, mask)  # a fresh array: the result is built in it
        alpha = self.alpha(mask)
        # Outside the person's bounding box the backdrop shows alone: blend only inside it.
        x, y, w, h = cv2.boundingRect(alpha)
        if w == 0 or h == 0:
            return out
        box = (slice(y, y + h), slice(x, x + w))
        alpha3 = cv2.cvtColor(alpha[box], cv2.COLOR_GRAY2BGR, dst=self._buffer("alpha3", frame.shape)[:h, :w])
        person = cv2.multiply(frame[box], alpha3, dst=self._buffer("person", frame.shape)[:h, :w], scale=1 / 255)
        cv2.bitwise_not(alpha3, dst=alpha3)
        cv2.multiply(out[box], alpha3, dst=out[box], scale=1 / 255)
        cv2.add(person, out[box], dst=out[box])
        return out
