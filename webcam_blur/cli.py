"""The ``webcam-blur`` command: live mode (default) and the ``demo``, ``photo`` and ``bench`` subcommands."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import time
from pathlib import Path

from . import __version__
from .errors import WebcamBlurError
from .settings import DEFAULTS, ConfigKey, Settings, make_settings, read_config

log = logging.getLogger("webcam_blur")

STARTED = time.perf_counter()
SUBCOMMANDS = ("demo", "photo", "bench")
DEMO_OUTPUT = "webcam-blur-demo.mp4"
DEMO_SECONDS = 10.0
USAGE = """\
%(prog)s [OPTIONS]                 live: camera -> preview window and virtual camera
       %(prog)s demo [-o OUT.mp4] [--seconds S] [OPTIONS]   the built-in demo clip, no camera needed
       %(prog)s photo IN -o OUT [OPTIONS]    portrait-mode blur of one photo
       %(prog)s bench [OPTIONS]           speed against the naive loop and the MediaPipe peer
       (each subcommand explains its options: webcam-blur demo --help, ...)"""

LIVE_EXAMPLES = """\
examples:
  webcam-blur demo                              try it without a camera: writes webcam-blur-demo.mp4
  webcam-blur                                   blur camera 0 into the "webcam-blur" virtual camera
  webcam-blur --camera /dev/video2 --blur 80    another camera, stronger blur
  webcam-blur --input talk.mp4 --output out.mp4 --every-frame --no-preview --no-vcam
  webcam-blur photo me.jpg -o portrait.jpg      portrait-mode blur of one photo (see: webcam-blur photo --help)
  webcam-blur bench                             measure speed (see: webcam-blur bench --help)

preview keys: q or Esc quit (so does closing the window), b blur on/off, + / - blur strength, m show the mask.
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


def _add_common_flags(parser: argparse.ArgumentParser, photo: bool = False) -> None:
    model = parser.add_argument_group("model")
    _add(model, "--weights", metavar="PATH", default_shown=False,
         help="weights file: the DeepLab .tflite, a cached Keras .weights.h5, or a reference DeepLabv3+ .h5 "
         "(default: the official PASCAL VOC network that ships with the package)")
    _add(model, "--backbone", metavar="{mobilenetv2,xception}",
         help="network backbone; xception is far slower and downloads the reference project's weights")
    _add(model, "--model-size", metavar="N", help="the frame's long side as the network sees it, 64-2048; "
         "smaller is faster and coarser")
    _add(model, "--canvas", metavar="{fit,square}", help="network input: fit pads the frame only up to the nearest "
         "16:9, 4:3 or square shape (a 720p frame runs at 512x288, ~2x faster); square pads it to N x N")
    _add(model, "--runtime", metavar="{lite,keras}", default_shown=False, help="lite: a LiteRT export of the Keras "
         "model run by XNNPACK (fast, built once and cached); keras: TensorFlow directly "
         f"(default: {'keras for one photo' if photo else 'lite'})")
    _add(model, "--device", metavar="{auto,cpu,gpu}", help="where inference runs: auto uses a GPU when TensorFlow "
         "sees one, else the CPU")
    _add(model, "--threads", metavar="N", default_shown=False, help="CPU threads for inference (default: all cores)")
    look = parser.add_argument_group("look")
    _add(look, "--effect", metavar="{blur,bokeh,replace}", help="blur: Gaussian blur of the background; bokeh: a "
         "lens-like disc blur in which highlights bloom; replace: show --background instead")
    _add(look, "--blur", metavar="0-100", help="blur strength, relative to the frame size; 0 turns blurring off")
    if photo:
        _add(look, "--background", metavar="IMAGE|#RRGGBB", default_shown=False,
             help="replacement background: a picture (scaled to cover) or a colour; implies --effect replace")
    else:
        _add(look, "--background", metavar="IMAGE|VIDEO|#RRGGBB", default_shown=False, help="replacement "
             "background: a picture (scaled to cover), a video (looped) or a colour; implies --effect replace")
    mask = parser.add_argument_group("mask")
    _add(mask, "--mask", metavar="{refined,raw}", help="refined: soft, edge-aware (guided filter)"
         + ("" if photo else ", steady over time") + "; raw: the network's argmax, feathered")
    _add(mask, "--no-guided-filter", dest="guided", action="store_false",
         help="refined mask without the edge-aware guided filter: the probability, upsampled smoothly")
    if not photo:
        _add(mask, "--temporal", metavar="0-0.95", help="how strongly the mask is held steady where the picture "
             "is still; 0 = off")
    _add(mask, "--cleanup", action="store_true", help="drop small stray blobs and fill enclosed holes in the mask")
    _add(mask, "--threshold", metavar="0-1|otsu", help="person probability above which a pixel counts as person, "
         "or 'otsu' to pick it per frame")
    general = parser.add_argument_group("general")
    general.add_argument("--config", type=Path, metavar="FILE.toml",
                         help="read settings from a TOML file whose keys are the flags' names (blur = 80, "
                         "model-size = 385, no-preview = true); relative paths in it start at its folder; "
                         "flags given on the command line win")
    general.add_argument("--log-level", choices=("debug", "info", "warning", "error"), default="info",
                         help="how much to log on stderr (default: %(default)s)")


