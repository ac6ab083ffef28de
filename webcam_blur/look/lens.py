"""A lens focused on the person: the background's blur grows with its distance from the person's depth.

A real lens's circle of confusion is proportional to the difference in *inverse* depth between
a point and the plane in focus, which is what a monocular depth network estimates (up to scale
and shift). So the blur of each background pixel is ``|d - d_person|``, scaled so that the
farthest part of the room gets the full strength: the wall right behind the person gets a
third of it (a meeting must never read it), the far end of the room melts. The person's colours take no part in any of it
(the normalized-convolution blur of ``blur.py``), so there is no halo.
"""

from __future__ import annotations

import cv2
import numpy as np

from .blur import background_weight, blur_sigma, halved, halvings, without_person

LAYERS = 3  # blur layers between sharp and full strength; the blur in between is interpolated
FLOOR = 1 / LAYERS  # the least blur of the background: a wall at the person's depth is softened, never legible


def defocus(inverse_depth: np.ndarray, person: np.ndarray, span: tuple[float, float] | None = None) -> np.ndarray:
    """0..1 per depth-map pixel: how far from the focus plane, relative to the farthest part of the picture.

    ``inverse_depth``: the network's output (larger = nearer, any scale); ``person``: a boolean
    mask at the same size. Focus is the person's median inverse depth (with no person: the
    nearest tenth of the picture). Things nearer than the person blur too, as through a lens.
    ``span``: the 2nd and 98th percentiles of ``inverse_depth`` where known (``depth_span``).
    """
    focus = float(np.median(inverse_depth[person])) if person.any() else float(np.percentile(inverse_depth, 90))
    low, high = span if span is not None else depth_span(inverse_depth)
    spread = max(focus - low, 0.1 * (high - low), 1e-6)
    amount = np.abs(inverse_depth - focus) * np.float32(1 / spread)
    return np.clip(amount, FLOOR, 1.0).astype(np.float32)


def depth_span(inverse_depth: np.ndarray) -> tuple[float, float]:
    """The depth map's range, robust to outliers: 1.9 ms at 320x192, so worked out once per depth map."""
    low, high = np.percentile(inverse_depth, (2, 98))
    return float(low), float(high)


def lens_blur(frame: np.ndarray, matte: np.ndarray, blur: np.ndarray, strength: float) -> np.ndarray | None:
    """The frame's background blurred by ``blur`` (0..1 of ``strength``, at any resolution), as a fresh array.

    ``LAYERS`` halo-free blurs of increasing sigma, each made at the resolution where its sigma
    is a few pixels, are interpolated per pixel at reduced resolution (a 720p frame: ~3x the plain
    blur's cost, 10.7 ms against 3.5). None: too weak to show.
    """
    height, width = frame.shape[:2]
    sigma = blur_sigma(strength, height, width)
    if sigma < 0.5:
        return None
    # The layers meet at the resolution where the first one's sigma is ~1-2 px: upsampled from there,
    # blurs this wide look the same (1280x720, strength 60: 320x180; the lens costs ~3 plain blurs).
    floor = halvings(sigma / LAYERS, height, width) + (1 if min(height, width) >= 64 else 0)
    small, levels = halved(frame, floor), floor
    person = cv2.resize(matte, (small.shape[1], small.shape[0]), interpolation=cv2.INTER_AREA)
    work = small.shape[:2]
    steps = cv2.resize(blur, (work[1], work[0]), interpolation=cv2.INTER_LINEAR) * LAYERS
    mixed = np.zeros((*work, 3), np.float32)
    image = weight = None  # of the current pyramid level, shared by the layers blurred there
    for layer in range(1, LAYERS + 1):
        layer_sigma = sigma * layer / LAYERS
        while levels < halvings(layer_sigma, height, width):  # further down the same pyramid
            small, person, levels, image = cv2.pyrDown(small), cv2.pyrDown(person), levels + 1, None
        layer_sigma /= 2**levels
        if image is None:
            image, weight = small.astype(np.float32) * (1 / 255), background_weight(person, small.shape)

        def spread(x, s=layer_sigma):
            return cv2.GaussianBlur(x, (0, 0), s, borderType=cv2.BORDER_REFLECT)

        blurred = without_person(image, weight, spread)
        if blurred.shape[:2] != work:
            blurred = cv2.resize(blurred, (work[1], work[0]), interpolation=cv2.INTER_LINEAR)
        share = np.clip(1.0 - np.abs(steps - layer), 0.0, 1.0)  # tent weights over the layer index
        mixed += blurred * share[..., None]
    mixed = cv2.convertScaleAbs(mixed, alpha=255.0)
    if mixed.shape[:2] == (height, width):
        return mixed
    return cv2.resize(mixed, (width, height), interpolation=cv2.INTER_LINEAR)
