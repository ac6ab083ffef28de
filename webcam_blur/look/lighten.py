"""Low-light lift: brighten an underexposed person before compositing, leave the room alone.

A webcam in a dim room exposes for the whole picture, so the face ends up dark and muddy; a
curve on the person alone brings it up without turning a lamp in the background into a glare.

The curve is an exposure gain with a soft shoulder, f(x) = 255 (1 - e^(-a x/255)) / (1 - e^(-a)):
near black it is a plain gain of a / (1 - e^(-a)) (3.2x, +1.7 EV, at 100), unlike a gamma, whose
infinite slope at 0 would lift sensor noise and grey the blacks; it rolls off smoothly to
f(255) = 255, so highlights are compressed, never clipped. It is applied to each pixel's HSV value
(its largest channel) as a gain on all three channels: hue and saturation are kept (to 8-bit
rounding: 0.4 degrees of hue on the darkened shared portraits), and no channel can pass the
curve's own top, which a luma curve cannot promise for a saturated colour. The matte weighs the
gain, so the blend through it is one single-channel multiply, and where the matte is 0 the gain
is exactly 1. All of it is 8-bit OpenCV arithmetic on reused buffers, inside the matte's
bounding box.
"""

from __future__ import annotations

import cv2
import numpy as np

from .scratch import Scratch

AUTO = "auto"
CURVE_STRENGTH = 3.0  # a at amount 100; 3 keeps f(250) at 254, 4 would round it to 255
TARGET_LUMA = 110.0  # auto lifts a person's mean luma (of 255) up to here: the low end of comfortable
HIGHLIGHT_VALUE = 210.0  # ... and no further than takes the person's 95th-percentile value (of 255) here
SMOOTHING = 0.1  # auto: each frame moves the amount a tenth of the way to its decision (about 1/3 s at 30 fps)
ESTIMATE_STEP = 8  # auto reads every 8th pixel of every 8th row: 14,400 samples of a 720p frame
# The gain's excess over 1 is stored in 8 bits as (gain - 1) * GAIN_SCALE: 118 at a = 3.
GAIN_SCALE = int(255 / (CURVE_STRENGTH / -np.expm1(-CURVE_STRENGTH) - 1))


def lift_curve(amount: float, values: np.ndarray | None = None) -> np.ndarray:
    """The tone curve of ``amount`` (0..100) at ``values`` (default 0..255), as floats in 0..255.

    Monotonic, f(0) = 0, f(255) = 255; amount 0 is the identity.
    """
    x = np.arange(256, dtype=np.float64) if values is None else np.asarray(values, np.float64)
    a = CURVE_STRENGTH * min(max(amount, 0.0), 100.0) / 100
    return x.copy() if a == 0 else 255 * np.expm1(-a * x / 255) / np.expm1(-a)


_PULL = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
_AMOUNTS = np.linspace(0.0, 100.0, 201)
_CURVES = np.stack([lift_curve(amount) for amount in _AMOUNTS])  # auto's candidates, 200 KB


def gain_table(amount: float) -> np.ndarray:
    """Per value 0..255, the 8-bit excess gain ``(f(v) / v - 1) * GAIN_SCALE`` that ``Lightener`` applies.

    Each entry is the larger of the two nearest that keeps ``v`` itself at or below round(f(v)) after
    OpenCV's rounding: a grey pixel lands within one level of the curve, and a channel at 250 ends
    at most at 254 (amount 100), never flattened to 255.
    """
    v = np.arange(1, 256, dtype=np.float64)
    top = np.round(lift_curve(amount, v))
    excess = np.ceil((lift_curve(amount, v) / v - 1) * GAIN_SCALE)
    excess -= v + np.round(v * excess / GAIN_SCALE) > top  # rounded up where that still fits, else down
    table = np.empty(256, np.uint8)
    table[1:] = np.clip(excess, 0, 255)
    table[0] = table[1]
    return table


