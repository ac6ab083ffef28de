"""Ways to run the Keras model: plain TensorFlow, or a LiteRT export of it for speed.

The Keras model stays the single source of truth; the LiteRT flatbuffer is derived from it at
load time (a float32, batch-1 export that XNNPACK runs ~3x faster than ``tf.function`` on a
laptop CPU) and cached on disk, keyed by a hash of the weights and the input shape.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from pathlib import Path

import numpy as np

from ..quiet import native_stderr_silenced

log = logging.getLogger(__name__)


class KerasRuntime:
    """The model itself under ``tf.function``, on ``device``: the path for GPUs, and the reference."""

    def __init__(self, model, device: str = "/CPU:0") -> None:
        import tensorflow as tf

        self.device = device

        @tf.function(reduce_retracing=True)
        def run(x):
            with tf.device(device):
                return model(x, training=False)

        self._fn = run

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self._fn(batch).numpy()


def gpu_available() -> bool:
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def make_runtime(model, runtime: str, device: str, cache: Path, threads: int | None = None):
    """A GPU (through TensorFlow) when asked for or, with ``auto``, when TensorFlow sees one; else ``runtime`` on the CPU."""
    from ..errors import WebcamBlurError

    if device == "gpu" and not gpu_available():
        raise WebcamBlurError(
            "--device gpu: TensorFlow sees no GPU (install a CUDA build: pip install 'tensorflow[and-cuda]'), "
            "or use --device cpu"
        )
    if device == "gpu" or (device == "auto" and gpu_available()):
        log.info("running the model on the GPU")
        return KerasRuntime(model, "/GPU:0")
    if runtime == "keras":
        return KerasRuntime(model)
    return LiteRuntime.from_model(model, cache, threads)


class LiteRuntime:
    """A LiteRT export of the model, run by the XNNPACK delegate on ``threads`` cores."""

    def __init__(self, path: Path, threads: int | None = None) -> None:
        from ai_edge_litert.interpreter import Interpreter

        with native_stderr_silenced():
            self._interpreter = Interpreter(str(path), num_threads=threads or os.cpu_count() or 1)
            self._interpreter.allocate_tensors()
        inp = self._interpreter.get_input_details()[0]
        self._input = inp["index"]
        self._output = self._interpreter.get_output_details()[0]["index"]

    @classmethod
    def from_model(cls, model, cache: Path, threads: int | None = None) -> "LiteRuntime":
        height, width = model.input_shape[1:3]
        path = cache / f"runtime-{weights_digest(model)[:16]}-{height}x{width}.tflite"
        if path.exists():
            try:
                return cls(path, threads)
            except (ValueError, RuntimeError):
                log.warning("cached runtime %s is unreadable; building it again", path)
                path.unlink()
        import keras

        log.info("building the LiteRT runtime for %dx%d network input (once per weights and shape)...", width, height)
        started = time.perf_counter()
        cache.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial.tflite")
        spec = keras.InputSpec(shape=(1, *model.input_shape[1:]), dtype="float32")
        with native_stderr_silenced():
            model.export(str(partial), format="litert", input_signature=[spec], verbose=False)
        partial.replace(path)
        log.info("built in %.1f s", time.perf_counter() - started)
        return cls(path, threads)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        self._interpreter.set_tensor(self._input, batch)
        self._interpreter.invoke()
        return self._interpreter.get_tensor(self._output)


def weights_digest(model) -> str:
    """Identify a model's weights by content, whatever file they came from."""
    digest = hashlib.sha256(model.name.encode())
    for w in model.weights:
        digest.update(np.ascontiguousarray(w.numpy()).tobytes())
    return digest.hexdigest()
