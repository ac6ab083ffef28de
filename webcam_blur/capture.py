"""Frame sources: a webcam, a video file or stream URL standing in for one, frames in memory;
and the reconnect policy for a camera that goes away.

Each is a ``Source`` (``live/pipeline.py``).
"""

from __future__ import annotations

import logging
import os
import platform
import threading
import time
from pathlib import Path

import cv2
import numpy as np

from .devices import device_problem
from .errors import SourceLost, WebcamBlurError
from .files import native_path
from .resources import Resource

log = logging.getLogger(__name__)

LOST_AFTER_FAILED_READS = 3
STREAM_TIMEOUT_MS = 1000  # a stream silent this long is lost


class CameraSource(Resource):
    """A webcam by index (``0``) or device path (``/dev/video2``), opened at the requested mode.

    ``read`` raises :class:`SourceLost` when the camera stops delivering; :class:`Reconnecting`
    turns that into retries.
    """

    live = True
    lost = False

    def __init__(
        self,
        camera: str,
        *,
        width: int | None = None,
        height: int | None = None,
        fps: float | None = None,
        mjpeg: bool = False,
    ) -> None:
        self.name = camera
        self._request = (width, height, fps, mjpeg)
        self._capture = self._open()
        if not self._capture.isOpened():
            raise WebcamBlurError(_why_not_opened(camera))
        self.fps = self._capture.get(cv2.CAP_PROP_FPS) or fps or 30.0
        self.size = _frame_size(self._capture)
        if width and height and self.size != (width, height):
            log.warning("camera %s gave %dx%d instead of the requested %dx%d", camera, *self.size, width, height)

    def _open(self) -> cv2.VideoCapture:
        width, height, fps, mjpeg = self._request
        target: int | str = int(self.name) if self.name.isdigit() else self.name
        capture = cv2.VideoCapture(target, cv2.CAP_V4L2 if platform.system() == "Linux" else cv2.CAP_ANY)
        if not capture.isOpened():
            return capture
        if mjpeg:
            capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"MJPG"))
        if width and height:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        if fps:
            capture.set(cv2.CAP_PROP_FPS, fps)
        return capture

    def reopen(self) -> bool:
        """Try once to get the camera back after it was lost."""
        self._capture.release()
        self._capture = self._open()
        return self._capture.isOpened()

    def read(self) -> np.ndarray:
        """The next frame; a camera never ends, so failing reads mean it was lost."""
        for _ in range(LOST_AFTER_FAILED_READS):
            ok, frame = self._capture.read()
            if ok and frame is not None and frame.size:
                return frame
            time.sleep(0.05)
        raise SourceLost(f"camera {self.name} stopped delivering frames (unplugged, or taken by another app?)")

    def interrupt(self) -> None:
        pass

    def close(self) -> None:
        self._capture.release()


class Reconnecting(Resource):
    """A camera (or stream) that, once lost, is retried with backoff for ``timeout`` seconds before giving up.

    While it retries, ``read`` blocks and ``lost`` is True, so the output keeps the meeting's
    camera alive with the last picture; ``interrupt`` ends the wait at once.
    """

    def __init__(self, camera: "CameraSource | VideoSource", timeout: float) -> None:
        self.camera = camera
        self.timeout = timeout
        self.name, self.size, self.fps, self.live = camera.name, camera.size, camera.fps, camera.live
        self.lost = False
        self._interrupted = threading.Event()

    def read(self) -> np.ndarray | None:
        while not self._interrupted.is_set():
            try:
                return self.camera.read()
            except SourceLost as lost:
                self._reconnect(lost)
        return None

    def _reconnect(self, lost: SourceLost) -> None:
        self.lost = True
        log.warning("%s; reconnecting (giving up after %g s)", lost, self.timeout)
        started, delay = time.perf_counter(), 0.25
        while not self._interrupted.wait(delay):
            if self.camera.reopen():
                log.info("camera is back")
                self.lost = False
                return
            if time.perf_counter() - started >= self.timeout:
                raise WebcamBlurError(f"{lost}; gave up after {self.timeout:g} s of retrying")
            delay = min(delay * 2, 1.0)

    def interrupt(self) -> None:
        self._interrupted.set()

    def close(self) -> None:
        self.camera.close()


