"""The command line: photo mode end to end, documented flags, one-line errors for bad input."""

import re
import tempfile

import cv2
import numpy as np
import pytest

from helpers import error_lines, run_app, sharpness
from webcam_blur.cli import demo_parser, live_parser, photo_parser
from webcam_blur.models.registry import MODELS


def test_photo_keeps_the_face_and_blurs_the_flag(shared, tflite_path, tmp_path):
    source = shared / "images" / "grace_hopper.bmp"
    out, mask_path = tmp_path / "out.png", tmp_path / "mask.png"
    result = run_app("photo", str(source), "-o", str(out), "--weights", str(tflite_path), "--save-mask", str(mask_path))
    assert result.returncode == 0, result.stderr

    original, blurred = cv2.imread(str(source)), cv2.imread(str(out))
    mask = cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE)
    assert blurred.shape == original.shape and mask.shape == original.shape[:2]
    person = cv2.erode(mask, np.ones((25, 25), np.uint8)) > 0
    background = cv2.dilate(mask, np.ones((25, 25), np.uint8)) == 0
    face = np.s_[170:300, 200:320]  # Grace Hopper's face, well inside the person
    assert person[face].all()
    assert np.array_equal(blurred[face], original[face])
    unchanged = (blurred[person] == original[person]).all(axis=1)
    assert unchanged.mean() > 0.99  # the soft matte may let a little blur into uncertain spots
    assert background.mean() > 0.15  # the flag and the wall
    assert sharpness(blurred, background) < 0.1 * sharpness(original, background)


def test_photo_with_a_colour_background_and_the_raw_mask(shared, tflite_path, tmp_path):
    source = shared / "images" / "grace_hopper.bmp"
    out, mask_path = tmp_path / "green.png", tmp_path / "mask.png"
    result = run_app("photo", str(source), "-o", str(out), "--background", "#00ff00", "--mask", "raw",
                     "--save-mask", str(mask_path), "--weights", str(tflite_path))
    assert result.returncode == 0, result.stderr
    original, replaced = cv2.imread(str(source)), cv2.imread(str(out))
    mask = cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE)
    background = cv2.dilate(mask, np.ones((25, 25), np.uint8)) == 0
    person = cv2.erode(mask, np.ones((25, 25), np.uint8)) > 0
    assert (replaced[background] == (0, 255, 0)).all()
    assert np.array_equal(replaced[person], original[person])


@pytest.mark.parametrize("parser", [live_parser(), demo_parser(), photo_parser()], ids=["live", "demo", "photo"])
def test_help_documents_every_flag(parser):
    text = parser.format_help()
    for action in parser._actions:
        for flag in action.option_strings:
            assert flag in text
        assert action.help, f"{action.option_strings or action.dest} has no help"


def test_help_runs_without_loading_the_model():
    for args in (["--help"], ["demo", "--help"], ["photo", "--help"]):
        result = run_app(*args, timeout=60)
        assert result.returncode == 0 and "usage:" in result.stdout


def test_usage_names_the_subcommands():
    usage = live_parser().format_usage()
    for command in ("webcam-blur demo", "webcam-blur photo", "webcam-blur bench"):
        assert command in usage


def test_photo_help_shows_only_what_applies_to_a_photo():
    text = photo_parser().format_help()
    assert "--temporal" not in text and "VIDEO" not in text and "looped" not in text
    assert "--background" in text and "--threshold" in text


def test_list_cameras_with_none_says_what_to_check():
    import os

    if any(name.startswith("video") for name in os.listdir("/dev")):
        pytest.skip("this machine has video devices")
    result = run_app("--list-cameras", timeout=60)
    assert result.returncode == 0
    assert "no cameras found" in result.stdout
    for hint in ("/dev/video", "usermod -aG video", "v4l2-ctl --list-devices", "--input FILE"):
        assert hint in result.stdout


