"""The model registry: every entry is complete, and what it declares is what its network does."""

import numpy as np
import pytest

from webcam_blur.models.registry import DEFAULT_MODEL, MODELS
from webcam_blur.settings import DECLARED


@pytest.mark.parametrize("name", sorted(name for name, spec in MODELS.items() if spec.keras))
def test_each_entry_declares_its_true_stride_and_a_pinned_source(name):
    spec = MODELS[name]
    model = spec.build((512, 384, 3))
    grid = model.output_shape[1:3]
    assert (512 // spec.stride, 384 // spec.stride) == grid
    assert spec.weights.url.startswith("https://") and spec.license and spec.summary
    margin, probability = spec.decode(np.random.default_rng(0).normal(0, 3, (*grid, model.output_shape[-1])))
    assert margin.shape == probability.shape == grid
    assert ((probability > 0.5) <= (margin > 0)).all()  # a likely person is an argmax person


def test_the_settings_offer_exactly_the_registered_models_and_auto():
    from webcam_blur.models.auto import AUTO, PORTRAIT, WIDE

    assert DECLARED["model"].metadata["rule"].choices == (*MODELS, AUTO)
    assert WIDE in MODELS and PORTRAIT in MODELS
    assert DECLARED["model"].default == DEFAULT_MODEL


def test_the_selfie_entry_runs_its_own_file_at_its_own_size(shared, photos):
    """Not a Keras model: the published file through LiteRT, the frame stretched to 256x256."""
    from webcam_blur.models.segmenter import PersonSegmenter

    spec = MODELS["selfie"]
    assert not spec.keras and spec.weights.url.startswith("https://") and spec.license == "Apache-2.0"
    segmenter = PersonSegmenter.load(spec, models_dir=shared / "models", size=512)
    image = photos["grace_hopper.bmp"]
    segmentation = segmenter.segment(image)
    assert segmenter.size == 256 and segmentation.box.canvas_shape == (256, 256)
    assert segmentation.mask.shape == image.shape[:2]
    face = segmentation.mask[170:300, 200:320]  # Grace Hopper's face
    assert (face > 0).mean() > 0.95
