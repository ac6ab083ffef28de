"""The video file sink: the codec it picked is said, the file plays, a wrong name is one clear error."""

import logging
import subprocess
import sys
import time

import numpy as np
import pytest
import pyvirtualcam

from helpers import video_frames
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
