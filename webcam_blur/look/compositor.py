"""Blend the person over the effect's backdrop through the matte."""

from __future__ import annotations

from typing import ClassVar, Protocol

import cv2
import numpy as np

from .scratch import Scratch


class Effect(Protocol):
    """Exists for documentation and static typing: what the compositor needs of an effect (``effects.py``).

    An effect that depends on the room rather than the frame (the depth lens) also has
    ``refresh(frame)`` and ``refresh_period`` (seconds): the pipeline calls it that often, off the
    output loop.
    """

    name: ClassVar[str]
    help: ClassVar[str]  # one line for --help
    done: ClassVar[str]  # what it did, for a summary: "blurred the background"
    needs_background: ClassVar[bool]

    def backdrop(self, frame: np.ndarray, matte: np.ndarray, strength: float) -> np.ndarray | None:
        """A fresh BGR array of the frame's size to show behind the person; None: the frame as it is."""

    def close(self) -> None: ...


class Compositor:
    """Keeps the person sharp over the effect's backdrop; edges are feathered so the cut does not show.

    All per-frame work is 8-bit OpenCV arithmetic on reused buffers: float temporaries of a
    720p frame cost more than the blur itself.
    """

    def __init__(self, effect: Effect, feather: float = 0.004) -> None:
        self.effect = effect
        self.feather = feather
        self._buffer = Scratch()

    def alpha(self, matte: np.ndarray) -> np.ndarray:
        """Person weight 0..255, feathered by an area-down/linear-up resample (``feather`` > 0)."""
        height, width = matte.shape[:2]
        factor = round(self.feather * min(height, width))  # integral: OpenCV's fast area path
        if factor < 2:
            return matte
        small = cv2.resize(matte, (max(1, width // factor), max(1, height // factor)), interpolation=cv2.INTER_AREA)
        return cv2.resize(small, (width, height), dst=self._buffer("alpha", (height, width)), interpolation=cv2.INTER_LINEAR)

    def compose(self, frame: np.ndarray, matte: np.ndarray, strength: float = 60.0) -> np.ndarray:
        """``frame``: 8-bit BGR; ``matte``: 0..255 person weight (a 0/255 mask or a soft matte) at its size."""
        if matte.shape != frame.shape[:2]:
            raise ValueError(f"matte {matte.shape} does not match frame {frame.shape[:2]}")
        out = self.effect.backdrop(frame, matte, strength)  # a fresh array: the result is built in it
        if out is None:
            return frame.copy()
        alpha = self.alpha(matte)
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
