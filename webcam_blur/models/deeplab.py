"""DeepLabv3+ in Keras 3, layer for layer compatible with the reference Keras DeepLabv3+.

Layer names and weight shapes equal those of the widely used reference implementation
(bonlime/keras-deeplab-v3-plus), so its published `.h5` files load by name. Two deliberate
differences, both measured (see `../shared/reference/NOTES.md`):

* Stride-2 convolutions pad one pixel on every side instead of Keras' ``'same'`` padding. At
  odd sizes (16k+1) that is identical; at even sizes such as 512 ``'same'`` pads only at the end
  and shifts the mask ~15 px up-left. With symmetric padding feature ``i`` of a stride-``s`` map
  sits exactly over input pixel ``s*i`` at every input size.
* The model returns low-resolution logits (PASCAL VOC's 21 classes: ``pascal.py``). Upsampling to the frame happens in the segmenter
  with one warp on the person channel: cheaper than resizing 21 channels, and it reproduces the
  original graph's align-corners resize, which Keras 3 ``Resizing`` cannot.
"""

from __future__ import annotations

import keras
from keras import layers

BACKBONES = ("mobilenetv2", "xception")


def deeplabv3plus(
    backbone: str = "mobilenetv2",
    input_shape: tuple[int, int, int] = (512, 512, 3),
    classes: int = 21,
    alpha: float = 1.0,
    output_stride: int = 16,
    divisor: int | None = None,
) -> keras.Model:
    """Build DeepLabv3+ returning logits on the backbone's grid (stride 16, or 4 for Xception).

    ``divisor``: MobileNetV2 channel rounding. The official DeepLab exports round widths to a
    multiple of 8 only at depth multiplier 1.0 and use 1 otherwise (``feature_extractor.py``:
    ``divisible_by=8 if depth_multiplier == 1.0 else 1``): 0.5 gives 12 channels, not 16.
    None picks that rule from ``alpha``.
    """
    if backbone not in BACKBONES:
        raise ValueError(f"backbone must be one of {BACKBONES}, not {backbone!r}")
    if output_stride not in (8, 16):
        raise ValueError(f"output_stride must be 8 or 16, not {output_stride}")
    image = keras.Input(shape=input_shape, name="image")
    if backbone == "xception":
        features, skip, atrous_rates = _xception(image, output_stride)
    else:
        if divisor is None:
            divisor = 8 if alpha == 1.0 else 1
        features, skip, atrous_rates = _mobilenetv2(image, alpha, output_stride, divisor), None, ()
    x = _aspp(features, atrous_rates)
    if skip is not None:
        x = _decoder(x, skip)
    logits = layers.Conv2D(classes, 1, padding="same", name="logits_semantic")(x)
    return keras.Model(image, logits, name=f"deeplabv3plus_{backbone}")


def _pad_for(kernel_size: int, rate: int = 1) -> layers.ZeroPadding2D:
    pad = (kernel_size - 1) * rate // 2
    return layers.ZeroPadding2D(pad)


def _make_divisible(v: float, divisor: int = 8) -> int:
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def _relu6(name: str) -> layers.ReLU:
    return layers.ReLU(6.0, name=name)


def _inverted_res_block(x, expansion, stride, alpha, filters, block_id, skip_connection, rate=1, divisor=8):
    inputs = x
    in_channels = x.shape[-1]
    pointwise_filters = _make_divisible(int(filters * alpha), divisor)
    if block_id:
        prefix = f"expanded_conv_{block_id}_"
        x = layers.Conv2D(expansion * in_channels, 1, use_bias=False, name=prefix + "expand")(x)
        x = layers.BatchNormalization(epsilon=1e-3, momentum=0.999, name=prefix + "expand_BN")(x)
        x = _relu6(prefix + "expand_relu")(x)
    else:
        prefix = "expanded_conv_"
    if stride == 2:
        x = _pad_for(3)(x)
    x = layers.DepthwiseConv2D(
        3,
        strides=stride,
        use_bias=False,
        padding="valid" if stride == 2 else "same",
        dilation_rate=rate,
        name=prefix + "depthwise",
    )(x)
    x = layers.BatchNormalization(epsilon=1e-3, momentum=0.999, name=prefix + "depthwise_BN")(x)
    x = _relu6(prefix + "depthwise_relu")(x)
    x = layers.Conv2D(pointwise_filters, 1, use_bias=False, name=prefix + "project")(x)
    x = layers.BatchNormalization(epsilon=1e-3, momentum=0.999, name=prefix + "project_BN")(x)
    if skip_connection:
        return layers.Add(name=prefix + "add")([inputs, x])
    return x


