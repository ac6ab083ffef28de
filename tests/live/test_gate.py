"""The change gate: the network runs where the picture changed, waits where it is still, and a
frozen camera really costs no inference (counted through the real pipeline)."""

from __future__ import annotations

import threading
import time

import numpy as np

from webcam_blur.capture import ReplaySource
from webcam_blur.live.gate import KEEP_ALIVE, ChangeGate
from webcam_blur.live.outputs import Outputs
from webcam_blur.live.pipeline import Pipeline
from webcam_blur.look.compositor import Compositor
from webcam_blur.look.effects import Blur
from webcam_blur.sinks import NullSink


class CountingSegmenter:
    """The real segmenter, noting which frames it was given."""

    def __init__(self, real):
        self.real, self.seen = real, []

    def segment(self, frame):
        self.seen.append(id(frame))
        return self.real.segment(frame)


def test_still_frames_wait_and_changes_outside_the_person_do_not(segmenter, clip_frames):
    gate, frame = ChangeGate(), clip_frames[0]
    assert gate.needed(frame, 0.0)
    gate.segmented(frame, segmenter.segment(frame), 0.0)
    noisy = np.clip(frame.astype(int) + np.random.default_rng(0).integers(-4, 5, frame.shape), 0, 255).astype(np.uint8)
    assert not gate.needed(noisy, 0.1)  # sensor noise is no change
    assert gate.needed(noisy, KEEP_ALIVE)  # but the matte is refreshed now and then
    moved = np.roll(frame, 24, axis=1)  # the person stepped aside
    assert gate.needed(moved, 0.1)
    mask = segmenter.segment(frame).mask
    inside = frame.copy()
    core = np.argwhere(mask > 0).mean(axis=0).astype(int)  # a patch in the middle of the person changes
    inside[core[0] - 20:core[0] + 20, core[1] - 20:core[1] + 20] = 0
    assert not gate.needed(inside, 0.1)  # a talking mouth cannot move the matte's edge


class FrozenThenMoving(ReplaySource):
    """A camera showing one still picture until ``move()``, then a person who stepped aside and gestures."""

    def __init__(self, frozen, moving):
        super().__init__([frozen], fps=30)
        self.moving, self.delivered, self._moved = moving, [], None

    def move(self):
        self._moved = 0

    def read(self):
        if self._moved is None:
            return super().read()
        self._pacer.wait()
        frame = self.moving[self._moved % len(self.moving)]
        self._moved += 1
        self.delivered.append(id(frame))
        return frame


def test_a_frozen_camera_costs_no_inference_and_motion_brings_it_back_at_once(segmenter, clip_frames):
    moving = [np.ascontiguousarray(np.roll(f, 40, axis=1)) for f in clip_frames[1:]]
    counting = CountingSegmenter(segmenter)
    source = FrozenThenMoving(clip_frames[0], moving)
    pipeline = Pipeline(source, counting, Compositor(Blur()), Outputs([NullSink()]), gate=ChangeGate())
    marks = {}

    def script():
        time.sleep(3.0)
        marks["frozen"] = len(counting.seen)
        source.move()
        time.sleep(1.5)
        pipeline.stop()

    threading.Thread(target=script).start()
    stats = pipeline.run()
    assert stats.frames_out > 80  # the output kept its 30 fps
    assert marks["frozen"] <= 3.0 / KEEP_ALIVE + 2  # ~2 masks a second instead of one per frame
    first = next(frame_id for frame_id in counting.seen[marks["frozen"]:] if frame_id in source.delivered)
    assert source.delivered.index(first) <= 1  # the first moving frame was segmented (or the next, if busy)
    assert len(counting.seen) - marks["frozen"] > 15  # and from then on at full rate
