"""The ``webcam-blur`` command: live mode (default) and ``photo`` mode."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
from pathlib import Path

from . import __version__
from .errors import WebcamBlurError
from .settings import DEFAULTS, Settings, make_settings, read_config

log = logging.getLogger("webcam_blur")

LIVE_EXAMPLES = """\
examples:
  webcam-blur                                   blur camera 0 into the "webcam-blur" virtual camera
  webcam-blur --camera /dev/video2 --blur 80    another camera, stronger blur
  webcam-blur --input talk.mp4 --output out.mp4 --every-frame --no-preview --no-vcam
  webcam-blur photo me.jpg -o portrait.jpg      portrait-mode blur of one photo (see: webcam-blur photo --help)
  webcam-blur bench                             measure speed against the naive loop (see: webcam-blur bench --help)

preview keys: q or Esc quit, b blur on/off, + / - blur strength, m show the mask.
Linux needs v4l2loopback for the virtual camera:
  sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label="webcam-blur"
"""


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad flags in one line instead of a usage dump."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _add(group, *flags: str, help: str, default_shown: bool = True, **kwargs) -> None:
    """A settings flag: its value is checked later with the config file's (see settings.RULES)."""
    dest = kwargs.pop("dest", None) or flags[-1].lstrip("-").replace("-", "_")
    if default_shown and kwargs.get("action") is None:
        default = getattr(DEFAULTS, dest)
        help += f" (default: {default:g})" if isinstance(default, float) else f" (default: {default})"
    group.add_argument(*flags, dest=dest, default=argparse.SUPPRESS, help=help, **kwargs)


def _add_common_flags(parser: argparse.ArgumentParser) -> None:
    model = parser.add_argument_group("model")
    _add(model, "--weights", metavar="PATH", default_shown=False,
         help="weights file: the DeepLab .tflite, a cached Keras .weights.h5, or a reference DeepLabv3+ .h5 "
         "(default: the official PASCAL VOC network, downloaded once into ~/.keras/webcam-blur)")
    _add(model, "--backbone", metavar="{mobilenetv2,xception}",
         help="network backbone; xception is far slower and downloads the reference project's weights")
    _add(model, "--model-size", metavar="N", help="the frame's long side as the network sees it, 64-2048; "
         "smaller is faster and coarser")
    _add(model, "--canvas", metavar="{fit,square}", help="network input: fit pads the frame only up to the nearest "
         "16:9, 4:3 or square shape (a 720p frame runs at 512x288, ~2x faster); square pads it to N x N")
    _add(model, "--runtime", metavar="{lite,keras}", default_shown=False, help="lite: a LiteRT export of the Keras "
         "model run by XNNPACK (fast, built once and cached); keras: TensorFlow directly (default: lite; keras in photo mode)")
    _add(model, "--device", metavar="{auto,cpu,gpu}", help="where inference runs: auto uses a GPU when TensorFlow "
         "sees one, else the CPU")
    _add(model, "--threads", metavar="N", default_shown=False, help="CPU threads for inference (default: all cores)")
    look = parser.add_argument_group("look")
    _add(look, "--effect", metavar="{blur,bokeh,replace}", help="blur: Gaussian blur of the background; bokeh: a "
         "lens-like disc blur in which highlights bloom; replace: show --background instead")
    _add(look, "--blur", metavar="0-100", help="blur strength, relative to the frame size; 0 turns blurring off")
    _add(look, "--background", metavar="IMAGE|VIDEO|#RRGGBB", default_shown=False,
         help="replacement background: a picture (scaled to cover), a video (looped) or a colour; implies --effect replace")
    mask = parser.add_argument_group("mask")
    _add(mask, "--mask", metavar="{refined,raw}", help="refined: soft, edge-aware (guided filter), steady over time; "
         "raw: the network's argmax, feathered")
    _add(mask, "--no-guided-filter", dest="guided", action="store_false",
         help="refined mask without the edge-aware guided filter: the probability, upsampled smoothly")
    _add(mask, "--temporal", metavar="0-0.95", help="how strongly the mask is held steady where the picture is still; "
         "0 = off")
    _add(mask, "--cleanup", action="store_true", help="drop small stray blobs and fill enclosed holes in the mask")
    _add(mask, "--threshold", metavar="0-1|otsu", help="person probability above which a pixel counts as person, "
         "or 'otsu' to pick it per frame")
    general = parser.add_argument_group("general")
    general.add_argument("--config", type=Path, metavar="FILE.toml",
                         help="read settings from a TOML file (keys as the flags: blur = 80, model-size = 385); "
                         "flags given on the command line win")
    general.add_argument("--log-level", choices=("debug", "info", "warning", "error"), default="info",
                         help="how much to log on stderr (default: %(default)s)")


