"""Compositing: person pixels untouched, background blurred, strength in user terms."""

import cv2
import numpy as np
import pytest

from webcam_blur.compositor import Compositor, blur


def _sharpness(image, region):
    return cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.CV_64F)[region].var()


@pytest.fixture
def scene():
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)
    mask = np.zeros((240, 320), np.uint8)
    mask[60:200, 100:220] = 255
    return frame, mask


def test_person_is_unchanged_and_background_blurred(scene):
    frame, mask = scene
    out = Compositor(blur=60).compose(frame, mask)
    inner = cv2.erode(mask, np.ones((15, 15), np.uint8)) > 0
    outer = cv2.dilate(mask, np.ones((15, 15), np.uint8)) == 0
    assert np.array_equal(out[inner], frame[inner])
    assert _sharpness(out, outer) < 0.05 * _sharpness(frame, outer)


def test_zero_blur_is_the_identity(scene):
    frame, mask = scene
    assert np.array_equal(Compositor(blur=0).compose(frame, mask), frame)


def test_stronger_blur_is_blurrier(scene):
    frame, _ = scene
    everywhere = np.s_[:, :]
    sharpness = [_sharpness(blur(frame, s), everywhere) for s in (10, 40, 100)]
    assert sharpness[0] > sharpness[1] > sharpness[2]


@pytest.mark.parametrize("strength", [-1, 101, float("nan")])
def test_blur_outside_0_to_100_is_refused(strength):
    with pytest.raises(ValueError):
        Compositor(blur=strength)


def test_mask_of_another_size_is_refused(scene):
    frame, mask = scene
    with pytest.raises(ValueError, match="does not match"):
        Compositor().compose(frame, mask[:10])


@pytest.mark.parametrize("feather", [0.0, 0.02])
@pytest.mark.parametrize("box", [np.s_[60:200, 100:220], np.s_[0:240, 0:320], np.s_[239:240, 0:1], np.s_[0:0, 0:0]])
def test_blend_is_the_alpha_formula_everywhere(scene, box, feather):
    # Blending runs inside the matte's bounding box only; the result must not show where it stops.
    frame, _ = scene
    rng = np.random.default_rng(1)
    matte = np.zeros(frame.shape[:2], np.uint8)
    matte[box] = rng.integers(0, 256, matte[box].shape, dtype=np.uint8)
    compositor = Compositor(blur=60, feather=feather)
    expected_alpha = compositor.alpha(matte).astype(np.float64)[..., None] / 255
    backdrop = compositor.backdrop(frame, matte).astype(np.float64)
    expected = frame * expected_alpha + backdrop * (1 - expected_alpha)
    out = compositor.compose(frame, matte)
    assert np.abs(out - expected).max() <= 1.0
