"""Speed features, tested for behaviour (never for wall-clock figures): idling, stats, devices, the benchmark."""

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from helpers import error_lines, run_app
from webcam_blur.capture import ReplaySource
from webcam_blur.compositor import Compositor
from webcam_blur.pipeline import Pipeline
from webcam_blur.sinks import opened_by_another_process

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def clip_frames(shared):
    capture = cv2.VideoCapture(str(shared / "videos" / "again.mkv"))
    frames = [capture.read()[1] for _ in range(30)]
    return frames


class SwitchableCamera:
    """A virtual camera whose audience the test controls."""

    records = False

    def __init__(self):
        self.watched = False
        self.frames = 0

    def send(self, frame):
        self.frames += 1

    def has_readers(self):
        return self.watched

    def close(self):
        pass


def test_pipeline_idles_while_no_one_watches_and_resumes(segmenter, clip_frames):
    camera = SwitchableCamera()
    pipeline = Pipeline(ReplaySource(clip_frames, fps=30), segmenter, Compositor(), [camera])
    snapshots = {}

    def script():
        time.sleep(2.0)
        snapshots["idle"] = (pipeline.stats.frames_in, pipeline.stats.masks)
        camera.watched = True
        time.sleep(2.0)
        snapshots["watched"] = (pipeline.stats.frames_in, pipeline.stats.masks)
        pipeline.stop()

    threading.Thread(target=script).start()
    pipeline.run()
    frames_idle, masks_idle = snapshots["idle"]
    frames_watched, masks_watched = snapshots["watched"]
    assert frames_idle > 20  # the camera keeps being read...
    assert masks_idle <= 2  # ...but the model does not run
    assert masks_watched - masks_idle > 5  # and it resumes once someone watches
    assert camera.frames > 0  # the device was kept alive meanwhile


def test_another_process_holding_a_file_open_is_seen(tmp_path):
    device = tmp_path / "video10"
    device.write_bytes(b"")
    assert not opened_by_another_process(str(device))
    holder = subprocess.Popen(
        [sys.executable, "-c", f"f = open({str(device)!r}); import time; time.sleep(30)"],
    )
    try:
        deadline = time.monotonic() + 10
        while not opened_by_another_process(str(device)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert opened_by_another_process(str(device))
    finally:
        holder.kill()
        holder.wait()
    assert not opened_by_another_process(str(device))


class RecordingPreview:
    def __init__(self):
        self.frames = []

    def send(self, frame):
        self.frames.append(frame.copy())

    def poll(self):
        return None

    def close(self):
        pass


def test_stats_overlay_is_drawn_on_the_preview_only(segmenter, clip_frames):
    camera, preview = RecordingPreview(), RecordingPreview()
    camera.has_readers = lambda: True
    pipeline = Pipeline(ReplaySource(clip_frames, fps=30, count=60), segmenter, Compositor(), [camera], preview, show_stats=True)
    pipeline.run()
    assert len(camera.frames) == len(preview.frames) > 40
    last_cam, last_preview = camera.frames[-1], preview.frames[-1]
    differs = np.abs(last_cam.astype(int) - last_preview.astype(int)).sum(axis=2) > 0
    assert differs[:40].any()  # text in the top band
    assert not differs[60:].any()  # and nowhere else


def test_gpu_request_without_a_gpu_is_one_line(shared, tflite_path):
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        pytest.skip("this machine has a GPU")
    result = run_app("photo", str(shared / "images" / "face.jpg"), "-o", "/tmp/never.png", "--device", "gpu", "--weights", str(tflite_path), timeout=120)
    assert result.returncode == 1
    (line,) = error_lines(result.stderr)
    assert "TensorFlow sees no GPU" in line


def test_benchmark_prints_the_table_and_json(shared, tflite_path, tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench.py"), "--weights", str(tflite_path), "--resolutions", "640x480",
         "--seconds", "2", "--naive-seconds", "1", "--json", str(out), "--video", str(shared / "videos" / "again.mkv")],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert "| 640x480 | ours (30 fps camera) |" in result.stdout
    assert "naive" in result.stdout and "speed-up" in result.stdout
    figures = json.loads(out.read_text())["640x480"]
    for key in ("output_fps", "max_output_fps", "mask_hz", "inference_ms_p50", "compose_ms_p50", "latency_ms_p50"):
        assert figures["ours"][key] > 0, key
    assert figures["naive"]["output_fps"] > 0
    assert figures["speedup"] == pytest.approx(figures["ours"]["output_fps"] / figures["naive"]["output_fps"])
