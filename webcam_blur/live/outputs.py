"""Where each composed frame goes: every sink and the preview, and the stand-in pictures that keep
a meeting's camera alive while the real ones do not come (idle, or the camera lost)."""

from __future__ import annotations

import logging
import time
from typing import Protocol

import cv2
import numpy as np

from .overlay import draw_label

log = logging.getLogger(__name__)

KEEP_ALIVE_PERIOD = 0.5  # seconds between repeated pictures while idle
IDLE_CHECK_PERIOD = 0.5  # how often to ask the sinks whether anyone is watching
LOST_NOTICE = "camera lost - reconnecting"


class Sink(Protocol):
    """Exists for documentation and static typing: what an output must offer (see ``sinks.py``)."""

    name: str  # what the log calls it: a path, a device
    records: bool  # a recording: it gets every composed frame and never a stand-in picture

    def send(self, frame: np.ndarray) -> None: ...

    def watched(self) -> bool:
        """Whether anyone takes the frames now (a virtual camera: whether a meeting app has it open)."""

    def close(self) -> None: ...


class Preview(Protocol):
    """The preview window (``window.py``)."""

    def send(self, frame: np.ndarray) -> None: ...

    def poll(self) -> int | None:
        """The key pressed since the last call, if any."""

    def close(self) -> None: ...


class Outputs:
    """Fans frames out to ``sinks`` and ``preview``; the ``--stats`` overlay goes to the preview only."""

    def __init__(self, sinks: list[Sink], preview: Preview | None = None, fps: float = 30.0) -> None:
        self.sinks = list(sinks)
        self.preview = preview
        self.period = 1.0 / max(fps, 1.0)
        self._last: np.ndarray | None = None
        self._last_sent = 0.0
        self._idle = False
        self._idle_checked = 0.0

    @property
    def names(self) -> list[str]:
        return [sink.name for sink in self.sinks] + (["the preview window (q quits)"] if self.preview else [])

    def show(self, frame: np.ndarray, overlay: list[str] | None = None) -> None:
        """``overlay``: lines written over the preview only (the --stats figures, the keys' help)."""
        for sink in self.sinks:
            sink.send(frame)
        self._last, self._last_sent = frame, time.perf_counter()
        if self.preview is not None:
            if overlay:
                frame = frame.copy()  # the overlay is for the preview only, never the meeting
                for row, line in enumerate(overlay):
                    draw_label(frame, line, (10, 28 + 28 * row))
            self.preview.send(frame)

    def poll_key(self) -> int | None:
        return None if self.preview is None else self.preview.poll()

    def watched(self) -> bool:
        """False only when every output is a virtual camera that nobody has open: then the app can idle."""
        return self.preview is not None or not self.sinks or any(sink.watched() for sink in self.sinks)

    def idle(self) -> bool:
        """:meth:`watched`, negated, asked at most every ``IDLE_CHECK_PERIOD`` (a /proc scan); changes are logged."""
        now = time.perf_counter()
        if now - self._idle_checked >= IDLE_CHECK_PERIOD:
            self._idle_checked = now
            idle = not self.watched()
            if idle != self._idle:
                log.info("%s", "no one reads the virtual camera: idling" if idle else "virtual camera opened: resuming")
            self._idle = idle
        return self._idle

    def keep_alive(self) -> None:
        """While idle, repeat the last picture now and then so the device never goes blank."""
        now = time.perf_counter()
        if self._last is not None and now - self._last_sent >= KEEP_ALIVE_PERIOD:
            self._last_sent = now
            self._to_meetings(self._last)

    def cover(self, stalled_for: float, lost: bool) -> None:
        """While no frames come, keep meetings and the preview going with the last picture, dimmed, and say why."""
        now = time.perf_counter()
        if self._last is None or (stalled_for < max(4 * self.period, 0.5) and not lost):
            return
        if now - self._last_sent < self.period:
            return
        self._last_sent = now
        shown = cv2.convertScaleAbs(self._last, alpha=0.45)
        draw_label(shown, LOST_NOTICE, (16, shown.shape[0] - 20), 0.8)
        self._to_meetings(shown)
        if self.preview is not None:
            self.preview.send(shown)

    def _to_meetings(self, frame: np.ndarray) -> None:
        for sink in self.sinks:
            if not sink.records:  # stand-in pictures are for a meeting, never for a recording
                sink.send(frame)
