"""The ``webcam-blur`` command: flags -> Settings -> ``app``. Live mode (default) and the ``demo``,
``photo``, ``bench`` subcommands. Parsing only: every settings flag is generated from ``settings.py``."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path

from . import __version__, memory
from .errors import WebcamBlurError
from .settings import DECLARED, DEMO, LIVE, PHOTO, Settings, flag_of, make_settings, read_config

log = logging.getLogger("webcam_blur")

SUBCOMMANDS = ("demo", "photo", "bench", "models")
GROUPS = ("source", "output", "model", "look", "mask")
USAGE = """\
%(prog)s [OPTIONS]                 live: camera -> preview window and virtual camera
       %(prog)s demo [-o OUT.mp4] [--seconds S] [OPTIONS]   the built-in demo clip, no camera needed
       %(prog)s photo IN -o OUT [OPTIONS]    portrait-mode blur of one photo
       %(prog)s bench [OPTIONS]           speed against the naive loop
       %(prog)s models [--models-dir DIR]   the networks to choose from with --model
       (each subcommand explains its options: webcam-blur demo --help, ...)"""

LIVE_EXAMPLES = """\
examples:
  webcam-blur demo                              try it without a camera: writes webcam-blur-demo.mp4
  webcam-blur                                   blur camera 0 into the "webcam-blur" virtual camera
  webcam-blur --camera /dev/video2 --blur 80    another camera, stronger blur
  webcam-blur --input talk.mp4 --output out.mp4 --no-preview --no-vcam
  webcam-blur photo me.jpg -o portrait.jpg      portrait-mode blur of one photo (see: webcam-blur photo --help)
  webcam-blur bench                             measure speed (see: webcam-blur bench --help)

preview keys: {keys}.
Linux needs v4l2loopback for the virtual camera:
  sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label="webcam-blur"
