"""Ways to run the Keras model: plain TensorFlow, or a LiteRT export of it for speed.

The Keras model stays the single source of truth; the LiteRT flatbuffer is derived from it (a
float32, batch-1 export that XNNPACK runs ~3x faster than ``tf.function`` on a laptop CPU) and
cached on disk, keyed by the weights file's hash, the network and the input shape. A warm start
reads only that file: TensorFlow and Keras are not even imported (a warm photo: ~1 s and ~300 MB
instead of 5 s and 700 MB), and load only to build the model on a cold cache or to run it
on a GPU or with ``--runtime keras``.
"""

from __future__ import annotations

import logging
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np

from .. import __version__, memory
from ..errors import WebcamBlurError
from ..quiet import native_stderr_silenced
from .weights import cache_dir, sha256_of

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
    """Whether TensorFlow sees a GPU; on Linux it is asked only where an NVIDIA driver is loaded."""
    if platform.system() == "Linux" and not os.path.exists("/proc/driver/nvidia/version"):
        return False
    with native_stderr_silenced():
        import tensorflow as tf

        return bool(tf.config.list_physical_devices("GPU"))


FLOAT_LAYERS = ("expanded_conv_depthwise_relu",)  # kept float in an int8 export: see _quantize


def cached_path(digest: str, network: str, shape: tuple[int, int], kind: str = "") -> Path:
    """Where the runtime of ``network`` is cached for input ``shape``: keyed by its weights file's
    SHA-256 (``digest``), the network, this package's version and ``kind`` (``-int8``)."""
    return cache_dir() / f"runtime-{digest[:16]}-{network}-v{__version__}{kind}-{shape[0]}x{shape[1]}.tflite"


def make_runtime(
    build: Callable[[], object], runtime: str, device: str, path: Path, shape: tuple[int, int],
    threads: int | None = None, calibration: Callable[[], list] | None = None,
):
    """A GPU (through TensorFlow) when asked for or, with ``auto``, when one is there; else ``runtime`` on the CPU.

    ``build()`` makes the Keras model for this input ``shape`` (height, width); it is called only
    when the model itself is needed. ``path``: where this model's LiteRT export is cached.
    ``calibration()``: network inputs to calibrate an ``int8`` export on.
    """
    if device == "gpu" and not gpu_available():
        raise WebcamBlurError(
            "--device gpu: TensorFlow sees no GPU (install a CUDA build: pip install 'tensorflow[and-cuda]'), "
            "or use --device cpu"
        )
    if device == "gpu" or (device == "auto" and gpu_available()):
        log.info("running the model on the GPU")
        return KerasRuntime(build(), "/GPU:0")
    if runtime == "keras":
        memory.require(memory.BUILD_NEEDS, "running the Keras model")
        return KerasRuntime(build())
    cached = LiteRuntime.cached(path, shape, threads)
    if cached is not None:
        return cached
    memory.require(memory.BUILD_NEEDS, "building the network's runtime (once, on a first run)")
    return LiteRuntime.export(build(), path, threads, calibration() if runtime == "int8" else None)


class LiteRuntime:
    """A LiteRT export of the model, run by the XNNPACK delegate on ``threads`` cores."""

    def __init__(self, model: Path | bytes, threads: int | None = None) -> None:
        """``model``: the export's file, or its bytes (a runtime that could not be cached)."""
        from ai_edge_litert.interpreter import Interpreter

        source = {"model_content": model} if isinstance(model, bytes) else {"model_path": str(model)}
        with native_stderr_silenced():
            self._interpreter = Interpreter(**source, num_threads=threads or os.cpu_count() or 1)
            self._interpreter.allocate_tensors()
        inp = self._interpreter.get_input_details()[0]
        self.input_shape = tuple(int(n) for n in inp["shape"])
        self._input = inp["index"]
        self._output = self._interpreter.get_output_details()[0]["index"]

    @classmethod
    def cached(cls, path: Path, shape: tuple[int, int], threads: int | None = None) -> "LiteRuntime | None":
        """The cached export at ``path`` if it is there, whole and made for ``shape``; a bad one is removed.

        A file whose checksum holds and that still does not load is not removed: that is this
        machine failing (XNNPACK says "failed to prepare" when memory is short), not the file.
        """
        if not path.is_file():
            return None
        if not _intact(path):
            log.warning("cached runtime %s is incomplete or damaged; building it again", path)
            _remove(path)
            return None
        try:
            runtime = cls(path, threads)
        except (ValueError, RuntimeError) as e:
            raise WebcamBlurError(
                f"cannot load the network runtime {path} ({' '.join(str(e).split())}); is memory short? "
                "(if not, delete that file and it is built again)"
            ) from None
        if runtime.input_shape == (1, *shape, 3):
            return runtime
        log.warning("cached runtime %s was made for another input %s; building it again", path, runtime.input_shape)
        _remove(path)
        return None

    @classmethod
    def export(cls, model, path: Path, threads: int | None = None, calibration: list | None = None) -> "LiteRuntime":
        """Export ``model`` to ``path`` (written whole or not at all) and load it.

        Where the cache cannot be written (a read-only home, a full disk), the export is made in
        a temporary folder and run from memory, with one warning: the next start builds it again.
        """
        height, width = model.input_shape[1:3]
        log.info("building the LiteRT runtime for %dx%d network input (once per weights and shape)...", width, height)
        started = time.perf_counter()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".partial.tflite")
            _export(model, partial, calibration)
            partial.replace(path)
            _write_checksum(path)
            runtime = cls(path, threads)
        except OSError as e:
            log.warning("cannot cache the runtime in %s (%s); running it from memory", path.parent, e.strerror or e)
            with tempfile.TemporaryDirectory() as folder:
                exported = Path(folder) / path.name
                _export(model, exported, calibration)
                runtime = cls(exported.read_bytes(), threads)
        log.info("built in %.1f s", time.perf_counter() - started)
        return runtime

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        self._interpreter.set_tensor(self._input, batch)
        self._interpreter.invoke()
        return self._interpreter.get_tensor(self._output)


