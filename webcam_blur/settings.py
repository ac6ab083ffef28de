"""Every knob of a run, declared once: its default, its rule, its help, its group and the commands it applies to.

The command-line flags (``cli.py``), the config-file keys (the flags' names without dashes) and
the validation are all generated from the declarations below. Values come from a TOML config
file and from flags (flags win); all are checked up front and every problem is reported at once,
in one line.
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Callable

from .errors import WebcamBlurError
from .look.effects import EFFECTS
from .look.lighten import AUTO
from .models.auto import AUTO as AUTO_MODEL, PORTRAIT, WIDE
from .models.registry import DEFAULT_MODEL, MODELS

LIVE, DEMO, PHOTO = "live", "demo", "photo"
EVERYWHERE = frozenset({LIVE, DEMO, PHOTO})
RUNNING = frozenset({LIVE, DEMO})  # the live pipeline: camera or demo clip
CANVASES = ("fit", "square")
RUNTIMES = ("lite", "int8", "keras")
DEVICES = ("auto", "cpu", "gpu")
MASKS = ("refined", "raw")


def _number(kind: type, low: float, high: float) -> Callable[[object], float]:
    def parse(value: object):
        if isinstance(value, bool):
            raise ValueError(f"must be a number, not {value!r}")
        try:
            number = kind(value)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"must be a number, not {value!r}") from None
        if kind is int and isinstance(value, float) and not value.is_integer():
            raise ValueError(f"must be a whole number, not {value!r}")
        if isinstance(number, float) and not math.isfinite(number) or not low <= number <= high:
            raise ValueError(f"must be between {low:g} and {high:g}, not {value}")
        return number

    parse.range = f"{low:g}-{high:g}"  # type: ignore[attr-defined]
    return parse


def _choice(*choices: str) -> Callable[[object], str]:
    def parse(value: object) -> str:
        if value not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}, not {value!r}")
        return str(value)

    parse.choices = choices  # type: ignore[attr-defined]
    return parse


def _text(value: object) -> str:
    if not isinstance(value, (str, int)) or isinstance(value, bool) or str(value) == "":
        raise ValueError(f"must be a non-empty text, not {value!r}")
    return str(value)


def _path(value: object) -> Path:
    # os.path's expanduser leaves an unknown ~user as it is (then "not found"); Path's raises.
    return Path(os.path.expanduser(_text(value)))


def _switch(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, not {value!r}")
    return value


def _threshold(value: object) -> float | str:
    if value == "otsu":
        return "otsu"
    try:
        return _number(float, 0.01, 0.99)(value)
    except ValueError:
        raise ValueError(f"must be a number between 0.01 and 0.99 or 'otsu', not {value!r}") from None


def _lighten(value: object) -> float | str:
    if value in (AUTO, "off"):
        return str(value)
    try:
        return _number(float, 0, 100)(value)
    except ValueError:
        raise ValueError(f"must be auto, off or a number between 0 and 100, not {value!r}") from None


def option(
    default,
    rule: Callable[[object], object],
    help: str,
    *,
    group: str,
    flag: str | None = None,
    metavar: str | None = None,
    commands: frozenset = EVERYWHERE,
    photo_help: str | None = None,
    photo_metavar: str | None = None,
    show_default: bool = True,
):
    """A setting's one declaration; ``flag`` defaults to ``--name-with-dashes`` (a ``--no-`` flag turns it off)."""
    return field(
        default=default,
        metadata={
            "rule": rule, "help": help, "group": group, "flag": flag, "metavar": metavar,
            "commands": commands, "photo_help": photo_help, "photo_metavar": photo_metavar,
            "show_default": show_default,
        },
    )


