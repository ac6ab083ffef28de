"""Sources: looping a file, stopping after a number of frames, and reconnecting a lost camera."""

import threading
import time

import numpy as np
import pytest

from helpers import RecordingBackend, ScriptedCamera, video_frames
from webcam_blur.assets import DEMO_CLIP, bundled
from webcam_blur.capture import Reconnecting, VideoSource
from webcam_blur.errors import WebcamBlurError
from webcam_blur.live.outputs import Outputs
from webcam_blur.live.pipeline import Pipeline
from webcam_blur.look.compositor import Compositor
from webcam_blur.look.effects import Blur


def test_a_looped_file_starts_again_at_its_end_and_a_limit_ends_it():
    clip = str(bundled(DEMO_CLIP))
    length = len(video_frames(clip))
    source = VideoSource(clip, paced=False, loop=True, limit=length + 20)
    frames = []
    while (frame := source.read()) is not None:
        frames.append(frame)
    source.close()
    assert len(frames) == length + 20
    assert (frames[length] == frames[0]).all()  # the 78th frame is the first one again


def test_without_loop_a_file_ends():
    clip = str(bundled(DEMO_CLIP))
    source = VideoSource(clip, paced=False)
    count = 0
    while source.read() is not None:
        count += 1
    assert count == len(video_frames(clip))


def test_camera_lost_and_restored_keeps_the_virtual_camera_streaming(segmenter, clip_frames, vcam):
    camera = ScriptedCamera(clip_frames)
    source = Reconnecting(camera, timeout=30)
    pipeline = Pipeline(source, segmenter, Compositor(Blur()), Outputs([vcam]))
    marks = {}

    def script():
        time.sleep(1.5)
        camera.plugged = False
        marks["unplugged"] = (time.perf_counter(), camera.reads)
        time.sleep(2.0)
        marks["lost_seen"] = source.lost
        camera.plugged = True
        marks["replugged"] = time.perf_counter()
        time.sleep(2.5)
        marks["end_reads"] = camera.reads
        pipeline.stop()

    threading.Thread(target=script).start()
    pipeline.run()
    recorded = RecordingBackend.instances[-1]
    times = np.array(recorded.times)
    assert marks["lost_seen"] is True
    assert marks["end_reads"] > marks["unplugged"][1] + 10  # capture resumed on its own
    during = times[(times > marks["unplugged"][0]) & (times < marks["replugged"])]
    assert len(during) > 20  # the meeting kept getting frames while the camera was gone
    assert np.diff(times).max() < 0.6  # and never froze
    dimmed = recorded.frames[int(np.searchsorted(times, marks["replugged"])) - 1]
    assert dimmed.mean() < 0.6 * recorded.frames[5].mean()  # the "lost" picture is dimmed
    assert not any(t.is_alive() for t in pipeline.threads)


def test_camera_gone_for_good_gives_up_with_a_message(segmenter, clip_frames, vcam):
    camera = ScriptedCamera(clip_frames)
    pipeline = Pipeline(Reconnecting(camera, timeout=1.0), segmenter, Compositor(Blur()), Outputs([vcam]))
    threading.Timer(1.0, lambda: setattr(camera, "plugged", False)).start()
    with pytest.raises(WebcamBlurError, match="gave up after 1 s of retrying"):
        pipeline.run()
    assert not any(t.is_alive() for t in pipeline.threads)


def test_stop_while_reconnecting_returns_at_once(clip_frames):
    camera = ScriptedCamera(clip_frames)
    camera.plugged = False
    source = Reconnecting(camera, timeout=60)
    threading.Timer(0.5, source.interrupt).start()
    started = time.perf_counter()
    assert source.read() is None  # interrupted, not given up
    assert time.perf_counter() - started < 1.5 and source.lost