def _mobilenetv2(image, alpha: float, output_stride: int, divisor: int = 8):
    # (filters, expansion, stride, skip) per block; output stride 16 keeps block 6's stride and
    # dilates 14-16, output stride 8 (the reference's choice) drops it and dilates 7-16.
    os16 = output_stride == 16
    x = _pad_for(3)(image)
    x = layers.Conv2D(_make_divisible(32 * alpha, divisor), 3, strides=2, use_bias=False, name="Conv")(x)
    x = layers.BatchNormalization(epsilon=1e-3, momentum=0.999, name="Conv_BN")(x)
    x = _relu6("Conv_Relu6")(x)
    blocks = [
        (16, 1, 1, False, 1),
        (24, 6, 2, False, 1),
        (24, 6, 1, True, 1),
        (32, 6, 2, False, 1),
        (32, 6, 1, True, 1),
        (32, 6, 1, True, 1),
        (64, 6, 2 if os16 else 1, False, 1),
    ]
    mid_rate, late_rate = (1, 2) if os16 else (2, 4)
    blocks += [(64, 6, 1, True, mid_rate)] * 3
    blocks += [(96, 6, 1, False, mid_rate), (96, 6, 1, True, mid_rate), (96, 6, 1, True, mid_rate)]
    blocks += [(160, 6, 1, False, mid_rate), (160, 6, 1, True, late_rate), (160, 6, 1, True, late_rate)]
    blocks += [(320, 6, 1, False, late_rate)]
    for block_id, (filters, expansion, stride, skip, rate) in enumerate(blocks):
        x = _inverted_res_block(x, expansion, stride, alpha, filters, block_id, skip, rate, divisor)
    return x


def _sep_conv_bn(x, filters, prefix, stride=1, rate=1, depth_activation=False, epsilon=1e-3):
    if not depth_activation:
        x = layers.ReLU()(x)
    if stride == 2:
        x = _pad_for(3, rate)(x)
    x = layers.DepthwiseConv2D(
        3,
        strides=stride,
        dilation_rate=rate,
        padding="valid" if stride == 2 else "same",
        use_bias=False,
        name=prefix + "_depthwise",
    )(x)
    x = layers.BatchNormalization(epsilon=epsilon, name=prefix + "_depthwise_BN")(x)
    if depth_activation:
        x = layers.ReLU()(x)
    x = layers.Conv2D(filters, 1, use_bias=False, name=prefix + "_pointwise")(x)
    x = layers.BatchNormalization(epsilon=epsilon, name=prefix + "_pointwise_BN")(x)
    if depth_activation:
        x = layers.ReLU()(x)
    return x


def _xception_block(x, depth_list, prefix, skip_type, stride, rate=1, depth_activation=False):
    residual = x
    skip = None
    for i in range(3):
        residual = _sep_conv_bn(
            residual,
            depth_list[i],
            f"{prefix}_separable_conv{i + 1}",
            stride=stride if i == 2 else 1,
            rate=rate,
            depth_activation=depth_activation,
        )
        if i == 1:
            skip = residual
    if skip_type == "conv":
        shortcut = layers.Conv2D(
            depth_list[-1], 1, strides=stride, use_bias=False, name=prefix + "_shortcut"
        )(x)
        shortcut = layers.BatchNormalization(name=prefix + "_shortcut_BN")(shortcut)
        residual = layers.Add()([residual, shortcut])
    elif skip_type == "sum":
        residual = layers.Add()([residual, x])
    return residual, skip


