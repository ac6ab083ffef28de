"""The real-time app end to end through the real command: real weights, real video decode, a real
window under Xvfb, pyvirtualcam through a registered test backend, signals."""

from __future__ import annotations

import http.server
import os
import signal
import subprocess
import threading
import time

import cv2
import numpy as np
import pytest
import pyvirtualcam

from helpers import (RecordingBackend, error_lines, find_window, run_app, sharpness, start_app, video_frames,
                     wait_for_line)
from webcam_blur import cli

CLIP = "again.mkv"  # 77 frames, 640x480, 30 fps, one person waist-up


def test_video_file_in_video_file_out_every_frame(shared, tflite_path, tmp_path, segmenter):
    clip, out = shared / "videos" / CLIP, tmp_path / "out.mp4"
    result = run_app(
        "--input", str(clip), "--output", str(out), "--every-frame", "--no-preview", "--no-vcam",
        "--weights", str(tflite_path),
    )
    assert result.returncode == 0, result.stderr
    source, written = video_frames(clip), video_frames(out)
    assert len(written) == len(source) == 77
    assert written[0].shape == source[0].shape == (480, 640, 3)

    background_ratio, person_diff, background_diff = [], [], []
    for i in range(0, 77, 15):
        mask = segmenter.segment(source[i]).mask
        person = cv2.erode(mask, np.ones((31, 31), np.uint8)) > 0
        background = cv2.dilate(mask, np.ones((31, 31), np.uint8)) == 0
        assert person.mean() > 0.05 and background.mean() > 0.2
        background_ratio.append(sharpness(written[i], background) / sharpness(source[i], background))
        diff = np.abs(written[i].astype(int) - source[i].astype(int)).mean(axis=2)
        person_diff.append(diff[person].mean())
        background_diff.append(diff[background].mean())
    assert max(background_ratio) < 0.3  # background measurably blurrier
    assert max(person_diff) < 3.0  # person unchanged up to the MPEG-4 codec's noise
    assert min(background_diff) > 2 * max(person_diff)


def test_virtual_camera_receives_composited_frames_at_the_requested_rate(shared, tflite_path):
    pyvirtualcam.register_backend("recording-test", RecordingBackend)
    RecordingBackend.instances.clear()
    clip = shared / "videos" / CLIP
    code = cli.main([
        "--input", str(clip), "--no-preview", "--vcam-backend", "recording-test", "--fps", "15",
        "--weights", str(tflite_path),
    ])
    assert code == 0
    (camera,) = RecordingBackend.instances
    assert camera.closed
    assert (camera.width, camera.height, camera.fps) == (640, 480, 15)
    assert camera.fourcc == pyvirtualcam.util.encode_fourcc(pyvirtualcam.PixelFormat.BGR.value)
    assert len(camera.frames) >= 10
    assert all(f.shape == (480 * 640 * 3,) and f.dtype == np.uint8 for f in camera.frames)
    # Paced by sleep_until_next_frame: never faster than 15 fps (load can only make it slower).
    assert np.median(np.diff(camera.times)) >= 0.8 / 15
    # Composited, not passed through: the received frames are blurred versions of the clip.
    source = video_frames(clip)
    frame = camera.frames[len(camera.frames) // 2].reshape(480, 640, 3)
    closest = min(np.abs(s.astype(int) - frame.astype(int)).mean() for s in source)
    assert closest > 1.0
    everywhere = np.s_[:, :]
    assert sharpness(frame, everywhere) < 0.8 * np.mean([sharpness(s, everywhere) for s in source])


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT],
                         ids=["SIGTERM", "Ctrl-C", "SIGHUP (terminal closed)", "SIGQUIT (Ctrl-backslash)"])
def test_signals_stop_the_app_cleanly(shared, tflite_path, tmp_path, sig):
    out = tmp_path / "recording.mp4"
    process = start_app(
        "--input", str(shared / "videos" / "people_walking.mp4"), "--no-preview", "--no-vcam",
        "--output", str(out), "--weights", str(tflite_path),
    )
    wait_for_line(process, "running:")
    time.sleep(1.0)
    sent = time.monotonic()
    process.send_signal(sig)
    process.wait(timeout=10)
    elapsed = time.monotonic() - sent
    assert process.returncode == 0
    assert elapsed < 1.5  # the process is gone, interpreter teardown included
    assert "frames out" in process.stderr.read()
    assert len(video_frames(out)) > 5  # the recording was finalised: it plays


def test_preview_window_shows_composited_frames_and_q_quits(shared, tflite_path, tmp_path, xvfb):
    env = {"DISPLAY": xvfb.display}
    clip = shared / "videos" / "people_walking.mp4"
    process = start_app("--input", str(clip), "--no-vcam", "--weights", str(tflite_path), env=env)
    try:
        window = find_window(xvfb.display)
        wait_for_line(process, "running:")
        time.sleep(3.0)  # let it show a few composited frames
        shot = tmp_path / "window.png"
        subprocess.run(["import", "-window", window, str(shot)], check=True, env={**os.environ, **env}, timeout=30)
        image = cv2.imread(str(shot))
        assert image is not None and image.shape[0] >= 200 and image.shape[1] >= 300
        assert image.std() > 10  # a picture, not an empty window
        source = video_frames(clip)[0]
        everywhere = np.s_[:, :]
        assert sharpness(image, everywhere) < sharpness(source, everywhere)  # blurred background on screen
        subprocess.run(["xdotool", "key", "--window", window, "q"], check=True, env={**os.environ, **env})
        sent = time.monotonic()
        process.wait(timeout=10)
        assert time.monotonic() - sent < 2.0
        assert process.returncode == 0, process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()


