"""Effects: what shows behind the person (halo-free blur, bokeh, replacement)."""

import cv2
import numpy as np

from webcam_blur.look.background import Background
from webcam_blur.look.compositor import Compositor
from webcam_blur.look.blur import blurred_background
from webcam_blur.look.effects import EFFECTS, Pixelate, Replace


def _red_person():
    frame = np.full((240, 320, 3), 128, np.uint8)
    frame[60:180, 120:200] = (0, 0, 255)
    mask = np.zeros((240, 320), np.uint8)
    mask[60:180, 120:200] = 255
    return frame, mask


def test_blurred_background_has_no_halo_of_the_person():
    frame, mask = _red_person()
    ring = (cv2.dilate(mask, np.ones((21, 21), np.uint8)) > 0) & (mask == 0)
    plain = blurred_background(frame, 60)
    clean = blurred_background(frame, 60, mask)
    red_excess = lambda img: (img[..., 2].astype(int) - img[..., 1].astype(int))[ring].mean()  # noqa: E731
    assert red_excess(plain) > 20  # the ordinary blur smears red into the wall
    assert abs(red_excess(clean)) < 3  # the halo-free one does not


def test_bokeh_turns_a_highlight_into_a_disc():
    frame = np.full((240, 320, 3), 40, np.uint8)
    frame[120, 160] = 255
    frame[119:122, 159:162] = 255
    out = blurred_background(frame, 50, bokeh=True)
    gauss = blurred_background(frame, 50)
    profile = out[120, 160:].astype(int) - 40
    gauss_profile = gauss[120, 160:].astype(int) - 40
    assert profile.max() > gauss_profile.max()  # the highlight blooms
    lit = profile > profile.max() / 2
    assert lit.sum() >= 3  # a disc, not a point


def test_replace_puts_the_picture_behind_the_person(tmp_path):
    frame, mask = _red_person()
    picture = np.zeros((100, 400, 3), np.uint8)
    picture[:, :200] = (255, 0, 0)
    picture[:, 200:] = (0, 255, 0)
    path = tmp_path / "beach.png"
    cv2.imwrite(str(path), picture)
    out = Compositor(Replace(Background(str(path))), feather=0).compose(frame, mask)
    assert (out[100, 150] == (0, 0, 255)).all()  # the person
    assert out[10, 10, 0] > 200 and out[10, 310, 1] > 200  # the picture, covering the frame


def test_colour_background():
    frame, mask = _red_person()
    out = Compositor(Replace(Background("#00ff00")), feather=0).compose(frame, mask)
    assert (out[5, 5] == (0, 255, 0)).all()


def test_every_effect_is_registered_under_its_name_with_help():
    for name, effect in EFFECTS.items():
        assert effect.name == name and effect.help and effect.done
    assert [name for name, effect in EFFECTS.items() if effect.needs_background] == ["replace"]


def test_pixelate_turns_the_background_into_blocks_of_background_colour_only():
    frame, mask = _red_person()
    rng = np.random.default_rng(3)
    frame[mask == 0] = rng.integers(0, 100, (int((mask == 0).sum()), 3), dtype=np.uint8)  # detail, never red
    out = Compositor(Pixelate(), feather=0).compose(frame, mask, 60)
    block = round(0.6 * 0.08 * min(frame.shape[:2]))
    corner = out[:block, :block].reshape(-1, 3)
    assert (corner == corner[0]).all()  # one colour per block: the detail is gone
    assert np.array_equal(out[mask > 0], frame[mask > 0])  # the person is untouched
    background = out[cv2.dilate(mask, np.ones((5, 5), np.uint8)) == 0]
    assert background[:, 2].max() < 110  # no red of the person bleeds into the blocks around it
    assert Pixelate().backdrop(frame, mask, 0) is None  # strength 0: the frame as it is