def _xception(image, output_stride: int):
    if output_stride == 8:
        entry3_stride, middle_rate, exit_rates, atrous_rates = 1, 2, (2, 4), (12, 24, 36)
    else:
        entry3_stride, middle_rate, exit_rates, atrous_rates = 2, 1, (1, 2), (6, 12, 18)
    x = _pad_for(3)(image)
    x = layers.Conv2D(32, 3, strides=2, use_bias=False, name="entry_flow_conv1_1")(x)
    x = layers.BatchNormalization(name="entry_flow_conv1_1_BN")(x)
    x = layers.ReLU()(x)
    x = layers.Conv2D(64, 3, padding="same", use_bias=False, name="entry_flow_conv1_2")(x)
    x = layers.BatchNormalization(name="entry_flow_conv1_2_BN")(x)
    x = layers.ReLU()(x)
    x, _ = _xception_block(x, [128] * 3, "entry_flow_block1", "conv", 2)
    x, skip = _xception_block(x, [256] * 3, "entry_flow_block2", "conv", 2)
    x, _ = _xception_block(x, [728] * 3, "entry_flow_block3", "conv", entry3_stride)
    for i in range(16):
        x, _ = _xception_block(x, [728] * 3, f"middle_flow_unit_{i + 1}", "sum", 1, middle_rate)
    x, _ = _xception_block(x, [728, 1024, 1024], "exit_flow_block1", "conv", 1, exit_rates[0])
    x, _ = _xception_block(
        x, [1536, 1536, 2048], "exit_flow_block2", "none", 1, exit_rates[1], depth_activation=True
    )
    return x, skip, atrous_rates


def _aspp(x, atrous_rates):
    height, width = x.shape[1], x.shape[2]
    pooled = layers.GlobalAveragePooling2D(keepdims=True)(x)
    pooled = layers.Conv2D(256, 1, use_bias=False, name="image_pooling")(pooled)
    pooled = layers.BatchNormalization(epsilon=1e-5, name="image_pooling_BN")(pooled)
    pooled = layers.ReLU()(pooled)
    # A bilinear resize of a 1x1 map is a broadcast that stays in one XNNPACK partition
    # (UpSampling2D would become TILE/RESHAPE).
    pooled = layers.Resizing(height, width, interpolation="bilinear")(pooled)
    b0 = layers.Conv2D(256, 1, use_bias=False, name="aspp0")(x)
    b0 = layers.BatchNormalization(epsilon=1e-5, name="aspp0_BN")(b0)
    b0 = layers.ReLU(name="aspp0_activation")(b0)
    branches = [pooled, b0]
    for i, rate in enumerate(atrous_rates, start=1):
        branches.append(_sep_conv_bn(x, 256, f"aspp{i}", rate=rate, depth_activation=True, epsilon=1e-5))
    x = layers.Concatenate()(branches)
    x = layers.Conv2D(256, 1, use_bias=False, name="concat_projection")(x)
    x = layers.BatchNormalization(epsilon=1e-5, name="concat_projection_BN")(x)
    x = layers.ReLU()(x)
    return layers.Dropout(0.1)(x)


def _decoder(x, skip):
    x = layers.Resizing(skip.shape[1], skip.shape[2], interpolation="bilinear")(x)
    s = layers.Conv2D(48, 1, use_bias=False, name="feature_projection0")(skip)
    s = layers.BatchNormalization(epsilon=1e-5, name="feature_projection0_BN")(s)
    s = layers.ReLU()(s)
    x = layers.Concatenate()([x, s])
    x = _sep_conv_bn(x, 256, "decoder_conv0", depth_activation=True, epsilon=1e-5)
    return _sep_conv_bn(x, 256, "decoder_conv1", depth_activation=True, epsilon=1e-5)