def lift_amount(frame: np.ndarray, matte: np.ndarray) -> float:
    """The amount (0..100) that lifts the person's mean luma up to ``TARGET_LUMA``, but no brighter
    than keeps their highlights at ``HIGHLIGHT_VALUE``; 0 when they are there already.

    ``frame``: 8-bit BGR; ``matte``: 0..255 person weight at its size. A dark mean alone is no sign
    of a dark picture: a well-lit person in dark clothes has one too, but also bright skin, and
    lifting them only overexposes the face (of the 106 shared portraits, the 42 with a mean luma
    under 90 have a 95th-percentile value of 117..255, median 222; at 0.35 of the light, all are
    under 90). Read on a sparse grid of pixels; the lift each amount would give is predicted from
    the same samples (a pixel's luma scales with the gain of its value). About 0.2 ms for 720p.
    """
    grid = (max(1, frame.shape[1] // ESTIMATE_STEP), max(1, frame.shape[0] // ESTIMATE_STEP))
    weights = cv2.resize(matte, grid, interpolation=cv2.INTER_NEAREST).ravel().astype(np.float64)
    total = weights.sum()
    if total == 0:
        return 0.0
    samples = cv2.resize(frame, grid, interpolation=cv2.INTER_NEAREST)  # numpy's [::8, ::8] copy: 5x slower
    luma = cv2.cvtColor(samples, cv2.COLOR_BGR2GRAY).ravel() * weights
    if luma.sum() >= TARGET_LUMA * total:
        return 0.0
    blue, green, red = cv2.split(samples)
    value = cv2.max(cv2.max(blue, green), red).ravel()  # numpy's max(axis=2): 40x slower
    # Per value v, the matte-weighted share of luma per unit of value: the mean after amount a is its dot with f_a.
    share = np.bincount(value, weights=luma / np.maximum(value, 1), minlength=256) / total
    lifted = _CURVES @ share
    highlight = np.searchsorted(np.cumsum(np.bincount(value, weights=weights, minlength=256)), 0.95 * total)
    wanted = np.interp(TARGET_LUMA, lifted, _AMOUNTS) if lifted[-1] > TARGET_LUMA else 100.0
    allowed = np.interp(HIGHLIGHT_VALUE, _CURVES[:, highlight], _AMOUNTS)
    return float(min(wanted, allowed))


def inner(matte: np.ndarray) -> np.ndarray:
    """The matte pulled in by ~1 % of the frame's short side, and softened: the lift's weight.

    A lift that reaches as far as the matte brightens the wall in the matte's soft edge (and
    where it trails a moving arm): a light ghost around a person lifted 2x against a dark room.
    Falling off just inside the edge, it leaves a rim a little less lifted, which does not show (a
    720p matte blurred by 6 px: its tail on the wall gains 0.6 levels on average instead of ~4, the
    person 10 px inside the edge 31 instead of 48). At 1/4 of 720p (0.5 ms); under 180 px, as it is.
    """
    height, width = matte.shape[:2]
    factor = min(height, width) // 180
    if factor < 1:
        return matte
    small = cv2.resize(matte, (max(1, width // factor), max(1, height // factor)), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(cv2.erode(small, _PULL), (0, 0), 1.0)
    return cv2.min(cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR), matte)  # never past it


class Lightener:
    """Lifts the person of each frame; one per video stream (it keeps auto's smoothed amount).

    Per 720p frame on a 2-core Xeon (median of 50): 1.5 ms, 1.8 ms with auto, for a person whose
    bounding box is 40% of the frame; 2.5 ms, 2.8 ms with auto, when it is 90%. Nearly all of it
    is the eight 8-bit passes over the box and the copy of the frame.
    """

    def __init__(self) -> None:
        self.amount = 0.0  # the last amount applied
        self._smoothed: float | None = None  # auto's amount, smoothed over frames
        self._table: tuple[float, np.ndarray] | None = None
        self._buffer = Scratch()

    def _decide(self, frame: np.ndarray, matte: np.ndarray, amount: float | None) -> float:
        if amount is not None:
            self.amount = min(max(float(amount), 0.0), 100.0)
            return self.amount
        decided = lift_amount(frame, matte)
        previous = decided if self._smoothed is None else self._smoothed
        self._smoothed = previous + SMOOTHING * (decided - previous)
        # An easing never reaches 0: under half of auto's finest step it is 0, so a lit room lifts nothing.
        self.amount = 0.0 if self._smoothed < _AMOUNTS[1] / 2 else self._smoothed
        return self.amount

    def apply(self, frame: np.ndarray, matte: np.ndarray, amount: float | None) -> np.ndarray:
        """The frame with the person lifted by ``amount`` (0..100; None: auto) through ``matte``.

        ``frame``: 8-bit BGR; ``matte``: 0..255 person weight at its size. A fresh array, or
        ``frame`` itself when there is nothing to lift; pixels where the matte is 0 are unchanged.
        """
        if matte.shape != frame.shape[:2]:
            raise ValueError(f"matte {matte.shape} does not match frame {frame.shape[:2]}")
        amount = self._decide(frame, matte, amount)
        if amount == 0:
            return frame
        if self._table is None or self._table[0] != amount:
            self._table = (amount, gain_table(amount))
        table = self._table[1]
        if not table.any():
            return frame
        weight = inner(matte)
        x, y, w, h = cv2.boundingRect(weight)
        if w == 0 or h == 0:
            return frame
        box = (slice(y, y + h), slice(x, x + w))
        shape = frame.shape[:2]
        planes = [self._buffer(name, shape)[:h, :w] for name in ("b", "g", "r")]
        blue, green, red = cv2.split(frame[box], planes)
        value = cv2.max(cv2.max(blue, green, dst=blue), red, dst=blue)
        excess = cv2.LUT(value, table, dst=value)
        cv2.multiply(excess, weight[box], dst=excess, scale=1 / 255)  # weight 0: gain exactly 1
        lift = cv2.cvtColor(excess, cv2.COLOR_GRAY2BGR, dst=self._buffer("lift", frame.shape)[:h, :w])
        cv2.multiply(frame[box], lift, dst=lift, scale=1 / GAIN_SCALE)
        out = frame.copy()
        cv2.add(frame[box], lift, dst=out[box])
        return out
