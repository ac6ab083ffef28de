"""The preview window, drawn by a child process so that a dying display cannot take the app with it.

OpenCV's window backend (Qt over X11) aborts the whole process (SIGABRT) when no display answers
or when the X connection breaks mid-run (X server killed, ``xkill``). In a child process only the
preview dies: the app sees it go, finalises every output and says so in one line. Frames travel
through shared memory (one copy, ~0.3 ms for 720p); the child answers each one when it is on
screen, and frames that arrive before that are not shown (the preview may drop frames, the
virtual camera and files never do). Keys come back as lines on the child's stdout; on each side
a small reader thread turns the pipe into a queue (select() does not work on Windows pipes).

Run as ``python -m webcam_blur.live.window`` only by :class:`PreviewWindow`.
"""

from __future__ import annotations

import os
import platform
import queue
import signal
import subprocess
import sys
import threading
from collections import deque
from multiprocessing import resource_tracker, shared_memory

import numpy as np

from ..errors import WebcamBlurError
from ..resources import Resource

TITLE = "webcam-blur"
START_TIMEOUT = 30.0  # importing OpenCV and connecting to the display; seconds
SYSTEM_FONTS = "/usr/share/fonts/truetype/dejavu"
CLOSE_KEY = ord("q")


class DisplayUnavailable(WebcamBlurError):
    """No display could show the preview window."""


class DisplayLost(WebcamBlurError):
    """The preview window's display went away while it was open."""


def display_problem() -> str | None:
    """Why no window can be opened here, found without touching a display library; None if it may."""
    if platform.system() != "Linux":
        return None
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        return "no display (DISPLAY is not set)"
    return None


class PreviewWindow(Resource):
    """The preview, shown by a child process; ``poll`` returns the key pressed, if any.

    Raises :class:`DisplayUnavailable` when no window can be opened, and :meth:`poll` raises
    :class:`DisplayLost` when the display goes away.
    """

    name = "preview window"

    def __init__(self) -> None:
        problem = display_problem()
        if problem:
            raise DisplayUnavailable(f"cannot open the preview window: {problem}")
        env = dict(os.environ)
        if os.path.isdir(SYSTEM_FONTS):
            env.setdefault("QT_QPA_FONTDIR", SYSTEM_FONTS)  # opencv-python's Qt ships none
        self._child = subprocess.Popen(
            [sys.executable, "-m", "webcam_blur.live.window"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        self._memory: shared_memory.SharedMemory | None = None
        self._busy = False  # a frame was sent and not yet answered
        self._keys: deque[int] = deque()
        self._closed_by_user = False
        self._replies = _lines_of(self._child.stdout, "webcam-blur-preview-replies")
        try:
            reply = self._replies.get(timeout=START_TIMEOUT)
        except queue.Empty:
            reply = None
        if reply != "ready":
            self._kill()
            where = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
            raise DisplayUnavailable(f"cannot open the preview window: the display {where} does not answer")

    def send(self, frame: np.ndarray) -> None:
        """Show ``frame`` unless the previous one is still being drawn (then this one is dropped)."""
        if self._busy or self._child.poll() is not None:
            return
        if self._memory is None or self._memory.size < frame.nbytes:
            self._release_memory()
            self._memory = shared_memory.SharedMemory(create=True, size=frame.nbytes)
        np.ndarray(frame.shape, np.uint8, self._memory.buf)[...] = frame
        height, width = frame.shape[:2]
        if self._write(f"frame {self._memory.name} {height} {width}\n"):
            self._busy = True

    def _write(self, line: str) -> bool:
        try:
            self._child.stdin.write(line.encode())
            self._child.stdin.flush()
            return True
        except (BrokenPipeError, OSError, ValueError):
            return False

    def poll(self) -> int | None:
        """The next key pressed (``q`` once the window was closed); raises DisplayLost if the child died."""
        while not self._replies.empty():
            line = self._replies.get()
            if line is None:
                break
            if line == "shown":
                self._busy = False
            elif line == "closed":
                self._closed_by_user = True
                self._keys.append(CLOSE_KEY)
            elif line.startswith("key "):
                self._keys.append(int(line[4:]))
        if self._keys:
            return self._keys.popleft()
        if not self._closed_by_user and self._child.poll() is not None:
            raise DisplayLost("the preview window's display went away (X server stopped?); stopped")
        return None

    def close(self) -> None:
        if self._child.poll() is None:
            self._write("close\n")
            try:
                self._child.wait(timeout=1.0)
            except subprocess.TimeoutExpired:
                self._kill()
        self._release_memory()
        for pipe in (self._child.stdin, self._child.stdout):
            try:
                pipe.close()
            except OSError:
                pass

    def _kill(self) -> None:
        self._child.kill()
        self._child.wait()

    def _release_memory(self) -> None:
        if self._memory is not None:
            self._memory.close()
            self._memory.unlink()
            self._memory = None


def _lines_of(pipe, name: str) -> queue.SimpleQueue:
    """Lines read from ``pipe`` by a daemon thread; None once it closes."""
    lines: queue.SimpleQueue = queue.SimpleQueue()

    def pump() -> None:
        try:
            for raw in iter(pipe.readline, b""):
                lines.put(raw.decode(errors="replace").strip())
        except (OSError, ValueError):
            pass
        lines.put(None)

    threading.Thread(target=pump, name=name, daemon=True).start()
    return lines


def _attach(name: str) -> shared_memory.SharedMemory:
    """Open the parent's shared memory without letting this process's exit unlink it."""
    memory = shared_memory.SharedMemory(name=name)
    if sys.version_info < (3, 13):  # 3.13 has track=False; before, opening registers it for unlinking
        resource_tracker.unregister(memory._name, "shared_memory")  # noqa: SLF001
    return memory


# The child process ---------------------------------------------------------------------------


def _serve() -> int:
    """Open the window, then show frames and report keys until told to close or the window is closed."""
    import cv2

    # Ctrl-C, Ctrl-\ and a closed terminal reach the whole process group: the app stops and closes
    # this window itself, so a signal here must not look like a lost display.
    for name in ("SIGINT", "SIGQUIT", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)

    def say(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    cv2.namedWindow(TITLE, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO | cv2.WINDOW_GUI_NORMAL)
    cv2.waitKey(1)
    say("ready")
    sized = False
    memories: dict[str, shared_memory.SharedMemory] = {}
    requests = _lines_of(sys.stdin.buffer, "requests")
    while True:
        try:
            request = requests.get(timeout=0.005)
        except queue.Empty:
            request = "idle"
        line = (request or "close").split()  # None: the app is gone
        if not line or line[0] == "close":
            break
        if line[0] == "frame":
            name, height, width = line[1], int(line[2]), int(line[3])
            if name not in memories:
                memories[name] = _attach(name)
            frame = np.ndarray((height, width, 3), np.uint8, memories[name].buf)
            if not sized:
                cv2.resizeWindow(TITLE, width, height)
                sized = True
            cv2.imshow(TITLE, frame)
            del frame
            say("shown")
        key = cv2.waitKey(1)
        if key >= 0:
            say(f"key {key & 0xFF}")
        try:
            visible = cv2.getWindowProperty(TITLE, cv2.WND_PROP_VISIBLE)
        except cv2.error:
            visible = 0
        if sized and visible < 1:
            say("closed")
            break
    for memory in memories.values():
        memory.close()
    try:
        cv2.destroyAllWindows()
        cv2.waitKey(1)
    except cv2.error:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(_serve())
