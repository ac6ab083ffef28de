"""The pipeline's threads through the real network: stop, idle, failures, odd frames, the preview overlay, keys."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import cv2

from helpers import RecordingBackend, RecordingPreview, ScriptedCamera
from webcam_blur.capture import ReplaySource, VideoSource
from webcam_blur.errors import WebcamBlurError
from webcam_blur.live.controls import Controls
from webcam_blur.live.outputs import Outputs
from webcam_blur.live.pipeline import Pipeline
from webcam_blur.look.compositor import Compositor
from webcam_blur.look.effects import Blur
from webcam_blur.look.refine import MaskRefiner
from webcam_blur.sinks import NullSink


class RecordingSink(NullSink):
    """A sink that keeps copies of what it is sent."""

    def __init__(self):
        super().__init__()
        self.frames = []

    def send(self, frame):
        self.frames.append(frame.copy())


def test_pipeline_stop_ends_every_thread_within_a_second(shared, segmenter):
    source = VideoSource(str(shared / "videos" / "people_walking.mp4"), paced=True)
    segmenter.prepare(*source.size)  # the runtime for this frame shape is made up front, as the app does
    pipeline = Pipeline(source, segmenter, Compositor(Blur()), Outputs([NullSink()]))
    stopped_at = []

    def stop():
        stopped_at.append(time.perf_counter())
        pipeline.stop()

    timer = threading.Timer(2.0, stop)
    timer.start()
    stats = pipeline.run()
    returned = time.perf_counter()
    assert stats.frames_out > 0 and stats.masks > 0
    assert returned - stopped_at[0] < 1.0
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
    pipeline = Pipeline(camera, ExplodingSegmenter(segmenter, after=5), Compositor(Blur()), Outputs([vcam]))
    with pytest.raises(WebcamBlurError, match="MemoryError: simulated failure inside inference"):
        pipeline.run()
    assert not any(t.is_alive() for t in pipeline.threads)
    assert not camera.released  # the source belongs to whoever opened it (app.py closes it)


def test_a_dying_sink_stops_everything_with_the_error(segmenter, clip_frames):
    class BrokenSink(NullSink):
        def send(self, frame):
            raise OSError("disk full")

    camera = ScriptedCamera(clip_frames)
    pipeline = Pipeline(camera, segmenter, Compositor(Blur()), Outputs([BrokenSink()]))
    with pytest.raises(WebcamBlurError, match="OSError: disk full"):
        pipeline.run()
    assert not any(t.is_alive() for t in pipeline.threads)


def test_frames_of_changing_shape_and_type_flow_through(segmenter, clip_frames, vcam):
    frame = clip_frames[0]
    odd = [frame, cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), cv2.cvtColor(frame, cv2.COLOR_BGR2BGRA),
           frame[:1, :1], cv2.resize(frame, (1920, 1080)), (frame.astype(np.float32) / 255)]
    camera = ScriptedCamera(odd * 3)
    vcam.open(*camera.size)  # as the app does, at the camera's announced size
    pipeline = Pipeline(camera, segmenter, Compositor(Blur(), feather=0), Outputs([vcam]), refiner=MaskRefiner())
    threading.Timer(2.0, pipeline.stop).start()
    stats = pipeline.run()
    assert stats.frames_out > 10
    assert all(f.shape == (480 * 640 * 3,) for f in RecordingBackend.instances[-1].frames)


def test_pipeline_idles_while_no_one_watches_and_resumes(segmenter, clip_frames):
    camera = NullSink(watched=False)  # a virtual camera no meeting app has open, until the script opens it
    pipeline = Pipeline(ReplaySource(clip_frames, fps=30), segmenter, Compositor(Blur()), Outputs([camera]))
    snapshots = {}

    def script():
        time.sleep(2.0)
        snapshots["idle"] = (pipeline.stats.frames_in, pipeline.stats.masks)
        camera.audience = True
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


def test_stats_overlay_is_drawn_on_the_preview_only(segmenter, clip_frames):
    camera, preview = RecordingSink(), RecordingPreview()
    outputs = Outputs([camera], preview)
    pipeline = Pipeline(ReplaySource(clip_frames, fps=30, count=90), segmenter, Compositor(Blur()), outputs,
                        show_stats=True)
    pipeline.run()
    assert len(camera.frames) == len(preview.frames) > 40
    last_cam, last_preview = camera.frames[-1], preview.frames[-1]
    differs = np.abs(last_cam.astype(int) - last_preview.astype(int)).sum(axis=2) > 0
    assert differs[:40].any()  # text in the top band
    assert not differs[60:].any()  # and nowhere else


def test_keys_steer_the_view_and_q_stops(segmenter, clip_frames):
    """b turns the effect off (the camera picture as it is), m shows the matte, q quits."""
    b, m, q = ord("b"), ord("m"), ord("q")
    preview = RecordingPreview(keys=[None] * 40 + [b] + [None] * 10 + [b, m] + [None] * 10 + [q])
    sink = RecordingSink()
    pipeline = Pipeline(ReplaySource(clip_frames, fps=30), segmenter, Compositor(Blur()), Outputs([sink], preview),
                        controls=Controls(60))
    pipeline.run()  # ends on q
    assert not any(t.is_alive() for t in pipeline.threads)
    plain = [f for f in sink.frames if any(np.array_equal(f, c) for c in clip_frames)]
    grey = [f for f in sink.frames if (f[..., 0] == f[..., 1]).all() and (f[..., 1] == f[..., 2]).all()]
    assert plain and grey  # effect off showed the camera frames unchanged; m showed the matte
    assert len(plain) + len(grey) < len(sink.frames)  # the rest were composed


def test_h_writes_every_key_on_the_preview_only(segmenter, clip_frames):
    h, q = ord("h"), ord("q")
    camera, preview = RecordingSink(), RecordingPreview(keys=[None] * 30 + [h] + [None] * 10 + [q])
    pipeline = Pipeline(ReplaySource(clip_frames, fps=30), segmenter, Compositor(Blur()), Outputs([camera], preview),
                        controls=Controls(60))
    pipeline.run()
    last_cam, last_preview = camera.frames[-1], preview.frames[-1]
    differs = np.abs(last_cam.astype(int) - last_preview.astype(int)).sum(axis=2) > 0
    rows = np.nonzero(differs.any(axis=1))[0]
    assert 28 * (len(Controls.KEYS) - 1) < rows.max() < 28 * len(Controls.KEYS) + 20  # a line per key, one under
    # the other, and nothing below them


def test_the_depth_effect_refreshes_in_a_thread_of_its_own(shared, segmenter, clip_frames):
    """Live, through the real depth network: depth is estimated about once a second, not per frame."""
    from webcam_blur.look.effects import Depth
    from webcam_blur.models.depth import DepthEstimator

    effect = Depth(DepthEstimator.load(shared / "models"))
    sink = RecordingSink()
    pipeline = Pipeline(ReplaySource(clip_frames, fps=30, count=100), segmenter, Compositor(effect), Outputs([sink]))
    stats = pipeline.run()
    assert "webcam-blur-depth" in [t.name for t in pipeline.threads]
    assert stats.frames_out > 0 and len(stats.depth_ms) >= 1  # the first frame's estimate, at least
    assert len(stats.depth_ms) < stats.frames_out / 10  # refreshed now and then (once a second), not per frame
    assert not any(t.is_alive() for t in pipeline.threads)
