"""Person masks for arbitrary frames: letterbox -> DeepLabv3+ -> person class -> frame-sized mask."""

from __future__ import annotations

import math
import os
from functools import cached_property
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from .frames import as_bgr
from .letterbox import Letterbox
from .model import PERSON_CLASS, preprocess_input


class Segmentation:
    """The person in one frame, from the network's low-resolution logits.

    ``mask``: uint8 0/255 at frame size, where the argmax is the person class. ``probability``:
    the person softmax at frame size, 0..1. Each is resampled onto the frame on first use only,
    so a caller that needs one does not pay for the other.
    """

    def __init__(self, logits: np.ndarray, box: Letterbox, stride: float) -> None:
        logits = logits.astype(np.float32, copy=False)
        others = np.delete(logits, PERSON_CLASS, axis=-1).max(axis=-1)
        self._person = logits[..., PERSON_CLASS]
        self._others = others
        self._logits = logits
        self.box = box
        self.stride = stride

    @cached_property
    def mask(self) -> np.ndarray:
        # argmax == person  <=>  person logit beats every other one: test that on the resampled
        # margin, one channel instead of 21.
        margin = self.box.unplace(self._person - self._others, self.stride)
        return (margin > 0).view(np.uint8) * np.uint8(255)

    @cached_property
    def probability(self) -> np.ndarray:
        return self.probability_at(self.box.frame_width, self.box.frame_height)

    def probability_at(self, width: int, height: int) -> np.ndarray:
        """The person probability for the frame resampled to ``width`` x ``height``."""
        top = np.maximum(self._person, self._others)
        grid = np.exp(self._person - top) / np.exp(self._logits - top[..., None]).sum(axis=-1)
        return np.clip(self.box.unplace(grid.astype(np.float32), self.stride, (width, height)), 0.0, 1.0)


class PersonSegmenter:
    """Segments people in BGR frames of any size; the network sees them with long side ``size``.

    ``runtime_for((height, width))`` makes the runtime for one canvas shape; each is made once,
    on first use or ahead of time with :meth:`prepare`.
    """

    def __init__(self, runtime_for: Callable[[tuple[int, int]], Callable], size: int, fit: bool = True) -> None:
        self.size = size
        self.fit = fit
        self._runtime_for = runtime_for
        self._runtimes: dict[tuple[int, int], Callable] = {}
        self._canvas: np.ndarray | None = None
        self._batch: np.ndarray | None = None

    @classmethod
    def load(
        cls,
        weights: str | os.PathLike | None = None,
        backbone: str = "mobilenetv2",
        size: int = 512,
        runtime: str = "lite",
        threads: int | None = None,
        device: str = "auto",
        fit: bool = True,
    ) -> "PersonSegmenter":
        """Build the Keras model, load its weights (downloading the default once) and pick a runtime."""
        from . import weights as weights_module
        from .model import deeplabv3plus
        from .runtime import make_runtime

        square = deeplabv3plus(backbone, input_shape=(size, size, 3))
        weights_module.load_into(square, Path(weights) if weights else None, backbone)
        cache = weights_module.cache_dir()

        def runtime_for(shape: tuple[int, int]):
            model = square
            if shape != (size, size):  # the same layers and weights, built for another input shape
                model = deeplabv3plus(backbone, input_shape=(*shape, 3))
                model.set_weights(square.get_weights())
            return make_runtime(model, runtime, device, cache, threads)

        return cls(runtime_for, size, fit)

    def letterbox(self, width: int, height: int) -> Letterbox:
        return Letterbox(height, width, self.size, self.fit)

    def prepare(self, width: int, height: int) -> None:
        """Make the runtime for frames of this size now, not when the first one arrives."""
        self._runtime(self.letterbox(width, height).canvas_shape)

    def _runtime(self, shape: tuple[int, int]) -> Callable:
        if shape not in self._runtimes:
            self._runtimes[shape] = self._runtime_for(shape)
        return self._runtimes[shape]

    def logits(self, frame: np.ndarray) -> tuple[np.ndarray, Letterbox]:
        """Run the network on one frame; return its low-resolution logits and the frame's letterbox."""
        frame = as_bgr(frame)
        box = self.letterbox(frame.shape[1], frame.shape[0])
        self._canvas = box.place(frame, self._canvas)
        cv2.cvtColor(self._canvas, cv2.COLOR_BGR2RGB, dst=self._canvas)  # in place: per-pixel swap
        if self._batch is None or self._batch.shape[1:] != self._canvas.shape:
            self._batch = np.empty((1, *self._canvas.shape), np.float32)
        preprocess_input(self._canvas, out=self._batch[0])
        return self._runtime(box.canvas_shape)(self._batch)[0], box

    def segment(self, frame: np.ndarray) -> Segmentation:
        logits, box = self.logits(frame)
        return Segmentation(logits, box, 2 ** round(math.log2(max(box.canvas_shape) / max(logits.shape[:2]))))
