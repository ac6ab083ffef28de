"""Where the network's weights come from, and how each kind of file gets into the Keras model.

The official DeepLabV3-MobileNetV2 PASCAL VOC network is published only as a uint8 TFLite file.
It ships inside the package (2.2 MB), so a first run needs no network; we dequantize it into our
Keras model (0.1 s), which stays the single source of truth, and the LiteRT runtime built from
that is what is cached. Other files are downloaded once from a pinned URL, with its SHA-256; that
their server can be reached is checked first, so an offline start does not import TensorFlow to
find out.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from ..assets import bundled
from ..errors import WebcamBlurError

log = logging.getLogger(__name__)

TFLITE_MAGIC = b"TFL3"
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
DOWNLOAD_TIMEOUT = 15.0  # seconds a server may keep us waiting, to connect or between two reads


@dataclass(frozen=True)
class WeightsSource:
    """A published weights file: where it lives and what it must hash to (None: record on first use).

    ``shipped``: the same file is inside the package (the DeepLab VOC network), so no download is needed.
    """

    filename: str
    url: str
    sha256: str | None
    shipped: bool = False


def cache_dir() -> Path:
    """Downloaded and converted weights live here (``$WEBCAM_BLUR_CACHE`` overrides)."""
    override = os.environ.get("WEBCAM_BLUR_CACHE")
    if override:
        return Path(override).expanduser()
    keras_home = os.environ.get("KERAS_HOME", str(Path.home() / ".keras"))
    return Path(keras_home).expanduser() / "webcam-blur"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def weights_kind(path: Path) -> str:
    """'tflite', 'keras' (our ``.weights.h5``) or 'legacy-h5' (the reference project's files)."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as e:
        raise WebcamBlurError(f"cannot read weights file {path}: {e.strerror}") from None
    if head[4:8] == TFLITE_MAGIC:
        return "tflite"
    if head == HDF5_MAGIC:
        import h5py

        try:
            with h5py.File(path, "r") as f:
                if "layer_names" in f.attrs or "model_weights" in f:
                    return "legacy-h5"
                if "layers" in f or "_layer_checkpoint_dependencies" in f:
                    return "keras"
        except OSError:
            pass
        raise WebcamBlurError(f"{path} is an HDF5 file but holds no Keras weights (truncated or corrupt?)")
    raise WebcamBlurError(
        f"{path} is not a weights file: expected a DeepLab .tflite, a Keras .weights.h5 or a reference .h5"
    )


def models_dir() -> Path | None:
    """A folder of model files under their published names (``$WEBCAM_BLUR_MODELS``), looked in before any download."""
    folder = os.environ.get("WEBCAM_BLUR_MODELS")
    return Path(folder).expanduser() if folder else None


def locate(source: WeightsSource, folder: Path | None = None) -> Path:
    """A published weights file: a local copy (see :func:`local_copy`), else downloaded once."""
    return local_copy(source, folder) or fetch(source)


def local_copy(source: WeightsSource, folder: Path | None = None) -> Path | None:
    """The copy inside the package if it ships, else one in the models folder (``folder``, else
    ``$WEBCAM_BLUR_MODELS``), else an earlier download, each only if its hash matches."""
    if source.shipped:
        path = bundled(source.filename)
        if path.is_file() and sha256_of(path) == source.sha256:
            return path
        log.warning("the network file shipped in the package is missing or damaged (%s); looking further", path)
    folder = Path(folder).expanduser() if folder else models_dir()
    if folder is not None and (folder / source.filename).is_file():
        path = folder / source.filename
        if source.sha256 is None or sha256_of(path) == source.sha256:
            return path
        log.warning("%s does not have the published SHA-256; not using it", path)
    downloaded = cache_dir() / source.filename
    if source.sha256 is not None and downloaded.is_file() and sha256_of(downloaded) == source.sha256:
        return downloaded  # checked here: Keras' own check would import TensorFlow on every start
    return None


def fetch(source: WeightsSource) -> Path:
    """Return a published weights file, downloading it once with a hash check."""
    target = cache_dir() / source.filename

    def failure(reason: str) -> WebcamBlurError:
        return WebcamBlurError(f"could not download {source.filename} ({reason}); download {source.url} and put it "
                               f"at {target} or in a folder named by --models-dir")

    kept = target.is_file() and (source.sha256 is None or sha256_of(target) == source.sha256)  # Keras keeps it
    if not kept:  # before importing Keras (seconds, and hundreds of MB) for nothing on a computer without a network
        server = _first_hop(source.url)
        try:
            socket.create_connection(server, timeout=DOWNLOAD_TIMEOUT).close()
        except OSError as e:
            raise failure(f"{server[0]} cannot be reached: {e.strerror or e}") from None
    import keras

    if not target.exists():
        log.info("downloading %s from %s", source.filename, source.url)
    default_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT)  # urllib under Keras: a stalled server is an error, not a hang
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # Keras prints its own progress on stdout
            path = Path(
                keras.utils.get_file(
                    source.filename,
                    source.url,
                    file_hash=source.sha256,
                    hash_algorithm="sha256",
                    cache_dir=str(cache_dir()),
                    cache_subdir=".",
                )
            )
    except Exception as e:  # noqa: BLE001 - get_file raises bare Exception on network errors
        raise failure(_download_failure(e, source.url)) from None
    finally:
        socket.setdefaulttimeout(default_timeout)
    if source.sha256 is None:
        _check_recorded_hash(path)
    return path


