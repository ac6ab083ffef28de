"""The Keras DeepLabv3+ matches the reference implementation layer for layer."""

import json

import pytest

from webcam_blur.models.deeplab import deeplabv3plus


@pytest.mark.parametrize("backbone", ["mobilenetv2", "xception"])
def test_layer_names_and_weight_shapes_match_reference_manifest(shared, backbone):
    manifest = json.loads((shared / "reference" / f"deeplab_{backbone}_manifest.json").read_text())
    model = deeplabv3plus(backbone, input_shape=(512, 512, 3))

    reference = {
        layer["name"]: (layer["class"], [(w["name"], tuple(w["shape"])) for w in layer["weights"]])
        for layer in manifest["layers"]
    }
    ours = {
        layer.name: (type(layer).__name__, [(w.name, tuple(w.shape)) for w in layer.weights])
        for layer in model.layers
        if layer.weights
    }
    assert ours == reference
    assert len(ours) == manifest["n_layers_with_weights"]
    assert model.count_params() == manifest["params"]


@pytest.mark.parametrize("size, grid", [(512, 32), (513, 33), (385, 25), (257, 17)])
def test_mobilenetv2_logits_sit_on_a_stride_16_grid(size, grid):
    model = deeplabv3plus(input_shape=(size, size, 3))
    assert model.output_shape == (None, grid, grid, 21)


def test_output_stride_8_keeps_the_same_layers():
    os8 = deeplabv3plus(input_shape=(257, 257, 3), output_stride=8)
    os16 = deeplabv3plus(input_shape=(257, 257, 3), output_stride=16)
    assert os8.output_shape == (None, 33, 33, 21)
    assert [w.shape for w in os8.weights] == [w.shape for w in os16.weights]


def test_rejects_unknown_backbone():
    with pytest.raises(ValueError, match="backbone"):
        deeplabv3plus("resnet")