"""


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad flags in one line instead of a usage dump."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _add_settings(parser: argparse.ArgumentParser, command: str, skip: tuple[str, ...] = ()) -> None:
    """One flag per setting that applies to ``command``, in its group; values are checked later (settings.py)."""
    groups = {name: parser.add_argument_group(name) for name in GROUPS}
    for name, declared in DECLARED.items():
        meta = declared.metadata
        if command not in meta["commands"] or name in skip:
            continue
        text = meta["photo_help"] if command == PHOTO and meta["photo_help"] else meta["help"]
        kwargs: dict = {"dest": name, "default": argparse.SUPPRESS}
        if isinstance(declared.default, bool):
            kwargs["action"] = "store_false" if flag_of(name).startswith("--no-") else "store_true"
        else:
            choices = getattr(meta["rule"], "choices", None)
            metavar = meta["photo_metavar"] if command == PHOTO and meta["photo_metavar"] else meta["metavar"]
            kwargs["metavar"] = metavar or "{" + ",".join(choices) + "}"
            if meta["show_default"]:
                default = declared.default
                text += f" (default: {default:g})" if isinstance(default, float) else f" (default: {default})"
        groups[meta["group"]].add_argument(flag_of(name), help=text, **kwargs)
    general = parser.add_argument_group("general")
    general.add_argument("--config", type=Path, metavar="FILE.toml",
                         help="read settings from a TOML file whose keys are the flags' names (blur = 80, "
                         "model-size = 385, no-preview = true); relative paths in it start at its folder; "
                         "flags given on the command line win")
    general.add_argument("--log-level", choices=("debug", "info", "warning", "error"), default="info",
                         help="how much to log on stderr (default: %(default)s)")


def live_parser() -> argparse.ArgumentParser:
    from .live.controls import Controls

    parser = _Parser(
        prog="webcam-blur",
        usage=USAGE,
        description="Blur the background of your webcam in real time with DeepLabv3+, "
        "and send the result to a virtual camera that Teams, Zoom or Meet can select.",
        epilog=LIVE_EXAMPLES.format(keys=Controls.HELP),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--list-cameras", action="store_true", help="list the cameras that can be opened and exit")
    _add_settings(parser, LIVE)
    return parser


def demo_parser() -> argparse.ArgumentParser:
    from .app import DEMO_OUTPUT

    parser = _Parser(
        prog="webcam-blur demo",
        description="See webcam-blur work without a camera: a short clip that ships with the package is played "
        "as a 30 fps camera (looped) through the real live pipeline. The result is shown in the preview window "
        "when a display answers, sent to the virtual camera when one exists, and always written to a video file.",
    )
    parser.add_argument("-o", "--output", dest="output", metavar="OUT.mp4", default=argparse.SUPPRESS,
                        help=f"where to write the result (default: {DEMO_OUTPUT} in the current folder)")
    parser.add_argument("--seconds", type=float, default=10.0, metavar="S",
                        help="how long to play the clip, looping it (default: %(default)g; q in the preview ends it sooner)")
    _add_settings(parser, DEMO, skip=("output",))
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
    _add_settings(parser, PHOTO)
    return parser


NOT_SETTINGS = {"config", "log_level", "list_cameras", "image", "photo_output", "save_mask", "seconds"}


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


NO_CAMERAS = (
    "no cameras found: check that one is plugged in and that you may open it (ls -l /dev/video*; "
    "sudo usermod -aG video $USER, then log in again), see what v4l2-ctl --list-devices shows, "
    "or play a video instead with --input FILE (or try webcam-blur demo)"
)


def _live(args) -> int:
    from . import app
    from .capture import list_cameras

    if args.list_cameras:
        cameras = list_cameras()
        print("\n".join(cameras) if cameras else NO_CAMERAS)
        return 0
    app.run_live(settings_from_args(args))
    return 0


def models_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="webcam-blur models",
        description="The segmentation networks to choose from with --model (and the depth network of --effect "
        "depth): license, where the file is, and speed and quality as measured on this project's shared test sets "
        "(a 2-core laptop-class CPU).",
    )
    parser.add_argument("--models-dir", type=Path, metavar="DIR",
                        help="folder of model files under their published names (default: $WEBCAM_BLUR_MODELS)")
    parser.add_argument("--log-level", default="warning", choices=("debug", "info", "warning", "error"),
                        help=argparse.SUPPRESS)
    return parser


def _models(args) -> int:
    from .models.auto import AUTO, MEASURED as AUTO_MEASURED, PORTRAIT, WIDE
    from .models.registry import DEFAULT_MODEL, MODELS
    from .models.tcmonodepth import DEPTH
    from .models.weights import local_copy

    def where(source) -> str:
        path = local_copy(source, args.models_dir)
        return f"{path} ({path.stat().st_size / 1e6:.1f} MB)" if path else f"downloaded on first use from {source.url}"

    for name, spec in MODELS.items():
        kind = "Keras model, run as a LiteRT export" if spec.keras else "its own TFLite file, run by LiteRT (not a Keras model)"
        print(f"{name}{' (default)' if name == DEFAULT_MODEL else ''}: {spec.summary}")
        print(f"    {kind}; license {spec.license}")
        print(f"    file: {where(spec.weights)}")
        if spec.measured:
            print(f"    measured: {spec.measured}")
    print(f"{AUTO}{' (default)' if AUTO == DEFAULT_MODEL else ''}: {WIDE} or {PORTRAIT}, whichever suits the "
          f"framing, one per frame (models/auto.py); without {PORTRAIT}'s file (offline, not downloaded yet), {WIDE} alone")
    print(f"    measured: {AUTO_MEASURED}")
    print("\nand for --effect depth: TCMonoDepth small, relative depth (not a segmentation network)")
    print("    Keras model (from its published ONNX file), run as a LiteRT export; license MIT")
    print(f"    file: {where(DEPTH)}")
    return 0


def _demo(args) -> int:
    from . import app

    print(app.run_demo(settings_from_args(args, base={"output": app.DEMO_OUTPUT}), args.seconds))
    return 0


def _photo(args) -> int:
    from . import app

    app.run_photo(settings_from_args(args), args.image, args.photo_output, args.save_mask)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if hasattr(signal, "SIGXFSZ"):  # over a file size limit, a write should fail (and be reported), not kill us
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    command = argv[0] if argv and argv[0] in SUBCOMMANDS else "live"
    if command == "bench":
        from .bench import main as bench_main

        return bench_main(argv[1:])
    parsers = {"live": live_parser, "demo": demo_parser, "photo": photo_parser, "models": models_parser}
    args = parsers[command]().parse_args(argv if command == "live" else argv[1:])
    _configure_logging(args.log_level)
    try:
        return {"live": _live, "demo": _demo, "photo": _photo, "models": _models}[command](args)
    except WebcamBlurError as e:
        print(f"webcam-blur: error: {e}", file=sys.stderr)
        return 1
    except (MemoryError, ImportError, OSError) as e:
        if not memory.short_of_memory(e):
            raise
        print(f"webcam-blur: error: out of memory ({' '.join(str(e).split())}); close other programs or "
              "raise the limit (ulimit -v)", file=sys.stderr)
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