class VideoSource(Resource):
    """A video file or stream URL. ``paced``: deliver frames at the file's rate, like a camera.

    ``loop``: start again at the end of a file; ``limit``: end after that many frames. A stream
    that sends nothing for ``STREAM_TIMEOUT_MS`` is lost (``SourceLost``), like an unplugged
    camera, so ``Reconnecting`` retries it and a stop never waits on it for longer.
    """

    lost = False

    def __init__(self, path: str, *, paced: bool = True, loop: bool = False, limit: int | None = None) -> None:
        self.name = path
        self.stream = "://" in path
        self.loop = loop
        self.limit = limit
        self.delivered = 0
        if not self.stream and not Path(path).is_file():
            raise WebcamBlurError(f"input video not found: {path}")
        self._capture = self._open()
        if not self._capture.isOpened():
            raise WebcamBlurError(f"cannot open {path} as a video (unsupported format, corrupt file or no stream there)")
        self.fps = self._capture.get(cv2.CAP_PROP_FPS) or 30.0
        if not 1 <= self.fps <= 240:
            self.fps = 30.0
        self.size = _frame_size(self._capture)
        self.live = paced
        self._pacer = Pacer(self.fps)

    def _open(self) -> cv2.VideoCapture:
        if not self.stream:
            return cv2.VideoCapture(native_path(self.name))
        timeouts = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, 2 * STREAM_TIMEOUT_MS, cv2.CAP_PROP_READ_TIMEOUT_MSEC, STREAM_TIMEOUT_MS]
        return cv2.VideoCapture(self.name, cv2.CAP_FFMPEG, timeouts)

    def reopen(self) -> bool:
        """Try once to get a lost stream back."""
        self._capture.release()
        self._capture = self._open()
        return self._capture.isOpened()

    def read(self) -> np.ndarray | None:
        if self.limit is not None and self.delivered >= self.limit:
            return None
        ok, frame = self._capture.read()
        if not ok and self.loop and self.delivered:
            self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = self._capture.read()
        if not ok:
            if self.stream:
                raise SourceLost(f"stream {self.name} stopped delivering frames")
            return None
        if self.live:
            self._pacer.wait()
        self.delivered += 1
        return frame

    def interrupt(self) -> None:
        pass

    def close(self) -> None:
        self._capture.release()


class Pacer:
    """Releases one frame per period, like a camera's clock; after a stall it restarts instead of bursting."""

    def __init__(self, fps: float) -> None:
        self.period = 1.0 / fps
        self._next: float | None = None

    def wait(self) -> None:
        now = time.perf_counter()
        if self._next is None or now - self._next > self.period:
            self._next = now
        elif self._next > now:
            time.sleep(self._next - now)
        self._next += self.period


def _device_path(camera: str) -> str:
    return f"/dev/video{camera}" if camera.isdigit() and platform.system() == "Linux" else camera


def _why_not_opened(camera: str) -> str:
    """The reason a camera did not open, with what to do about it."""
    path = _device_path(camera)
    problem = device_problem(path, "camera", "close it (or pick another with --camera N)")
    if problem:
        return problem
    if path.startswith("/dev/") and os.path.exists(path):
        return f"camera {path} exists but cannot capture video (is it a metadata node? try --list-cameras)"
    found = ", ".join(list_cameras()) or "none"
    return (
        f"no camera could be opened at {camera!r} (tried {path}); cameras found: {found}; "
        "use --camera N, or --input FILE for a video"
    )


def _frame_size(capture: cv2.VideoCapture) -> tuple[int, int]:
    return int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))


def list_cameras(max_index: int = 10) -> list[str]:
    """Cameras that open, as ``index: WIDTHxHEIGHT``; on Linux only existing /dev/video* are probed."""
    if platform.system() == "Linux":
        indices = sorted(
            int(name[5:]) for name in os.listdir("/dev") if name.startswith("video") and name[5:].isdigit()
        )
        backend = cv2.CAP_V4L2
    else:
        indices, backend = list(range(max_index)), cv2.CAP_ANY
    found = []
    for index in indices:
        capture = cv2.VideoCapture(index, backend)
        if capture.isOpened():
            found.append("{}: {}x{}".format(index, *_frame_size(capture)))
        capture.release()
    return found


class ReplaySource(Resource):
    """Frames from memory, looped; ``paced`` delivers them at ``fps`` like a camera would.

    Benchmarks and fault-injection tests use it to drive the real pipeline with known frames.
    """

    lost = False

    def __init__(self, frames: list[np.ndarray], *, fps: float = 30.0, paced: bool = True, count: int | None = None) -> None:
        if not frames:
            raise ValueError("ReplaySource needs at least one frame")
        self.name = f"{len(frames)} frames in memory"
        self.frames = frames
        self.fps = fps
        self.live = paced
        self.size = (frames[0].shape[1], frames[0].shape[0])
        self.count = count
        self._index = 0
        self._pacer = Pacer(fps)

    def read(self) -> np.ndarray | None:
        if self.count is not None and self._index >= self.count:
            return None
        frame = self.frames[self._index % len(self.frames)]
        self._index += 1
        if self.live:
            self._pacer.wait()
        return frame

    def interrupt(self) -> None:
        pass

    def close(self) -> None:
        pass
