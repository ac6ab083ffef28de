"""Replacement backgrounds: colours, pictures scaled to cover, looping videos, bad ones refused."""

import numpy as np
import pytest

from webcam_blur.errors import WebcamBlurError
from webcam_blur.look.background import Background, cover


def test_video_background_loops(shared):
    background = Background(str(shared / "videos" / "again.mkv"))
    frames = [background.frame(320, 240) for _ in range(80)]  # the clip has 77 frames
    assert all(f.shape == (240, 320, 3) for f in frames)
    assert np.abs(frames[77].astype(int) - frames[0].astype(int)).mean() < 1.0
    background.close()


def test_cover_fills_and_keeps_the_aspect():
    image = np.zeros((100, 200, 3), np.uint8)
    image[:, 95:105] = 255  # a centred stripe stays centred
    out = cover(image, 300, 300)
    assert out.shape == (300, 300, 3)
    assert out[150, 150].max() == 255 and out[150, 20].max() == 0


@pytest.mark.parametrize("spec, message", [("nope.png", "background not found"), ("#12345", "background not found")])
def test_bad_backgrounds_are_refused(spec, message):
    with pytest.raises(WebcamBlurError, match=message):
        Background(spec)


def test_unreadable_background_image(tmp_path):
    path = tmp_path / "broken.jpg"
    path.write_bytes(b"not a jpeg")
    with pytest.raises(WebcamBlurError, match="cannot read background image"):
        Background(str(path))
