"""Every knob of a run, in one immutable place."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    # model
    weights: Path | None = None
    backbone: str = "mobilenetv2"
    model_size: int = 512
    runtime: str = "lite"
    threads: int | None = None
    device: str = "auto"
    # look
    blur: float = 60.0
    effect: str = "blur"
    background: str | None = None
    # mask
    mask: str = "refined"
    temporal: float = 0.7
    cleanup: bool = False
    threshold: str = "0.5"
    # source
    camera: str = "0"
    input: str | None = None
    width: int | None = 1280
    height: int | None = 720
    fps: float = 30.0
    mjpeg: bool = False
    every_frame: bool = False
    # sinks
    preview: bool = True
    vcam: bool = True
    vcam_device: str | None = None
    output: Path | None = None
    stats: bool = False
