"""Low-light lift: measured on real portraits darkened as a dim room would, unit-tested on synthetic frames."""

import cv2
import numpy as np
import pytest

from webcam_blur.look.lighten import (
    GAIN_SCALE,
    SMOOTHING,
    TARGET_LUMA,
    Lightener,
    gain_table,
    lift_amount,
    lift_curve,
)


def _luma(frame, where):
    return float(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)[where].mean())


def _hue_shift(before, after, where):
    """Mean absolute HSV hue change in degrees over the pixels of ``where`` with a hue worth the name."""
    hsv_before = cv2.cvtColor(before, cv2.COLOR_BGR2HSV_FULL).astype(int)
    hsv_after = cv2.cvtColor(after, cv2.COLOR_BGR2HSV_FULL).astype(int)
    coloured = where & (hsv_before[..., 1] >= 64) & (hsv_before[..., 2] >= 24)
    change = (hsv_after[..., 0] - hsv_before[..., 0] + 128) % 256 - 128
    return float(np.abs(change[coloured]).mean() * 360 / 256), int(coloured.sum())


def _ramp():
    """Every grey level once per row: 4 x 256 x 3."""
    return np.repeat(np.arange(256, dtype=np.uint8)[None, :, None], 3, axis=2).repeat(4, axis=0)


# --- the curve -----------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", [1, 10, 35, 70, 100])
def test_curve_is_monotonic_and_keeps_black_and_white(amount):
    curve = lift_curve(amount)
    assert np.all(np.diff(curve) > 0)
    assert curve[0] == 0 and curve[255] == pytest.approx(255)
    assert np.all(curve[1:255] > np.arange(1, 255))  # shadows and mid-tones only go up
    assert round(curve[250]) < 255  # highlights compressed, not clipped


def test_curve_of_zero_is_the_identity_and_rises_with_the_amount():
    assert np.array_equal(lift_curve(0), np.arange(256))
    mids = [lift_curve(amount)[64] for amount in (0, 25, 50, 75, 100)]
    assert np.all(np.diff(mids) > 0)
    assert lift_curve(100)[2] / 2 > 3.0  # an exposure gain near black: about +1.7 EV at full


@pytest.mark.parametrize("amount", [10, 40, 70, 100])
def test_grey_ramp_follows_the_curve_without_clipping(amount):
    out = Lightener().apply(_ramp(), np.full((4, 256), 255, np.uint8), amount)[0, :, 0].astype(int)
    assert np.abs(out - np.round(lift_curve(amount))).max() <= 1  # the 8-bit gain's rounding
    assert np.all(np.diff(out) >= -1)
    assert out[255] == 255 and out[:251].max() < 255  # 250 stays below 255 ...
    assert out[230] < out[250]  # ... and the top is compressed, not flattened


def test_gain_table_never_lifts_a_value_past_its_curve():
    values = np.arange(1, 256)
    for amount in np.linspace(0, 100, 41):
        table = gain_table(amount).astype(int)
        lifted = values + np.round(values * table[1:] / GAIN_SCALE)
        assert np.all(lifted <= np.round(lift_curve(amount, values)))
    assert not gain_table(0).any()


# --- the blend -----------------------------------------------------------------------------------


def test_amount_zero_returns_the_frame_itself():
    frame = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    matte = np.full((48, 64), 255, np.uint8)
    assert Lightener().apply(frame, matte, 0) is frame


def test_background_is_untouched_and_soft_edges_lift_in_proportion():
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 120, (90, 160, 3), dtype=np.uint8)
    matte = np.zeros((90, 160), np.uint8)
    matte[20:70, 50:110] = 255
    matte[20:70, 40:50] = 128  # a soft edge
    out = Lightener().apply(frame, matte, 80)
    assert out is not frame and out.shape == frame.shape and out.dtype == np.uint8
    assert np.array_equal(out[matte == 0], frame[matte == 0])
    full = out[20:70, 50:110].astype(int) - frame[20:70, 50:110]
    half = out[20:70, 40:50].astype(int) - frame[20:70, 40:50]
    assert full.mean() > 20
    assert 0.4 < half.mean() / full.mean() < 0.6


def test_an_empty_matte_leaves_the_frame():
    frame = np.full((30, 40, 3), 40, np.uint8)
    assert Lightener().apply(frame, np.zeros((30, 40), np.uint8), 100) is frame


def test_matte_of_another_size_is_refused():
    with pytest.raises(ValueError):
        Lightener().apply(np.zeros((30, 40, 3), np.uint8), np.zeros((40, 30), np.uint8), 50)


def test_colours_keep_their_hue_and_never_clip():
    rng = np.random.default_rng(2)
    frame = rng.integers(0, 251, (64, 64, 3), dtype=np.uint8)
    frame[:, :, 2] = np.maximum(frame[:, :, 2], 30)
    matte = np.full((64, 64), 255, np.uint8)
    out = Lightener().apply(frame, matte, 100)
    assert not np.any(out[frame < 250] == 255)
    hue_shift, count = _hue_shift(frame, out, matte > 0)
    assert count > 1000 and hue_shift < 1.0
    # saturation kept: each channel scaled by its pixel's one gain
    bright = frame.max(axis=2) >= 40
    ratio = out[bright].astype(float) / np.maximum(out[bright].max(axis=1, keepdims=True), 1)
    original = frame[bright].astype(float) / frame[bright].max(axis=1, keepdims=True)
    assert np.abs(ratio - original).max() < 0.05


