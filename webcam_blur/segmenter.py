"""Person masks for arbitrary frames: letterbox -> DeepLabv3+ -> person class -> frame-sized mask."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .frames import as_bgr
from .letterbox import Letterbox
from .model import PERSON_CLASS, preprocess_input


@dataclass(frozen=True)
class Segmentation:
    """``mask``: uint8 0/255, where the argmax is the person class. ``probability``: softmax, 0..1."""

    mask: np.ndarray
    probability: np.ndarray


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
    ) -> "PersonSegmenter":
        """Build the Keras model, load its weights (downloading the default once) and pick a runtime."""
        from . import weights as weights_module
        from .model import deeplabv3plus
        from .runtime import KerasRuntime, LiteRuntime

        model = deeplabv3plus(backbone, input_shape=(size, size, 3))
        weights_module.load_into(model, Path(weights) if weights else None, backbone)
        if runtime == "keras":
            return cls(KerasRuntime(model), size)
        return cls(LiteRuntime.from_model(model, weights_module.cache_dir(), threads), size)

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
        return person_maps(logits, box, self.size)


def person_maps(logits: np.ndarray, box: Letterbox, size: int) -> Segmentation:
    """Upsample the person channel onto the frame.

    The argmax test ``person > every other class`` is made on the interpolated margin
    ``logit[person] - max(other logits)``: one channel to resample instead of 21.
    """
    logits = logits.astype(np.float32, copy=False)
    others = np.delete(logits, PERSON_CLASS, axis=-1).max(axis=-1)
    person = logits[..., PERSON_CLASS]
    top = np.maximum(person, others)
    probability = np.exp(person - top) / np.exp(logits - top[..., None]).sum(axis=-1)
    maps = np.dstack([person - others, probability])
    stride = 2 ** round(math.log2(size / logits.shape[0]))
    full = box.unplace(maps, stride)
    mask = np.where(full[..., 0] > 0, np.uint8(255), np.uint8(0))
    return Segmentation(mask, np.clip(full[..., 1], 0.0, 1.0))