def _checksum_of(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _write_checksum(path: Path) -> None:
    """Written after the export is in place: a runtime without one was never finished."""
    partial = _checksum_of(path).with_suffix(".partial")
    partial.write_text(sha256_of(path) + "\n")
    partial.replace(_checksum_of(path))


def _intact(path: Path) -> bool:
    try:
        return _checksum_of(path).read_text().strip() == sha256_of(path)
    except (OSError, UnicodeDecodeError):
        return False


def _remove(path: Path) -> None:
    for stale in (path, _checksum_of(path)):
        try:
            stale.unlink(missing_ok=True)
        except OSError:
            pass  # an unwritable cache: the export below runs from memory


def _export(model, path: Path, calibration: list | None = None) -> None:
    """Convert through a SavedModel that TensorFlow writes in the temporary folder; int8 inside
    (float32 in and out) when ``calibration`` inputs are given."""
    import keras
    import tensorflow as tf

    spec = keras.InputSpec(shape=(1, *model.input_shape[1:]), dtype="float32")
    try:
        with native_stderr_silenced():
            if calibration is None:
                model.export(str(path), format="litert", input_signature=[spec], verbose=False)
            else:
                path.write_bytes(_quantize(model, spec, calibration))
    except tf.errors.OpError as e:  # TensorFlow's own file writes fail with these, not OSError
        reason = e.message.split("; ")[-1].split(" [")[0].strip()
        raise WebcamBlurError(
            f"cannot build the LiteRT runtime: TensorFlow could not write its export in "
            f"{tempfile.gettempdir()} ({reason}); free some space there or point TMPDIR elsewhere"
        ) from None


def _quantize(model, spec, calibration: list) -> bytes:
    """Per-channel int8 post-training quantization, the first depthwise convolution left in float.

    XNNPACK's QS8 kernels run it in ~0.53x the float export's time (512x288: 15.8 vs 29 ms on
    2 threads). Fully int8, one layer carried most of the error (the first depthwise: 4.2
    quantization steps, every other layer <= 0.6) and the person mask agreed with the float
    export at mean IoU 0.978 (min 0.52) on 128 shared photos; with that layer in float, 0.987
    (min 0.86), at the float model's own noise floor. Selective quantization is what TensorFlow's
    QuantizationDebugger does: calibrate, then quantize with some nodes denylisted.
    """
    import functools

    import keras
    import tensorflow as tf
    from tensorflow.lite.python import convert  # the debugger's own step; TensorFlow is pinned to 2.x

    with tempfile.TemporaryDirectory() as folder:
        archive = keras.export.ExportArchive()
        archive.track(model)
        archive.add_endpoint("serve", functools.partial(model.__call__, training=False), input_signature=[spec])
        archive.write_out(folder, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(folder)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([batch.astype(np.float32)] for batch in calibration)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = converter.inference_output_type = tf.float32
        converter._experimental_calibrate_only = True  # noqa: SLF001 - as QuantizationDebugger does
        calibrated = converter.convert()
    names = [t["name"] for t in tf.lite.Interpreter(model_content=calibrated).get_tensor_details()]
    kept_float = [name for name in names if any(layer in name for layer in FLOAT_LAYERS)]
    return convert.mlir_quantize(calibrated, fully_quantize=False, denylisted_nodes=kept_float or None)
