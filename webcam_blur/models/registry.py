"""Every segmentation network the app can run, by name: one entry each, declared once.

An entry says how to build the Keras model, where its weights come from (pinned URL, SHA-256,
license), how a frame is prepared for it and how its output becomes a person margin and
probability, and its output stride. The rest of the app reads only this.

Adding a network is one entry here plus, if it is a new architecture, its builder module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..quiet import native_stderr_silenced
from . import pascal
from .weights import WeightsSource


@dataclass(frozen=True)
class ModelSpec:
    """One segmentation network."""

    name: str
    summary: str
    license: str
    weights: WeightsSource
    build: Callable[[tuple[int, int, int]], object]  # input shape (H, W, 3) -> Keras model returning logits
    preprocess: Callable[..., np.ndarray]  # (RGB uint8 canvas, out=float32 buffer) -> network input
    decode: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]  # logits -> (person margin, probability)
    stride: int  # network input pixels per output cell
    tflite_layers: int | None = None  # the published file is a TFLite graph with this many conv layers


def _deeplab(backbone: str) -> Callable[[tuple[int, int, int]], object]:
    def build(shape: tuple[int, int, int]):
        with native_stderr_silenced():  # TensorFlow's C++ start-up lines
            from .deeplab import deeplabv3plus  # Keras loads only when a model is built

        return deeplabv3plus(backbone, input_shape=shape)

    return build


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="deeplab-voc",
            summary="DeepLabv3+ MobileNetV2, PASCAL VOC (the official network; ships with the package)",
            license="Apache-2.0",
            weights=WeightsSource(
                "deeplabv3_mnv2_pascal_quant.tflite",
                "https://raw.githubusercontent.com/google-coral/test_data/"
                "104342d2d3480b3e66203073dac24f4e2dbb4c41/deeplabv3_mnv2_pascal_quant.tflite",
                "350af47fd346ea6d74b58833a351f583ba860e9806ec5bd292ff8d8f1f249398",
                shipped=True,
            ),
            build=_deeplab("mobilenetv2"),
            preprocess=pascal.preprocess,
            decode=pascal.person,
            stride=16,
            tflite_layers=109,
        ),
        ModelSpec(
            name="deeplab-xception",
            summary="DeepLabv3+ Xception, PASCAL VOC (the reference Keras project's weights; much slower)",
            license="MIT",
            weights=WeightsSource(
                "deeplabv3_xception_tf_dim_ordering_tf_kernels.h5",
                "https://github.com/bonlime/keras-deeplab-v3-plus/releases/download/1.1/"
                "deeplabv3_xception_tf_dim_ordering_tf_kernels.h5",
                None,
            ),
            build=_deeplab("xception"),
            preprocess=pascal.preprocess,
            decode=pascal.person,
            stride=4,
        ),
    )
}
DEFAULT_MODEL = "deeplab-voc"
