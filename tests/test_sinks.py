"""The video file sink: the codec it picked is said, the file plays, a wrong name is one clear error."""

import logging
import resource
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
import pyvirtualcam

from helpers import error_lines, start_app, video_frames, wait_for_line
from webcam_blur.errors import WebcamBlurError
from webcam_blur.sinks import CODECS, VideoFileSink, VirtualCameraSink


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".avi"])
def test_written_video_plays_back_and_the_log_names_path_and_codec(tmp_path, caplog, suffix):
    path = tmp_path / f"out{suffix}"
    with caplog.at_level(logging.INFO, logger="webcam_blur"):
        sink = VideoFileSink(path, 30.0, (320, 240))
    assert sink.name == str(path)
    assert sink.codec in {name for _, name in CODECS[suffix]}
    assert f"writing {path} ({sink.codec}" in caplog.text
    for i in range(15):
        sink.send(np.full((240, 320, 3), i * 10, np.uint8))
    sink.send(np.zeros((480, 640, 3), np.uint8))  # another size is scaled to fit
    sink.close()
    frames = video_frames(path)
    assert len(frames) == 16 and frames[0].shape == (240, 320, 3)


def test_an_unknown_container_is_refused_up_front(tmp_path):
    with pytest.raises(WebcamBlurError, match="use a .mp4, .mkv or .avi name"):
        VideoFileSink(tmp_path / "out.gif", 30.0, (320, 240))


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


# A full disk, through the real app: OpenCV's writer reports nothing, so the sink must notice. ----

CLIP = "people_walking.mp4"  # 768x432 at 10 fps


def _record(shared, out, **popen):
    """The real app recording the clip on a loop into ``out``."""
    return start_app(
        "--input", str(shared / "videos" / CLIP), "--loop", "--no-preview", "--no-vcam",
        "--output", str(out), **popen,
    )


@pytest.fixture
def recording(shared):
    """Starts the app recording; whatever happens, it is not left running."""
    started = []

    def start(out, **popen):
        started.append(_record(shared, out, **popen))
        return started[-1]

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.fixture
def small_disk(tmp_path):
    """An 8 MB tmpfs of its own (needs the right to mount, as root in CI's container has)."""
    where = tmp_path / "disk"
    where.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(where)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here; the file-size-limit test covers the same path")
    yield where
    subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_disk_filling_up_stops_the_recording_while_it_can_still_be_finished(recording, small_disk):
    free = shutil.disk_usage(small_disk).free
    (small_disk / "other-files").write_bytes(bytes(free - VideoFileSink.RESERVE - 150_000))
    out = small_disk / "call.mp4"
    process = recording(out)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 1
    assert error_lines(stderr)[-1].startswith(f"webcam-blur: error: {out}: the disk is nearly full")
    assert "Traceback" not in stderr
    assert len(video_frames(out)) >= 10  # what was written plays


def test_a_disk_filled_at_once_by_another_program_is_an_error_not_a_silent_loss(recording, small_disk):
    out = small_disk / "call.mp4"
    process = recording(out)
    wait_for_line(process, "running:")
    time.sleep(2.0)
    # another program takes every byte left
    subprocess.run(["dd", "if=/dev/zero", f"of={small_disk / 'other-files'}", "bs=64k"], capture_output=True)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 1
    assert error_lines(stderr)[-1] == (
        f"webcam-blur: error: {out} could not be written completely (disk full or a write error); "
        "the file is damaged"
    )
    assert "Traceback" not in stderr


def test_a_file_size_limit_is_room_running_out_too(recording, tmp_path):
    """RLIMIT_FSIZE (``ulimit -f``; a FAT32 stick's 4 GB works alike): stopped in time, not killed by SIGXFSZ."""
    out = tmp_path / "call.mp4"
    limit = VideoFileSink.RESERVE + 150_000

    def limited():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    process = recording(out, preexec_fn=limited)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 1, stderr
    assert error_lines(stderr)[-1].startswith(f"webcam-blur: error: {out}: the disk is nearly full")
    assert len(video_frames(out)) >= 10