@dataclass(frozen=True)
class Settings:
    # model
    model: str = option(DEFAULT_MODEL, _choice(*MODELS, AUTO_MODEL), "segmentation network: " + "; ".join(
        f"{name}: {spec.summary}" for name, spec in MODELS.items()) + f"; {AUTO_MODEL}: {WIDE} or {PORTRAIT}, whichever "
        "suits the framing (a head and shoulders: the second), one per frame; until the second's file is downloaded "
        "(on first use), the first alone", group="model")
    weights: Path | None = option(None, _path, "weights file for the network: its published .tflite, a Keras "
                                  ".weights.h5, or a reference DeepLabv3+ .h5 (default: the published file; "
                                  f"{WIDE}'s ships with the package); without --model it is for {WIDE}", group="model", metavar="PATH",
                                  show_default=False)
    models_dir: Path | None = option(None, _path, "folder of model files under their published names, looked in "
                                     "(hash-checked) before any download (default: $WEBCAM_BLUR_MODELS)",
                                     group="model", metavar="DIR", show_default=False)
    model_size: int = option(512, _number(int, 64, 2048), "the frame's long side as the network sees it; smaller "
                             "is faster and coarser", group="model", metavar="N")
    canvas: str = option("fit", _choice(*CANVASES), "network input: fit pads the frame only up to the nearest "
                         "16:9, 4:3 or square shape (a 720p frame runs at 512x288, ~2x faster); square pads it to "
                         "N x N", group="model")
    runtime: str = option("lite", _choice(*RUNTIMES), "lite: a LiteRT export of the Keras model run by XNNPACK "
                          "(fast; built once per frame shape and cached, after which TensorFlow is not even "
                          "loaded); int8: the same export quantized to 8 bits (about half the network's time, "
                          "mask IoU 0.987 against lite; its first build takes ~30 s longer); keras: TensorFlow "
                          "directly", group="model")
    device: str = option("auto", _choice(*DEVICES), "where inference runs: auto uses a GPU when TensorFlow sees "
                         "one, else the CPU", group="model")
    threads: int | None = option(None, _number(int, 1, 256), "CPU threads for inference (default: all cores)",
                                 group="model", metavar="N", show_default=False)
    motion_gate: bool = option(True, _switch, "run the network on the newest frame all the time, even while the "
                               "picture is still (by default it runs only where the picture changed, and refreshes "
                               "a still picture's mask twice a second)", group="model", flag="--no-motion-gate",
                               commands=RUNNING)
    # look
    effect: str = option("blur", _choice(*EFFECTS), "what is behind you: " + "; ".join(
        f"{name}: {effect.help}" for name, effect in EFFECTS.items()), group="look")
    strength: float = option(60.0, _number(float, 0, 100), "effect strength, relative to the frame size; 0 turns "
                             "blurring off", group="look", flag="--blur", metavar="0-100")
    background: str | None = option(None, _text, "replacement background: a picture (scaled to cover), a video "
                                    "(looped) or a colour; implies --effect replace", group="look",
                                    metavar="IMAGE|VIDEO|#RRGGBB", show_default=False,
                                    photo_help="replacement background: a picture (scaled to cover) or a colour; "
                                    "implies --effect replace", photo_metavar="IMAGE|#RRGGBB")
    lighten: float | str = option("off", _lighten, "lift an underexposed person (a luma curve through the mask, "
                                  "highlights and skin hue kept, the background untouched): auto lifts as much as "
                                  "the person's brightness needs, 0-100 a fixed amount; l toggles it",
                                  group="look", metavar="auto|off|0-100")
    framing: str = option("off", _choice("off", "auto"), "auto: the picture follows you, a crop that keeps you centred "
                          "with head room, moving smoothly (at most 1.6x magnified; the whole picture when no one is "
                          "there); f toggles it", group="look", commands=RUNNING)
    # mask
    matte: str = option("refined", _choice(*MASKS), "refined: soft, edge-aware (guided filter), steady over time; "
                       "raw: the network's argmax, feathered", group="mask", flag="--mask",
                       photo_help="refined: soft, edge-aware (guided filter); raw: the network's argmax, feathered")
    guided: bool = option(True, _switch, "refined mask without the edge-aware guided filter: the probability, "
                          "upsampled smoothly", group="mask", flag="--no-guided-filter")
    temporal: float = option(0.7, _number(float, 0, 0.95), "how strongly the mask is held steady where the picture "
                             "is still; 0 = off", group="mask", metavar="0-0.95", commands=RUNNING)
    cleanup: bool = option(False, _switch, "drop small stray blobs and fill enclosed holes in the mask", group="mask")
    threshold: float | str = option(0.5, _threshold, "person probability above which a pixel counts as person, or "
                                    "'otsu' to pick it per frame", group="mask", metavar="0-1|otsu")
    # source
    camera: str = option("0", _text, "camera index or device path", group="source", metavar="N|PATH",
                         commands={LIVE})
    input: str | None = option(None, _text, "read a video file or stream instead of a camera (played at its own "
                               "rate)", group="source", metavar="FILE|URL", commands={LIVE}, show_default=False)
    loop: bool = option(False, _switch, "with --input FILE: start again at its end (until q)", group="source",
                        commands={LIVE})
    width: int = option(1280, _number(int, 16, 7680), "capture width to ask the camera for", group="source",
                        metavar="W", commands={LIVE})
    height: int = option(720, _number(int, 16, 4320), "capture height to ask the camera for", group="source",
                         metavar="H", commands={LIVE})
    fps: float = option(30.0, _number(float, 1, 240), "camera frame rate to ask for, and the virtual camera's "
                        "output rate", group="source", metavar="FPS", commands={LIVE})
    mjpeg: bool = option(False, _switch, "ask the camera for MJPEG, which many USB cameras need for 720p at 30 fps",
                         group="source", commands={LIVE})
    every_frame: bool = option(False, _switch, "segment every frame in order instead of always the newest one (a file "
                               "recorded from a file always is: no frame is skipped)", group="source", commands={LIVE})
    reconnect_timeout: float = option(60.0, _number(float, 0, 86400), "when the camera or stream is lost, keep the virtual "
                                      "camera going and retry this long before giving up", group="source",
                                      metavar="SECONDS", commands={LIVE})
    # outputs
    preview: bool = option(True, _switch, "do not open the preview window", group="output",
                           flag="--no-preview", commands=RUNNING)
    vcam: bool = option(True, _switch, "do not send to a virtual camera", group="output", flag="--no-vcam",
                        commands=RUNNING)
    vcam_device: str | None = option(None, _text, "virtual camera device, e.g. /dev/video10 (default: the first "
                                     "free one)", group="output", metavar="DEVICE", commands=RUNNING,
                                     show_default=False)
    vcam_backend: str | None = option(None, _text, "pyvirtualcam backend: v4l2loopback, obs, unitycapture "
                                      "(default: the platform's)", group="output", metavar="NAME", commands=RUNNING,
                                      show_default=False)
    output: Path | None = option(None, _path, "also write the result to a video file (.mp4: H.264 where OpenCV can "
                                 "encode it; .mkv, .avi)", group="output", metavar="FILE", commands=RUNNING,
                                 show_default=False)
    stats: bool = option(False, _switch, "show output fps, mask Hz and inference ms in the preview, and log them "
                         "every second", group="output", commands=RUNNING)


