"""Faults injected through the real pipeline: lost cameras, bad weights, busy devices, dying workers, bad settings."""

from __future__ import annotations

import functools
import http.server
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import pyvirtualcam

from helpers import error_lines, run_app
from webcam_blur import weights
from webcam_blur.compositor import Compositor
from webcam_blur.errors import SourceLost, WebcamBlurError
from webcam_blur.model import deeplabv3plus
from webcam_blur.pipeline import Pipeline
from webcam_blur.cli import config_keys
from webcam_blur.settings import Settings, make_settings, read_config
from webcam_blur.sinks import VirtualCameraSink

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def clip_frames(shared):
    capture = cv2.VideoCapture(str(shared / "videos" / "again.mkv"))
    return [capture.read()[1] for _ in range(30)]


class ScriptedCamera:
    """A camera the test can unplug and plug back in."""

    live = True
    fps = 30.0
    name = "scripted camera"

    def __init__(self, frames):
        self.frames = frames
        self.size = (frames[0].shape[1], frames[0].shape[0])
        self.plugged = True
        self.reads = 0
        self.released = False

    def read(self):
        time.sleep(1 / self.fps)
        if not self.plugged:
            raise SourceLost("camera scripted stopped delivering frames")
        self.reads += 1
        return self.frames[self.reads % len(self.frames)]

    def reopen(self):
        return self.plugged

    def release(self):
        self.released = True


class RecordingCamera:
    """pyvirtualcam backend that notes when frames arrive."""

    last: "RecordingCamera | None" = None

    def __init__(self, *, width, height, fps, fourcc, device, **kw):
        self.times, self.frames = [], []
        RecordingCamera.last = self

    def send(self, frame):
        self.times.append(time.perf_counter())
        self.frames.append(frame)

    def close(self):
        pass

    def device(self):
        return "recording"

    def native_fourcc(self):
        return None


@pytest.fixture
def vcam():
    pyvirtualcam.register_backend("reliability-test", RecordingCamera)
    sink = VirtualCameraSink(30.0, backend="reliability-test")
    yield sink
    sink.close()


def test_camera_lost_and_restored_keeps_the_virtual_camera_streaming(segmenter, clip_frames, vcam):
    camera = ScriptedCamera(clip_frames)
    pipeline = Pipeline(camera, segmenter, Compositor(), [vcam], reconnect_timeout=30)
    marks = {}

    def script():
        time.sleep(1.5)
        camera.plugged = False
        marks["unplugged"] = (time.perf_counter(), camera.reads)
        time.sleep(2.0)
        marks["lost_seen"] = pipeline.lost
        camera.plugged = True
        marks["replugged"] = time.perf_counter()
        time.sleep(2.5)
        marks["end_reads"] = camera.reads
        pipeline.stop()

    threading.Thread(target=script).start()
    pipeline.run()
    times = np.array(RecordingCamera.last.times)
    assert marks["lost_seen"] is True
    assert marks["end_reads"] > marks["unplugged"][1] + 10  # capture resumed on its own
    during = times[(times > marks["unplugged"][0]) & (times < marks["replugged"])]
    assert len(during) > 20  # the meeting kept getting frames while the camera was gone
    assert np.diff(times).max() < 0.6  # and never froze
    dimmed = RecordingCamera.last.frames[int(np.searchsorted(times, marks["replugged"])) - 1]
    assert dimmed.mean() < 0.6 * RecordingCamera.last.frames[5].mean()  # the "lost" picture is dimmed
    assert camera.released and not any(t.is_alive() for t in pipeline.threads)


def test_camera_gone_for_good_gives_up_with_a_message(segmenter, clip_frames, vcam):
    camera = ScriptedCamera(clip_frames)
    pipeline = Pipeline(camera, segmenter, Compositor(), [vcam], reconnect_timeout=1.0)
    threading.Timer(1.0, lambda: setattr(camera, "plugged", False)).start()
    with pytest.raises(WebcamBlurError, match="gave up after 1 s of retrying"):
        pipeline.run()
    assert not any(t.is_alive() for t in pipeline.threads)


class ExplodingSegmenter:
    def __init__(self, real, after):
        self.real, self.after, self.calls = real, after, 0

    def segment(self, frame):
        self.calls += 1
        if self.calls > self.after:
            raise MemoryError("simulated failure inside inference")
        return self.real.segment(frame)


def test_a_dying_inference_worker_stops_everything_with_the_error(segmenter, clip_frames, vcam):
    camera = ScriptedCamera(clip_frames)
    pipeline = Pipeline(camera, ExplodingSegmenter(segmenter, after=5), Compositor(), [vcam])
    with pytest.raises(WebcamBlurError, match="MemoryError: simulated failure inside inference"):
        pipeline.run()
    assert camera.released and not any(t.is_alive() for t in pipeline.threads)


