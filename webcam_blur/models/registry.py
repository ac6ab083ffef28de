"""Every segmentation network the app can run, by name: one entry each, declared once.

An entry says how to build the Keras model, where its weights come from (pinned URL, SHA-256,
license), how a frame is prepared for it and how its output becomes a person margin and
probability, and its output stride. The rest of the app reads only this.

Adding a network is one entry here plus, if it is a new architecture, its builder module. An
entry without a builder (``build=None``) is not a Keras model: its published TFLite file runs as
it is, at its own input size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..quiet import native_stderr_silenced
from . import pascal, selfie
from .auto import AUTO
from .weights import WeightsSource

DEAD_BAND = 0.4  # the refiner's dead band per unit of --temporal: at 0.7, still matte wobble of up to 0.28 is absorbed


@dataclass(frozen=True)
class ModelSpec:
    """One segmentation network."""

    name: str
    summary: str
    license: str
    weights: WeightsSource
    build: Callable[[tuple[int, int, int]], object] | None  # (H, W, 3) -> Keras model returning logits; None: see above
    preprocess: Callable[..., np.ndarray]  # (RGB uint8 canvas, out=float32 buffer) -> network input
    decode: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]  # logits -> (person margin, probability)
    stride: int  # network input pixels per output cell
    tflite_layers: int | None = None  # the published file is a TFLite graph with this many conv layers
    input_size: int | None = None  # a fixed square input (the file's own); None: any, from --model-size
    stretch: bool = False  # the frame is stretched to the square input instead of letterboxed
    detail: int | None = None  # input pixels per finest detail it resolves, where coarser than its stride:
    # the refiner's edge-aware filter is sized by it
    dead_band: float = DEAD_BAND  # matte wobble the refiner absorbs where the picture is still, per unit of --temporal
    measured: str = ""  # speed and quality as measured on the shared sets, for `webcam-blur models`

    @property
    def keras(self) -> bool:
        return self.build is not None


def _deeplab(backbone: str, **options) -> Callable[[tuple[int, int, int]], object]:
    """The builder of one DeepLabv3+ variant (``options``: classes, alpha, output_stride)."""

    def build(shape: tuple[int, int, int]):
        with native_stderr_silenced():  # TensorFlow's C++ start-up lines
            from .deeplab import deeplabv3plus  # Keras loads only when a model is built

        return deeplabv3plus(backbone, input_shape=shape, **options)

    return build


def _two_classes(logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(background, person) logits -> (person margin, person probability)."""
    margin = (logits[..., 1] - logits[..., 0]).astype(np.float32)
    return margin, (1.0 / (1.0 + np.exp(-margin))).astype(np.float32)


CORAL = "https://raw.githubusercontent.com/google-coral/test_data/104342d2d3480b3e66203073dac24f4e2dbb4c41/"


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            name="deeplab-voc",
            summary="DeepLabv3+ MobileNetV2, PASCAL VOC (the official network; ships with the package)",
            license="Apache-2.0",
            weights=WeightsSource(
                "deeplabv3_mnv2_pascal_quant.tflite",
                CORAL + "deeplabv3_mnv2_pascal_quant.tflite",
                "350af47fd346ea6d74b58833a351f583ba860e9806ec5bd292ff8d8f1f249398",
                shipped=True,
            ),
            build=_deeplab("mobilenetv2"),
            preprocess=pascal.preprocess,
            decode=pascal.person,
            stride=16,
            tflite_layers=109,
            measured="31 ms per 720p mask (20 ms with --runtime int8); refined IoU / boundary F: portraits "
            "0.956 / 0.590, people 0.859 / 0.678; videos: flicker 0.227 %, lag 3.10 %",
        ),
        ModelSpec(
            name="deeplab-voc-fast",
            summary="the same official network at half width (depth multiplier 0.5): faster, weaker",
            license="Apache-2.0",
            weights=WeightsSource(
                "deeplabv3_mnv2_dm05_pascal_quant.tflite",
                CORAL + "deeplabv3_mnv2_dm05_pascal_quant.tflite",
                "0470d2a782aa54eeeb99d32e7b6b3fb7722905c7c4f5d26bd957ec861366d48b",
            ),
            build=_deeplab("mobilenetv2", alpha=0.5),
            preprocess=pascal.preprocess,
            decode=pascal.person,
            stride=16,
            tflite_layers=109,
            measured="13 ms per 720p mask; refined IoU / boundary F: portraits 0.953 / 0.580, people 0.839 / 0.645",
        ),
        ModelSpec(
            name="deeplab-portrait",
            summary="DeepLabv3+ MobileNetV2 at half width, 2 classes, fine-tuned on portraits (AISegment) by "
            "anilsathyan7/Portrait-Segmentation; weak on full-body people",
            license="MIT",
            weights=WeightsSource(
                "deeplab_aiseg513_dm05_float.tflite",
                "https://raw.githubusercontent.com/anilsathyan7/Portrait-Segmentation/"
                "dbf69b043cf70d3362bc500ee620f20807e622d2/models/deeplab_dm05_513/deeplab_aiseg513_dm05_float.tflite",
                "38b3f31099b2aa8a826d51f7890225d72a2c57a849f4a09f988b5247716bac34",
            ),
            build=_deeplab("mobilenetv2", classes=2, alpha=0.5, output_stride=16),
            preprocess=pascal.preprocess,
            decode=_two_classes,
            stride=16,
            tflite_layers=109,
            measured="13 ms per 720p mask; refined IoU / boundary F: portraits 0.957 / 0.631, people 0.597 / 0.420",
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
        ModelSpec(
            name="selfie",
            summary="MediaPipe selfie segmentation, 256x256 (Google Meet's and LFBW's model family; not a "
            "Keras model: its TFLite file runs as it is)",
            license="Apache-2.0",
            weights=selfie.SELFIE,
            build=None,
            preprocess=selfie.preprocess,
            decode=selfie.person,
            stride=1,
            dead_band=1.0,  # its matte wobbles more where the picture is still. On the 23 shared videos with
            # --model auto, flicker / lag: 0.261 % / 1.77 % at 0.4, 0.244 / 2.44 at 0.7, 0.233 / 3.00 at 0.85,
            # 0.226 / 3.31 at 1.0 (the VOC network alone at 0.4: 0.227 / 3.10; at 0.7 its lag reaches 4.85)
            detail=4,  # its output is per pixel, its edges are not: a filter sized by 4 px scores portraits
            # 0.966 / 0.671 against 0.965 / 0.643 sized by 1 (people 0.850 / 0.700 against 0.849 / 0.697)
            input_size=selfie.INPUT_SIZE,
            stretch=True,
            measured="7 ms per 720p mask; refined IoU / boundary F: portraits 0.966 / 0.671, people 0.850 / 0.700; "
            "videos: flicker 0.225 %, lag 4.59 %",
        ),
    )
}
DEFAULT_MODEL = AUTO  # chosen by measurement: models/auto.py
