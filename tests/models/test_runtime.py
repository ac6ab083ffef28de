"""The LiteRT runtime cache: rebuilt when it is damaged or made for another shape; enough on its own when warm."""

import subprocess
import sys

import numpy as np

from helpers import run_app
from webcam_blur.models.segmenter import PersonSegmenter


def test_corrupt_runtime_cache_is_rebuilt(tflite_path, tmp_path, monkeypatch, voc):
    monkeypatch.setenv("WEBCAM_BLUR_CACHE", str(tmp_path))
    PersonSegmenter.load(voc, tflite_path, size=257).prepare(50, 50)
    (runtime,) = tmp_path.glob("runtime-*.tflite")
    runtime.write_bytes(b"garbage")
    segmenter = PersonSegmenter.load(voc, tflite_path, size=257)
    assert segmenter.segment(np.zeros((50, 50, 3), np.uint8)).mask.shape == (50, 50)


def test_a_cached_runtime_made_for_another_shape_is_rebuilt(tflite_path, tmp_path, monkeypatch, voc):
    monkeypatch.setenv("WEBCAM_BLUR_CACHE", str(tmp_path))
    PersonSegmenter.load(voc, tflite_path, size=257).prepare(50, 50)  # a 257x257 runtime
    (square,) = tmp_path.glob("runtime-*-257x257.tflite")
    wide = square.with_name(square.name.replace("257x257", "160x257"))
    wide.write_bytes(square.read_bytes())  # wrong content under the 16:9 canvas's name
    segmenter = PersonSegmenter.load(voc, tflite_path, size=257)
    assert segmenter.segment(np.zeros((90, 160, 3), np.uint8)).mask.shape == (90, 160)
    assert wide.read_bytes() != square.read_bytes()  # rebuilt for its own shape


def test_a_warm_cache_runs_without_tensorflow_or_keras(tflite_path, shared, tmp_path):
    """The warm photo path loads LiteRT, OpenCV and numpy only (TensorFlow costs ~4 s and ~500 MB)."""
    args = ["photo", str(shared / "images" / "face.jpg"), "-o", str(tmp_path / "out.png"), "--weights", str(tflite_path)]
    assert run_app(*args).returncode == 0  # warms the cache for this photo's shape, if it was cold
    code = (
        "import sys; from webcam_blur import cli; code = cli.main(sys.argv[1:]); "
        "print(code, 'tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)
    assert result.stdout.split() == ["0", "False", "False"], result.stderr
