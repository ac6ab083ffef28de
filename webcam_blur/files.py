"""User files in and out (photos, backgrounds, videos): checked before native code sees them.

OpenCV's image reader crashed the process (SIGSEGV) on a file name that is not valid UTF-8, so
images are read and written through Python (``np.fromfile`` + ``imdecode``, ``imencode`` +
``write_bytes``), and a name OpenCV must open itself (a video) is refused in one line when it
cannot be passed on.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import cv2
import numpy as np

from .errors import WebcamBlurError

MAX_IMAGE_BYTES = 256 << 20  # larger than any photo a camera takes


def shown(path: str | Path) -> str:
    """The path as it can be printed (undecodable bytes escaped)."""
    return str(path).encode("utf-8", "backslashreplace").decode("utf-8")


def native_path(path: str | Path) -> str:
    """``path`` as a string that native libraries can take; a name that is not UTF-8 is refused."""
    text = str(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise WebcamBlurError(f"the file name {shown(path)} is not valid UTF-8; rename the file") from None
    return text


def read_image(path: Path, what: str = "image") -> np.ndarray:
    """An image file as OpenCV decodes it (any depth and channels), or one line saying why not."""
    if not path.is_file():
        raise WebcamBlurError(f"{what} not found: {shown(path)}")
    size = path.stat().st_size
    if size > MAX_IMAGE_BYTES:
        raise WebcamBlurError(f"{what} {shown(path)} is too large ({size >> 20} MB)")
    try:
        data = np.fromfile(path, np.uint8)
    except OSError as e:
        raise WebcamBlurError(f"cannot read {what} {shown(path)}: {e.strerror}") from None
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None:
        raise WebcamBlurError(f"cannot read {what} {shown(path)} as an image")
    return image


def write_image(path: Path, image: np.ndarray) -> None:
    """Write ``image`` in the format its name asks for (.png, .jpg, ...), or one line saying why not."""
    try:
        ok, encoded = cv2.imencode(path.suffix or ".png", image)
    except cv2.error:
        ok = False
    if not ok:
        raise WebcamBlurError(f"cannot write {shown(path)}: use a .png or .jpg name")
    # Written beside it and renamed: a full disk must not leave half a file where the user's was.
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_bytes(encoded.tobytes())
        os.replace(partial, path)
    except OSError as e:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        raise WebcamBlurError(f"cannot write {shown(path)}: {e.strerror}") from None