def live_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="webcam-blur",
        description="Blur the background of your webcam in real time with DeepLabv3+, "
        "and send the result to a virtual camera that Teams, Zoom or Meet can select.",
        epilog=LIVE_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    source = parser.add_argument_group("source")
    _add(source, "--camera", metavar="N|PATH", help="camera index or device path")
    _add(source, "--input", metavar="FILE|URL", default_shown=False,
         help="read a video file or stream instead of a camera (played at its own rate)")
    _add(source, "--width", metavar="W", help="capture width to ask the camera for")
    _add(source, "--height", metavar="H", help="capture height to ask the camera for")
    _add(source, "--fps", metavar="FPS", help="camera frame rate to ask for, and the virtual camera's output rate")
    _add(source, "--mjpeg", action="store_true", help="ask the camera for MJPEG, which many USB cameras need for 720p at 30 fps")
    _add(source, "--every-frame", action="store_true",
         help="segment every frame in order instead of always the newest one (for files: no frame is skipped)")
    _add(source, "--reconnect-timeout", metavar="SECONDS", help="when the camera is lost, keep the virtual camera "
         "going and retry this long before giving up")
    source.add_argument("--list-cameras", action="store_true", help="list the cameras that can be opened and exit")
    sinks = parser.add_argument_group("output")
    _add(sinks, "--no-preview", dest="preview", action="store_false", help="do not open the preview window")
    _add(sinks, "--no-vcam", dest="vcam", action="store_false", help="do not send to a virtual camera")
    _add(sinks, "--vcam-device", metavar="DEVICE", default_shown=False,
         help="virtual camera device, e.g. /dev/video10 (default: the first free one)")
    _add(sinks, "--vcam-backend", metavar="NAME", default_shown=False,
         help="pyvirtualcam backend: v4l2loopback, obs, unitycapture (default: the platform's)")
    _add(sinks, "--output", metavar="FILE", default_shown=False, help="also write the result to a video file (.mp4 or .avi)")
    _add(sinks, "--stats", action="store_true",
         help="show output fps, mask Hz and inference ms in the preview, and log them every second")
    _add_common_flags(parser)
    return parser


def photo_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="webcam-blur photo",
        description="Portrait mode for one photo: the person stays sharp, the background is blurred.",
    )
    parser.add_argument("image", type=Path, metavar="IN", help="the photo to process (any format OpenCV reads)")
    parser.add_argument("-o", "--output", dest="photo_output", type=Path, required=True, metavar="OUT",
                        help="where to write the result (.png, .jpg, ...)")
    parser.add_argument("--save-mask", type=Path, metavar="MASK.png", help="also write the person mask (white = person)")
    _add_common_flags(parser)
    return parser


NOT_SETTINGS = {"config", "log_level", "list_cameras", "image", "photo_output", "save_mask"}


