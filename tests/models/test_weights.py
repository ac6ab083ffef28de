"""Real weights: the TFLite conversion agrees with the file itself; other weight files load or fail clearly."""

import functools
import http.server
import socket
import subprocess
import sys
import threading
from pathlib import Path

import cv2
import h5py
import numpy as np
import pytest

from webcam_blur.models import weights
from webcam_blur.assets import bundled
from webcam_blur.errors import WebcamBlurError
from webcam_blur.models.letterbox import Letterbox
from webcam_blur.models.deeplab import deeplabv3plus
from webcam_blur.models.pascal import person, preprocess
from webcam_blur.quality import iou
from webcam_blur.models.registry import MODELS
from webcam_blur.models.segmenter import Segmentation

VOC = MODELS["deeplab-voc"]


def _keras_person_mask_513(model, canvas_bgr):
    rgb = cv2.cvtColor(canvas_bgr, cv2.COLOR_BGR2RGB).astype(np.float32)
    logits = model(preprocess(rgb)[None], training=False).numpy()[0]
    return Segmentation(*person(logits), Letterbox(513, 513, 513), 16).mask


def test_converted_model_agrees_with_the_tflite_file_at_513(keras_model_513, tflite_reference, photos):
    checked = 0
    for name, image in photos.items():
        box = Letterbox(*image.shape[:2], 513)
        canvas = box.place(image)
        content = (slice(0, box.content_height), slice(0, box.content_width))  # the padding is cropped away
        reference = tflite_reference(cv2.cvtColor(canvas, cv2.COLOR_BGR2RGB))[content]
        if reference.mean() <= 0.01:
            continue  # kite_and_cold: people too small to score
        score = iou(_keras_person_mask_513(keras_model_513, canvas)[content], reference)
        assert score >= 0.97, f"{name}: IoU {score:.3f} against the TFLite file"
        checked += 1
    assert checked == 4


def _write_legacy_h5(model, path: Path) -> None:
    """The reference project's Keras 2 format: ``<layer>/<var>:0``, ``depthwise_kernel:0``."""
    with h5py.File(path, "w") as f:
        layer_names = []
        for layer in model.layers:
            if not layer.weights:
                continue
            group = f.create_group(layer.name)
            names = []
            for var in layer.weights:
                var_name = "depthwise_kernel" if type(layer).__name__ == "DepthwiseConv2D" else var.name
                name = f"{layer.name}/{var_name}:0"
                group[name] = var.numpy()
                names.append(name.encode())
            group.attrs["weight_names"] = names
            layer_names.append(layer.name.encode())
        f.attrs["layer_names"] = layer_names
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.2.4"


def test_reference_format_h5_loads_by_name(keras_model_513, tmp_path):
    path = tmp_path / "deeplabv3_mobilenetv2_tf_dim_ordering_tf_kernels.h5"
    _write_legacy_h5(keras_model_513, path)
    assert weights.weights_kind(path) == "legacy-h5"

    fresh = deeplabv3plus(input_shape=(513, 513, 3))
    weights.load_into(fresh, path, VOC.weights, VOC.tflite_layers)
    for ours, loaded in zip(keras_model_513.weights, fresh.weights):
        np.testing.assert_array_equal(ours.numpy(), loaded.numpy())


def test_conversion_writes_nothing(tflite_path, tmp_path, monkeypatch):
    """Converting is cheap; a cache file for it was one more thing a full disk could break."""
    monkeypatch.setenv("WEBCAM_BLUR_CACHE", str(tmp_path))
    model = deeplabv3plus(input_shape=(257, 257, 3))
    weights.load_into(model, tflite_path, VOC.weights, VOC.tflite_layers)
    assert list(tmp_path.iterdir()) == []
    assert any(np.abs(w.numpy()).sum() > 0 for w in model.weights)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"not weights at all", "not a weights file"),
        (b"\x89HDF\r\n\x1a\n" + b"\0" * 100, "holds no Keras weights"),
    ],
)
def test_wrong_files_are_refused_with_a_clear_message(tmp_path, content, message):
    path = tmp_path / "weights.h5"
    path.write_bytes(content)
    with pytest.raises(WebcamBlurError, match=message):
        weights.load_into(deeplabv3plus(input_shape=(257, 257, 3)), path, VOC.weights, VOC.tflite_layers)


def test_truncated_tflite_is_refused(tflite_path, tmp_path):
    path = tmp_path / "half.tflite"
    path.write_bytes(tflite_path.read_bytes()[: 300_000])
    with pytest.raises(WebcamBlurError, match="not a readable TFLite model|not the DeepLabV3"):
        weights.load_into(deeplabv3plus(input_shape=(257, 257, 3)), path, VOC.weights, VOC.tflite_layers)