def test_a_live_run_with_no_output_at_all_is_refused():
    result = run_app("--no-preview", "--no-vcam", timeout=60)
    assert result.returncode == 1
    (line,) = error_lines(result.stderr)
    assert "nowhere to show the result" in line and "--output FILE" in line


@pytest.mark.parametrize("mode", ["photo", "video"])
def test_an_output_that_is_the_input_is_refused_before_anything_is_touched(shared, tmp_path, mode):
    suffix = ".bmp" if mode == "photo" else ".mkv"
    original = shared / ("images/grace_hopper.bmp" if mode == "photo" else "videos/again.mkv")
    target = tmp_path / f"input{suffix}"
    target.write_bytes(original.read_bytes())
    link = tmp_path / f"same{suffix}"
    link.symlink_to(target)
    if mode == "photo":
        args = ["photo", str(target), "-o", str(link)]
    else:
        args = ["--input", str(target), "--output", str(link), "--no-preview", "--no-vcam"]
    result = run_app(*args, timeout=60)
    assert result.returncode == 1
    (line,) = error_lines(result.stderr)
    assert "is the input" in line
    assert target.read_bytes() == original.read_bytes()


@pytest.mark.parametrize(
    "args, message",
    [
        (["photo", "missing.jpg", "-o", "{tmp}/o.png"], "input image not found"),
        (["photo", "{readme}", "-o", "{tmp}/o.png"], "cannot read .* as an image"),
        (["photo", "{image}", "-o", "{tmp}/o.png", "--weights", "{readme}"], "not a weights file"),
        (["photo", "{image}", "-o", "{tmp}/o.png", "--weights", "{tmp}/none.tflite"], "weights file not found"),
        (["photo", "{image}", "-o", "{tmp}/no/such/dir/o.png"], "does not exist"),
        (["photo", "{image}", "-o", "{tmp}/o.png", "--blur", "150"], "--blur must be between 0 and 100"),
        (["photo", "{image}", "-o", "{tmp}/o.png", "--blur", "lots"], "--blur must be a number"),
        (["photo", "{image}"], "required: -o/--output"),
        (["photo", "{image}", "-o", "{tmp}/o.png", "--effect", "replace"], "--effect replace needs --background"),
        (["photo", "{image}", "-o", "{tmp}/o.png", "--background", "{tmp}/none.jpg"], "background not found"),
        (["--temporal", "2"], "--temporal must be between"),
        (["--threshold", "most"], "--threshold must be a number"),
        (["--fps", "0"], "--fps must be between"),
        (["--model-size", "-3"], "--model-size must be between"),
        (["--canvas", "round"], "--canvas must be one of fit, square"),
        (["--frobnicate"], "unrecognized arguments"),
    ],
)
def test_bad_input_gives_one_clear_line_and_nonzero_exit(shared, tmp_path, args, message):
    values = {"tmp": tmp_path, "readme": shared / "README.md", "image": shared / "images" / "face.jpg"}
    result = run_app(*(a.format(**values) for a in args), timeout=120)
    assert result.returncode != 0
    lines = error_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    assert re.search(message, lines[0]), lines[0]
    assert "Traceback" not in result.stderr


def test_gpu_request_without_a_gpu_is_one_line(shared, tflite_path):
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        pytest.skip("this machine has a GPU")
    result = run_app("photo", str(shared / "images" / "face.jpg"), "-o", "/tmp/never.png", "--device", "gpu", "--weights", str(tflite_path), timeout=120)
    assert result.returncode == 1
    (line,) = error_lines(result.stderr)
    assert "TensorFlow sees no GPU" in line



