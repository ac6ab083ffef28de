"""What shows behind the person: every effect, by name, one class each.

An effect makes the backdrop for one frame (the ``Effect`` protocol in ``compositor.py``); the
compositor blends the person over it through the matte. A class declares its name, its one-line
help, how it is built from the settings and whether it needs ``--background``: adding an effect
is adding a class to ``EFFECTS``.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..resources import Resource
from .background import Background

_GROW = np.ones((3, 3), np.uint8)


def blur_sigma(strength: float, height: int, width: int) -> float:
    """Strength 0..100 as a Gaussian sigma in pixels; relative to the frame so 480p and 4K look alike."""
    return strength / 100.0 * 0.04 * min(height, width)


def _levels(sigma: float, height: int, width: int) -> int:
    """How many times to halve so the remaining blur is ~2-4 px: the same look at a fraction of the cost."""
    levels = 0
    while sigma >= 4.0 and min(height, width) >= 16:
        sigma, height, width, levels = sigma / 2, (height + 1) // 2, (width + 1) // 2, levels + 1
    return levels


def _halved(frame: np.ndarray, levels: int) -> np.ndarray:
    """Halve ``levels`` times with a low-pass, so no aliasing shimmer: a 2x2 box first (a third of
    ``pyrDown``'s cost and indistinguishable under a blur this wide), then ``pyrDown``."""
    small = frame
    height, width = frame.shape[:2]
    for level in range(levels):
        if level == 0 and height % 2 == 0 and width % 2 == 0:
            small = cv2.resize(small, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
        else:
            small = cv2.pyrDown(small)
    return small


def blurred_background(
    frame: np.ndarray, strength: float, matte: np.ndarray | None = None, bokeh: bool = False
) -> np.ndarray | None:
    """The frame's background, blurred, as a fresh array of the frame's size (None: too weak to show).

    Computed at reduced resolution. With ``matte`` (0..255, person = 255) the blur is a
    normalized convolution of the background alone, so the person's colours do not bleed into
    it as a halo. ``bokeh`` uses a disc instead of a Gaussian and lets highlights bloom, like a lens.
    """
    height, width = frame.shape[:2]
    sigma = blur_sigma(strength, height, width)
    if sigma < 0.5:
        return None
    levels = _levels(sigma, height, width)
    small = _halved(frame, levels)
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

    if matte is None:
        result = spread(image)
    else:
        # The person, grown by a pixel so that its mixed edge pixels do not count as background.
        person = cv2.dilate(cv2.resize(matte, (small.shape[1], small.shape[0]), interpolation=cv2.INTER_AREA), _GROW)
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


class Blur(Resource):
    name = "blur"
    help = "Gaussian blur of the background, without a halo of the person around it"
    done = "blurred the background"
    needs_background = False

    @classmethod
    def from_settings(cls, settings) -> "Blur":
        return cls()

    def backdrop(self, frame: np.ndarray, matte: np.ndarray, strength: float) -> np.ndarray | None:
        return blurred_background(frame, strength, matte)

    def close(self) -> None:
        pass


class Bokeh(Blur):
    name = "bokeh"
    help = "a lens-like disc blur in which highlights bloom"
    done = "lens-blurred the background"

    def backdrop(self, frame: np.ndarray, matte: np.ndarray, strength: float) -> np.ndarray | None:
        return blurred_background(frame, strength, matte, bokeh=True)


class Replace(Resource):
    name = "replace"
    help = "show --background instead"
    done = "replaced the background"
    needs_background = True

    def __init__(self, background: Background) -> None:
        self.background = background

    @classmethod
    def from_settings(cls, settings) -> "Replace":
        return cls(Background(settings.background))

    def backdrop(self, frame: np.ndarray, matte: np.ndarray, strength: float) -> np.ndarray:
        return self.background.frame(frame.shape[1], frame.shape[0])

    def close(self) -> None:
        self.background.close()


class Pixelate(Resource):
    name = "pixelate"
    help = "a mosaic of large blocks, so nothing behind you can be read"
    done = "pixelated the background"
    needs_background = False

    @classmethod
    def from_settings(cls, settings) -> "Pixelate":
        return cls()

    def backdrop(self, frame: np.ndarray, matte: np.ndarray, strength: float) -> np.ndarray | None:
        """Blocks of strength/100 * 8 % of the short side (60: 35 px at 720p), averaged over background pixels only."""
        height, width = frame.shape[:2]
        block = round(strength / 100 * 0.08 * min(height, width))
        if block < 2:
            return None
        grid = (max(1, width // block), max(1, height // block))
        weight = 1.0 - cv2.dilate(matte, _GROW).astype(np.float32) * (1 / 255)  # the person adds no colour
        total = cv2.resize(weight, grid, interpolation=cv2.INTER_AREA)
        colour = cv2.resize(frame.astype(np.float32) * weight[..., None], grid, interpolation=cv2.INTER_AREA)
        plain = cv2.resize(frame, grid, interpolation=cv2.INTER_AREA).astype(np.float32)
        mosaic = np.where(total[..., None] > 1e-3, colour / np.maximum(total, 1e-3)[..., None], plain)
        return cv2.resize(cv2.convertScaleAbs(mosaic), (width, height), interpolation=cv2.INTER_NEAREST)

    def close(self) -> None:
        pass


EFFECTS: dict[str, type] = {effect.name: effect for effect in (Blur, Bokeh, Replace, Pixelate)}