DEFAULTS = Settings()
DECLARED = {f.name: f for f in fields(Settings)}


def flag_of(name: str) -> str:
    """The command-line flag of a setting."""
    return DECLARED[name].metadata["flag"] or "--" + name.replace("_", "-")


def flag_name(key: str) -> str:
    return flag_of(key) if key in DECLARED else "--" + key.replace("_", "-")


def make_settings(values: dict[str, object], origins: dict[str, str] | None = None) -> Settings:
    """Check every value; raise one WebcamBlurError that lists every problem."""
    origins = origins or {}
    problems, checked = [], {}
    for key, value in values.items():
        where = origins.get(key, flag_name(key))
        if key not in DECLARED:
            problems.append(f"{where}: unknown setting")
            continue
        try:
            checked[key] = DECLARED[key].metadata["rule"](value)
        except ValueError as e:
            problems.append(f"{where} {e}")
    effect = EFFECTS.get(checked.get("effect", DEFAULTS.effect))
    if effect is not None and effect.needs_background and not checked.get("background"):
        problems.append(f"--effect {effect.name} needs --background IMAGE|VIDEO|#RRGGBB")
    if checked.get("model") == AUTO_MODEL and checked.get("weights"):
        problems.append(f"--weights names one network's file: not with --model {AUTO_MODEL} (use --models-dir)")
    if problems:
        raise WebcamBlurError("; ".join(problems))
    if checked.get("weights") and "model" not in values:
        checked["model"] = WIDE  # the default picks between two networks; a weights file is for the Keras one
    if checked.get("background") and "effect" not in values:
        checked["effect"] = next(name for name, e in EFFECTS.items() if e.needs_background)
    return Settings(**checked)


CONFIG_LIMIT = 1 << 20  # bytes; a settings file is a few lines
FILE_SETTINGS = ("weights", "models_dir", "output", "background", "input")  # relative paths in a config file start at its folder


def config_keys() -> dict[str, tuple[str, bool]]:
    """Config-file keys: each setting's flag without dashes -> (setting, negated)."""
    keys = {}
    for name, declared in DECLARED.items():
        flag = flag_of(name)
        keys[flag.lstrip("-")] = (name, declared.default is True and flag.startswith("--no-"))
    return keys


def read_config(path: Path) -> tuple[dict[str, object], dict[str, str]]:
    """Values from a TOML file whose keys are the flags' names without dashes (``blur = 80``, ``no-vcam = true``)."""
    raw = _load_toml(Path(path))
    keys = config_keys()
    values, origins, unknown = {}, {}, []
    for key, value in raw.items():
        if key not in keys:
            unknown.append(key)
            continue
        name, negated = keys[key]
        if negated and isinstance(value, bool):
            value = not value
        if name in FILE_SETTINGS and isinstance(value, str):
            value = _relative_to(Path(path).parent, name, value)
        values[name] = value
        origins[name] = f"{path}: {key}"
    if unknown:
        raise WebcamBlurError(
            f"config {path}: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} "
            "(keys are the flags' names without dashes, e.g. blur = 80, no-preview = true)"
        )
    return values, origins


def _load_toml(path: Path) -> dict:
    try:
        if not path.is_file():
            what = "a folder" if path.is_dir() else "not a regular file" if path.exists() else "not found"
            raise WebcamBlurError(f"cannot read config {path}: {what}")
        if path.stat().st_size > CONFIG_LIMIT:
            raise WebcamBlurError(f"config {path} is too large for a settings file ({path.stat().st_size} bytes)")
        with open(path, "rb") as f:
            return tomllib.load(f)
    except OSError as e:
        raise WebcamBlurError(f"cannot read config {path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise WebcamBlurError(f"config {path} is not UTF-8 text (a TOML file is)") from None
    except tomllib.TOMLDecodeError as e:
        raise WebcamBlurError(f"config {path} is not valid TOML: {e}") from None


def _relative_to(folder: Path, name: str, value: str) -> str:
    """A relative file path written in a config file, made relative to that file's folder."""
    expanded = os.path.expanduser(value)
    if (
        not value
        or os.path.isabs(expanded)
        or (name == "background" and value.strip().startswith("#"))
        or (name == "input" and "://" in value)
    ):
        return value
    return str(folder / expanded)