def test_bad_config_from_the_command_line(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("blur = 'lots'\ntemporal = 3\n")
    result = run_app("--config", str(config), "--no-preview", timeout=60)
    assert result.returncode == 1
    (line,) = error_lines(result.stderr)
    assert "bad.toml: blur must be a number" in line and "bad.toml: temporal must be between" in line
    config.write_text("blur = [")
    result = run_app("--config", str(config), timeout=60)
    (line,) = error_lines(result.stderr)
    assert "not valid TOML" in line



@pytest.mark.parametrize("kind", ["binary", "latin-1", "folder", "fifo", "huge"])
def test_config_files_that_are_not_settings_are_one_line(tmp_path, kind):
    import os

    config = tmp_path / "webcam-blur.toml"
    if kind == "binary":
        config.write_bytes(bytes(range(256)) * 4)
    elif kind == "latin-1":
        config.write_bytes('background = "caf\xe9.jpg"\n'.encode("latin-1"))
    elif kind == "folder":
        config.mkdir()
    elif kind == "fifo":
        os.mkfifo(config)  # reading it would block forever
    else:
        config.write_text("# " + "x" * (2 << 20) + "\n")
    result = run_app("--config", str(config), "--no-preview", "--no-vcam", "--output", str(tmp_path / "o.mp4"), timeout=60)
    assert result.returncode == 1
    (line,) = error_lines(result.stderr)
    assert f"config {config}" in line or f"cannot read config {config}" in line
    assert "Traceback" not in result.stderr



def test_every_registered_effect_is_offered_and_works_on_a_photo(shared, tflite_path, tmp_path):
    from webcam_blur.look.effects import EFFECTS

    assert all(name in live_parser().format_help() for name in EFFECTS)
    source, out, mask_path = shared / "images" / "grace_hopper.bmp", tmp_path / "mosaic.png", tmp_path / "mask.png"
    result = run_app("photo", str(source), "-o", str(out), "--effect", "pixelate", "--weights", str(tflite_path),
                     "--save-mask", str(mask_path))
    assert result.returncode == 0, result.stderr
    original, mosaic = cv2.imread(str(source)), cv2.imread(str(out))
    face = np.s_[170:300, 200:320]
    assert np.array_equal(mosaic[face], original[face])
    background = (cv2.dilate(cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE), np.ones((25, 25), np.uint8)) == 0)[:, 1:]

    def flat(image):  # share of background pixels equal to their left neighbour
        return (image[:, 1:] == image[:, :-1]).all(axis=2)[background].mean()

    assert flat(mosaic) > 0.85 > 0.5 > flat(original)


def test_a_photo_of_extreme_aspect_is_processed_not_a_traceback(tmp_path, tflite_path):
    photo, out = tmp_path / "strip.png", tmp_path / "out.png"
    cv2.imwrite(str(photo), np.random.default_rng(0).integers(0, 256, (2, 4000, 3), dtype=np.uint8))
    result = run_app("photo", str(photo), "-o", str(out), "--weights", str(tflite_path), timeout=300)
    assert result.returncode == 0, result.stderr
    assert cv2.imread(str(out)).shape == (2, 4000, 3)


def test_file_names_that_are_not_utf8_are_one_line_not_a_crash(shared, tmp_path):
    """OpenCV's image reader crashed (SIGSEGV) on such a name: images now go through Python."""
    import os
    import shutil

    odd = os.fsdecode(bytes(tmp_path) + b"/caf\xe9.jpg")  # latin-1 bytes, not UTF-8
    shutil.copy(shared / "images" / "face.jpg", odd)
    out = os.fsdecode(bytes(tmp_path) + b"/out\xff.png")
    result = run_app("photo", odd, "-o", out, timeout=300)
    assert result.returncode == 0, result.stderr  # read and written through Python
    assert os.path.getsize(out) > 1000
    video = os.fsdecode(bytes(tmp_path) + b"/clip\xe9.mkv")
    shutil.copy(shared / "videos" / "again.mkv", video)
    result = run_app("--input", video, "--no-preview", "--no-vcam", "--output", str(tmp_path / "o.mp4"), timeout=120)
    assert result.returncode == 1 and result.returncode > 0  # not a signal
    (line,) = error_lines(result.stderr)
    assert "is not valid UTF-8; rename the file" in line