def test_a_dying_sink_stops_everything_with_the_error(segmenter, clip_frames):
    class BrokenSink:
        records = True

        def send(self, frame):
            raise OSError("disk full")

        def close(self):
            pass

    camera = ScriptedCamera(clip_frames)
    pipeline = Pipeline(camera, segmenter, Compositor(), [BrokenSink()])
    with pytest.raises(WebcamBlurError, match="OSError: disk full"):
        pipeline.run()
    assert camera.released and not any(t.is_alive() for t in pipeline.threads)


def test_frames_of_changing_shape_and_type_flow_through(segmenter, clip_frames, vcam):
    frame = clip_frames[0]
    odd = [frame, cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA),
           frame[:1, :1], cv2.resize(frame, (1920, 1080)), (frame.astype(np.float32) / 255)]
    camera = ScriptedCamera(odd * 3)
    vcam.open(*camera.size)  # as the app does, at the camera's announced size
    from webcam_blur.refine import MaskRefiner

    pipeline = Pipeline(camera, segmenter, Compositor(feather=0), [vcam], refiner=MaskRefiner())
    threading.Timer(2.0, pipeline.stop).start()
    stats = pipeline.run()
    assert stats.frames_out > 10
    assert all(f.shape == (480 * 640 * 3,) for f in RecordingCamera.last.frames)


# devices ----------------------------------------------------------------------------------


class BusyBackend:
    def __init__(self, **kw):
        raise RuntimeError("could not open device: Device or resource busy")


def test_busy_virtual_camera_names_the_problem(tmp_path):
    device = tmp_path / "video10"
    device.write_bytes(b"")
    holder = subprocess.Popen([sys.executable, "-c", f"f = open({str(device)!r}); import time; time.sleep(30)"])
    try:
        time.sleep(1.0)
        pyvirtualcam.register_backend("busy-test", BusyBackend)
        sink = VirtualCameraSink(30.0, device=str(device), backend="busy-test")
        with pytest.raises(WebcamBlurError, match="in use by another program") as error:
            sink.open(640, 480)
        assert "\n" not in str(error.value)
    finally:
        holder.kill()
        holder.wait()


# weights ----------------------------------------------------------------------------------