def test_other_network_is_refused(shared):
    other = shared / "models" / "deeplabv3_mnv2_dm05_pascal_quant.tflite"
    with pytest.raises(WebcamBlurError, match="does not fit"):
        weights.load_into(deeplabv3plus(input_shape=(257, 257, 3)), other, VOC.weights, VOC.tflite_layers)


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(WebcamBlurError, match="not found"):
        weights.load_into(deeplabv3plus(input_shape=(257, 257, 3)), tmp_path / "nope.tflite", VOC.weights, VOC.tflite_layers)


def test_offline_without_cache_says_where_to_put_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("WEBCAM_BLUR_CACHE", str(tmp_path))
    source = VOC.weights
    unreachable = weights.WeightsSource(source.filename, "http://127.0.0.1:9/deeplab.tflite", source.sha256)
    with pytest.raises(WebcamBlurError) as error:
        weights.fetch(unreachable)
    message = str(error.value)
    assert "\n" not in message
    assert str(tmp_path / source.filename) in message and "--models-dir" in message
    assert message.count("127.0.0.1:9") == 1  # the URL is named once


def test_the_default_network_ships_in_the_package_so_no_download_is_needed(tmp_path, monkeypatch):
    monkeypatch.setenv("WEBCAM_BLUR_CACHE", str(tmp_path))
    source = VOC.weights
    offline = weights.WeightsSource(source.filename, "http://127.0.0.1:9/deeplab.tflite", source.sha256, shipped=True)
    path = weights.locate(offline)
    assert path == bundled(source.filename) and weights.sha256_of(path) == source.sha256
    assert not list(tmp_path.iterdir())  # nothing downloaded


def test_a_damaged_shipped_network_is_not_used(tflite_path, tmp_path, monkeypatch):
    monkeypatch.setenv("WEBCAM_BLUR_CACHE", str(tmp_path))
    damaged = tmp_path / "shipped" / VOC.weights.filename
    damaged.parent.mkdir()
    damaged.write_bytes(tflite_path.read_bytes()[:1000])
    monkeypatch.setattr(weights, "bundled", lambda name: damaged.parent / name)
    monkeypatch.delenv("WEBCAM_BLUR_MODELS", raising=False)
    source = VOC.weights
    shipped = weights.WeightsSource(source.filename, "http://127.0.0.1:9/x.tflite", source.sha256, shipped=True)
    with pytest.raises(WebcamBlurError, match="could not download"):  # it went for the download instead
        weights.locate(shipped)


def test_default_weights_come_from_the_cache_when_present(tflite_path, tmp_path, monkeypatch):
    monkeypatch.setenv("WEBCAM_BLUR_CACHE", str(tmp_path))
    (tmp_path / VOC.weights.filename).write_bytes(tflite_path.read_bytes())
    assert weights.fetch(VOC.weights) == tmp_path / VOC.weights.filename


def test_unpublished_hash_is_recorded_then_enforced(tmp_path):
    path = tmp_path / "xception.h5"
    path.write_bytes(b"first download")
    weights._check_recorded_hash(path)
    weights._check_recorded_hash(path)  # same file: fine
    path.write_bytes(b"tampered")
    with pytest.raises(WebcamBlurError, match="SHA-256 mismatch"):
        weights._check_recorded_hash(path)