def test_a_photo_that_does_not_fit_leaves_the_old_file_whole(shared, tflite_path, tmp_path):
    """Out of room mid-write (here a 20 kB file size limit): one line, and yesterday's result untouched."""
    import resource

    photo = str(shared / "images" / "grace_hopper.bmp")
    assert run_app("photo", photo, "-o", str(tmp_path / "warm.png"), "--weights", str(tflite_path)).returncode == 0
    (tmp_path / "warm.png").unlink()  # the runtime is cached now: only the photo is written below
    out = tmp_path / "out.png"
    out.write_bytes(b"yesterday's result")
    limit = 20_000

    def limited():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result = run_app("photo", photo, "-o", str(out), "--weights", str(tflite_path), preexec_fn=limited)
    assert result.returncode == 1, result.stderr
    (line,) = error_lines(result.stderr)
    assert line == f"webcam-blur: error: cannot write {out}: File too large"
    assert out.read_bytes() == b"yesterday's result"
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]  # no half-written file left behind


def test_no_room_while_the_first_run_builds_its_runtime_is_one_line(shared, tflite_path, tmp_path):
    """A cold cache, and TensorFlow's export hits a 1 MB file size limit (it used to end in a SIGSEGV)."""
    import resource

    def limited():
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))

    result = run_app("photo", str(shared / "images" / "grace_hopper.bmp"), "-o", str(tmp_path / "out.png"),
                     "--weights", str(tflite_path), preexec_fn=limited, env={"WEBCAM_BLUR_CACHE": str(tmp_path / "cold")})
    assert result.returncode == 1, result.stderr
    assert error_lines(result.stderr)[-1] == (
        f"webcam-blur: error: cannot build the LiteRT runtime: TensorFlow could not write its export in "
        f"{tempfile.gettempdir()} (File too large); free some space there or point TMPDIR elsewhere"
    )
    assert "Traceback" not in result.stderr


def test_non_ascii_paths_under_an_ascii_only_locale(shared, tflite_path, tmp_path):
    """LC_ALL=C (a bare container, a cron job): accented names in, out and as the background still work."""
    folder = tmp_path / "café €"
    folder.mkdir()
    photo, backdrop = folder / "visage é.jpg", folder / "fond ü.jpg"
    photo.write_bytes((shared / "images" / "face.jpg").read_bytes())
    backdrop.write_bytes((shared / "images" / "grace_hopper.bmp").read_bytes())
    clip = folder / "clip é.mkv"
    clip.write_bytes((shared / "videos" / "again.mkv").read_bytes())
    ascii_only = {"LC_ALL": "C", "LANG": "C"}
    result = run_app("photo", str(photo), "-o", str(folder / "out ü.png"), "--background", str(backdrop),
                     "--weights", str(tflite_path), env=ascii_only, unset=("PYTHONUTF8", "PYTHONIOENCODING"))
    assert result.returncode == 0, result.stderr
    assert cv2.imdecode(np.fromfile(folder / "out ü.png", np.uint8), cv2.IMREAD_COLOR).shape[:2] == (355, 512)
    result = run_app("--input", str(clip), "--no-preview", "--no-vcam", "--output", str(folder / "out ü.mp4"),
                     "--weights", str(tflite_path), env=ascii_only, unset=("PYTHONUTF8", "PYTHONIOENCODING"))
    assert result.returncode == 0, result.stderr
    assert (folder / "out ü.mp4").stat().st_size > 10_000


OFFLINE_MODELS = [name for name in MODELS if name != "deeplab-xception"]  # its weights are only a download


