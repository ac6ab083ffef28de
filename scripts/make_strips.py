"""Make the README's before/after strips with the product itself (``webcam-blur`` in a child process).

    python scripts/make_strips.py [--shared ../shared] [--out docs]

- ``depth.jpg``: a shared photo, ``--effect blur``, ``--effect depth`` (``webcam-blur photo``);
- ``framing.jpg``: the shipped demo clip shown small in a wider room, without and with ``--framing auto``;
- ``lighten.jpg``: the demo clip darkened to 35 % of its light, without and with ``--lighten auto``.

The clips are written first (lossless FFV1), then run through ``webcam-blur --input CLIP --output
OUT --every-frame``; a strip shows the last frame, where the framing has settled.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from webcam_blur.frames import decode_video
from webcam_blur.live.overlay import draw_label

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT / "webcam_blur" / "assets" / "again.mkv"
APP = [sys.executable, "-m", "webcam_blur"]


def _write(path: Path, frames: list[np.ndarray]) -> None:
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"FFV1"), 30, (width, height))
    for frame in frames:
        writer.write(frame)
    writer.release()


def _run(*args: str) -> None:
    result = subprocess.run([*APP, *args], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"webcam-blur {' '.join(args)} failed: {result.stderr.strip()}")


def _through_app(frames: list[np.ndarray], folder: Path, name: str, *flags: str) -> np.ndarray:
    """The last frame of ``frames`` as the app writes it with ``flags`` (and without, for the 'before')."""
    source, out = folder / f"{name}.mkv", folder / f"{name}-out.mkv"
    _write(source, frames)
    _run("--input", str(source), "--output", str(out), "--every-frame", "--no-preview", "--no-vcam", *flags)
    return decode_video(out)[-1]


def _label(image: np.ndarray, text: str) -> np.ndarray:
    image = image.copy()
    draw_label(image, text, (12, 32), 0.9)  # the preview's legible text
    return image


def _strip(path: Path, panels: list[tuple[np.ndarray, str]], height: int = 360) -> None:
    scaled = [_label(cv2.resize(image, (round(image.shape[1] * height / image.shape[0]), height),
                                interpolation=cv2.INTER_AREA), text) for image, text in panels]
    cv2.imwrite(str(path), np.hstack(scaled), [cv2.IMWRITE_JPEG_QUALITY, 85])
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    models = str(args.shared / "models")
    clip = decode_video(CLIP)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        photo = args.shared / "images" / "grace_hopper.bmp"
        looks = {}
        for effect in ("blur", "depth"):
            looks[effect] = folder / f"{effect}.png"
            _run("photo", str(photo), "--effect", effect, "--models-dir", models, "-o", str(looks[effect]))
        _strip(args.out / "depth.jpg", [(cv2.imread(str(photo)), "input"),
                                        (cv2.imread(str(looks["blur"])), "--effect blur"),
                                        (cv2.imread(str(looks["depth"])), "--effect depth")])

        def small(frame: np.ndarray) -> np.ndarray:
            room = cv2.GaussianBlur(cv2.resize(frame, (960, 540)), (0, 0), 30)
            room[270:, 520:880] = cv2.resize(frame, (360, 270), interpolation=cv2.INTER_AREA)
            return room

        far = [small(frame) for frame in clip]
        _strip(args.out / "framing.jpg", [(_through_app(far, folder, "far"), "default"),
                                          (_through_app(far, folder, "far", "--framing", "auto"), "--framing auto")])
        dark = [cv2.convertScaleAbs(frame, alpha=0.35) for frame in clip]
        _strip(args.out / "lighten.jpg", [(_through_app(dark, folder, "dark"), "default (a dim room)"),
                                          (_through_app(dark, folder, "dark", "--lighten", "auto"), "--lighten auto")])


if __name__ == "__main__":
    main()
