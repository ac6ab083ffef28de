"""What the running app measures: counters and recent per-frame timings, and the --stats figures."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

STATS_PERIOD = 1.0  # how often the --stats figures are refreshed, seconds


@dataclass
class Stats:
    """Counters and recent per-frame timings (bounded, so hours of running cost no memory)."""

    started: float = field(default_factory=time.perf_counter)
    first_out: float | None = None
    last_out: float | None = None
    frames_in: int = 0
    frames_out: int = 0
    masks: int = 0
    inference_ms: deque = field(default_factory=lambda: deque(maxlen=2000))
    refine_ms: deque = field(default_factory=lambda: deque(maxlen=2000))
    compose_ms: deque = field(default_factory=lambda: deque(maxlen=2000))
    depth_ms: deque = field(default_factory=lambda: deque(maxlen=2000))  # the depth effect's refreshes
    latency_ms: deque = field(default_factory=lambda: deque(maxlen=2000))
    mask_age_ms: deque = field(default_factory=lambda: deque(maxlen=2000))  # see frame_out
    source_age_ms: deque = field(default_factory=lambda: deque(maxlen=2000))
    _unchanged: tuple[float, float] = (float("nan"), float("nan"))  # see unchanged()

    def timed(self, timings: deque, work, *args):
        """``work(*args)``, its duration in ms appended to ``timings``."""
        started = time.perf_counter()
        result = work(*args)
        timings.append((time.perf_counter() - started) * 1000)
        return result

    def unchanged(self, seen: float, until: float) -> None:
        """The change gate found the frame captured at ``until`` unchanged from the one the network
        saw (captured at ``seen``): that frame's matte is known to fit it."""
        self._unchanged = (seen, until)

    def frame_out(self, captured: float, matte_captured: float, composed: float) -> None:
        """A frame went out: it was captured at ``captured``, its matte's frame at ``matte_captured``.

        Mask age counts from the newest frame the matte is known to fit (see :meth:`unchanged`): a
        still picture's matte is not stale however long ago the network saw it. ``source_age_ms``
        counts from the frame the network saw.
        """
        self.frames_out += 1
        self.last_out = time.perf_counter()
        if self.first_out is None:
            self.first_out = self.last_out
        self.latency_ms.append((self.last_out - captured) * 1000)
        seen, until = self._unchanged
        fits = until if seen == matte_captured else matte_captured
        self.mask_age_ms.append((composed - fits) * 1000)
        self.source_age_ms.append((composed - matte_captured) * 1000)

    def output_fps(self) -> float:
        """Steady-state output rate: frames per second between the first and the last one sent."""
        if self.frames_out < 2:
            return 0.0
        return (self.frames_out - 1) / max(self.last_out - self.first_out, 1e-9)

    def summary(self) -> str:
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        return f"{self.frames_out} frames out, " + self.figures(self.output_fps(), self.masks / elapsed)

    def figures(self, fps: float, mask_hz: float) -> str:
        recent = lambda xs: float(np.median(list(xs)[-60:])) if xs else float("nan")  # noqa: E731
        return (
            f"{fps:.1f} fps, mask {mask_hz:.1f} Hz, inference {recent(self.inference_ms):.0f} ms, "
            f"refine {recent(self.refine_ms):.0f} ms, "
            f"compose {recent(self.compose_ms):.1f} ms, latency {recent(self.latency_ms):.0f} ms"
        )


class RateMeter:
    """Output fps and mask Hz over the last period, for the --stats overlay and log."""

    def __init__(self, stats: Stats) -> None:
        self.stats = stats
        self.text = ""
        self._at = time.perf_counter()
        self._frames = self._masks = 0

    def update(self) -> bool:
        now = time.perf_counter()
        if now - self._at < STATS_PERIOD:
            return False
        elapsed, self._at = now - self._at, now
        fps = (self.stats.frames_out - self._frames) / elapsed
        hz = (self.stats.masks - self._masks) / elapsed
        self._frames, self._masks = self.stats.frames_out, self.stats.masks
        self.text = self.stats.figures(fps, hz)
        return True
