"""Blurring the background alone: a Gaussian (or a lens's disc) of the frame in which the person's
colours take no part, computed at reduced resolution.

Shared by the effects that blur (``effects.py``) and the depth-graded lens (``lens.py``).
"""

from __future__ import annotations

import cv2
import numpy as np

_GROW = np.ones((3, 3), np.uint8)


def blur_sigma(strength: float, height: int, width: int) -> float:
    """Strength 0..100 as a Gaussian sigma in pixels; relative to the frame so 480p and 4K look alike."""
    return strength / 100.0 * 0.04 * min(height, width)


def halvings(sigma: float, height: int, width: int) -> int:
    """How many times to halve so the remaining blur is ~2-4 px: the same look at a fraction of the cost."""
    levels = 0
    while sigma >= 4.0 and min(height, width) >= 16:
        sigma, height, width, levels = sigma / 2, (height + 1) // 2, (width + 1) // 2, levels + 1
    return levels


def halved(frame: np.ndarray, levels: int) -> np.ndarray:
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
    levels = halvings(sigma, height, width)
    small = halved(frame, levels)
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

    result = spread(image) if matte is None else without_person(image, background_weight(matte, small.shape), spread)
    if bokeh:
        result = np.cbrt(np.maximum(result, 0.0))
    result = cv2.convertScaleAbs(result, alpha=255.0)
    if result.shape[:2] == (height, width):
        return result
    return cv2.resize(result, (width, height), interpolation=cv2.INTER_LINEAR)


def background_weight(matte: np.ndarray, shape: tuple) -> np.ndarray:
    """1 where the background is, 0 on the person, at ``shape``: the person grown by a pixel so that its
    mixed edge pixels do not count as background."""
    person = cv2.dilate(cv2.resize(matte, (shape[1], shape[0]), interpolation=cv2.INTER_AREA), _GROW)
    return 1.0 - person.astype(np.float32) * (1 / 255)


def without_person(image: np.ndarray, weight: np.ndarray, spread) -> np.ndarray:
    """``spread`` (a blur) of the float image's background alone: a normalized convolution, so the person's
    colours do not bleed into it as a halo. Deep inside the person, where no background is near, the
    plain blur."""
    plain = spread(image)
    total = spread(weight)
    background = spread(image * weight[..., None]) / np.maximum(total, 1e-3)[..., None]
    trust = np.clip(total * 20.0, 0.0, 1.0)[..., None]
    return plain + trust * (background - plain)
