"""The video file sink: the codec it picked is said, the file plays, a wrong name is one clear error."""

import logging

import numpy as np
import pytest

from helpers import video_frames
from webcam_blur.errors import WebcamBlurError
from webcam_blur.sinks import CODECS, VideoFileSink


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
