"""Running the real ``webcam-blur`` command in a child process."""

from __future__ import annotations

import os
import subprocess
import sys


def run_app(*args: str, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "webcam_blur", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **kwargs.pop("env", {})},
        **kwargs,
    )


def start_app(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "webcam_blur", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **kwargs.pop("env", {})},
        **kwargs,
    )


def error_lines(stderr: str) -> list[str]:
    """The lines the app itself wrote (native libraries may add their own chatter)."""
    return [line for line in stderr.splitlines() if line.startswith("webcam-blur")]