def _add_output_flags(group, demo: bool = False) -> None:
    _add(group, "--no-preview", dest="preview", action="store_false", help="do not open the preview window"
         + (" (the demo goes on without one when no display answers)" if demo else ""))
    _add(group, "--no-vcam", dest="vcam", action="store_false", help="do not send to a virtual camera"
         + (" (the demo goes on without one when none exists)" if demo else ""))
    _add(group, "--vcam-device", metavar="DEVICE", default_shown=False,
         help="virtual camera device, e.g. /dev/video10 (default: the first free one)")
    _add(group, "--vcam-backend", metavar="NAME", default_shown=False,
         help="pyvirtualcam backend: v4l2loopback, obs, unitycapture (default: the platform's)")
    _add(group, "--stats", action="store_true",
         help="show output fps, mask Hz and inference ms in the preview, and log them every second")


def live_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="webcam-blur",
        usage=USAGE,
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
    _add(source, "--loop", action="store_true", help="with --input FILE: start again at its end (until q)")
    _add(source, "--width", metavar="W", help="capture width to ask the camera for")
    _add(source, "--height", metavar="H", help="capture height to ask the camera for")
    _add(source, "--fps", metavar="FPS", help="camera frame rate to ask for, and the virtual camera's output rate")
    _add(source, "--mjpeg", action="store_true", help="ask the camera for MJPEG, which many USB cameras need for 720p at 30 fps")
    _add(source, "--every-frame", action="store_true",
         help="segment every frame in order instead of always the newest one (for files: no frame is skipped)")
    _add(source, "--reconnect-timeout", metavar="SECONDS", help="when the camera is lost, keep the virtual camera "
         "going and retry this long before giving up")
    source.add_argument("--list-cameras", action="store_true", help="list the cameras that can be opened and exit")
    outputs = parser.add_argument_group("output")
    _add_output_flags(outputs)
    _add(outputs, "--output", metavar="FILE", default_shown=False,
         help="also write the result to a video file (.mp4: H.264 where OpenCV can encode it; .mkv, .avi)")
    _add_common_flags(parser)
    return parser


def demo_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="webcam-blur demo",
        description="See webcam-blur work without a camera: a short clip that ships with the package is played "
        "as a 30 fps camera (looped) through the real live pipeline. The result is shown in the preview window "
        "when a display answers, sent to the virtual camera when one exists, and always written to a video file.",
    )
    parser.add_argument("-o", "--output", dest="output", metavar="OUT.mp4", default=argparse.SUPPRESS,
                        help=f"where to write the result (default: {DEMO_OUTPUT} in the current folder)")
    parser.add_argument("--seconds", type=float, default=DEMO_SECONDS, metavar="S",
                        help="how long to play the clip, looping it (default: %(default)g; q in the preview ends it sooner)")
    outputs = parser.add_argument_group("output")
    _add_output_flags(outputs, demo=True)
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
    _add_common_flags(parser, photo=True)
    return parser


NOT_SETTINGS = {"config", "log_level", "list_cameras", "image", "photo_output", "save_mask", "seconds"}


def config_keys() -> dict[str, ConfigKey]:
    """Config-file keys: every settings flag of the live command, by its name without dashes."""
    keys = {}
    for action in live_parser()._actions:
        if action.dest in NOT_SETTINGS or not action.option_strings or not hasattr(DEFAULTS, action.dest):
            continue
        keys[action.option_strings[-1].lstrip("-")] = ConfigKey(action.dest, negated=action.const is False)
    return keys


def settings_from_args(args: argparse.Namespace, base: dict | None = None) -> Settings:
    """Defaults, then ``base``, then the config file, then the flags; all checked together."""
    values, origins = dict(base or {}), {}
    if args.config is not None:
        config_values, origins = read_config(args.config, config_keys())
        values.update(config_values)
    values.update({k: v for k, v in vars(args).items() if k not in NOT_SETTINGS})
    for key in vars(args):
        origins.pop(key, None)
    return make_settings(values, origins)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv and argv[0] in SUBCOMMANDS else "live"
    if command == "bench":
        from .bench import main as bench_main

        return bench_main(argv[1:])
    parser = {"live": live_parser, "demo": demo_parser, "photo": photo_parser}[command]()
    args = parser.parse_args(argv if command == "live" else argv[1:])
    _configure_logging(args.log_level)
    try:
        return {"live": run_live, "demo": run_demo, "photo": run_photo}[command](args)
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


def _load_segmenter(settings: Settings):
    from .quiet import native_stderr_silenced

    with native_stderr_silenced():
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


def _refuse_same_file(output: Path | None, *inputs: str | Path | None) -> None:
    """An output that is one of the inputs would destroy it: refuse before anything is touched."""
    if output is None:
        return
    for item in inputs:
        if item is not None and "://" not in str(item) and Path(output).resolve() == Path(item).resolve():
            raise WebcamBlurError(f"the output {output} is the input {item}: choose another output name")


