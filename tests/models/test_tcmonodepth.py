"""The Keras TCMonoDepth port computes what its published ONNX file computes, also once exported to
LiteRT, and its depth puts the person in front of the background."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from webcam_blur.models import tcmonodepth

pytestmark = pytest.mark.slow

HEIGHT, WIDTH = tcmonodepth.INPUT_SHAPE


def _rgb(path: Path) -> np.ndarray:
    """A photo stretched to the network's input: (192, 320, 3) RGB float32 0..255."""
    bgr = cv2.resize(cv2.imread(str(path)), (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB).astype(np.float32)


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


@pytest.fixture(scope="module")
def onnx_path(shared: Path) -> Path:
    return shared / "models" / tcmonodepth.DEPTH.filename


@pytest.fixture(scope="module")
def photos(shared: Path) -> dict[str, np.ndarray]:
    paths = sorted([*(shared / "images").glob("*.bmp"), *(shared / "images").glob("*.jpg")])
    assert paths
    return {path.name: _rgb(path) for path in paths}


@pytest.fixture(scope="module")
def reference(onnx_path: Path):
    """The ONNX file run by onnxruntime: (192, 320, 3) RGB -> (192, 320) inverse depth."""
    import onnxruntime as ort
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda rgb: session.run(None, {name: rgb.transpose(2, 0, 1)[None]})[0][0, 0]


@pytest.fixture(scope="module")
def model(onnx_path: Path):
    model = tcmonodepth.build()
    tcmonodepth.load_weights(model, onnx_path)
    return model


@pytest.fixture(scope="module")
def lite(shared: Path):
    """The app's own path: the cached LiteRT export of the Keras model, (192, 320, 3) RGB -> (192, 320)."""
    from webcam_blur.models.depth import DepthEstimator

    estimator = DepthEstimator.load(shared / "models")
    return lambda rgb: estimator.estimate(cv2.cvtColor(rgb.astype(np.uint8), cv2.COLOR_RGB2BGR))


def test_model_has_the_onnx_files_parameters(model):
    assert model.output_shape == (None, HEIGHT, WIDTH, 1)
    assert model.count_params() == 181141  # the ONNX file's 65 convolutions (BatchNorm folded in)


def test_load_weights_names_what_does_not_fit(onnx_path):
    import keras

    from webcam_blur.errors import WebcamBlurError

    image = keras.Input((HEIGHT, WIDTH, 3))
    stem = keras.layers.Conv2D(24, 3, 2, name="encoder.first_conv.0")(image)
    with pytest.raises(WebcamBlurError, match="branch_proj"):
        tcmonodepth.load_weights(keras.Model(image, stem), onnx_path)


def test_keras_model_matches_onnxruntime(model, reference, photos):
    # measured: min correlation 0.99999999999 over the 5 photos, max |difference| 6e-6 (outputs ~0.1..1.3);
    # a shuffle splitting the channels wrongly gives 0.33, swapping its halves -0.09
    for name, rgb in photos.items():
        ours = np.asarray(model(rgb[None]))[0, ..., 0]
        assert _correlation(ours, reference(rgb)) >= 0.999, name


def test_litert_export_matches_onnxruntime(lite, reference, photos):
    # measured: min correlation 0.99999999999, max |difference| 6e-6
    for name, rgb in photos.items():
        assert _correlation(lite(rgb), reference(rgb)) >= 0.999, name


def test_person_is_nearer_than_background_on_portraits(lite, shared: Path):
    folder = shared / "data" / "portraits"
    images = sorted((folder / "images").glob("*.jpg"))
    assert images
    nearer = 0
    for image in images:
        mask = cv2.imread(str(folder / "masks" / (image.stem + ".png")), cv2.IMREAD_GRAYSCALE)
        person = cv2.resize(mask, (WIDTH, HEIGHT), interpolation=cv2.INTER_NEAREST) > 127
        depth = lite(_rgb(image))
        nearer += np.median(depth[person]) > np.median(depth[~person])
    # measured: 106 of 106 (1.0); the closest portrait's person median is 1.6% above its background's
    assert nearer / len(images) >= 0.9
