"""Running the real ``webcam-blur`` command in a child process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

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
    """Every frame of a video file, decoded by OpenCV."""
    import cv2

    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            capture.release()
            return frames
        frames.append(frame)


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