@pytest.mark.parametrize("name", OFFLINE_MODELS)
def test_photo_with_every_model_found_in_the_models_folder(shared, tmp_path, name):
    out, mask_path = tmp_path / "out.png", tmp_path / "mask.png"
    result = run_app("photo", str(shared / "images" / "grace_hopper.bmp"), "-o", str(out), "--model", name,
                     "--models-dir", str(shared / "models"), "--save-mask", str(mask_path), unset=("WEBCAM_BLUR_MODELS",))
    assert result.returncode == 0, result.stderr
    mask = cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE)
    assert (mask[170:300, 200:320] > 0).mean() > 0.95  # Grace Hopper's face is person
    assert (mask[:60, :60] == 0).all()  # the flag in the corner is not


def test_models_lists_every_network_with_its_license_and_file(shared):
    result = run_app("models", "--models-dir", str(shared / "models"), unset=("WEBCAM_BLUR_MODELS",))
    assert result.returncode == 0, result.stderr
    for name, spec in MODELS.items():
        assert f"\n{name}" in f"\n{result.stdout}" and f"license {spec.license}" in result.stdout
    assert str(shared / "models" / MODELS["deeplab-portrait"].weights.filename) in result.stdout
    assert "not a Keras model" in result.stdout
    assert "--effect depth" in result.stdout and "tcmonodepth_tcsmallnet_192x320.onnx" in result.stdout


def test_photo_depth_effect_keeps_the_person_and_differs_from_the_plain_blur(shared, tmp_path):
    """The depth network from the models folder, through the real command: the person stays, the
    background blurs by its depth (the flag beside her less than the wall), unlike --effect blur."""
    source = shared / "images" / "grace_hopper.bmp"
    outs = {effect: tmp_path / f"{effect}.png" for effect in ("depth", "blur")}
    mask_path = tmp_path / "mask.png"
    for effect, out in outs.items():
        result = run_app("photo", str(source), "--effect", effect, "-o", str(out), "--save-mask", str(mask_path),
                         "--models-dir", str(shared / "models"), unset=("WEBCAM_BLUR_MODELS",))
        assert result.returncode == 0, result.stderr
    original = cv2.imread(str(source))
    depth, blur = cv2.imread(str(outs["depth"])), cv2.imread(str(outs["blur"]))
    mask = cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE)
    face = np.s_[170:290, 205:320]  # not the shadow under her right ear, which the selfie network (auto) leaves out
    assert np.array_equal(depth[face], original[face])
    background = cv2.dilate(mask, np.ones((25, 25), np.uint8)) == 0
    assert sharpness(depth, background) < 0.3 * sharpness(original, background)
    assert np.abs(depth.astype(int) - blur.astype(int))[background].mean() > 1.5  # visibly another look


def test_photo_lighten_lifts_a_dark_person_only(shared, tflite_path, tmp_path):
    dark = cv2.convertScaleAbs(cv2.imread(str(shared / "images" / "grace_hopper.bmp")), alpha=0.35)
    source, out, mask_path = tmp_path / "dark.png", tmp_path / "out.png", tmp_path / "mask.png"
    cv2.imwrite(str(source), dark)
    result = run_app("photo", str(source), "-o", str(out), "--lighten", "auto", "--blur", "0",
                     "--save-mask", str(mask_path), "--weights", str(tflite_path))
    assert result.returncode == 0, result.stderr
    lifted, mask = cv2.imread(str(out)), cv2.imread(str(mask_path), cv2.IMREAD_GRAYSCALE)
    person = cv2.erode(mask, np.ones((25, 25), np.uint8)) > 0
    background = cv2.dilate(mask, np.ones((25, 25), np.uint8)) == 0
    luma = lambda image: cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(float)  # noqa: E731
    assert luma(lifted)[person].mean() > 1.4 * luma(dark)[person].mean()
    same = (lifted[background] == dark[background]).all(axis=1)
    assert same.mean() > 0.98  # the background as it was, but where the soft matte's tail reaches
    assert np.abs(lifted.astype(int) - dark.astype(int))[background].mean() < 0.2