def test_missing_virtual_camera_says_how_to_load_v4l2loopback(shared):
    if any(name.startswith("video") for name in os.listdir("/dev")):
        pytest.skip("this machine has video devices; the message is for machines without v4l2loopback")
    result = run_app("--input", str(shared / "videos" / CLIP), "--no-preview", timeout=60)
    assert result.returncode == 1
    (line,) = error_lines(result.stderr)
    assert 'sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label="webcam-blur"' in line
    assert "--no-vcam" in line


def test_missing_camera_names_what_was_tried():
    result = run_app("--camera", "7", "--no-preview", "--no-vcam", "--output", "/tmp/never-written.mp4", timeout=60)
    assert result.returncode == 1
    (line,) = error_lines(result.stderr)
    assert "no camera could be opened at '7'" in line and "/dev/video7" in line


def test_unreadable_input_video_is_one_line(tmp_path):
    bogus = tmp_path / "clip.mp4"
    bogus.write_bytes(b"not a video")
    result = run_app("--input", str(bogus), "--no-preview", "--no-vcam", "--output", str(tmp_path / "o.mp4"), timeout=60)
    assert result.returncode == 1
    (line,) = error_lines(result.stderr)
    assert "cannot open" in line


@pytest.fixture
def stalling_stream(shared):
    """A local HTTP server that sends half of a clip, then nothing; later requests get nothing at all."""
    data = (shared / "videos" / CLIP).read_bytes()
    release, served = threading.Event(), []

    class Stalling(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if not served:
                served.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
            release.wait(60)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Stalling)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/{CLIP}"
    release.set()
    server.shutdown()


def test_a_stalled_stream_is_lost_retried_given_up_and_the_recording_kept(stalling_stream, tmp_path):
    out = tmp_path / "recording.mp4"
    result = run_app("--input", stalling_stream, "--no-preview", "--no-vcam", "--output", str(out),
                     "--reconnect-timeout", "2", timeout=120)
    assert result.returncode == 1, result.stderr
    (line,) = error_lines(result.stderr)[-1:]
    assert "stopped delivering frames" in line and "gave up after 2 s" in line
    assert "Traceback" not in result.stderr
    assert len(video_frames(out)) > 10  # what came before the stall was written and plays


@pytest.mark.parametrize("length", [1, 3])
def test_every_frame_of_a_short_file_reaches_the_recording(shared, tflite_path, tmp_path, length):
    """A clip that ends before the first mask is ready used to leave an empty recording."""
    clip, out = tmp_path / "short.avi", tmp_path / "out.mp4"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 30, (640, 480))
    for frame in video_frames(shared / "videos" / CLIP)[:length]:
        writer.write(frame)
    writer.release()
    result = run_app("--input", str(clip), "--output", str(out), "--no-preview", "--no-vcam",
                     "--weights", str(tflite_path))
    assert result.returncode == 0, result.stderr
    assert len(video_frames(out)) == length


def test_framing_auto_writes_every_frame_at_the_input_size(shared, tmp_path):
    """The issue's command verbatim; the clip's person fills the frame, so the crop stays whole."""
    clip, out = shared / "videos" / CLIP, tmp_path / "out.mp4"
    result = run_app("--input", str(clip), "--output", str(out), "--every-frame", "--no-preview", "--no-vcam",
                     "--framing", "auto")
    assert result.returncode == 0, result.stderr
    written = video_frames(out)
    assert len(written) == 77 and all(frame.shape == (480, 640, 3) for frame in written)


def test_a_small_person_is_framed_and_lifted_with_the_depth_lens(shared, tmp_path, segmenter):
    """A dark, small person in a wider picture, through the real command with every new look at once:
    the output keeps its size, zooms in on the person, and lifts them."""
    frames = video_frames(shared / "videos" / CLIP)
    small = tmp_path / "small.mkv"
    writer = cv2.VideoWriter(str(small), cv2.VideoWriter_fourcc(*"FFV1"), 30, (640, 480))
    for frame in frames:
        room = cv2.convertScaleAbs(cv2.GaussianBlur(frame, (0, 0), 20), alpha=0.4)
        room[240:, :320] = cv2.convertScaleAbs(cv2.resize(frame, (320, 240), interpolation=cv2.INTER_AREA), alpha=0.4)
        writer.write(room)
    writer.release()
    out = tmp_path / "out.mkv"
    result = run_app("--input", str(small), "--output", str(out), "--no-preview", "--no-vcam", "--framing", "auto",
                     "--lighten", "auto", "--effect", "depth", "--models-dir", str(shared / "models"))
    assert result.returncode == 0, result.stderr
    source, written = video_frames(small), video_frames(out)
    assert len(written) == len(source) and written[-1].shape == (480, 640, 3)
    before, after = source[-1], written[-1]
    person_before, person_after = (segmenter.segment(image).mask > 0 for image in (before, after))
    assert person_after.mean() > 1.3 * person_before.mean()  # zoomed in on the person
    luma = lambda image, person: cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)[person].mean()  # noqa: E731
    assert luma(after, person_after) > 1.2 * luma(before, person_before)  # and lifted
