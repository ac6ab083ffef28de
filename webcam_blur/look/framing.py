"""Auto-framing: the output is a crop of the camera picture that keeps the person centred, with head room.

The crop is decided from the matte (the person's extent), so it costs no network of its own.
It follows with a critically damped spring (no overshoot, no wobble) towards a target that moves
only when the person has moved past a dead band, so swaying in a chair leaves the picture still.
It never magnifies more than ``max_zoom`` (upscaling beyond that shows), keeps the output size,
and goes back to the whole picture when no one has been there for a second.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

MAX_ZOOM = 1.6  # at most 1.6x magnification: a 720p camera still gives 450 real lines
HEAD_ROOM = 0.12  # of the crop's height above the top of the head
WIDTH_SHARE = 0.7  # the person takes at most this share of the crop's width
FOLLOW_TIME = 0.2  # seconds: the spring's time constant (96 % of a move done within 1 s)
DEAD_BAND = 0.04  # of the frame: moves of the target smaller than this are ignored
ABSENT_GRACE = 1.0  # seconds without a person before going back to the whole picture
PRESENT = 0.005  # the share of the picture a person must cover to count
GRID = 8  # the matte is read at 1/8 of its size: the extent needs no more


def person_extent(matte: np.ndarray) -> tuple[float, float, float, float] | None:
    """The person's centre x, top and bottom y and width, in pixels, from a 0..255 matte; None: nobody.

    The centre is that of the head and shoulders (the top half of the person), so an arm
    stretched out does not pull the picture sideways; the width ignores the outer 2 % of the
    person on each side (a stray blob).
    """
    height, width = matte.shape[:2]
    small = cv2.resize(matte, (max(1, width // GRID), max(1, height // GRID)), interpolation=cv2.INTER_AREA)
    person = small.astype(np.float32) * (1 / 255)
    total = float(person.sum())
    if total < PRESENT * person.size:
        return None
    rows = person.sum(axis=1)
    filled = np.nonzero(rows > 0.02 * rows.max())[0]
    top, bottom = int(filled[0]), int(filled[-1]) + 1
    upper = person[top: top + max(1, (bottom - top) // 2)]
    columns = upper.sum(axis=0)
    centre = float((columns * np.arange(columns.size)).sum() / max(columns.sum(), 1e-6)) + 0.5
    spread = np.cumsum(person.sum(axis=0)) / total
    left, right = np.searchsorted(spread, 0.02), np.searchsorted(spread, 0.98) + 1
    scale_x, scale_y = width / small.shape[1], height / small.shape[0]
    return centre * scale_x, top * scale_y, bottom * scale_y, (right - left) * scale_x


class _Spring:
    """One coordinate following its target, critically damped (the exact solution, stable at any step)."""

    def __init__(self, value: float) -> None:
        self.value, self.velocity = value, 0.0

    def step(self, target: float, dt: float) -> float:
        omega = 1.0 / FOLLOW_TIME
        decay = math.exp(-omega * dt)
        offset = self.value - target
        pull = (self.velocity + omega * offset) * dt
        self.velocity = (self.velocity - omega * pull) * decay
        self.value = target + (offset + pull) * decay
        return self.value


class Framer:
    """Crops each frame around the person; one per stream (it keeps the crop's motion from frame to frame)."""

    def __init__(self, fps: float, max_zoom: float = MAX_ZOOM) -> None:
        self.dt = 1.0 / max(fps, 1.0)
        self.max_zoom = max_zoom
        self._springs: list[_Spring] | None = None  # centre x, centre y, zoom
        self._target: tuple[float, float, float] | None = None
        self._absent = 0.0

    def reset(self) -> None:
        """Start again from the whole picture (framing was switched off)."""
        self._springs, self._target, self._absent = None, None, 0.0

    def target(self, matte: np.ndarray) -> tuple[float, float, float] | None:
        """Where the crop should be for this matte (inside the picture): (centre x, centre y, zoom); None: nobody."""
        height, width = matte.shape[:2]
        extent = person_extent(matte)
        if extent is None:
            return None
        centre, top, bottom, span = extent
        zoom = WIDTH_SHARE * width / max(span, 1.0)
        visible = bottom - top if bottom < height - GRID else height - top  # cut at the frame: the body goes on
        zoom = min(zoom, (1 - HEAD_ROOM) * height / max(visible, 1.0))
        zoom = min(max(zoom, 1.0), self.max_zoom)
        crop_height = height / zoom
        return _inside((centre, top - HEAD_ROOM * crop_height + crop_height / 2, zoom), width, height)

    def crop(self) -> tuple[float, float, float] | None:
        """The current crop as (centre x, centre y, zoom); None before the first frame."""
        return None if self._springs is None else tuple(s.value for s in self._springs)

    def frame(self, picture: np.ndarray, matte: np.ndarray) -> np.ndarray:
        """The picture cropped around the person and scaled back to its own size (``matte``: 0..255, same size)."""
        height, width = picture.shape[:2]
        whole = (width / 2, height / 2, 1.0)
        wanted = self.target(matte)
        if wanted is None:
            self._absent += self.dt
            wanted = whole if self._absent >= ABSENT_GRACE or self._target is None else self._target
        else:
            self._absent = 0.0
        if self._target is None or _moved(wanted, self._target, width):
            self._target = wanted
        if self._springs is None:
            self._springs = [_Spring(value) for value in whole]
        x, y, zoom = _inside(tuple(s.step(t, self.dt) for s, t in zip(self._springs, self._target)), width, height)
        crop_w, crop_h = round(width / zoom), round(height / zoom)
        if crop_w >= width and crop_h >= height:
            return picture
        # Whole source pixels (a resize of the region: 2.5 ms at 720p against 10 for a sub-pixel warp);
        # the spring moves slowly, so a step is at most a pixel now and then.
        left = min(max(round(x - crop_w / 2), 0), width - crop_w)
        top = min(max(round(y - crop_h / 2), 0), height - crop_h)
        return cv2.resize(picture[top: top + crop_h, left: left + crop_w], (width, height),
                          interpolation=cv2.INTER_LINEAR)


def _inside(crop: tuple[float, float, float], width: int, height: int) -> tuple[float, float, float]:
    """The crop moved (not shrunk) so that it lies inside the picture."""
    x, y, zoom = crop
    zoom = max(zoom, 1.0)
    half_w, half_h = width / zoom / 2, height / zoom / 2
    return min(max(x, half_w), width - half_w), min(max(y, half_h), height - half_h), zoom


def _moved(new: tuple[float, float, float], old: tuple[float, float, float], width: int) -> bool:
    """Whether the target moved past the dead band (position in frame widths, zoom relatively)."""
    return (
        abs(new[0] - old[0]) > DEAD_BAND * width
        or abs(new[1] - old[1]) > DEAD_BAND * width
        or abs(new[2] - old[2]) > DEAD_BAND * old[2]
    )
