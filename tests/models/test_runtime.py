"""The LiteRT runtime cache: rebuilt when it is damaged or made for another shape; enough on its own when warm."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers import run_app
from webcam_blur.errors import WebcamBlurError
from webcam_blur.models.runtime import LiteRuntime
from webcam_blur.models.segmenter import PersonSegmenter


def test_corrupt_runtime_cache_is_rebuilt(tflite_path, tmp_path, monkeypatch, voc):
    monkeypatch.setenv("WEBCAM_BLUR_CACHE", str(tmp_path))
    PersonSegmenter.load(voc, tflite_path, size=257).prepare(50, 50)
    (runtime,) = tmp_path.glob("runtime-*.tflite")
    runtime.write_bytes(b"garbage")
    segmenter = PersonSegmenter.load(voc, tflite_path, size=257)
    assert segmenter.segment(np.zeros((50, 50, 3), np.uint8)).mask.shape == (50, 50)


def test_a_half_written_runtime_is_rebuilt(tflite_path, tmp_path, monkeypatch, voc):
    """A disk that filled up mid-write left the start of a valid file: its checksum gives it away."""
    monkeypatch.setenv("WEBCAM_BLUR_CACHE", str(tmp_path))
    PersonSegmenter.load(voc, tflite_path, size=257).prepare(50, 50)
    (runtime,) = tmp_path.glob("runtime-*.tflite")
    whole = runtime.read_bytes()
    runtime.write_bytes(whole[: len(whole) // 2])
    PersonSegmenter.load(voc, tflite_path, size=257).prepare(50, 50)
    assert len(runtime.read_bytes()) > 0.99 * len(whole)  # built again (exports differ by a few bytes)
    assert LiteRuntime.cached(runtime, (257, 257)) is not None  # and whole


def test_a_whole_runtime_that_will_not_load_is_kept_and_the_error_said(tflite_path, tmp_path, monkeypatch, voc):
    """Short of memory, XNNPACK fails to prepare a good file: that must not delete it (and start TensorFlow)."""
    monkeypatch.setenv("WEBCAM_BLUR_CACHE", str(tmp_path))
    PersonSegmenter.load(voc, tflite_path, size=257).prepare(50, 50)
    (runtime,) = tmp_path.glob("runtime-*.tflite")

    def starved(self, model, threads=None):
        raise RuntimeError("XNNPack delegate failed to reshape runtime. Node number 72 failed to prepare.")

    monkeypatch.setattr(LiteRuntime, "__init__", starved)
    with pytest.raises(WebcamBlurError, match="cannot load the network runtime .* is memory short"):
        PersonSegmenter.load(voc, tflite_path, size=257).prepare(50, 50)
    assert runtime.is_file()


def test_a_cached_runtime_made_for_another_shape_is_rebuilt(tflite_path, tmp_path, monkeypatch, voc):
    monkeypatch.setenv("WEBCAM_BLUR_CACHE", str(tmp_path))
    PersonSegmenter.load(voc, tflite_path, size=257).prepare(50, 50)  # a 257x257 runtime
    (square,) = tmp_path.glob("runtime-*-257x257.tflite")
    wide = square.with_name(square.name.replace("257x257", "160x257"))
    wide.write_bytes(square.read_bytes())  # wrong content under the 16:9 canvas's name, checksum and all
    Path(f"{wide}.sha256").write_bytes(Path(f"{square}.sha256").read_bytes())
    segmenter = PersonSegmenter.load(voc, tflite_path, size=257)
    assert segmenter.segment(np.zeros((90, 160, 3), np.uint8)).mask.shape == (90, 160)
    assert wide.read_bytes() != square.read_bytes()  # rebuilt for its own shape


@pytest.mark.parametrize("network", ["deeplab-voc", "default"])
def test_a_warm_cache_runs_without_tensorflow_or_keras(tflite_path, shared, tmp_path, network):
    """The warm photo path loads LiteRT, OpenCV and numpy only (TensorFlow costs ~4 s and ~500 MB); the
    default runs both its networks on a portrait (the VOC one to find the framing, then the selfie one)."""
    chosen = ["--weights", str(tflite_path)] if network == "deeplab-voc" else []
    args = ["photo", str(shared / "images" / "grace_hopper.bmp"), "-o", str(tmp_path / "out.png"), *chosen]
    assert run_app(*args).returncode == 0  # warms the cache for this photo's shape, if it was cold
    code = (
        "import sys; from webcam_blur import cli; code = cli.main(sys.argv[1:]); "
        "print(code, 'tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)
    assert result.stdout.split() == ["0", "False", "False"], result.stderr


def test_an_int8_runtime_is_quantized_and_agrees_with_the_float_one(tflite_path, tmp_path, monkeypatch, voc, photos):
    """Calibrated on the shipped demo clip; the first depthwise convolution stays float."""
    from ai_edge_litert.interpreter import Interpreter

    monkeypatch.setenv("WEBCAM_BLUR_CACHE", str(tmp_path))
    int8 = PersonSegmenter.load(voc, tflite_path, size=257, runtime="int8")
    floating = PersonSegmenter.load(voc, tflite_path, size=257)
    ious = []
    for image in photos.values():
        a, b = int8.segment(image).mask > 0, floating.segment(image).mask > 0
        if b.mean() > 0.01:  # kite_and_cold: people too small to score
            ious.append((a & b).sum() / (a | b).sum())
    assert np.mean(ious) > 0.95, ious
    (export,) = tmp_path.glob("runtime-*-int8-257x257.tflite")
    kinds = {detail["dtype"].__name__ for detail in Interpreter(str(export)).get_tensor_details()}
    assert "int8" in kinds and "float32" in kinds  # int8 inside, float where it was kept (and in and out)
    assert export.stat().st_size < 0.5 * next(tmp_path.glob("runtime-*[0-9]-257x257.tflite")).stat().st_size
