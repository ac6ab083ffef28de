"""Person masks for arbitrary frames: letterbox -> network -> person margin and probability -> frame size."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Callable, Protocol

import cv2
import numpy as np

from ..errors import WebcamBlurError
from .letterbox import Letterbox
from .registry import DEAD_BAND, ModelSpec


class Segmentation:
    """The person in one frame, from a network's low-resolution output, whatever the network.

    ``margin``: > 0 where the network says person (for VOC, the argmax is the person class);
    ``probability``: the person probability, 0..1; both on the network's grid, which sits over
    the letterboxed frame ``box`` every ``stride`` input pixels. ``mask`` and ``probability_at``
    resample them onto the frame on first use only.
    """

    def __init__(
        self, margin: np.ndarray, probability: np.ndarray, box: Letterbox, stride: int, detail: int | None = None,
        dead_band: float = DEAD_BAND,
    ) -> None:
        self._margin = margin
        self._probability = probability
        self.box = box
        self.stride = stride
        self.detail = detail or stride  # input pixels per finest detail the network resolves
        self.dead_band = dead_band  # the refiner's dead band per unit of --temporal (``ModelSpec.dead_band``)

    @property
    def cell(self) -> float:
        """The finest detail the network resolves, in frame pixels (its output cell, unless coarser)."""
        return self.detail * max(self.box.frame_width, self.box.frame_height) / self.box.size

    @cached_property
    def mask(self) -> np.ndarray:
        """uint8 0/255 at frame size."""
        margin = self.box.unplace(self._margin, self.stride)
        return (margin > 0).view(np.uint8) * np.uint8(255)

    @cached_property
    def probability(self) -> np.ndarray:
        return self.probability_at(self.box.frame_width, self.box.frame_height)

    def probability_at(self, width: int, height: int) -> np.ndarray:
        """The person probability for the frame resampled to ``width`` x ``height``."""
        return np.clip(self.box.unplace(self._probability, self.stride, (width, height)), 0.0, 1.0)


class Runtime(Protocol):
    """Runs a network on a batch of one prepared canvas (see ``runtime.py``)."""

    def __call__(self, batch: np.ndarray) -> np.ndarray: ...


class PersonSegmenter:
    """Segments people in BGR frames of any size; the network sees them with long side ``size``.

    ``runtime_for((height, width))`` makes the runtime for one canvas shape; each is made once,
    on first use or ahead of time with :meth:`prepare`.
    """

    def __init__(
        self, spec: ModelSpec, runtime_for: Callable[[tuple[int, int]], Runtime], size: int, fit: bool = True
    ) -> None:
        self.spec = spec
        self.size = size
        self.fit = fit
        self._runtime_for = runtime_for
        self._runtimes: dict[tuple[int, int], Runtime] = {}
        self._canvas: np.ndarray | None = None
        self._batch: np.ndarray | None = None

    @classmethod
    def load(
        cls,
        spec: ModelSpec,
        weights: str | os.PathLike | None = None,
        *,
        size: int = 512,
        runtime: str = "lite",
        threads: int | None = None,
        device: str = "auto",
        fit: bool = True,
        models_dir: str | os.PathLike | None = None,
    ) -> "PersonSegmenter":
        """The network with its weights (the published ones by default) and a runtime per canvas shape.

        A runtime found in the cache is used as it is; the Keras model is built (and its weights
        converted) only when a runtime must be made from it, once, for every shape that needs it.
        """
        from . import weights as weights_module
        from .calibration import calibration_inputs
        from .runtime import cached_path, make_runtime

        path = Path(weights) if weights else weights_module.locate(spec.weights, models_dir)
        if not path.is_file():
            raise WebcamBlurError(f"weights file not found: {path}")
        if not spec.keras:
            if runtime != "lite" or device == "gpu":
                raise WebcamBlurError(f"{spec.name} is not a Keras model: it runs through LiteRT on the CPU only "
                                      "(drop --runtime keras and --device gpu)")
            return cls(spec, lambda shape: _published_runtime(spec, path, shape, threads), spec.input_size, fit=False)
        digest = weights_module.sha256_of(path)
        models: dict[tuple[int, int], object] = {}

        def keras_model(shape: tuple[int, int]):
            if (size, size) not in models:
                square = spec.build((size, size, 3))
                weights_module.load_into(square, path, spec.weights, spec.tflite_layers)
                models[(size, size)] = square
            if shape not in models:  # the same layers and weights, built for another input shape
                models[shape] = spec.build((*shape, 3))
                models[shape].set_weights(models[(size, size)].get_weights())
            return models[shape]

        def runtime_for(shape: tuple[int, int]) -> Runtime:
            cached = cached_path(digest, spec.name, shape, "-int8" if runtime == "int8" else "")
            return make_runtime(lambda: keras_model(shape), runtime, device, cached, shape, threads,
                                lambda: calibration_inputs(shape, spec.preprocess))

        return cls(spec, runtime_for, size, fit)

    def letterbox(self, width: int, height: int) -> Letterbox:
        return Letterbox(height, width, self.size, self.fit, self.spec.stretch)

    def prepare(self, width: int, height: int) -> None:
        """Make the runtime for frames of this size now, not when the first one arrives."""
        self._runtime(self.letterbox(width, height).canvas_shape)

    def _runtime(self, shape: tuple[int, int]) -> Runtime:
        if shape not in self._runtimes:
            self._runtimes[shape] = self._runtime_for(shape)
        return self._runtimes[shape]

    def logits(self, frame: np.ndarray) -> tuple[np.ndarray, Letterbox]:
        """Run the network on one BGR frame; return its low-resolution output and the frame's letterbox."""
        box = self.letterbox(frame.shape[1], frame.shape[0])
        self._canvas = box.place(frame, self._canvas)
        cv2.cvtColor(self._canvas, cv2.COLOR_BGR2RGB, dst=self._canvas)  # in place: per-pixel swap
        if self._batch is None or self._batch.shape[1:] != self._canvas.shape:
            self._batch = np.empty((1, *self._canvas.shape), np.float32)
        self.spec.preprocess(self._canvas, out=self._batch[0])
        return self._runtime(box.canvas_shape)(self._batch)[0], box

    def segment(self, frame: np.ndarray) -> Segmentation:
        """The person in one 8-bit BGR frame (``frames.as_bgr`` makes any image one)."""
        logits, box = self.logits(frame)
        margin, probability = self.spec.decode(logits)
        return Segmentation(margin, probability, box, self.spec.stride, self.spec.detail, self.spec.dead_band)


def _published_runtime(spec: ModelSpec, path: Path, shape: tuple[int, int], threads: int | None) -> Runtime:
    """A network that is not a Keras model: its own TFLite file, which must take ``shape``."""
    from .runtime import LiteRuntime

    try:
        runtime = LiteRuntime(path, threads)
    except (ValueError, RuntimeError) as e:
        raise WebcamBlurError(f"{path} is not a readable TFLite model ({' '.join(str(e).split())})") from None
    if runtime.input_shape != (1, *shape, 3):
        raise WebcamBlurError(f"{path} is not the {spec.name} network: it takes {runtime.input_shape}, "
                              f"not (1, {shape[0]}, {shape[1]}, 3)")
    return runtime
