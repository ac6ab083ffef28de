"""Auto-framing: follows the person within a second, holds still while they sway, keeps the output size."""

import cv2
import numpy as np
import pytest

from helpers import video_frames
from webcam_blur.look.framing import DEAD_BAND, MAX_ZOOM, Framer, person_extent

W, H, FPS = 640, 360, 30


def _person(x: int, y: int = 120, half_width: int = 60) -> np.ndarray:
    """A head-and-shoulders matte: a head at (x, y) over a body that goes on past the frame's bottom."""
    matte = np.zeros((H, W), np.uint8)
    cv2.circle(matte, (x, y + 35), 35, 255, -1)
    cv2.rectangle(matte, (x - half_width, y + 70), (x + half_width, H), 255, -1)
    return matte


def _run(framer, picture, mattes):
    crops = []
    for matte in mattes:
        out = framer.frame(picture, matte)
        assert out.shape == picture.shape  # the output size never changes
        crops.append(framer.crop())
    return np.array(crops)


@pytest.fixture
def picture():
    return np.random.default_rng(0).integers(0, 256, (H, W, 3), dtype=np.uint8)


def test_the_extent_is_the_head_and_shoulders():
    centre, top, bottom, span = person_extent(_person(200))
    assert abs(centre - 200) < 8 and abs(top - 120) < 10 and bottom == H and 100 < span < 140
    assert person_extent(np.zeros((H, W), np.uint8)) is None


def test_the_crop_follows_a_move_within_a_second(picture):
    framer = Framer(FPS)
    crops = _run(framer, picture, [_person(200)] * (2 * FPS))
    assert crops[-1][2] > 1.2  # zoomed in on a small person
    target = framer.target(_person(420))
    crops = _run(framer, picture, [_person(420)] * FPS)
    assert abs(crops[-1][0] - target[0]) < 0.02 * W  # there within a second
    assert np.all(np.diff(crops[:, 0]) >= -1e-6)  # critically damped: no overshoot back


def test_a_still_person_gives_a_still_crop_even_while_swaying(picture):
    framer = Framer(FPS)
    _run(framer, picture, [_person(320)] * (2 * FPS))  # settled
    sway = [_person(320 + round(0.5 * DEAD_BAND * W * np.sin(i / 4))) for i in range(3 * FPS)]
    crops = _run(framer, picture, sway)
    assert np.ptp(crops, axis=0).max() < 0.5  # under half a pixel in 3 s


def test_zoom_is_limited_and_the_crop_stays_inside(picture):
    framer = Framer(FPS)
    tiny = np.zeros((H, W), np.uint8)
    cv2.circle(tiny, (30, 30), 12, 255, -1)
    crops = _run(framer, picture, [tiny] * (2 * FPS))
    x, y, zoom = crops[-1]
    assert zoom <= MAX_ZOOM + 1e-6
    assert x - W / zoom / 2 >= -1e-6 and y - H / zoom / 2 >= -1e-6  # the corner, not past it


def test_nobody_there_goes_back_to_the_whole_picture(picture):
    framer = Framer(FPS)
    _run(framer, picture, [_person(200)] * FPS)
    empty = np.zeros((H, W), np.uint8)
    crops = _run(framer, picture, [empty] * (FPS // 2))
    assert crops[-1][2] > 1.2  # a moment away is not leaving
    _run(framer, picture, [empty] * (3 * FPS))
    assert np.array_equal(framer.frame(picture, empty), picture)  # the whole picture again, untouched


def _small_at(frame: np.ndarray, x: int) -> np.ndarray:
    """The clip's frame at half size standing at the bottom of a wider room (its own picture, blurred), at ``x``."""
    room = cv2.GaussianBlur(cv2.resize(frame, (W, H)), (0, 0), 25)
    small = cv2.resize(frame, (frame.shape[1] // 2, frame.shape[0] // 2), interpolation=cv2.INTER_AREA)
    room[H - small.shape[0]:, x: x + small.shape[1]] = small
    return room


@pytest.mark.slow
def test_a_real_person_clip_moved_sideways_is_followed_within_a_second(shared, segmenter):
    """Real frames of a person, real masks: the clip at half size in a wider picture, moved halfway through."""
    clip = video_frames(shared / "videos" / "again.mkv")[:2 * FPS]
    moved = [_small_at(f, 20) for f in clip[:FPS]] + [_small_at(f, 300) for f in clip[FPS:]]
    framer = Framer(FPS)
    crops, centres = [], []
    for frame in moved:
        matte = segmenter.segment(frame).mask
        assert framer.frame(frame, matte).shape == frame.shape
        crops.append(framer.crop())
        centres.append(person_extent(matte)[0])
    crops = np.array(crops)
    assert np.median(centres[FPS:]) - np.median(centres[:FPS]) > W / 4  # the person did move
    assert crops[FPS - 1][2] > 1.2  # zoomed in on them
    target = framer.target(segmenter.segment(moved[-1]).mask)[0]
    assert abs(crops[-1][0] - target) < 0.03 * W < abs(crops[FPS - 1][0] - target)  # followed within a second


@pytest.mark.slow
def test_a_real_talking_head_gives_a_still_crop(shared, segmenter):
    """A real talking head (small in a wider picture, real masks): once settled, the crop holds still."""
    clip = video_frames(shared / "videos" / "talking_head_a.mp4")[:4 * FPS]
    framer = Framer(FPS)
    crops = []
    for frame in clip:
        picture = _small_at(cv2.resize(frame, (480, 480)), 200)
        framer.frame(picture, segmenter.segment(picture).mask)
        crops.append(framer.crop())
    settled = np.array(crops[2 * FPS:])
    assert settled[0][2] > 1.05  # zoomed in on the small head (so the crop could move)
    assert np.ptp(settled, axis=0).max() < 1.0  # under a pixel in 2 s of talking