# --- auto ----------------------------------------------------------------------------------------


def _person(level, size=(72, 128)):
    """A flat skin-toned person of luma about ``level`` over a bright room, and its 0/255 matte."""
    frame = np.full(size + (3,), 230, np.uint8)
    matte = np.zeros(size, np.uint8)
    matte[16:, 40:88] = 255
    skin = np.array([0.62, 0.8, 1.0]) * level / 0.86  # BGR, luma = level
    frame[matte > 0] = np.clip(skin, 0, 255).astype(np.uint8)
    return frame, matte


def test_auto_lifts_a_dark_person_by_the_shortfall_and_leaves_a_bright_one():
    amounts = [lift_amount(*_person(level)) for level in (30, 60, 90, 105, 120, 160)]
    assert amounts[0] == 100 and amounts[1] > amounts[2] > amounts[3] > 0
    assert amounts[4] == amounts[5] == 0
    assert lift_amount(np.full((72, 128, 3), 20, np.uint8), np.zeros((72, 128), np.uint8)) == 0  # nobody there


def test_auto_lands_on_the_target_luma():
    frame, matte = _person(70)
    out = Lightener().apply(frame, matte, None)
    assert _luma(out, matte > 0) == pytest.approx(TARGET_LUMA, abs=3)


def test_auto_spares_a_well_lit_person_in_dark_clothes():
    frame, matte = _person(50)
    face = (slice(16, 40), slice(52, 76))
    frame[face] = (150, 185, 225)  # bright skin: the light is fine, the sweater is dark
    assert _luma(frame, matte > 0) < 90
    assert lift_amount(frame, matte) < 10
    assert lift_amount(cv2.convertScaleAbs(frame, alpha=0.35), matte) > 50


def test_auto_amount_is_smoothed_over_frames():
    dark, matte = _person(40)
    bright, _ = _person(140)
    lightener = Lightener()
    lightener.apply(dark, matte, None)
    assert lightener.amount == lift_amount(dark, matte)  # the first frame takes its decision
    first = lightener.amount
    lightener.apply(bright, matte, None)  # decides 0: moves only a step that way
    assert lightener.amount == pytest.approx(first * (1 - SMOOTHING))
    for _ in range(60):
        lightener.apply(bright, matte, None)
    assert lightener.amount < 0.05 * first
    for _ in range(60):  # the easing would only near 0: it lands there, and a lit room costs nothing again
        out = lightener.apply(bright, matte, None)
    assert lightener.amount == 0 and out is bright


# --- real portraits ------------------------------------------------------------------------------


def _portraits(shared, count=8):
    images = sorted((shared / "data" / "portraits" / "images").glob("*.jpg"))[:count]
    for path in images:
        matte = cv2.imread(str(shared / "data" / "portraits" / "masks" / (path.stem + ".png")), cv2.IMREAD_GRAYSCALE)
        yield cv2.imread(str(path)), matte


@pytest.mark.slow
@pytest.mark.parametrize("light, gain", [(0.35, 2.0), (0.6, 1.4)])
def test_darkened_portraits_are_lifted_without_clipping_or_hue_shift(shared, light, gain):
    for image, matte in _portraits(shared):
        person = matte > 0
        dark = cv2.convertScaleAbs(image, alpha=light)  # less light: every value scaled, as the sensor sees it
        out = Lightener().apply(dark, matte, None)
        before, after = _luma(dark, person), _luma(out, person)
        assert after > gain * before and after > before + 25
        assert after < TARGET_LUMA + 5
        assert np.array_equal(out[~person], dark[~person])
        assert not np.any(out[dark < 250] == 255)
        hue_shift, count = _hue_shift(dark, out, person)
        assert count > 1000 and hue_shift < 2.0


@pytest.mark.slow
def test_well_lit_portraits_get_little_or_no_lift(shared):
    for image, matte in _portraits(shared):
        amount, before = lift_amount(image, matte), _luma(image, matte > 0)
        if before >= TARGET_LUMA:
            assert amount == 0
        assert amount < 15  # a person with bright skin in dark clothes (00073) gets a small lift: 10
        assert _luma(Lightener().apply(image, matte, None), matte > 0) < max(before, TARGET_LUMA) + 5


def test_the_lift_falls_off_inside_the_matte_so_its_soft_edge_leaves_no_ghost():
    """At 720p a matte's soft tail over the wall gets no lift, the person's inside all of it."""
    frame = np.full((720, 1280, 3), 40, np.uint8)
    matte = np.zeros((720, 1280), np.uint8)
    matte[200:, 400:800] = 255
    matte = cv2.GaussianBlur(matte, (0, 0), 6)  # a refined matte's soft edge, reaching ~15 px onto the wall
    out = Lightener().apply(frame, matte, 80)
    assert out[500, 600].mean() > 70  # inside: lifted
    tail = (matte > 0) & (matte < 64)
    lifted = out[tail].astype(int) - 40
    assert lifted.mean() < 1.0 and lifted.max() <= 8  # the wall under the tail: nearly as it was (weighted
    # by the matte itself, its inner end would gain ~16)
