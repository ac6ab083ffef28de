"""Shared fixtures. The real-path tests read ../shared (or $WEBCAM_BLUR_SHARED): skipped where it is
absent, but under CI (CI=true) a missing ../shared is a failure, never a skip."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# One weights/runtime cache for the whole run, shared with the app processes the tests start.
os.environ.setdefault("WEBCAM_BLUR_CACHE", tempfile.mkdtemp(prefix="webcam-blur-test-cache-"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

PERSON_PHOTOS = ["grace_hopper.bmp", "squat.bmp", "face.jpg", "couple_walking.bmp", "kite_and_cold.jpg"]


def _shared_dir() -> Path | None:
    candidate = Path(os.environ.get("WEBCAM_BLUR_SHARED", ROOT.parent / "shared"))
    return candidate if (candidate / "models").is_dir() else None


if _shared_dir() is not None:  # the published model files, so the default (--model auto) has both its networks
    os.environ.setdefault("WEBCAM_BLUR_MODELS", str(_shared_dir() / "models"))


@pytest.fixture(scope="session")
def shared() -> Path:
    path = _shared_dir()
    if path is None:
        reason = "../shared (test weights, photos and videos) is not beside the repository"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason + "; under CI the real-path tests must run")
        pytest.skip(reason)
    return path


@pytest.fixture(scope="session")
def tflite_path(shared: Path) -> Path:
    return shared / "models" / "deeplabv3_mnv2_pascal_quant.tflite"


@pytest.fixture(scope="session")
def photos(shared: Path) -> dict:
    import cv2

    return {name: cv2.imread(str(shared / "images" / name)) for name in PERSON_PHOTOS}


@pytest.fixture(scope="session")
def voc():
    """The registry entry of the VOC network (auto's wide one, and the one that ships)."""
    from webcam_blur.models.registry import MODELS

    return MODELS["deeplab-voc"]


@pytest.fixture(scope="session")
def keras_model_513(tflite_path: Path, voc):
    from webcam_blur.models import weights

    model = voc.build((513, 513, 3))
    weights.load_into(model, tflite_path, voc.weights, voc.tflite_layers)
    return model


@pytest.fixture(scope="session")
def segmenter(tflite_path: Path, voc):
    """The product's default: long side 512 on a fitted canvas, LiteRT runtime.

    Its runtimes for 16:9 and 4:3 frames are made up front, as the app does for its camera, so
    pipeline tests do not wait on a first-time export.
    """
    from webcam_blur.models.segmenter import PersonSegmenter

    segmenter = PersonSegmenter.load(voc, tflite_path, size=512, runtime="lite")
    for width, height in ((1280, 720), (640, 480)):
        segmenter.prepare(width, height)
    return segmenter


@pytest.fixture(scope="session")
def square_segmenter(tflite_path: Path, voc):
    """Every frame padded to 512x512, as the tutorials do."""
    from webcam_blur.models.segmenter import PersonSegmenter

    return PersonSegmenter.load(voc, tflite_path, size=512, runtime="lite", fit=False)


@pytest.fixture(scope="session")
def keras_segmenter(tflite_path: Path, voc):
    from webcam_blur.models.segmenter import PersonSegmenter

    return PersonSegmenter.load(voc, tflite_path, size=512, runtime="keras")


@pytest.fixture(scope="session")
def clip_frames(shared):
    """The first 30 frames of the gesturing clip."""
    from helpers import video_frames

    return video_frames(shared / "videos" / "again.mkv")[:30]


@pytest.fixture(scope="session")
def tflite_reference(tflite_path: Path):
    """The TFLite file run by its own interpreter: person mask of a 513x513 RGB canvas."""
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(str(tflite_path))
    interpreter.allocate_tensors()
    inp = interpreter.get_input_details()[0]["index"]
    out = interpreter.get_output_details()[0]["index"]

    def person(rgb_513: np.ndarray) -> np.ndarray:
        interpreter.set_tensor(inp, rgb_513[None])
        interpreter.invoke()
        return interpreter.get_tensor(out)[0] == 15

    return person


class XServer:
    """A private Xvfb server: ``display`` for DISPLAY, ``kill()`` to make it vanish mid-test."""

    def __init__(self, display: str) -> None:
        import subprocess
        import time

        self.display = display
        self.process = subprocess.Popen(["Xvfb", display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)


@pytest.fixture
def xvfb():
    import shutil

    if shutil.which("Xvfb") is None or shutil.which("xdotool") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("Xvfb and xdotool are needed under CI (.ci/run installs them)")
        pytest.skip("Xvfb/xdotool not installed")
    server = XServer(f":{90 + os.getpid() % 100}")
    yield server
    server.kill()


@pytest.fixture
def vcam():
    """A real VirtualCameraSink over pyvirtualcam's backend registry, recording what it is sent."""
    import pyvirtualcam

    from helpers import RecordingBackend
    from webcam_blur.sinks import VirtualCameraSink

    pyvirtualcam.register_backend("recording-test", RecordingBackend)
    RecordingBackend.instances.clear()
    sink = VirtualCameraSink(30.0, backend="recording-test")
    yield sink
    sink.close()
