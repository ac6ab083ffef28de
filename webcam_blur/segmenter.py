"""Person masks for arbitrary frames: letterbox -> DeepLabv3+ -> person class -> frame-sized mask."""

from __future__ import annotations

import math
import os
from functools import cached_property
from pathlib import Path

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
    """Segments people in BGR frames of any size with a model whose input is ``size`` x ``size``."""

    def __init__(self, runtime, size: int) -> None:
        self.runtime = runtime
        self.size = size
        self._canvas: np.ndarray | None = None

    @classmethod
    def load(
        cls,
        weights: str | os.PathLike | None = None,
        backbone: str = "mobilenetv2",
        size: int = 512,
        runtime: str = "lite",
        threads: int | None = None,
        device: str = "auto",
    ) -> "PersonSegmenter":
        """Build the Keras model, load its weights (downloading the default once) and pick a runtime."""
        from . import weights as weights_module
        from .model import deeplabv3plus
        from .runtime import make_runtime

        model = deeplabv3plus(backbone, input_shape=(size, size, 3))
        weights_module.load_into(model, Path(weights) if weights else None, backbone)
        return cls(make_runtime(model, runtime, device, weights_module.cache_dir(), threads), size)

    def logits(self, frame: np.ndarray) -> tuple[np.ndarray, Letterbox]:
        """Run the network on one frame; return its low-resolution logits and the frame's letterbox."""
        frame = as_bgr(frame)
        box = Letterbox(frame.shape[0], frame.shape[1], self.size)
        self._canvas = box.place(frame, self._canvas)
        rgb = cv2.cvtColor(self._canvas, cv2.COLOR_BGR2RGB)
        batch = preprocess_input(rgb.astype(np.float32))[None]
        return self.runtime(batch)[0], box

    def segment(self, frame: np.ndarray) -> Segmentation:
        logits, box = self.logits(frame)
        return Segmentation(logits, box, 2 ** round(math.log2(self.size / logits.shape[0])))