def settings_from_args(args: argparse.Namespace, base: dict | None = None) -> Settings:
    """Defaults, then ``base``, then the config file, then the flags; all checked together."""
    values, origins = dict(base or {}), {}
    if args.config is not None:
        config_values, origins = read_config(args.config)
        values.update(config_values)
    values.update({k: v for k, v in vars(args).items() if k not in NOT_SETTINGS})
    for key in vars(args):
        origins.pop(key, None)
    return make_settings(values, origins)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench"]:
        from .bench import main as bench_main

        return bench_main(argv[1:])
    photo = bool(argv) and argv[0] == "photo"
    args = (photo_parser() if photo else live_parser()).parse_args(argv[1:] if photo else argv)
    _configure_logging(args.log_level)
    try:
        return run_photo(args) if photo else run_live(args)
    except WebcamBlurError as e:
        print(f"webcam-blur: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("webcam-blur: interrupted", file=sys.stderr)
        return 130


def _configure_logging(level: str) -> None:
    logging.basicConfig(format="webcam-blur: %(message)s", level=level.upper())
    if level != "debug":
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")  # our own messages say what failed
        logging.getLogger("absl").setLevel(logging.ERROR)
        logging.getLogger("tensorflow").setLevel(logging.ERROR)


@contextlib.contextmanager
def _native_stderr_silenced(silence: bool):
    """TensorFlow's C++ start-up chatter ignores TF_CPP_MIN_LOG_LEVEL; hide it from users."""
    if not silence:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _load_segmenter(settings: Settings):
    with _native_stderr_silenced(log.getEffectiveLevel() > logging.DEBUG):
        import tensorflow  # noqa: F401 - imported here only to start it quietly

    from .segmenter import PersonSegmenter

    return PersonSegmenter.load(
        settings.weights,
        settings.backbone,
        settings.model_size,
        settings.runtime,
        settings.threads,
        settings.device,
        fit=settings.canvas == "fit",
    )


def run_photo(args) -> int:
    import cv2

    from .frames import as_bgr
    from .refine import binary_mask

    if not args.image.is_file():
        raise WebcamBlurError(f"input image not found: {args.image}")
    image = cv2.imread(str(args.image), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise WebcamBlurError(f"cannot read {args.image} as an image")
    image = as_bgr(image)
    for target in (args.photo_output, args.save_mask):
        if target is not None and not target.parent.is_dir():
            raise WebcamBlurError(f"cannot write {target}: folder {target.parent} does not exist")
    settings = settings_from_args(args, base={"runtime": "keras"})  # one photo: skip the LiteRT export
    refiner, compositor = build_look(settings)
    segmenter = _load_segmenter(settings)
    segmentation = segmenter.segment(image)
    matte = refiner.refine(image, segmentation) if refiner else segmentation.mask
    _write_image(args.photo_output, compositor.compose(image, matte))
    mask = binary_mask(matte)
    if args.save_mask:
        _write_image(args.save_mask, mask)
    log.info("wrote %s (person: %.0f%% of the photo)", args.photo_output, 100 * (mask > 0).mean())
    return 0


def build_look(settings: Settings):
    """The mask refiner (None for raw masks) and the compositor that the settings ask for."""
    from .background import Background
    from .compositor import Compositor
    from .refine import MaskRefiner, RefineSettings

    refiner = None
    if settings.mask == "refined":
        refine = RefineSettings(
            guided=settings.guided, temporal=settings.temporal, cleanup=settings.cleanup, threshold=settings.threshold
        )
        refiner = MaskRefiner(refine, settings.model_size)
    background = Background(settings.background) if settings.effect == "replace" else None
    return refiner, Compositor(settings.blur, settings.effect, background, feather=0.0 if refiner else 0.004)


def _write_image(path: Path, image) -> None:
    import cv2

    try:
        ok = cv2.imwrite(str(path), image)
    except cv2.error:
        ok = False
    if not ok:
        raise WebcamBlurError(f"cannot write {path} (use a .png or .jpg name in a writable folder)")


def run_live(args) -> int:
    from .capture import CameraSource, VideoSource, list_cameras

    if args.list_cameras:
        cameras = list_cameras()
        print("\n".join(cameras) if cameras else "no cameras found")
        return 0
    settings = settings_from_args(args)
    if settings.input:
        source = VideoSource(settings.input, paced=not settings.every_frame)
    else:
        source = CameraSource(settings.camera, settings.width, settings.height, settings.fps, settings.mjpeg)
    try:
        return _run_pipeline(settings, source)
    finally:
        source.release()


def _run_pipeline(settings: Settings, source) -> int:
    from .pipeline import Pipeline
    from .sinks import PreviewWindow, VideoFileSink, VirtualCameraSink

    sinks = []
    refiner, compositor = build_look(settings)
    try:
        if settings.vcam:
            vcam = VirtualCameraSink(settings.fps, settings.vcam_device, settings.vcam_backend)
            vcam.open(*source.size)  # fail now, not after the model has loaded
            sinks.append(vcam)
        if settings.output:
            sinks.append(VideoFileSink(settings.output, source.fps))
        segmenter = _load_segmenter(settings)
        segmenter.prepare(*source.size)
        preview = PreviewWindow() if settings.preview else None
    except BaseException:
        for sink in sinks:
            sink.close()
        raise
    pipeline = Pipeline(
        source,
        segmenter,
        compositor,
        sinks,
        preview,
        every_frame=settings.every_frame,
        show_stats=settings.stats,
        refiner=refiner,
        reconnect_timeout=settings.reconnect_timeout,
    )
    outputs = [type(s).__name__ for s in sinks] + (["preview (q quits)"] if preview else [])
    log.info("running: %s -> %s; Ctrl-C stops", source.name, ", ".join(outputs) or "nowhere")
    previous = {sig: signal.signal(sig, lambda *_: pipeline.stop()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        pipeline.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


if __name__ == "__main__":
    sys.exit(main())
