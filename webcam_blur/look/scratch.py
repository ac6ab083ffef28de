"""Reused 8-bit arrays for per-frame work: a 720p temporary costs more to allocate than to fill."""

from __future__ import annotations

import numpy as np


class Scratch:
    """uint8 arrays by name and shape, each made once and handed out again on every later call."""

    def __init__(self) -> None:
        self._arrays: dict[tuple, np.ndarray] = {}

    def __call__(self, name: str, shape: tuple) -> np.ndarray:
        key = (name, shape)
        if key not in self._arrays:
            self._arrays[key] = np.empty(shape, np.uint8)
        return self._arrays[key]
