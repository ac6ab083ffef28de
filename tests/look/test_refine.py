"""Mask refinement: measured on real portraits and video, unit-tested on small fakes."""

import cv2
import numpy as np
import pytest

from webcam_blur.look.refine import MaskRefiner, RefineSettings, _recentred, binary_mask, remove_blobs_and_holes
from webcam_blur.models.registry import DEAD_BAND
from webcam_blur.quality import boundary_f, iou


def _portrait_pairs(shared, count=12):
    images = sorted((shared / "data" / "portraits" / "images").iterdir())[:count]
    for path in images:
        truth = cv2.imread(str(shared / "data" / "portraits" / "masks" / (path.stem + ".png")), cv2.IMREAD_GRAYSCALE)
        yield cv2.imread(str(path)), truth


def test_refined_edges_beat_raw_argmax_on_real_portraits(shared, segmenter):
    refiner = MaskRefiner(RefineSettings(temporal=0.0))
    raw_scores, refined_scores = [], []
    for image, truth in _portrait_pairs(shared):
        segmentation = segmenter.segment(image)
        refined = binary_mask(refiner.refine(image, segmentation))
        raw_scores.append((iou(segmentation.mask, truth), boundary_f(segmentation.mask, truth)))
        refined_scores.append((iou(refined, truth), boundary_f(refined, truth)))
    raw, refined = np.mean(raw_scores, axis=0), np.mean(refined_scores, axis=0)
    assert refined[0] >= raw[0]  # IoU not lost
    assert refined[1] > raw[1] + 0.1  # much better edges


def test_matte_is_soft_only_at_the_edge(shared, segmenter):
    image, _ = next(_portrait_pairs(shared))
    alpha = MaskRefiner(RefineSettings(temporal=0.0)).refine(image, segmenter.segment(image))
    assert alpha.dtype == np.uint8 and alpha.shape == image.shape[:2]
    soft = (alpha > 10) & (alpha < 245)
    assert 0 < soft.mean() < 0.1


def _flicker(masks):
    return np.mean([np.count_nonzero(a != b) / a.size for a, b in zip(masks, masks[1:])])


def test_temporal_smoothing_reduces_flicker_on_a_real_clip(shared, segmenter):
    capture = cv2.VideoCapture(str(shared / "videos" / "sorry.mkv"))
    frames = [capture.read()[1] for _ in range(40)]
    segmentations = [segmenter.segment(f) for f in frames]
    steady, instant = MaskRefiner(RefineSettings()), MaskRefiner(RefineSettings(temporal=0.0))
    smoothed = [binary_mask(steady.refine(f, s)) for f, s in zip(frames, segmentations)]
    unsmoothed = [binary_mask(instant.refine(f, s)) for f, s in zip(frames, segmentations)]
    raw = [s.mask for s in segmentations]
    assert _flicker(smoothed) < 0.75 * _flicker(raw)
    assert np.mean([iou(a, b) for a, b in zip(smoothed, unsmoothed)]) > 0.95  # no drift away from the picture


def _block_frame(x):
    frame = np.full((240, 320, 3), 30, np.uint8)
    frame[60:200, x : x + 80] = 220
    return frame


class FakeSegmentation:
    """A person probability drawn by the test: a bright block on a dark frame."""

    cell = 16.0  # frame pixels per network output cell, as a 512 network sees a 512 frame
    dead_band = DEAD_BAND

    def __init__(self, frame):
        self.frame = frame

    def probability_at(self, width, height):
        small = cv2.resize(self.frame, (width, height), interpolation=cv2.INTER_AREA)
        return (small[..., 0] > 128).astype(np.float32)


def test_a_moving_person_leaves_no_trail():
    refiner = MaskRefiner(RefineSettings(temporal=0.9))
    for _ in range(10):  # a long still period builds up the temporal state
        refiner.refine(_block_frame(40), FakeSegmentation(_block_frame(40)))
    moved = _block_frame(200)  # a fast jump
    mask = binary_mask(refiner.refine(moved, FakeSegmentation(moved)))
    assert iou(mask, (moved[..., 0] > 128).astype(np.uint8) * 255) > 0.9


def test_cleanup_removes_specks_and_fills_holes():
    mask = np.zeros((100, 100), np.uint8)
    mask[20:80, 20:80] = 255
    mask[40:45, 40:45] = 0  # a hole
    mask[2:4, 90:92] = 255  # a speck
    cleaned = remove_blobs_and_holes(mask)
    assert cleaned[42, 42] == 255 and cleaned[3, 91] == 0 and cleaned[50, 50] == 255 and cleaned[10, 10] == 0


@pytest.mark.parametrize("level", [60.0, 127.5, 200.0])
def test_threshold_moves_to_the_middle_of_the_matte(level):
    table = _recentred(level)
    assert abs(int(table[int(level)]) - 128) <= 2
    assert table[0] == 0 and table[255] == 255 and (np.diff(table.astype(int)) >= 0).all()


def test_otsu_threshold_is_available(shared, segmenter):
    image, truth = next(_portrait_pairs(shared))
    alpha = MaskRefiner(RefineSettings(temporal=0.0, threshold="otsu")).refine(image, segmenter.segment(image))
    assert iou(binary_mask(alpha), truth) > 0.9


@pytest.mark.parametrize("shape", [(2, 4000), (4000, 2), (1, 1), (3, 2500)])
def test_extreme_aspect_frames_get_a_matte_of_their_size(shape):
    frame = np.random.default_rng(0).integers(0, 256, (*shape, 3), dtype=np.uint8)
    matte = MaskRefiner(RefineSettings()).refine(frame, FakeSegmentation(frame))
    assert matte.shape == shape and matte.dtype == np.uint8


class _Unsure(FakeSegmentation):
    """A network that changes its mind about a still strip beside the block: 0.3 person, then 0.9."""

    def __init__(self, frame, person, dead_band):
        super().__init__(frame)
        self.person, self.dead_band = person, dead_band

    def probability_at(self, width, height):
        probability = super().probability_at(width, height)
        probability[:, round(width * 0.45):round(width * 0.6)] = self.person
        return probability


@pytest.mark.parametrize("dead_band, taken", [(DEAD_BAND, True), (1.0, False)])
def test_the_dead_band_is_the_networks_own(dead_band, taken):
    """On a still picture the matte follows a network's change of mind only beyond its own dead band: the
    selfie network, wobblier where nothing moves, declares 1.0 against the VOC network's 0.4."""
    frame = _block_frame(40)
    refiner = MaskRefiner(RefineSettings(temporal=0.7))
    for person in [0.3] * 3 + [0.9] * 30:
        mask = binary_mask(refiner.refine(frame, _Unsure(frame, person, dead_band)))
    strip = mask[100:160, round(320 * 0.5):round(320 * 0.55)]
    assert (strip > 0).all() if taken else not strip.any()
    assert (mask[100:160, 60:100] > 0).all()  # the block is person throughout
