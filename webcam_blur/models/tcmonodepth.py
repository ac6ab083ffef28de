"""TCMonoDepth's small network (TCSmallNet): relative depth from one frame, in Keras 3.

Depth tells near from far where segmentation only tells person from not. The weights are
published only as an ONNX file (MIT: yu-li/TCMonoDepth's, as royshil/obs-backgroundremoval ships
them), so ``load_weights`` copies them into this model, which then exports to LiteRT like the
others. The graph is the file's own: BatchNorm is folded into every convolution (all carry a
bias), stride-2 convolutions pad one pixel on every side (Keras' ``'same'`` would pad only at
the end), the channel shuffle splits even from odd channels as PyTorch's reshape does, and the
upsampling is bilinear with half-pixel centres (``align_corners=False``). Input: RGB 0..255,
unnormalised (the network divides by 255 itself); output: relative inverse depth (larger is
nearer) at the input's resolution, ReLU'd before the last 2x upsampling.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import WebcamBlurError
from .weights import WeightsSource

DEPTH = WeightsSource(
    "tcmonodepth_tcsmallnet_192x320.onnx",
    "https://raw.githubusercontent.com/royshil/obs-backgroundremoval/875ffda175fcb066380b31797c63630c8b4a3c71/"
    "data/models/tcmonodepth_tcsmallnet_192x320.onnx",
    "902b886beaebd3f68deb40bab2fd636a0c112c1ef1cbdd15fa26e5c55b389b4d",
)
INPUT_SHAPE = (192, 320)

STAGES = ((4, 48), (8, 96), (4, 192))  # ShuffleNetV2 0.5x: (blocks, output channels) per stage
STEM = 24
GRAPH_CONSTANT_OPS = ("Div", "Reshape", "Resize")  # their initializers are shapes and the 255 divisor


def build(shape: tuple[int, int, int] = (*INPUT_SHAPE, 3)):
    """The network as a Keras model: (H, W, 3) RGB 0..255 -> (H, W, 1) relative inverse depth.

    Layers carrying weights are named after the PyTorch modules (``TCSmallNet.py``).
    """
    import keras
    from keras import layers

    image = keras.Input(shape=shape, name="image")
    x = layers.Rescaling(1 / 255, name="scale")(image)
    x = _conv(x, STEM, 3, 2, "encoder.first_conv.0")
    x = layers.ReLU(name="encoder.first_conv.2")(x)
    skips, index = [x], 0
    for blocks, channels in STAGES:
        for i in range(blocks):
            x = _shuffle_block(x, channels, first=i == 0, name=f"encoder.features.{index}")
            index += 1
        skips.append(x)
    r1, r2, r3, r4 = skips
    d3 = _decoder_block(r3, r4, 96, "decoder.decoder3")
    d2 = _decoder_block(r2, d3, 48, "decoder.decoder2")
    d1 = _decoder_block(r1, d2, 24, "decoder.decoder1")
    x = _conv(d1, 1, 3, 1, "decoder.final")
    x = layers.ReLU(name="decoder.relu")(x)
    depth = layers.UpSampling2D(2, interpolation="bilinear", name="decoder.up")(x)
    return keras.Model(image, depth, name="tcmonodepth_small")


def _conv(x, filters: int, size: int, stride: int, name: str, depthwise: bool = False):
    """PyTorch's Conv2d with padding size // 2 (BatchNorm folded in: always a bias)."""
    from keras import layers

    padding = "same"
    if stride > 1 and size > 1:
        x = layers.ZeroPadding2D(size // 2, name=name + ".pad")(x)
        padding = "valid"
    if depthwise:
        return layers.DepthwiseConv2D(size, stride, padding=padding, name=name)(x)
    return layers.Conv2D(filters, size, stride, padding=padding, name=name)(x)


def _shuffle_block(x, channels: int, first: bool, name: str):
    """ShuffleV2Block: the first of a stage halves the resolution through both branches; the
    others pass the even channels through and transform the odd ones."""
    from keras import layers, ops

    if first:
        inputs = x.shape[-1]
        proj = _conv(x, inputs, 3, 2, name + ".branch_proj.0", depthwise=True)
        proj = _conv(proj, inputs, 1, 1, name + ".branch_proj.2")
        proj = layers.ReLU(name=name + ".branch_proj.4")(proj)
        main, stride, outputs = x, 2, channels - inputs
    else:
        # channel 2k+j -> [..., j, k], then halves: the even channels, then the odd ones. Split,
        # not slicing, so that XNNPACK takes the whole graph (8.6 ms, not 36, on 2 threads)
        height, width, depth = x.shape[1:]
        pairs = ops.transpose(ops.reshape(x, (-1, height, width, depth // 2, 2)), (0, 1, 2, 4, 3))
        proj, main = ops.split(ops.reshape(pairs, (-1, height, width, depth)), 2, axis=-1)
        stride, outputs = 1, channels // 2
    main = _conv(main, channels // 2, 1, 1, name + ".branch_main.0")
    main = layers.ReLU(name=name + ".branch_main.2")(main)
    main = _conv(main, channels // 2, 3, stride, name + ".branch_main.3", depthwise=True)
    main = _conv(main, outputs, 1, 1, name + ".branch_main.5")
    main = layers.ReLU(name=name + ".branch_main.7")(main)
    return layers.Concatenate(name=name + ".cat")([proj, main])


def _decoder_block(low, high, channels: int, name: str):
    """DecoderBlock: 1x1 skip from ``low``, ``high`` resized onto it, separable conv of both."""
    from keras import layers

    skip = _conv(low, high.shape[-1] // 4, 1, 1, name + ".skip_conv.0")
    skip = layers.ReLU(name=name + ".skip_conv.2")(skip)
    up = layers.Resizing(low.shape[1], low.shape[2], interpolation="bilinear", name=name + ".up")(high)
    x = layers.Concatenate(name=name + ".cat")([up, skip])
    x = _conv(x, x.shape[-1], 3, 1, name + ".last_conv.0.conv.0", depthwise=True)
    x = layers.ReLU(name=name + ".last_conv.0.conv.2")(x)
    x = _conv(x, channels, 1, 1, name + ".last_conv.0.conv.3")
    return layers.ReLU(name=name + ".last_conv.2")(x)


def _module_path(node_name: str) -> str:
    """ONNX node name -> the PyTorch module, as ``build`` names its layer.

    '/encoder/stage1/features.0/branch_proj/branch_proj.0/Conv' -> 'encoder.features.0.branch_proj.0':
    a scope repeated as the prefix of the next is one module, and stage1..3 are slices of
    ``encoder.features``.
    """
    parts = node_name.strip("/").split("/")[:-1]
    return ".".join(
        part
        for part, following in zip(parts, [*parts[1:], ""])
        if not following.startswith(part + ".") and not part.startswith("stage")
    )


def load_weights(model, path: Path | str) -> None:
    """Copy the ONNX file's convolution weights into ``build``'s model; every initializer and
    every Keras weight must be accounted for."""
    import onnx  # only a conversion needs it
    from onnx import numpy_helper

    graph = onnx.load(str(path)).graph
    initializers = {tensor.name: numpy_helper.to_array(tensor) for tensor in graph.initializer}
    names = {layer.name for layer in model.layers}
    used: set[str] = set()
    filled: set[str] = set()
    for node in graph.node:
        if node.op_type in GRAPH_CONSTANT_OPS:
            used.update(name for name in node.input if name in initializers)
        if node.op_type == "Div" and initializers.get(node.input[1]) != 255:
            raise WebcamBlurError(f"{path}: the network's input is not divided by 255 as {model.name}'s is")
        if node.op_type != "Conv":
            continue
        layer_name = _module_path(node.name)
        if layer_name not in names or len(node.input) != 3:
            raise WebcamBlurError(f"{path}: convolution {node.name} fits no biased layer in {model.name}")
        kernel, bias = (initializers[name] for name in node.input[1:3])
        layer = model.get_layer(layer_name)
        # OIHW -> HWIO; depthwise (C, 1, kh, kw) -> (kh, kw, C, 1)
        axes = (2, 3, 0, 1) if type(layer).__name__ == "DepthwiseConv2D" else (2, 3, 1, 0)
        layer.set_weights([kernel.transpose(axes), bias])
        used.update(node.input[1:3])
        filled.add(layer_name)
    unused = sorted(set(initializers) - used)
    unset = sorted(layer.name for layer in model.layers if layer.weights and layer.name not in filled)
    if unused or unset:
        raise WebcamBlurError(
            f"{path} does not fit {model.name}: initializers left unused {unused}, layers left unset {unset}"
        )
