"""The model registry: every entry is complete, and what it declares is what its network does."""

import numpy as np
import pytest

from webcam_blur.models.registry import DEFAULT_MODEL, MODELS
from webcam_blur.settings import DECLARED


@pytest.mark.parametrize("name", sorted(MODELS))
def test_each_entry_declares_its_true_stride_and_a_pinned_source(name):
    spec = MODELS[name]
    model = spec.build((512, 384, 3))
    grid = model.output_shape[1:3]
    assert (512 // spec.stride, 384 // spec.stride) == grid
    assert spec.weights.url.startswith("https://") and spec.license and spec.summary
    margin, probability = spec.decode(np.random.default_rng(0).normal(0, 3, (*grid, model.output_shape[-1])))
    assert margin.shape == probability.shape == grid
    assert ((probability > 0.5) <= (margin > 0)).all()  # a likely person is an argmax person


def test_the_settings_offer_exactly_the_registered_models():
    assert DECLARED["model"].metadata["rule"].choices == tuple(MODELS)
    assert DECLARED["model"].default == DEFAULT_MODEL
