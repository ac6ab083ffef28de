"""The LiteRT runtime cache: rebuilt when it is damaged."""

import numpy as np

from webcam_blur.models.segmenter import PersonSegmenter


def test_corrupt_runtime_cache_is_rebuilt(tflite_path, tmp_path, monkeypatch, voc):
    monkeypatch.setenv("WEBCAM_BLUR_CACHE", str(tmp_path))
    PersonSegmenter.load(voc, tflite_path, size=257).prepare(50, 50)
    (runtime,) = tmp_path.glob("runtime-*.tflite")
    runtime.write_bytes(b"garbage")
    segmenter = PersonSegmenter.load(voc, tflite_path, size=257)
    assert segmenter.segment(np.zeros((50, 50, 3), np.uint8)).mask.shape == (50, 50)
