"""Where composed frames go: the virtual camera, a video file, or nowhere (the preview is ``live/window.py``).

Each is a ``Sink`` (``live/outputs.py``): a ``name`` for the log, ``send``, ``watched``, ``close``,
and ``records``: a recording gets every composed frame and never the stand-in pictures that
keep a meeting's camera alive (the lost-camera notice, the idle keep-alive).
"""

from __future__ import annotations

import logging
import os
import platform
from pathlib import Path

import cv2
import numpy as np

from .devices import device_problem, opened_by_another_process
from .errors import WebcamBlurError
from .files import native_path
from .quiet import native_stderr_silenced
from .resources import Resource

log = logging.getLogger(__name__)

MODPROBE = 'sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label="webcam-blur"'


class VirtualCameraSink(Resource):
    """pyvirtualcam output, opened on the first frame (its size is the camera's)."""

    records = False

    def __init__(self, fps: float, *, device: str | None = None, backend: str | None = None) -> None:
        self.name = "virtual camera"
        self.fps = fps
        self.device = device
        self.backend = backend
        self._camera = None

    def open(self, width: int, height: int) -> None:
        import pyvirtualcam

        try:
            self._camera = pyvirtualcam.Camera(
                width, height, self.fps, fmt=pyvirtualcam.PixelFormat.BGR, device=self.device, backend=self.backend
            )
        except Exception as e:  # noqa: BLE001 - backends raise RuntimeError/ValueError/KeyError alike
            reason = " ".join(str(e).split())
            if isinstance(e, KeyError):
                reason = f"unknown virtual camera backend {self.backend!r}"
            problem = self.device and device_problem(
                self.device, "virtual camera", "close that program or choose another device with --vcam-device"
            )
            if problem:
                raise WebcamBlurError(problem) from None
            raise WebcamBlurError(
                f"no virtual camera{' at ' + self.device if self.device else ''} ({reason}); "
                f"on Linux load v4l2loopback with: {MODPROBE} (on Windows/macOS install OBS Studio "
                "and start its Virtual Camera once), or run with --no-vcam"
            ) from None
        self.name = f"virtual camera {self._camera.device}"
        log.info("virtual camera: %s (%dx%d @ %g fps)", self._camera.device, width, height, self.fps)

    def send(self, frame: np.ndarray) -> None:
        if self._camera is None:
            self.open(frame.shape[1], frame.shape[0])
        size = (self._camera.width, self._camera.height)
        if (frame.shape[1], frame.shape[0]) != size:
            frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
        self._camera.send(frame)
        self._camera.sleep_until_next_frame()

    def watched(self) -> bool:
        """Whether a meeting app has the device open (Linux); elsewhere that is unknown, so yes."""
        if self._camera is None or platform.system() != "Linux" or not self._camera.device.startswith("/dev/"):
            return True
        return opened_by_another_process(self._camera.device)

    def close(self) -> None:
        if self._camera is not None:
            self._camera.close()
            self._camera = None


class OutputFull(WebcamBlurError):
    """The recording's disk (or the file size limit) is about to run out."""