@pytest.fixture
def weights_server(shared):
    """The real weights file served on loopback, standing in for the download URL."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(shared / "models"))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.parametrize("damage", ["truncated", "corrupt"])
def test_damaged_download_is_fetched_again(tflite_path, tmp_path, monkeypatch, weights_server, damage, capfd):
    monkeypatch.setenv("WEBCAM_BLUR_CACHE", str(tmp_path))
    source = weights.SOURCES["mobilenetv2"]
    monkeypatch.setitem(weights.SOURCES, "mobilenetv2", weights.WeightsSource(source.filename, f"{weights_server}/{source.filename}", source.sha256))
    good = tflite_path.read_bytes()
    cached = tmp_path / source.filename
    cached.write_bytes(good[: len(good) // 3] if damage == "truncated" else good[:1000] + b"\0" * (len(good) - 1000))
    path = weights.fetch("mobilenetv2")
    assert weights.sha256_of(path) == source.sha256
    assert capfd.readouterr().out == ""  # Keras' "Downloading data from" and progress bar stay off stdout


def test_damaged_cache_without_network_is_a_clear_error(tflite_path, tmp_path, monkeypatch):
    monkeypatch.setenv("WEBCAM_BLUR_CACHE", str(tmp_path))
    source = weights.SOURCES["mobilenetv2"]
    monkeypatch.setitem(weights.SOURCES, "mobilenetv2", weights.WeightsSource(source.filename, "http://127.0.0.1:9/x.tflite", source.sha256))
    (tmp_path / source.filename).write_bytes(tflite_path.read_bytes()[:5000])
    with pytest.raises(WebcamBlurError, match="could not download") as error:
        weights.load_into(deeplabv3plus(input_shape=(257, 257, 3)), None, "mobilenetv2")
    assert str(tmp_path / source.filename) in str(error.value)


def test_corrupt_runtime_cache_is_rebuilt(tflite_path, tmp_path, monkeypatch):
    from webcam_blur.segmenter import PersonSegmenter

    monkeypatch.setenv("WEBCAM_BLUR_CACHE", str(tmp_path))
    PersonSegmenter.load(tflite_path, size=257).prepare(50, 50)
    (runtime,) = tmp_path.glob("runtime-*.tflite")
    runtime.write_bytes(b"garbage")
    segmenter = PersonSegmenter.load(tflite_path, size=257)
    assert segmenter.segment(np.zeros((50, 50, 3), np.uint8)).mask.shape == (50, 50)


# settings ---------------------------------------------------------------------------------


def test_all_bad_settings_are_listed_at_once():
    with pytest.raises(WebcamBlurError) as error:
        make_settings({"blur": 300, "fps": "fast", "mask": "fuzzy", "model_size": 12, "colour": "red"})
    message = str(error.value)
    for part in ("--blur must be between 0 and 100", "--fps must be a number", "--mask must be one of",
                 "--model-size must be between 64 and 2048", "--colour: unknown setting"):
        assert part in message
    assert "\n" not in message


def test_config_file_is_read_and_flags_win(tmp_path):
    config = tmp_path / "webcam-blur.toml"
    config.write_text('blur = 80\nmodel-size = 385\neffect = "bokeh"\nno_such = 1\nmodel_size = 3\n')
    with pytest.raises(WebcamBlurError, match=r"webcam-blur.toml: unknown keys no_such, model_size"):
        read_config(config, config_keys())
    config.write_text('blur = 80\nmodel-size = 385\neffect = "bokeh"\ntemporal = 0.2\n')
    values, origins = read_config(config, config_keys())
    settings = make_settings({**values, "blur": "20"}, origins)
    assert (settings.blur, settings.model_size, settings.effect, settings.temporal) == (20.0, 385, "bokeh", 0.2)


def test_config_keys_are_the_flags_names_and_paths_start_at_the_config_folder(tmp_path):
    folder = tmp_path / "conf"
    folder.mkdir()
    config = folder / "webcam-blur.toml"
    config.write_text(
        'no-preview = true\nno-vcam = true\nno-guided-filter = true\nmjpeg = true\nevery-frame = true\n'
        'output = "out/blurred.mp4"\nbackground = "#00ff00"\ninput = "clips/talk.mp4"\nweights = "/abs/w.tflite"\n'
    )
    values, origins = read_config(config, config_keys())
    settings = make_settings(values, origins)
    assert (settings.preview, settings.vcam, settings.guided, settings.mjpeg, settings.every_frame) == (
        False, False, False, True, True)
    assert settings.output == folder / "out" / "blurred.mp4"
    assert settings.input == str(folder / "clips" / "talk.mp4")
    assert settings.background == "#00ff00" and str(settings.weights) == "/abs/w.tflite"
    config.write_text("no-preview = false\n")
    assert make_settings(*read_config(config, config_keys())).preview is True


@pytest.mark.parametrize("kind", ["binary", "latin-1", "folder", "fifo", "huge"])
def test_config_files_that_are_not_settings_are_one_line(tmp_path, kind):
    import os

    config = tmp_path / "webcam-blur.toml"
    if kind == "binary":
        config.write_bytes(bytes(range(256)) * 4)
    elif kind == "latin-1":
        config.write_bytes('background = "caf\xe9.jpg"\n'.encode("latin-1"))
    elif kind == "folder":
        config.mkdir()
    elif kind == "fifo":
        os.mkfifo(config)  # reading it would block forever
    else:
        config.write_text("# " + "x" * (2 << 20) + "\n")
    result = run_app("--config", str(config), "--no-preview", "--no-vcam", "--output", str(tmp_path / "o.mp4"), timeout=60)
    assert result.returncode == 1
    (line,) = error_lines(result.stderr)
    assert f"config {config}" in line or f"cannot read config {config}" in line
    assert "Traceback" not in result.stderr


def test_bad_config_from_the_command_line(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("blur = 'lots'\ntemporal = 3\n")
    result = run_app("--config", str(config), "--no-preview", timeout=60)
    assert result.returncode == 1
    (line,) = error_lines(result.stderr)
    assert "bad.toml: blur must be a number" in line and "bad.toml: temporal must be between" in line
    config.write_text("blur = [")
    result = run_app("--config", str(config), timeout=60)
    (line,) = error_lines(result.stderr)
    assert "not valid TOML" in line


def test_defaults_are_valid():
    assert make_settings({}) == Settings()


# soak ------------------------------------------------------------------------------------


def test_soak_script_reports_memory_and_threads(shared, tflite_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "soak.py"), "--frames", "300", "--every", "100", "--unpaced",
         "--weights", str(tflite_path), "--video", str(shared / "videos" / "again.mkv")],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("frames ")]
    assert len(rows) >= 3
    assert "RSS" in rows[-1] and "threads" in rows[-1]
