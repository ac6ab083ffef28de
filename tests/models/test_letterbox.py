"""Letterbox -> unplace round trips on awkward frames (pure numpy/OpenCV, no model)."""

import numpy as np
import pytest

from webcam_blur.frames import as_bgr
from webcam_blur.models.letterbox import PAD_VALUE, Letterbox

SHAPES = [(1, 1), (3, 1000), (1000, 3), (2160, 3840), (480, 640), (513, 513), (600, 512), (7, 5)]


@pytest.mark.parametrize("fit", [False, True], ids=["square", "fit"])
@pytest.mark.parametrize("shape", SHAPES)
def test_canvas_holds_the_frame_top_left_and_pads_the_rest(shape, fit):
    frame = np.full(shape + (3,), 200, np.uint8)
    box = Letterbox(*shape, 512, fit)
    canvas = box.place(frame)
    assert canvas.shape == box.canvas_shape + (3,)
    assert max(canvas.shape[:2]) == 512 and canvas.shape[0] % 16 == canvas.shape[1] % 16 == 0
    assert max(box.content_width, box.content_height) == 512
    scale = 512 / max(shape)  # aspect ratio kept, to the pixel
    assert abs(box.content_width - max(1, shape[1] * scale)) <= 0.5
    assert abs(box.content_height - max(1, shape[0] * scale)) <= 0.5
    assert (canvas[: box.content_height, : box.content_width] == 200).all()
    assert (canvas[box.content_height :] == PAD_VALUE).all()
    assert (canvas[:, box.content_width :] == PAD_VALUE).all()


@pytest.mark.parametrize(
    ("shape", "size", "canvas"),
    [
        ((720, 1280), 512, (288, 512)),
        ((1080, 1920), 512, (288, 512)),
        ((480, 640), 512, (384, 512)),
        ((1280, 720), 512, (512, 288)),
        ((400, 600), 512, (384, 512)),  # 3:2 goes into the 4:3 canvas
        ((500, 520), 512, (512, 512)),
        ((3, 1000), 512, (288, 512)),
        ((720, 1280), 385, (224, 385)),
        ((720, 1280), 257, (160, 257)),
    ],
)
def test_fitted_canvas_is_the_smallest_standard_shape_that_holds_the_frame(shape, size, canvas):
    box = Letterbox(*shape, size, fit=True)
    assert box.canvas_shape == canvas
    assert box.content_height <= canvas[0] and box.content_width <= canvas[1]
    assert Letterbox(*shape, size).canvas_shape == (size, size)


@pytest.mark.parametrize("shape", SHAPES)
def test_unplace_returns_a_map_at_frame_size_without_padding(shape):
    box = Letterbox(*shape, 512)
    canvas_map = np.zeros((512, 512), np.float32)
    canvas_map[: box.content_height, : box.content_width] = 1.0  # content = 1, padding = 0
    back = box.unplace(canvas_map)
    assert back.shape == shape
    assert np.allclose(back, 1.0)


@pytest.mark.parametrize("shape", [(480, 640), (37, 1001), (2160, 3840), (600, 512)])
def test_round_trip_keeps_the_picture_in_place(shape):
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    frame = np.dstack([xx / shape[1] * 255, yy / shape[0] * 255, np.full(shape, 100.0)]).astype(np.uint8)
    box = Letterbox(*shape, 512)
    canvas = box.place(frame).astype(np.float32)
    back = np.dstack([box.unplace(canvas[..., c]) for c in range(3)])
    assert np.abs(back - frame).mean() < 2.0


@pytest.mark.parametrize("stride", [16, 4])
def test_low_resolution_grid_is_aligned_with_the_frame(stride):
    # Grid cell i of a stride-s map sits over canvas pixel s*i; canvas 256 is frame column 320.
    box = Letterbox(480, 640, 512)
    grid = np.zeros((512 // stride, 512 // stride), np.float32)
    grid[:, 256 // stride] = 1.0
    back = box.unplace(grid, stride)
    assert abs(int(np.argmax(back[240])) - 320) <= 1


@pytest.mark.parametrize(
    "frame",
    [
        np.zeros((4, 5), np.uint8),
        np.zeros((4, 5, 1), np.uint8),
        np.zeros((4, 5, 4), np.uint8),
        np.zeros((4, 5, 3), np.uint16),
        np.zeros((4, 5, 3), np.float32),
        np.zeros((4, 5), bool),
    ],
    ids=["gray", "gray1", "bgra", "uint16", "float", "bool"],
)
def test_frames_of_any_layout_become_8bit_bgr(frame):
    out = as_bgr(frame)
    assert out.shape == (4, 5, 3) and out.dtype == np.uint8 and out.flags.c_contiguous


def test_16bit_frames_keep_their_brightness():
    assert as_bgr(np.full((2, 2), 65535, np.uint16)).min() == 255
    assert as_bgr(np.full((2, 2), 32768, np.uint16)).max() == 128


@pytest.mark.parametrize("frame", [np.zeros((0, 5, 3), np.uint8), np.zeros((4, 5, 2), np.uint8), np.zeros(5)])
def test_non_images_are_refused(frame):
    with pytest.raises(ValueError, match="not an image"):
        as_bgr(frame)
