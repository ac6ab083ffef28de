"""The depth-graded lens: blur grows with distance from the person's depth, with no halo; through the
real depth network, the far wall blurs more than what stands beside the person."""

import cv2
import numpy as np
import pytest

from helpers import sharpness
from webcam_blur.look.compositor import Compositor
from webcam_blur.look.effects import Depth
from webcam_blur.look.lens import FLOOR, defocus, lens_blur

H, W = 240, 320


def _scene():
    """Detail everywhere; a red person in the middle; a depth map: person near, left half far, right half near."""
    frame = np.random.default_rng(1).integers(0, 200, (H, W, 3), dtype=np.uint8)
    matte = np.zeros((H, W), np.uint8)
    matte[60:, 130:190] = 255
    frame[matte > 0] = (0, 0, 255)
    depth = np.full((H, W), 1.0, np.float32)  # inverse depth: the person's
    depth[:, :130] = 0.1  # a far wall
    depth[:, 190:] = 0.9  # a shelf just behind the person
    return frame, matte, depth


def test_defocus_is_zero_at_the_person_and_full_at_the_far_wall():
    _, matte, depth = _scene()
    amount = defocus(depth, matte > 0)
    assert amount[100, 160] == pytest.approx(FLOOR)  # the person's depth: the least blur
    assert amount[100, 20] == pytest.approx(1.0)  # the far wall: all of it
    assert amount[100, 300] == pytest.approx(FLOOR)  # just behind: the least too
    assert defocus(depth, np.zeros_like(matte, bool)).max() <= 1.0  # no person: still a valid map


def test_far_is_blurrier_than_near_and_the_person_leaves_no_halo():
    frame, matte, depth = _scene()
    blurred = lens_blur(frame, matte, defocus(depth, matte > 0), 60)
    far, near = np.s_[10:230, 10:110], np.s_[10:230, 210:310]
    assert sharpness(blurred, far) < 0.5 * sharpness(blurred, near) < 0.5 * sharpness(frame, near)
    ring = (cv2.dilate(matte, np.ones((15, 15), np.uint8)) > 0) & (matte == 0)
    red_excess = (blurred[..., 2].astype(int) - blurred[..., 1].astype(int))[ring].mean()
    assert abs(red_excess) < 8  # the person's red does not bleed into the background
    assert lens_blur(frame, matte, defocus(depth, matte > 0), 0) is None


class _Room:
    """A depth estimator that returns a fixed map and counts its calls (the real one is tested below)."""

    def __init__(self, depth):
        self.depth, self.calls = depth, 0

    def estimate(self, frame):
        self.calls += 1
        return self.depth


def test_the_effect_estimates_depth_once_and_then_only_when_refreshed():
    frame, matte, depth = _scene()
    room = _Room(depth)
    effect = Depth(room)
    compositor = Compositor(effect, feather=0)
    for _ in range(5):
        out = compositor.compose(frame, matte, 60)
    assert room.calls == 1
    effect.refresh(frame)
    assert room.calls == 2
    assert np.array_equal(out[matte > 0], frame[matte > 0])  # the person stays sharp


@pytest.mark.slow
def test_through_the_real_depth_network_the_far_room_blurs_more(shared):
    """A shared portrait with its ground-truth mask: background pixels the network puts far away end up
    blurrier than those it puts near the person, and the result differs from the plain blur."""
    from webcam_blur.look.effects import Blur
    from webcam_blur.models.depth import DepthEstimator

    estimator = DepthEstimator.load(shared / "models")
    frame = cv2.imread(str(shared / "images" / "grace_hopper.bmp"))
    matte = np.zeros(frame.shape[:2], np.uint8)
    matte[60:, 120:400] = 255  # roughly her; the effect needs only where the person is
    depth = cv2.resize(estimator.estimate(frame), (frame.shape[1], frame.shape[0]))
    effect = Depth(estimator)
    out = Compositor(effect).compose(frame, matte, 80)
    plain = Compositor(Blur()).compose(frame, matte, 80)
    background = cv2.dilate(matte, np.ones((25, 25), np.uint8)) == 0
    amount = defocus(depth, matte > 0)
    near, far = background & (amount < 0.5), background & (amount > 0.8)
    assert near.sum() > 1000 and far.sum() > 1000
    apart = lambda a, b, region: np.abs(a.astype(int) - b.astype(int))[region].mean()  # noqa: E731
    assert apart(out, frame, near) < 0.8 * apart(plain, frame, near)  # near the person's depth: less blurred
    assert apart(out, plain, far) < apart(out, plain, near)  # far away: as blurred as the plain blur
    assert apart(out, plain, background) > 1.5  # visibly not the plain blur
