"""Hand-over between the pipeline's threads: the newest value wins, nothing ever queues up."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Stamped:
    """A frame and when it was captured (``time.perf_counter``)."""

    seq: int
    captured: float
    frame: np.ndarray


class Latest:
    """A one-slot mailbox: writers replace the value, readers wait for one newer than theirs."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._seq = 0
        self._taken = 0
        self._value = None
        self.closed = False

    def put(self, value) -> None:
        with self._cond:
            self._seq += 1
            self._value = value
            self._cond.notify_all()

    def newer_than(self, seq: int, timeout: float):
        """``(seq, value)`` once something newer than ``seq`` is there; None on timeout or close."""
        with self._cond:
            self._cond.wait_for(lambda: self._seq > seq or self.closed, timeout)
            if self._seq <= seq:
                return None
            self._taken = self._seq
            self._cond.notify_all()
            return self._seq, self._value

    def wait_taken(self, timeout: float) -> bool:
        """Wait until a reader has taken the newest value (an unpaced source must not spin ahead)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._taken >= self._seq or self.closed, timeout)

    def each_newest(self, stop: threading.Event):
        """Yield the newest value each time there is a newer one, until closed or ``stop`` is set."""
        seen = 0
        while not stop.is_set():
            newest = self.newer_than(seen, timeout=0.1)
            if newest is not None:
                seen, value = newest
                yield value
            elif self.closed:
                return

    def peek(self):
        with self._cond:
            return self._value

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()