@pytest.fixture
def weights_server(shared):
    """The real weights file served on loopback, standing in for the download URL."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(shared / "models"))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()



@pytest.mark.parametrize("damage", ["truncated", "corrupt"])
def test_damaged_download_is_fetched_again(tflite_path, tmp_path, monkeypatch, weights_server, damage, capfd):
    monkeypatch.setenv("WEBCAM_BLUR_CACHE", str(tmp_path))
    source = weights.WeightsSource(VOC.weights.filename, f"{weights_server}/{VOC.weights.filename}", VOC.weights.sha256)
    good = tflite_path.read_bytes()
    cached = tmp_path / source.filename
    cached.write_bytes(good[: len(good) // 3] if damage == "truncated" else good[:1000] + b"\0" * (len(good) - 1000))
    path = weights.fetch(source)
    assert weights.sha256_of(path) == source.sha256
    assert capfd.readouterr().out == ""  # Keras' "Downloading data from" and progress bar stay off stdout



def test_damaged_cache_without_network_is_a_clear_error(tflite_path, tmp_path, monkeypatch):
    monkeypatch.setenv("WEBCAM_BLUR_CACHE", str(tmp_path))
    monkeypatch.delenv("WEBCAM_BLUR_MODELS", raising=False)
    source = weights.WeightsSource(VOC.weights.filename, "http://127.0.0.1:9/x.tflite", VOC.weights.sha256)
    (tmp_path / source.filename).write_bytes(tflite_path.read_bytes()[:5000])
    with pytest.raises(WebcamBlurError, match="could not download") as error:
        weights.load_into(deeplabv3plus(input_shape=(257, 257, 3)), None, source, VOC.tflite_layers)
    assert str(tmp_path / source.filename) in str(error.value)



def test_a_server_that_never_answers_is_an_error_not_a_hang(tmp_path, monkeypatch):
    monkeypatch.setenv("WEBCAM_BLUR_CACHE", str(tmp_path))
    monkeypatch.setattr(weights, "DOWNLOAD_TIMEOUT", 0.5)
    with socket.socket() as silent:  # the kernel accepts the connection; nobody ever answers it
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        source = weights.WeightsSource("x.tflite", f"http://127.0.0.1:{silent.getsockname()[1]}/x.tflite", "0" * 64)
        with pytest.raises(WebcamBlurError, match="could not download x.tflite"):
            weights.fetch(source)


def test_without_a_network_keras_is_not_imported_to_find_out(tmp_path):
    code = ("import sys\n"
            "from webcam_blur.models import weights\n"
            "from webcam_blur.errors import WebcamBlurError\n"
            "try:\n"
            "    weights.fetch(weights.WeightsSource('x.tflite', 'http://127.0.0.1:9/x.tflite', '0' * 64))\n"
            "except WebcamBlurError as e:\n"
            "    print(e)\n"
            "print('keras' in sys.modules, 'tensorflow' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            env={"WEBCAM_BLUR_CACHE": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert "could not download x.tflite (127.0.0.1 cannot be reached: Connection refused)" in result.stdout
    assert result.stdout.splitlines()[-1] == "False False"


def test_a_models_folder_is_used_before_any_download_when_the_hash_matches(shared, tmp_path, monkeypatch):
    monkeypatch.setenv("WEBCAM_BLUR_CACHE", str(tmp_path / "cache"))
    name = "deeplabv3_mnv2_dm05_pascal_quant.tflite"
    sha = "0470d2a782aa54eeeb99d32e7b6b3fb7722905c7c4f5d26bd957ec861366d48b"
    source = weights.WeightsSource(name, "http://127.0.0.1:9/" + name, sha)  # unreachable: must not be asked
    monkeypatch.setenv("WEBCAM_BLUR_MODELS", str(shared / "models"))
    assert weights.locate(source) == shared / "models" / name
    wrong = weights.WeightsSource(name, "http://127.0.0.1:9/" + name, "0" * 64)
    with pytest.raises(WebcamBlurError, match="could not download"):  # a file with another hash is not used
        weights.locate(wrong)


@pytest.mark.parametrize("name, options", [
    ("deeplab-voc-fast", {"alpha": 0.5}),
    ("deeplab-portrait", {"alpha": 0.5, "classes": 2, "output_stride": 8}),  # the file's own stride (trained at 16)
])
def test_half_width_files_convert_and_agree_with_their_own_output(shared, name, options):
    """Depth multiplier 0.5: DeepLab rounds widths to 1, not 8 (12 channels, not 16); the float file
    names its weights differently and stores its dilated kernels with the zeros in."""
    from ai_edge_litert.interpreter import Interpreter

    spec = MODELS[name]
    path = shared / "models" / spec.weights.filename
    model = deeplabv3plus(input_shape=(513, 513, 3), **options)
    weights.load_into(model, path, spec.weights, spec.tflite_layers)
    interpreter = Interpreter(str(path))
    interpreter.allocate_tensors()
    given, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]["index"]
    person_class = 15 if options.get("classes", 21) == 21 else 1
    data = shared / "data"
    chosen = [*sorted((shared / "images").iterdir()), *sorted((data / "portraits" / "images").iterdir())[:4],
              *sorted((data / "people" / "images").glob("pennfudan_*"))[:2],
              *sorted((data / "people" / "images").glob("vikram_*"))[:2]]
    ious = []
    for image in (cv2.imread(str(path)) for path in chosen if path.suffix in (".jpg", ".bmp", ".png")):
        box = Letterbox(*image.shape[:2], 513)
        rgb = cv2.cvtColor(box.place(image), cv2.COLOR_BGR2RGB)
        interpreter.set_tensor(given["index"], (rgb if given["dtype"] == np.uint8 else spec.preprocess(rgb))[None])
        interpreter.invoke()
        reference = interpreter.get_tensor(out)[0]
        reference = (reference.argmax(-1) if reference.ndim == 3 else reference) == person_class
        logits = model(spec.preprocess(rgb)[None], training=False).numpy()[0]
        ours = Segmentation(*spec.decode(logits), Letterbox(513, 513, 513), 513 // (logits.shape[0] - 1)).mask > 0
        content = (slice(0, box.content_height), slice(0, box.content_width))
        reference, ours = reference[content], ours[content]
        if reference.mean() > 0.01:  # kite_and_cold: people too small to score
            ious.append((reference & ours).sum() / (reference | ours).sum())
    assert len(ious) >= 10 and np.mean(ious) >= 0.97 and min(ious) >= 0.85, ious  # 8-bit rounding: tiny people
