"""Replacement backgrounds: a colour, a picture (scaled to cover), or a looping video."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np

from ..errors import WebcamBlurError
from ..files import native_path, read_image
from ..frames import as_bgr
from ..resources import Resource

VIDEO_SUFFIXES = {".mp4", ".mkv", ".avi", ".mov", ".webm", ".m4v"}


def cover(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale to fill ``width`` x ``height`` completely, keeping the aspect ratio, and crop the overflow."""
    scale = max(width / image.shape[1], height / image.shape[0])
    scaled_w, scaled_h = max(width, round(image.shape[1] * scale)), max(height, round(image.shape[0] * scale))
    scaled = cv2.resize(image, (scaled_w, scaled_h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    x, y = (scaled_w - width) // 2, (scaled_h - height) // 2
    return np.ascontiguousarray(scaled[y : y + height, x : x + width])


class Background(Resource):
    """What goes behind the person with ``--effect replace``; ``frame`` gives a fresh array each call."""

    def __init__(self, spec: str) -> None:
        self.spec = spec
        self._image: np.ndarray | None = None
        self._video: cv2.VideoCapture | None = None
        self._sized: np.ndarray | None = None
        color = re.fullmatch(r"#([0-9a-fA-F]{6})", spec.strip())
        if color:
            r, g, b = (int(color.group(1)[i : i + 2], 16) for i in (0, 2, 4))
            self._image = np.array([[[b, g, r]]], np.uint8)
            return
        path = Path(spec)
        if not path.is_file():
            raise WebcamBlurError(f"background not found: {spec} (give an image, a video or a colour like #00ff00)")
        if path.suffix.lower() in VIDEO_SUFFIXES:
            self._video = cv2.VideoCapture(native_path(path))
            if not self._video.isOpened() or not self._video.read()[0]:
                raise WebcamBlurError(f"cannot read background video {spec}")
            self._video.set(cv2.CAP_PROP_POS_FRAMES, 0)
            return
        self._image = as_bgr(read_image(path, "background image"))

    def frame(self, width: int, height: int) -> np.ndarray:
        if self._video is not None:
            ok, picture = self._video.read()
            if not ok:  # loop
                self._video.set(cv2.CAP_PROP_POS_FRAMES, 0)
                ok, picture = self._video.read()
            if not ok:
                raise WebcamBlurError(f"background video {self.spec} stopped delivering frames")
            return cover(as_bgr(picture), width, height)
        if self._sized is None or self._sized.shape[:2] != (height, width):
            self._sized = cover(self._image, width, height)
        return self._sized.copy()

    def close(self) -> None:
        if self._video is not None:
            self._video.release()
