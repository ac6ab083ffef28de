"""The real segmenter on real photos: aligned at 512, runtimes agree, any frame layout works."""

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from helpers import any_frame
from webcam_blur.frames import as_bgr
from webcam_blur.models.letterbox import Letterbox
from webcam_blur.quality import iou


def _reference_at_frame_size(tflite_reference, image):
    box = Letterbox(*image.shape[:2], 513)
    person = tflite_reference(cv2.cvtColor(box.place(image), cv2.COLOR_BGR2RGB))
    return box.unplace(person.astype(np.float32)) >= 0.5


def _scored(photos, tflite_reference):
    for name, image in photos.items():
        reference = _reference_at_frame_size(tflite_reference, image)
        if reference.mean() > 0.01:
            yield name, image, reference


def test_512_masks_are_aligned_with_the_513_reference(segmenter, photos, tflite_reference):
    scores = {name: iou(segmenter.segment(image).mask, ref) for name, image, ref in _scored(photos, tflite_reference)}
    assert len(scores) == 4
    assert min(scores.values()) >= 0.95, scores


def test_lite_runtime_matches_the_keras_model(segmenter, keras_segmenter, photos):
    for name, image in photos.items():
        fast, exact = segmenter.segment(image), keras_segmenter.segment(image)
        if exact.mask.mean() > 0.01 * 255:
            assert iou(fast.mask, exact.mask) >= 0.97, name
        np.testing.assert_allclose(fast.probability, exact.probability, atol=1e-3)


def test_mask_and_probability_describe_the_same_person(segmenter, photos):
    result = segmenter.segment(photos["grace_hopper.bmp"])
    assert result.mask.shape == result.probability.shape == photos["grace_hopper.bmp"].shape[:2]
    assert result.mask.dtype == np.uint8 and set(np.unique(result.mask)) <= {0, 255}
    assert result.probability.dtype == np.float32
    assert result.probability[result.mask > 0].mean() > 0.8
    assert result.probability[result.mask == 0].mean() < 0.2
    assert 0.5 < (result.mask > 0).mean() < 0.8  # a portrait


@pytest.mark.parametrize(
    "convert",
    [
        lambda im: cv2.cvtColor(im, cv2.COLOR_BGR2GRAY),
        lambda im: cv2.cvtColor(im, cv2.COLOR_BGR2BGRA),
        lambda im: im.astype(np.uint16) * 257,
        lambda im: im[:1, :1],
        lambda im: cv2.resize(im, (3840, 2160)),
        lambda im: im[:, :3],
    ],
    ids=["gray", "bgra", "uint16", "1x1", "4k", "3-wide"],
)
def test_any_frame_layout_gives_a_mask_of_its_size(segmenter, photos, convert):
    frame = as_bgr(convert(photos["grace_hopper.bmp"]))  # as the app does, once, where frames come in
    result = segmenter.segment(frame)
    assert result.mask.shape == frame.shape[:2]
    assert np.isfinite(result.probability).all()


def test_grayscale_still_finds_the_person(segmenter, photos):
    image = photos["grace_hopper.bmp"]
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    assert iou(segmenter.segment(as_bgr(gray)).mask, segmenter.segment(image).mask) > 0.9


def test_fitted_canvas_finds_the_same_people_as_the_square_one(segmenter, square_segmenter, photos, shared):
    # The fitted canvas drops only grey padding: photos, and 720p and 480p video frames of a signer.
    capture = cv2.VideoCapture(str(shared / "videos" / "again.mkv"))
    frames = [capture.read()[1] for _ in range(30)][::10]
    frames = [cv2.resize(f, size) for f in frames for size in ((1280, 720), (640, 480))]
    scores = []
    for frame in list(photos.values()) + frames:
        square = square_segmenter.segment(frame).mask
        if square.mean() > 0.01 * 255:
            scores.append(iou(segmenter.segment(frame).mask, square))
    assert len(scores) >= 9
    assert min(scores) >= 0.9 and np.mean(scores) >= 0.95, scores


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(frame=any_frame(max_side=300))
def test_real_segmenter_handles_any_frame(segmenter, frame):
    result = segmenter.segment(as_bgr(frame))
    assert result.mask.shape == frame.shape[:2]
    assert np.isfinite(result.probability).all()



def test_the_refiners_cell_is_the_networks_finest_detail_not_its_output_grid():
    """The selfie network answers per input pixel but resolves edges only every few: its entry says so."""
    from webcam_blur.models.registry import MODELS
    from webcam_blur.models.segmenter import Segmentation

    box = Letterbox(720, 1280, 256, fit=False, stretch=True)
    grid = np.zeros((256, 256), np.float32)
    per_pixel = Segmentation(grid, grid, box, stride=1)
    selfie = Segmentation(grid, grid, box, stride=1, detail=MODELS["selfie"].detail)
    assert per_pixel.cell == pytest.approx(1280 / 256)
    assert selfie.cell == pytest.approx(MODELS["selfie"].detail * 1280 / 256)
    assert Segmentation(grid, grid, box, stride=16).cell == pytest.approx(16 * 1280 / 256)  # detail = stride
