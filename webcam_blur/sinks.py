"""Where composited frames go: the preview window, the virtual camera, a video file."""

from __future__ import annotations

import logging
import os
import platform
from pathlib import Path

import cv2
import numpy as np

from .errors import WebcamBlurError

log = logging.getLogger(__name__)

SYSTEM_FONTS = "/usr/share/fonts/truetype/dejavu"
MODPROBE = 'sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label="webcam-blur"'


class PreviewWindow:
    """An OpenCV window; ``poll`` pumps its events and returns the key pressed, if any."""

    title = "webcam-blur"

    def __init__(self) -> None:
        if os.path.isdir(SYSTEM_FONTS):
            os.environ.setdefault("QT_QPA_FONTDIR", SYSTEM_FONTS)  # opencv-python's Qt ships none
        try:
            cv2.namedWindow(self.title, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO | cv2.WINDOW_GUI_NORMAL)
        except cv2.error:
            raise WebcamBlurError(
                "cannot open the preview window (no display?); run with --no-preview"
            ) from None
        self._shown = False

    def send(self, frame: np.ndarray) -> None:
        if not self._shown:
            cv2.resizeWindow(self.title, frame.shape[1], frame.shape[0])
            self._shown = True
        cv2.imshow(self.title, frame)

    def poll(self) -> int | None:
        key = cv2.waitKey(1)
        if self._shown and cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1:
            return ord("q")  # the user closed the window
        return None if key < 0 else key & 0xFF

    def close(self) -> None:
        try:
            cv2.destroyWindow(self.title)
            cv2.waitKey(1)
        except cv2.error:
            pass


class VirtualCameraSink:
    """pyvirtualcam output, opened on the first frame (its size is the camera's)."""

    def __init__(self, fps: float, device: str | None = None, backend: str | None = None) -> None:
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
            if self.device and os.path.exists(self.device):
                if not os.access(self.device, os.R_OK | os.W_OK):
                    raise WebcamBlurError(
                        f"no permission to open virtual camera {self.device}: add yourself to the 'video' group "
                        "(sudo usermod -aG video $USER) and log in again"
                    ) from None
                if opened_by_another_process(self.device):
                    raise WebcamBlurError(
                        f"virtual camera {self.device} is in use by another program writing to it; close that "
                        "program or choose another device with --vcam-device"
                    ) from None
            raise WebcamBlurError(
                f"no virtual camera{' at ' + self.device if self.device else ''} ({reason}); "
                f"on Linux load v4l2loopback with: {MODPROBE} (on Windows/macOS install OBS Studio "
                "and start its Virtual Camera once), or run with --no-vcam"
            ) from None
        log.info("virtual camera: %s (%dx%d @ %g fps)", self._camera.device, width, height, self.fps)

    def send(self, frame: np.ndarray) -> None:
        if self._camera is None:
            self.open(frame.shape[1], frame.shape[0])
        size = (self._camera.width, self._camera.height)
        if (frame.shape[1], frame.shape[0]) != size:
            frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
        self._camera.send(frame)
        self._camera.sleep_until_next_frame()

    def has_readers(self) -> bool:
        """Whether a meeting app has the device open (Linux); elsewhere that is unknown, so yes."""
        if self._camera is None or platform.system() != "Linux" or not self._camera.device.startswith("/dev/"):
            return True
        return opened_by_another_process(self._camera.device)

    def close(self) -> None:
        if self._camera is not None:
            self._camera.close()
            self._camera = None


def opened_by_another_process(path: str) -> bool:
    """Scan /proc for another process with ``path`` open (processes of other users are invisible)."""
    target, me = os.path.realpath(path), str(os.getpid())
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or pid == me:
            continue
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                    return True
            except OSError:
                continue
    return False


class VideoFileSink:
    """An MP4 (or any container OpenCV writes) of the composited frames."""

    def __init__(self, path: Path, fps: float) -> None:
        self.path = Path(path)
        self.fps = fps
        self._writer: cv2.VideoWriter | None = None
        if not self.path.parent.exists():
            raise WebcamBlurError(f"cannot write {self.path}: folder {self.path.parent} does not exist")

    def send(self, frame: np.ndarray) -> None:
        if self._writer is None:
            fourcc = cv2.VideoWriter_fourcc(*("mp4v" if self.path.suffix.lower() in (".mp4", ".m4v", ".mov") else "MJPG"))
            self._writer = cv2.VideoWriter(str(self.path), fourcc, self.fps, (frame.shape[1], frame.shape[0]))
            if not self._writer.isOpened():
                raise WebcamBlurError(f"cannot write video {self.path} (use .mp4 or .avi)")
        self._writer.write(frame)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None