def _first_hop(url: str) -> tuple[str, int]:
    """The host and port a download of ``url`` connects to: its server, or the proxy urllib would use."""
    import urllib.request  # only here: it imports ssl and http, which a start with every file present never needs

    parts = urlsplit(url)
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and not urllib.request.proxy_bypass(parts.hostname or ""):
        parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


def _download_failure(error: Exception, url: str) -> str:
    """Keras' message without the URL it repeats ("URL fetch failure on URL: None -- reason")."""
    text = _first_line(error).replace(url, "").replace("URL fetch failure on : ", "")
    return text.rsplit(" -- ", 1)[-1].strip() or type(error).__name__


def _check_recorded_hash(path: Path) -> None:
    """For files without a published hash: record it the first time, insist on it afterwards."""
    record = path.with_name(path.name + ".sha256")
    digest = sha256_of(path)
    if not record.exists():
        record.write_text(digest + "\n")
        return
    if record.read_text().strip() != digest:
        raise WebcamBlurError(
            f"{path} changed since it was first downloaded (SHA-256 mismatch); delete it to fetch it again"
        )


def load_into(model, path: Path | None, source: WeightsSource, tflite_layers: int | None = None) -> None:
    """Load weights from ``path`` (or the published ``source``) into ``model``, converting as needed.

    ``tflite_layers``: how many conv layers a TFLite file for this model has (None: none converts).
    """
    path = Path(path) if path is not None else locate(source)
    if not path.is_file():
        raise WebcamBlurError(f"weights file not found: {path}")
    kind = weights_kind(path)
    try:
        if kind == "keras":
            model.load_weights(str(path))
        elif kind == "legacy-h5":
            model.load_weights(str(path), by_name=True)
        else:
            if tflite_layers is None:
                raise WebcamBlurError(f"{path} is a TFLite file; the {model.name} model loads no TFLite weights")
            _load_tflite(model, path, tflite_layers)
    except WebcamBlurError:
        raise
    except Exception as e:  # noqa: BLE001 - Keras raises many types for mismatching files
        raise WebcamBlurError(f"{path} does not fit the {model.name} model: {_first_line(e)}") from None


def _first_line(e: Exception) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def _load_tflite(model, path: Path, layers: int) -> None:
    """Copy a TFLite file's weights into ``model``. Not cached: it takes 0.1 s, and an h5 cache
    file that failed half-written (disk full) made h5py crash the process (SIGSEGV)."""
    started = time.perf_counter()
    for layer_name, values in tflite_weights(path, layers).items():
        model.get_layer(layer_name).set_weights(values)
    log.debug("converted %s into the Keras model in %.2f s", path.name, time.perf_counter() - started)


