"""Compositing: person pixels untouched, background blurred, strength in user terms."""

import cv2
import numpy as np
import pytest

from helpers import sharpness
from webcam_blur.errors import WebcamBlurError
from webcam_blur.look.compositor import Compositor
from webcam_blur.look.blur import blurred_background
from webcam_blur.look.effects import Blur
from webcam_blur.settings import make_settings


@pytest.fixture
def scene():
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)
    mask = np.zeros((240, 320), np.uint8)
    mask[60:200, 100:220] = 255
    return frame, mask


def test_person_is_unchanged_and_background_blurred(scene):
    frame, mask = scene
    out = Compositor(Blur()).compose(frame, mask, 60)
    inner = cv2.erode(mask, np.ones((15, 15), np.uint8)) > 0
    outer = cv2.dilate(mask, np.ones((15, 15), np.uint8)) == 0
    assert np.array_equal(out[inner], frame[inner])
    assert sharpness(out, outer) < 0.05 * sharpness(frame, outer)


def test_zero_blur_is_the_identity(scene):
    frame, mask = scene
    assert np.array_equal(Compositor(Blur()).compose(frame, mask, 0), frame)


def test_stronger_blur_is_blurrier(scene):
    frame, _ = scene
    everywhere = np.s_[:, :]
    scores = [sharpness(blurred_background(frame, s), everywhere) for s in (10, 40, 100)]
    assert scores[0] > scores[1] > scores[2]


@pytest.mark.parametrize("strength", [-1, 101, float("nan")])
def test_blur_outside_0_to_100_is_refused(strength):
    with pytest.raises(WebcamBlurError, match="--blur must be"):  # the one gate every value passes
        make_settings({"strength": strength})


def test_mask_of_another_size_is_refused(scene):
    frame, mask = scene
    with pytest.raises(ValueError, match="does not match"):
        Compositor(Blur()).compose(frame, mask[:10])


@pytest.mark.parametrize("feather", [0.0, 0.02])
@pytest.mark.parametrize("box", [np.s_[60:200, 100:220], np.s_[0:240, 0:320], np.s_[239:240, 0:1], np.s_[0:0, 0:0]])
def test_blend_is_the_alpha_formula_everywhere(scene, box, feather):
    # Blending runs inside the matte's bounding box only; the result must not show where it stops.
    frame, _ = scene
    rng = np.random.default_rng(1)
    matte = np.zeros(frame.shape[:2], np.uint8)
    matte[box] = rng.integers(0, 256, matte[box].shape, dtype=np.uint8)
    compositor = Compositor(Blur(), feather=feather)
    expected_alpha = compositor.alpha(matte).astype(np.float64)[..., None] / 255
    backdrop = Blur().backdrop(frame, matte, 60).astype(np.float64)
    expected = frame * expected_alpha + backdrop * (1 - expected_alpha)
    out = compositor.compose(frame, matte, 60)
    assert np.abs(out - expected).max() <= 1.0
