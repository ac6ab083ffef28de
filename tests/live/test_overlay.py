"""Text drawn on frames stays legible on the OpenCV that CI installs (5.x draws a TrueType font)."""

import cv2
import numpy as np
import pytest

from webcam_blur.live.overlay import FONT, draw_label

TEXT = "29.9 fps, mask 19.0 Hz, inference 50 ms, refine 34 ms, compose 3.4 ms, latency 8 ms"


@pytest.mark.parametrize("grey", [40, 128, 230])
def test_every_letter_is_white_on_its_own_dark_rim(grey):
    image = np.full((60, 1280, 3), grey, np.uint8)
    draw_label(image, TEXT, (10, 30))
    letters = np.zeros(image.shape[:2], np.uint8)
    cv2.putText(letters, TEXT, (10, 30), FONT, 0.7, 255, 1, cv2.LINE_AA)
    core = letters > 200
    assert core.sum() > 500
    # The letters are where putText alone puts them, white: the rim is not a misaligned second copy.
    assert (image[core].min(axis=1) > 200).mean() > 0.95
    # Every pixel next to a letter is rim (dark) or letter (bright): the background never touches a letter.
    around = cv2.dilate((letters > 64).view(np.uint8), np.ones((3, 3), np.uint8)) > 0
    untouched = (image == grey).all(axis=2)
    assert not (around & untouched & (letters == 0)).any()
    rim = (image.max(axis=2) < 60) & ~core
    assert rim.sum() > core.sum()  # a rim wider than the strokes, all round


def test_text_too_wide_for_the_frame_is_made_to_fit():
    image = np.full((60, 320, 3), 128, np.uint8)
    draw_label(image, TEXT, (10, 30))
    changed = (image != 128).any(axis=2)
    columns = np.flatnonzero(changed.any(axis=0))
    assert columns.size and columns.max() < 320 - 2  # it ends inside the frame
    assert changed[:, 250:].any()  # and uses its width
