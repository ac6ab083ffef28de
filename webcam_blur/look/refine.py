"""Mask refinement: from the network's coarse person probability to a clean, stable alpha matte.

A network's output sits on a coarse grid (DeepLab MobileNetV2: one cell per 16 input pixels),
so its edges are blocky and wander from frame to frame; every size below that depends on the
grid is taken from the segmentation's own ``cell``, whatever the network and its input size. Each step below is switchable and was tuned with ``scripts/eval_quality.py``:

* soft edges: start from the person probability, not the hard argmax;
* edge-aware upsampling: a colour guided filter (He et al.) lets the full-resolution frame's
  edges shape the matte; computed at reduced resolution (the "fast guided filter");
* temporal stability, gated by motion so a moving person leaves no trail: where the picture is
  still, the probability is averaged over time and the matte moves only by more than a dead
  band (small back-and-forth at the edges is absorbed); where it changed, the new frame wins;
* optional clean-up of small blobs and holes, and Otsu's threshold instead of 0.5.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


MOTION_SENSITIVITY = 10.0  # a change of 1/10 of the colour range counts as motion
SUM_OF_CHANNELS = np.ones((1, 3), np.float32)  # for cv2.transform: 3 channels -> their sum
MATTE_GAIN = 4.0  # the matte ramps from background to person over the middle quarter of its range


@dataclass(frozen=True)
class RefineSettings:
    guided: bool = True
    radius: float = 1.0  # guided filter radius, in network output cells
    eps: float = 1e-3  # guided filter regularization: larger = smoother, fewer image edges followed
    temporal: float = 0.7  # 0 = no smoothing over time; towards 1 = steadier where the picture is still
    cleanup: bool = False  # drop blobs far smaller than the largest person, fill enclosed holes
    threshold: float | str = 0.5  # a number in (0, 1), or "otsu"
    work_size: int = 256  # the filter's statistics are computed at about this width (long side)
    detail_size: int = 800  # the coefficients are applied at up to this width (long side); edges finer than that are lost in a call anyway


def _fast_guided_filter(frame, p_small, guide_small, radius: int, eps: float, buffers: dict) -> np.ndarray:
    """Guided filter coefficients at reduced resolution, applied to the full-resolution frame.

    The full-size float images live in ``buffers``: fresh 11 MB arrays per frame cost more in
    page faults than the arithmetic.
    """
    height, width = frame.shape[:2]

    def buffer(name, channels):
        shape = (height, width, channels) if channels > 1 else (height, width)
        if buffers.get(name) is None or buffers[name].shape != shape:
            buffers[name] = np.empty(shape, np.float32)
        return buffers[name]

    size = (2 * radius + 1, 2 * radius + 1)
    a, b = _coefficients(guide_small, p_small, radius, eps)
    a = cv2.boxFilter(a, -1, size, borderType=cv2.BORDER_REFLECT)
    b = cv2.boxFilter(b, -1, size, borderType=cv2.BORDER_REFLECT)
    a_full = cv2.resize(a, (width, height), dst=buffer("a", 3), interpolation=cv2.INTER_LINEAR)
    b_full = cv2.resize(b, (width, height), dst=buffer("b", 1), interpolation=cv2.INTER_LINEAR)
    weighted = cv2.multiply(a_full, frame, dst=buffer("weighted", 3), dtype=cv2.CV_32F, scale=1 / 255)
    out = cv2.transform(weighted, SUM_OF_CHANNELS, dst=buffer("out", 1))
    return cv2.add(out, b_full, dst=out)


def _coefficients(guide: np.ndarray, p: np.ndarray, radius: int, eps: float):
    size = (2 * radius + 1, 2 * radius + 1)

    def mean(x):
        return cv2.boxFilter(x, -1, size, borderType=cv2.BORDER_REFLECT)

    mean_i = mean(guide)
    mean_p = mean(p)
    cov = mean(guide * p[..., None]) - mean_i * mean_p[..., None]
    r, g, b = guide[..., 0], guide[..., 1], guide[..., 2]
    mr, mg, mb = mean_i[..., 0], mean_i[..., 1], mean_i[..., 2]
    rr = mean(r * r) - mr * mr + eps
    rg = mean(r * g) - mr * mg
    rb = mean(r * b) - mr * mb
    gg = mean(g * g) - mg * mg + eps
    gb = mean(g * b) - mg * mb
    bb = mean(b * b) - mb * mb + eps
    # Inverse of the symmetric 3x3 covariance by cofactors, vectorized over pixels.
    i_rr, i_rg, i_rb = gg * bb - gb * gb, gb * rb - rg * bb, rg * gb - gg * rb
    i_gg, i_gb, i_bb = rr * bb - rb * rb, rb * rg - rr * gb, rr * gg - rg * rg
    det = rr * i_rr + rg * i_rg + rb * i_rb
    cr, cg, cb = cov[..., 0], cov[..., 1], cov[..., 2]
    a = np.dstack(
        [
            (i_rr * cr + i_rg * cg + i_rb * cb) / det,
            (i_rg * cr + i_gg * cg + i_gb * cb) / det,
            (i_rb * cr + i_gb * cg + i_bb * cb) / det,
        ]
    )
    return a, mean_p - cv2.transform(cv2.multiply(a, mean_i), SUM_OF_CHANNELS)


def remove_blobs_and_holes(mask: np.ndarray, min_fraction: float = 0.05) -> np.ndarray:
    """Keep components at least ``min_fraction`` of the largest; fill holes that do not touch the border."""
    binary = (mask > 0).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    if count > 1:
        areas = stats[1:, cv2.CC_STAT_AREA]
        keep = np.zeros(count, np.uint8)
        keep[1:] = areas >= min_fraction * areas.max()
        binary = keep[labels]
    count, labels, stats, _ = cv2.connectedComponentsWithStats(1 - binary, connectivity=4)
    if count > 1:
        h, w = binary.shape
        x, y, bw, bh = (stats[:, i] for i in range(4))
        enclosed = (x > 0) & (y > 0) & (x + bw < w) & (y + bh < h)
        fill = enclosed.astype(np.uint8)
        fill[0] = 0
        binary = binary | fill[labels]
    return binary * np.uint8(255)


def binary_mask(alpha8: np.ndarray) -> np.ndarray:
    """The 0/255 person mask of a matte: more person than background."""
    return cv2.threshold(alpha8, 127, 255, cv2.THRESH_BINARY)[1]


def _recentred(level: float, gain: float = MATTE_GAIN) -> np.ndarray:
    """A lookup table that moves the threshold ``level`` to the middle and steepens the matte around it.

    The guided filter's output is a linear model of the image, so inside the person it hovers
    around 0.9 and outside around 0.1: without the stretch, a tenth of the blurred background
    would ghost over the face and a tenth of the sharp room over the blur.
    """
    values = np.arange(256, dtype=np.float32)
    level = min(max(level, 1.0), 254.0)
    below = 127.5 - (level - values) * gain * 127.5 / level
    above = 127.5 + (values - level) * gain * 127.5 / (255 - level)
    table = np.where(values < level, below, above)
    return np.clip(table + 0.5, 0, 255).astype(np.uint8)


class MaskRefiner:
    """Turns a frame's segmentation into an alpha matte (uint8 0..255) at the frame's size.

    Holds the previous frame's state for temporal smoothing: one refiner per video stream.
    """

    def __init__(self, settings: RefineSettings = RefineSettings()) -> None:
        self.settings = settings
        self._previous: tuple[np.ndarray, np.ndarray] | None = None  # (probability, guide) at small scale
        self._stillness: np.ndarray | None = None  # 1 where the picture did not change, small scale
        self._previous_alpha: np.ndarray | None = None
        self._buffers: dict[str, np.ndarray] = {}

    def refine(self, frame: np.ndarray, segmentation) -> np.ndarray:
        s = self.settings
        height, width = frame.shape[:2]
        scale = max(1, min(round(max(height, width) / s.work_size), min(height, width) // 8))
        small = (max(1, width // scale), max(1, height // scale))
        guide = cv2.resize(frame, small, interpolation=cv2.INTER_AREA).astype(np.float32) * (1 / 255)
        probability = segmentation.probability_at(*small)
        probability = self._smooth_over_time(probability, guide)
        # The matte is made at up to ``detail_size`` and scaled up last, in 8 bits: a 720p or
        # 1080p frame has no finer edges that a stride-16 network could have found.
        detail_scale = max(1, round(max(height, width) / s.detail_size))
        detail = frame
        if detail_scale > 1:
            detail_size = (max(1, width // detail_scale), max(1, height // detail_scale))
            detail = cv2.resize(frame, detail_size, interpolation=cv2.INTER_AREA)
        if s.guided:
            radius = max(1, round(s.radius * segmentation.cell / scale))
            alpha = _fast_guided_filter(detail, probability, guide, radius, s.eps, self._buffers)
        else:
            alpha = cv2.resize(probability, (detail.shape[1], detail.shape[0]), interpolation=cv2.INTER_LINEAR)
        alpha = self._dead_band(alpha, segmentation.dead_band)
        alpha8 = cv2.convertScaleAbs(alpha, alpha=255.0)  # saturates to 0..255
        if s.threshold == "otsu":
            level = cv2.threshold(alpha8, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[0]
        else:
            level = s.threshold * 255
        alpha8 = cv2.LUT(alpha8, _recentred(level))
        if s.cleanup:
            mask = binary_mask(alpha8)
            keep = remove_blobs_and_holes(mask)
            alpha8 = np.where(keep > mask, np.uint8(255), np.minimum(alpha8, keep))
        if alpha8.shape != (height, width):
            alpha8 = cv2.resize(alpha8, (width, height), interpolation=cv2.INTER_LINEAR)
        return alpha8

    def _smooth_over_time(self, probability: np.ndarray, guide: np.ndarray) -> np.ndarray:
        strength = self.settings.temporal
        previous, self._previous = self._previous, (probability, guide)
        self._stillness = None
        if strength <= 0 or previous is None or previous[0].shape != probability.shape:
            return probability
        old_probability, old_guide = previous
        # 1 where the picture is still, 0 where it changed by a tenth of the range or more.
        red, green, blue = cv2.split(cv2.absdiff(guide, old_guide))
        change = cv2.GaussianBlur(cv2.max(cv2.max(red, green), blue), (0, 0), 2.0)  # numpy's max(axis=2): 5x slower
        self._stillness = np.clip(1.0 - change * MOTION_SENSITIVITY, 0.0, 1.0)
        smoothed = probability + (strength * self._stillness) * (old_probability - probability)
        self._previous = (smoothed, guide)
        return smoothed

    def _dead_band(self, alpha: np.ndarray, per_strength: float) -> np.ndarray:
        """Move each matte pixel only by what exceeds a motion-gated dead band (a backlash filter):
        ``per_strength`` times ``temporal`` where the picture is still, the network's own figure."""
        previous = self._previous_alpha
        if self._stillness is None or previous is None or previous.shape != alpha.shape:
            self._previous_alpha = alpha.copy()
            return alpha
        band = cv2.resize(self._stillness * (self.settings.temporal * per_strength), (alpha.shape[1], alpha.shape[0]))
        # previous + sign(step) * max(|step| - band, 0), with step = alpha - previous, is a clamp:
        moved = cv2.min(cv2.max(previous, cv2.subtract(alpha, band)), cv2.add(alpha, band))
        self._previous_alpha = moved
        return moved