class VideoFileSink(Resource):
    """A video file of the composited frames: H.264 in .mp4 where the OpenCV build can encode it.

    The writer is opened up front, so a folder that cannot be written fails before the model
    loads; frames of another size (a camera that came back in another mode) are scaled to fit.

    OpenCV's writer reports no write errors: on a full disk it drops the rest of the stream and
    the MP4 index (written last) with it, so the whole file is lost. So once a second the room
    left (free space, and the process's file size limit) is checked, and the recording stops
    while there is still room to finish the file; at close the file is opened again to check it.
    """

    records = True
    CHECK_EVERY = 30  # frames between room checks: one a second at 30 fps
    RESERVE = 4 << 20  # bytes kept free for the encoder's buffers and the MP4 index

    def __init__(self, path: Path, fps: float, size: tuple[int, int]) -> None:
        self.path = Path(path)
        self.name = str(self.path)
        self.size = size
        self.fps = fps
        self.frames = 0
        if not self.path.parent.is_dir():
            raise WebcamBlurError(f"cannot write {self.path}: folder {self.path.parent} does not exist")
        self._writer, self.codec = _open_writer(self.path, fps, size)
        self._written_at_check = 0
        log.info("writing %s (%s, %dx%d at %g fps)", self.path, self.codec, *size, fps)

    def watched(self) -> bool:
        return True  # a recording wants every frame

    def send(self, frame: np.ndarray) -> None:
        if self._writer is None:
            return
        if (frame.shape[1], frame.shape[0]) != self.size:
            frame = cv2.resize(frame, self.size, interpolation=cv2.INTER_AREA)
        self._writer.write(frame)
        self.frames += 1
        if self.frames % self.CHECK_EVERY == 0:
            self._check_room()

    def _check_room(self) -> None:
        """Stop the recording (it stays playable) when the next seconds might not fit."""
        written = _size_of(self.path)
        per_check = max(written - self._written_at_check, 0)
        self._written_at_check = written
        room = room_for(self.path, written)
        if room is not None and room < self.RESERVE + 4 * per_check + 64 * self.frames:
            seconds = self.frames / self.fps
            self.close()
            raise OutputFull(
                f"{self.path}: the disk is nearly full ({room / 1e6:.1f} MB left); stopped recording "
                f"there and kept the {seconds:.0f} s already written"
            )

    def close(self) -> None:
        if self._writer is None:
            return
        self._writer.release()
        self._writer = None
        if self.frames and not _playable(self.path):
            raise WebcamBlurError(
                f"{self.path} could not be written completely (disk full or a write error); "
                "the file is damaged"
            )


def room_for(path: Path, written: int) -> int | None:
    """Bytes that may still be added to ``path``: free space, capped by the file size limit."""
    try:
        stats = os.statvfs(path.parent)
    except (OSError, AttributeError):  # AttributeError: Windows has no statvfs
        return None
    room = stats.f_bavail * stats.f_frsize
    try:
        import resource

        limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
        if limit != resource.RLIM_INFINITY:
            room = min(room, limit - written)
    except ImportError:
        pass
    return room


def _size_of(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _playable(path: Path) -> bool:
    """Whether the finished file opens and its first frame decodes."""
    if _size_of(path) == 0:
        return False
    with native_stderr_silenced():
        capture = cv2.VideoCapture(native_path(path))
        try:
            return capture.isOpened() and capture.read()[0]
        finally:
            capture.release()


CODECS = {  # container -> (fourcc, name) to try in order
    ".mp4": (("avc1", "H.264"), ("mp4v", "MPEG-4 part 2")),
    ".m4v": (("avc1", "H.264"), ("mp4v", "MPEG-4 part 2")),
    ".mov": (("avc1", "H.264"), ("mp4v", "MPEG-4 part 2")),
    ".mkv": (("avc1", "H.264"), ("MJPG", "Motion JPEG")),
    ".avi": (("MJPG", "Motion JPEG"),),
}


def _open_writer(path: Path, fps: float, size: tuple[int, int]) -> tuple[cv2.VideoWriter, str]:
    codecs = CODECS.get(path.suffix.lower())
    if codecs is None:
        raise WebcamBlurError(f"cannot write video {path}: use a .mp4, .mkv or .avi name")
    for fourcc, name in codecs:
        with native_stderr_silenced():  # FFmpeg reports each encoder it cannot use
            writer = cv2.VideoWriter(native_path(path), cv2.VideoWriter_fourcc(*fourcc), fps, size)
        if writer.isOpened():
            return writer, name
        writer.release()
    raise WebcamBlurError(f"cannot write video {path} (is the folder writable?)")


class NullSink(Resource):
    """Drops every frame: for benchmarks, soak runs and tests. ``watched=False`` stands for a
    virtual camera that no meeting app has open (the app should idle)."""

    records = False

    def __init__(self, watched: bool = True, name: str = "nowhere") -> None:
        self.name = name
        self.audience = watched  # tests change it to stand for a meeting app opening the camera
        self.frames = 0

    def send(self, frame: np.ndarray) -> None:
        self.frames += 1

    def watched(self) -> bool:
        return self.audience

    def close(self) -> None:
        pass
