"""How far things are: relative inverse depth of a frame from the small TCMonoDepth network.

The Keras port (``tcmonodepth.py``) is the source of truth; like DeepLab it runs as a cached
LiteRT export, so a warm start imports neither TensorFlow nor Keras. The frame is stretched to
the network's 320x192 input, as obs-backgroundremoval feeds it.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from ..quiet import native_stderr_silenced
from . import tcmonodepth, weights


class DepthEstimator:
    """A frame in, its relative inverse depth (larger = nearer, any scale) out, at the network's 192x320."""

    def __init__(self, runtime) -> None:
        self._runtime = runtime
        self._batch = np.empty((1, *tcmonodepth.INPUT_SHAPE, 3), np.float32)

    @classmethod
    def load(cls, models_dir: str | os.PathLike | None = None, threads: int | None = None) -> "DepthEstimator":
        """The published network (from the models folder, the cache or its pinned URL), through its cached runtime."""
        from .runtime import cached_path, make_runtime

        path = weights.locate(tcmonodepth.DEPTH, Path(models_dir) if models_dir else None)
        height, width = tcmonodepth.INPUT_SHAPE
        cached = cached_path(weights.sha256_of(path), "tcmonodepth", (height, width))

        def build():
            with native_stderr_silenced():  # TensorFlow's C++ start-up lines
                model = tcmonodepth.build((height, width, 3))
            tcmonodepth.load_weights(model, path)
            return model

        return cls(make_runtime(build, "lite", "cpu", cached, (height, width), threads))

    def estimate(self, frame: np.ndarray) -> np.ndarray:
        """8-bit BGR frame of any size -> (192, 320) float32 relative inverse depth."""
        height, width = tcmonodepth.INPUT_SHAPE
        small = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
        self._batch[0] = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)  # raw 0..255: the network normalises nothing
        return np.asarray(self._runtime(self._batch)[0, ..., 0], np.float32)
