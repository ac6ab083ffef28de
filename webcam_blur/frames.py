"""Frames as the rest of the program sees them: contiguous 8-bit BGR."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from .errors import WebcamBlurError


def as_bgr(frame: np.ndarray) -> np.ndarray:
    """Turn grayscale, BGRA, 16-bit, float or boolean images into 8-bit BGR.

    Capture devices and image files hand us all of these; converting once at the edge keeps
    every later stage to a single layout.
    """
    frame = np.asarray(frame)
    if frame.ndim == 3 and frame.shape[2] == 1:
        frame = frame[:, :, 0]
    if frame.ndim not in (2, 3) or (frame.ndim == 3 and frame.shape[2] not in (3, 4)) or frame.size == 0:
        raise ValueError(f"not an image: shape {frame.shape}")
    if frame.dtype != np.uint8:
        frame = _to_uint8(frame)
    if frame.ndim == 2:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    if frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
    return np.ascontiguousarray(frame)


def decode_video(path: Path, count: int | None = None) -> list[np.ndarray]:
    """The first ``count`` frames of a video file (all of them when None); one line if none decodes."""
    capture = cv2.VideoCapture(str(path))
    frames = []
    while count is None or len(frames) < count:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    if not frames:
        raise WebcamBlurError(f"cannot decode any frame from {path}")
    return frames


def _to_uint8(frame: np.ndarray) -> np.ndarray:
    if frame.dtype == np.bool_:
        return frame.astype(np.uint8) * 255
    if np.issubdtype(frame.dtype, np.floating):
        # Floats are 0..1 by OpenCV's convention; NaN becomes black.
        unit = np.clip(np.nan_to_num(frame, nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)
        return (unit * 255.0 + 0.5).astype(np.uint8)
    if np.issubdtype(frame.dtype, np.integer):
        scale = 255.0 / np.iinfo(frame.dtype).max  # full range of the type -> 0..255
        return np.clip(frame.astype(np.float32) * scale + 0.5, 0, 255).astype(np.uint8)
    raise ValueError(f"unsupported pixel type {frame.dtype}")