def run_photo(args) -> int:
    import cv2

    from .frames import as_bgr
    from .refine import binary_mask

    _refuse_same_file(args.photo_output, args.image)
    _refuse_same_file(args.save_mask, args.image, args.photo_output)
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


NO_CAMERAS = (
    "no cameras found: check that one is plugged in and that you may open it (ls -l /dev/video*; "
    "sudo usermod -aG video $USER, then log in again), see what v4l2-ctl --list-devices shows, "
    "or play a video instead with --input FILE (or try webcam-blur demo)"
)


def run_live(args) -> int:
    from .capture import CameraSource, VideoSource, list_cameras

    if args.list_cameras:
        cameras = list_cameras()
        print("\n".join(cameras) if cameras else NO_CAMERAS)
        return 0
    settings = settings_from_args(args)
    if not (settings.preview or settings.vcam or settings.output):
        raise WebcamBlurError(
            "--no-preview and --no-vcam leave nowhere to show the result: add --output FILE, or drop one of them"
        )
    _refuse_same_file(settings.output, settings.input, settings.background)
    if settings.input:
        source = VideoSource(settings.input, paced=not settings.every_frame, loop=settings.loop)
    else:
        source = CameraSource(settings.camera, settings.width, settings.height, settings.fps, settings.mjpeg)
    with contextlib.ExitStack() as resources:
        resources.callback(source.release)
        _run_pipeline(settings, source, resources, optional_outputs=False)
    return 0


def run_demo(args) -> int:
    from .assets import DEMO_CLIP, bundled
    from .capture import VideoSource

    if not 0 < args.seconds <= 86400:
        raise WebcamBlurError(f"--seconds must be between 0 and 86400, not {args.seconds:g}")
    settings = settings_from_args(args, base={"output": DEMO_OUTPUT})
    clip = bundled(DEMO_CLIP)
    if not clip.is_file():
        raise WebcamBlurError(f"the demo clip is missing from the installed package ({clip}); reinstall webcam-blur")
    source = VideoSource(str(clip), paced=True, loop=True)
    source.limit = max(1, round(args.seconds * source.fps))
    with contextlib.ExitStack() as resources:
        resources.callback(source.release)
        stats, shown_in = _run_pipeline(settings, source, resources, optional_outputs=True)
    where = " and ".join(shown_in) if shown_in else "no window and no virtual camera (none here)"
    print(
        f"webcam-blur demo: blurred the background behind the person in {stats.frames_out} frames "
        f"({args.seconds:g} s) of the demo clip, shown in {where}; video saved to {settings.output.resolve()}"
    )
    return 0


def _open_outputs(settings: Settings, source, resources: contextlib.ExitStack, optional: bool):
    """The virtual camera, the video file and the preview the settings ask for, each closed by ``resources``.

    ``optional``: a missing virtual camera or display is a notice, not an error (the demo).
    """
    from .sinks import VideoFileSink, VirtualCameraSink
    from .window import DisplayUnavailable, PreviewWindow

    sinks = []
    if settings.vcam:
        vcam = VirtualCameraSink(settings.fps, settings.vcam_device, settings.vcam_backend)
        try:
            vcam.open(*source.size)  # fail now, not after the model has loaded
            resources.callback(vcam.close)
            sinks.append(vcam)
        except WebcamBlurError:
            if not optional:
                raise
            log.info("no virtual camera here (see webcam-blur --help to add one); going on without it")
    if settings.output:
        sink = VideoFileSink(settings.output, source.fps, source.size)
        resources.callback(sink.close)
        sinks.append(sink)
    preview = None
    if settings.preview:
        try:
            preview = PreviewWindow()
            resources.callback(preview.close)
        except DisplayUnavailable as e:
            if not optional:
                raise WebcamBlurError(f"{e}; run with --no-preview") from None
            log.info("%s; going on without it", e)
    return sinks, preview


def _run_pipeline(settings: Settings, source, resources: contextlib.ExitStack, optional_outputs: bool):
    """Run the live pipeline until the input ends, ``q`` or a signal; return its stats and where it showed."""
    from .pipeline import Pipeline

    refiner, compositor = build_look(settings)
    sinks, preview = _open_outputs(settings, source, resources, optional_outputs)
    segmenter = _load_segmenter(settings)
    segmenter.prepare(*source.size)
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
    outputs = [sink.name for sink in sinks] + (["the preview window (q quits)"] if preview else [])
    log.info("running: %s -> %s; Ctrl-C stops", source.name, ", ".join(outputs))
    stop_signals = [getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT") if hasattr(signal, name)]
    previous = {sig: signal.signal(sig, lambda *_: pipeline.stop()) for sig in stop_signals}
    try:
        stats = pipeline.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if stats.first_out is not None:
        log.info("first frame out %.1f s after start", stats.first_out - STARTED)
    shown_in = [sink.name for sink in sinks if not sink.records] + (["the preview window"] if preview else [])
    return stats, shown_in


if __name__ == "__main__":
    sys.exit(main())