def tflite_weights(path: Path, layers: int = 109) -> dict[str, list[np.ndarray]]:
    """Dequantize an official DeepLab MobileNetV2 TFLite file into reference-layer weights.

    Every conv in the file has BatchNorm folded in: the following BN layer gets ``beta`` = the
    folded bias and the identity for the rest, so the model still loads unfolded reference files.
    """
    from ai_edge_litert.interpreter import Interpreter

    try:
        interpreter = Interpreter(str(path))
        tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
        ops = interpreter._get_ops_details()  # the only API that exposes op inputs
    except (ValueError, RuntimeError) as e:
        raise WebcamBlurError(f"{path} is not a readable TFLite model: {_first_line(e)}") from None

    def dequantized(index: int) -> np.ndarray:
        detail = tensors[index]
        q = detail["quantization_parameters"]
        raw = interpreter.get_tensor(index).astype(np.float32)
        if detail["dtype"] == np.float32 and not len(q["scales"]):
            return raw  # a float file: nothing to dequantize
        if len(q["scales"]) != 1:
            raise WebcamBlurError(f"{path}: expected per-tensor quantization, found {len(q['scales'])} scales")
        return (raw - float(q["zero_points"][0])) * float(q["scales"][0])

    result: dict[str, list[np.ndarray]] = {}
    for op in ops:
        if op["op_name"] not in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            continue
        _, weight_index, bias_index = (int(i) for i in op["inputs"][:3])
        layer = _reference_layer_name(tensors[weight_index]["name"])
        kernel = dequantized(weight_index).transpose(1, 2, 3, 0)  # (O,H,W,I) / (1,H,W,C) -> Keras
        kernel = _undilated(kernel, path, layer)
        bias = dequantized(bias_index)
        if layer == "logits_semantic":
            result[layer] = [kernel, bias]
            continue
        result[layer] = [kernel]
        epsilon = 1e-3 if layer.startswith(("Conv", "expanded_conv")) else 1e-5
        ones = np.ones_like(bias)
        result[layer + "_BN"] = [ones, bias, np.zeros_like(bias), ones - epsilon]
    if "logits_semantic" not in result or len(result) != layers:
        raise WebcamBlurError(
            f"{path} is not the DeepLabV3-MobileNetV2 PASCAL VOC network ({len(result)} of {layers} layers found)"
        )
    return result


# The first component that is the weight itself, not the layer: quantized exports name a folded
# weight ``.../expand/Conv2D_Fold`` or ``.../depthwise/depthwise_Fold``, float exports keep the
# variable (``.../expand/weights/read/_24__cf__24``, ``.../depthwise/depthwise_weights/read/...``).
_WEIGHT_LEAVES = ("Conv2D_Fold", "depthwise_Fold", "Conv2D", "weights", "depthwise_weights")


def _reference_layer_name(tensor_name: str) -> str:
    """``MobilenetV2/expanded_conv_3/expand/Conv2D_Fold;...`` -> ``expanded_conv_3_expand``
    (also ``MobilenetV2/Conv/weights/read/_4__cf__4`` -> ``Conv``)."""
    parts = tensor_name.split(";")[0].split("/")
    if parts[0] == "MobilenetV2":
        parts = parts[1:]
    for end, part in enumerate(parts):
        if part in _WEIGHT_LEAVES:
            return "_".join(parts[:end])
    return "_".join(parts[:-1])


def _undilated(kernel: np.ndarray, path: Path, layer: str) -> np.ndarray:
    """A depthwise kernel the converter stored pre-dilated (3x3 at rate r as a (2r+1)^2 kernel with
    zeros between the taps, seen in float exports at output stride 8) -> its 3x3 taps."""
    size = kernel.shape[0]
    if size <= 3 or kernel.shape[1] != size or (size - 1) % 2:
        return kernel
    rate = (size - 1) // 2
    taps = kernel[::rate, ::rate]
    off_grid = kernel.copy()
    off_grid[::rate, ::rate] = 0
    if taps.shape[:2] != (3, 3) or np.abs(off_grid).max() > 0:
        raise WebcamBlurError(f"{path}: {layer} has a {size}x{size} kernel that is not a dilated 3x3 one")
    return taps
