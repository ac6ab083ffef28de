"""What many tests share, written once: running the real ``webcam-blur`` command in a child
process, reading videos, measuring sharpness, and the test doubles (a camera that can be
unplugged, a pyvirtualcam backend that records, a preview that records)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

ROOT = Path(__file__).resolve().parents[1]


def app_env(env: dict | None = None, unset: tuple[str, ...] = ()) -> dict:
    """The test's environment with ``env`` on top and the ``unset`` variables removed."""
    merged = {**os.environ, **(env or {})}
    for name in unset:
        merged.pop(name, None)
    return merged


def run_app(*args: str, timeout: float = 300, unset: tuple[str, ...] = (), **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "webcam_blur", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=app_env(kwargs.pop("env", None), unset),
        **kwargs,
    )


def start_app(*args: str, unset: tuple[str, ...] = (), **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "webcam_blur", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=app_env(kwargs.pop("env", None), unset),
        **kwargs,
    )


def video_frames(path) -> list:
    """Every frame of a video file, decoded by OpenCV (the app's own decode); none from an undecodable one."""
    from webcam_blur.errors import WebcamBlurError
    from webcam_blur.frames import decode_video

    try:
        return decode_video(path)
    except WebcamBlurError:
        return []


def error_lines(stderr: str) -> list[str]:
    """The lines the app itself wrote (native libraries may add their own chatter)."""
    return [line for line in stderr.splitlines() if line.startswith("webcam-blur")]


def wait_for_line(process, needle, timeout=180.0):
    """Read the app's stderr until ``needle`` shows up (the model loads first)."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        seen.append(line)
        if needle in line:
            return
    process.kill()
    pytest.fail(f"{needle!r} never appeared; stderr was:\n{''.join(seen)}")


def find_window(display: str, timeout: float = 180.0) -> str:
    """The X id of the preview window, once it is mapped."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = subprocess.run(["xdotool", "search", "--name", "^webcam-blur$"], capture_output=True, text=True,
                               env={**os.environ, "DISPLAY": display})
        if found.stdout.strip():
            return found.stdout.split()[0]
        time.sleep(0.5)
    pytest.fail("the preview window never appeared")


def sharpness(image, region=np.s_[:, :]) -> float:
    """Variance of the Laplacian inside ``region``: high for detail, low for blur."""
    import cv2

    return cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.CV_64F)[region].var()


class ScriptedCamera:
    """A camera the test can unplug and plug back in (a ``CameraSource`` stand-in)."""

    live = True
    lost = False
    fps = 30.0
    name = "scripted camera"

    def __init__(self, frames):
        self.frames = frames
        self.size = (frames[0].shape[1], frames[0].shape[0])
        self.plugged = True
        self.reads = 0
        self.released = False

    def read(self):
        from webcam_blur.errors import SourceLost

        time.sleep(1 / self.fps)
        if not self.plugged:
            raise SourceLost("camera scripted stopped delivering frames")
        self.reads += 1
        return self.frames[self.reads % len(self.frames)]

    def reopen(self):
        return self.plugged

    def interrupt(self):
        pass

    def close(self):
        self.released = True


class RecordingBackend:
    """A pyvirtualcam backend that keeps what it is sent (register it under a test's name)."""

    instances: list = []

    def __init__(self, *, width, height, fps, fourcc, device, **kw):
        self.width, self.height, self.fps, self.fourcc = width, height, fps, fourcc
        self.frames: list = []
        self.times: list = []
        self.closed = False
        RecordingBackend.instances.append(self)

    def send(self, frame):
        self.frames.append(frame.copy())
        self.times.append(time.perf_counter())

    def close(self):
        self.closed = True

    def device(self):
        return "recording-test-camera"

    def native_fourcc(self):
        return self.fourcc


class RecordingPreview:
    """A preview window stand-in that keeps what it shows and reports ``keys`` one per poll."""

    def __init__(self, keys=()):
        self.frames = []
        self.keys = list(keys)

    def send(self, frame):
        self.frames.append(frame.copy())

    def poll(self):
        return self.keys.pop(0) if self.keys else None

    def close(self):
        pass


ANY_DTYPE = st.sampled_from([np.uint8, np.uint16, np.int16, np.float32, np.float64, np.bool_])


@st.composite
def any_frame(draw, max_side=48):
    height = draw(st.integers(1, max_side))
    width = draw(st.integers(1, max_side))
    channels = draw(st.sampled_from([None, 1, 3, 4]))
    shape = (height, width) if channels is None else (height, width, channels)
    return draw(hnp.arrays(draw(ANY_DTYPE), shape))



def press_close_button(display: str, window: str) -> None:
    """What a window manager sends when the title bar's close button is clicked: a WM_DELETE_WINDOW
    client message (ICCCM 4.2.8.1), sent here through Xlib itself since Xvfb runs no window manager."""
    import ctypes

    class ClientMessage(ctypes.Structure):
        _fields_ = [("type", ctypes.c_int), ("serial", ctypes.c_ulong), ("send_event", ctypes.c_int),
                    ("display", ctypes.c_void_p), ("window", ctypes.c_ulong), ("message_type", ctypes.c_ulong),
                    ("format", ctypes.c_int), ("data", ctypes.c_long * 5), ("pad", ctypes.c_long * 12)]

    xlib = ctypes.CDLL("libX11.so.6")
    xlib.XOpenDisplay.restype = ctypes.c_void_p
    xlib.XOpenDisplay.argtypes = [ctypes.c_char_p]
    xlib.XInternAtom.restype = ctypes.c_ulong
    xlib.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    xlib.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long,
                                ctypes.POINTER(ClientMessage)]
    xlib.XFlush.argtypes = xlib.XCloseDisplay.argtypes = [ctypes.c_void_p]
    connection = xlib.XOpenDisplay(display.encode())
    assert connection, f"cannot open display {display}"
    event = ClientMessage(type=33, window=int(window), format=32,  # 33: ClientMessage
                          message_type=xlib.XInternAtom(connection, b"WM_PROTOCOLS", False))
    event.data[0] = xlib.XInternAtom(connection, b"WM_DELETE_WINDOW", False)
    xlib.XSendEvent(connection, int(window), False, 0, ctypes.byref(event))
    xlib.XFlush(connection)
    xlib.XCloseDisplay(connection)
