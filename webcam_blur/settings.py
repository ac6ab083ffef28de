"""Every knob of a run, in one immutable place, and the one gate values pass through to get there.

Values come from a TOML config file and from command-line flags (flags win). All of them are
checked up front and every problem is reported at once, in one line.
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Callable

from .errors import WebcamBlurError


@dataclass(frozen=True)
class Settings:
    # model
    weights: Path | None = None
    backbone: str = "mobilenetv2"
    model_size: int = 512
    canvas: str = "fit"
    runtime: str = "lite"
    device: str = "auto"
    threads: int | None = None
    # look
    effect: str = "blur"
    blur: float = 60.0
    background: str | None = None
    # mask
    mask: str = "refined"
    guided: bool = True
    temporal: float = 0.7
    cleanup: bool = False
    threshold: str = "0.5"
    # source
    camera: str = "0"
    input: str | None = None
    width: int = 1280
    height: int = 720
    fps: float = 30.0
    mjpeg: bool = False
    every_frame: bool = False
    loop: bool = False
    reconnect_timeout: float = 60.0
    # sinks
    preview: bool = True
    vcam: bool = True
    vcam_device: str | None = None
    vcam_backend: str | None = None
    output: Path | None = None
    stats: bool = False


DEFAULTS = Settings()
CHOICES = {
    "backbone": ("mobilenetv2", "xception"),
    "canvas": ("fit", "square"),
    "runtime": ("lite", "keras"),
    "device": ("auto", "cpu", "gpu"),
    "effect": ("blur", "bokeh", "replace"),
    "mask": ("refined", "raw"),
}


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

    return parse


def _choice(name: str) -> Callable[[object], str]:
    def parse(value: object) -> str:
        if value not in CHOICES[name]:
            raise ValueError(f"must be one of {', '.join(CHOICES[name])}, not {value!r}")
        return str(value)

    return parse


def _text(value: object) -> str:
    if not isinstance(value, (str, int)) or isinstance(value, bool) or str(value) == "":
        raise ValueError(f"must be a non-empty text, not {value!r}")
    return str(value)


def _path(value: object) -> Path:
    # os.path's expanduser leaves an unknown ~user as it is (then "not found"); Path's raises.
    return Path(os.path.expanduser(_text(value)))


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, not {value!r}")
    return value


def _threshold(value: object) -> str:
    if value == "otsu":
        return "otsu"
    try:
        return str(_number(float, 0.01, 0.99)(value))
    except ValueError:
        raise ValueError(f"must be a number between 0.01 and 0.99 or 'otsu', not {value!r}") from None


RULES: dict[str, Callable[[object], object]] = {
    "weights": _path,
    "backbone": _choice("backbone"),
    "model_size": _number(int, 64, 2048),
    "canvas": _choice("canvas"),
    "runtime": _choice("runtime"),
    "device": _choice("device"),
    "threads": _number(int, 1, 256),
    "effect": _choice("effect"),
    "blur": _number(float, 0, 100),
    "background": _text,
    "mask": _choice("mask"),
    "guided": _flag,
    "temporal": _number(float, 0, 0.95),
    "cleanup": _flag,
    "threshold": _threshold,
    "camera": _text,
    "input": _text,
    "width": _number(int, 16, 7680),
    "height": _number(int, 16, 4320),
    "fps": _number(float, 1, 240),
    "mjpeg": _flag,
    "every_frame": _flag,
    "loop": _flag,
    "reconnect_timeout": _number(float, 0, 86400),
    "preview": _flag,
    "vcam": _flag,
    "vcam_device": _text,
    "vcam_backend": _text,
    "output": _path,
    "stats": _flag,
}
assert set(RULES) == {f.name for f in fields(Settings)}


def flag_name(key: str) -> str:
    return "--" + key.replace("_", "-")


def make_settings(values: dict[str, object], origins: dict[str, str] | None = None) -> Settings:
    """Check every value; raise one WebcamBlurError that lists every problem."""
    origins = origins or {}
    problems, checked = [], {}
    for key, value in values.items():
        where = origins.get(key, flag_name(key))
        if key not in RULES:
            problems.append(f"{where}: unknown setting")
            continue
        try:
            checked[key] = RULES[key](value)
        except ValueError as e:
            problems.append(f"{where} {e}")
    if checked.get("effect") == "replace" and not checked.get("background"):
        problems.append("--effect replace needs --background IMAGE|VIDEO|#RRGGBB")
    if problems:
        raise WebcamBlurError("; ".join(problems))
    if checked.get("background") and "effect" not in values:
        checked["effect"] = "replace"
    return Settings(**checked)


CONFIG_LIMIT = 1 << 20  # bytes; a settings file is a few lines
FILE_SETTINGS = ("weights", "output", "background", "input")  # relative paths in a config file start at its folder


@dataclass(frozen=True)
class ConfigKey:
    """A config-file key, named like its flag: ``no-preview = true`` sets ``preview`` to False."""

    setting: str
    negated: bool = False


def read_config(path: Path, keys: dict[str, ConfigKey]) -> tuple[dict[str, object], dict[str, str]]:
    """Values from a TOML file whose keys are the flags' names without dashes (``blur = 80``, ``no-vcam = true``)."""
    raw = _load_toml(Path(path))
    values, origins, unknown = {}, {}, []
    for key, value in raw.items():
        if key not in keys:
            unknown.append(key)
            continue
        name = keys[key].setting
        if keys[key].negated and isinstance(value, bool):
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
