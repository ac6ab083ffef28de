"""The running app: a capture thread, an inference thread and the output loop, and nothing else.

Live sources never queue: the capture thread keeps only the newest frame, the inference thread
always segments the newest frame, and the output loop composes every captured frame with the
newest mask. A slow model therefore lowers the mask refresh rate, never the output frame rate,
and latency cannot grow. ``every_frame`` instead segments each frame in order (for files).
"""

from __future__ import annotations

import logging
import os
import platform
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import cv2
import numpy as np

from .errors import SourceLost, WebcamBlurError
from .frames import as_bgr
from .overlay import draw_label

log = logging.getLogger(__name__)

JOIN_TIMEOUT = 1.0
IDLE_CHECK_PERIOD = 0.5  # how often to ask the sinks whether anyone is watching
STATS_PERIOD = 1.0  # how often the --stats figures are refreshed


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
    latency_ms: deque = field(default_factory=lambda: deque(maxlen=2000))
    mask_age_ms: deque = field(default_factory=lambda: deque(maxlen=2000))

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


INFERENCE_NICENESS = 10


def _native_threads() -> set[int]:
    try:
        return {int(tid) for tid in os.listdir("/proc/self/task")}
    except OSError:
        return set()  # not Linux


def _lower_priority(thread_ids: set[int]) -> None:
    """Make inference the first to give way when cores are short: a late mask is invisible, a late frame is not."""
    if platform.system() != "Linux":
        return
    for tid in thread_ids:
        try:
            os.setpriority(os.PRIO_PROCESS, tid, max(os.getpriority(os.PRIO_PROCESS, tid), INFERENCE_NICENESS))
        except OSError:
            continue


class Pipeline:
    """Runs ``source`` through ``segmenter`` and ``compositor`` into ``sinks`` until stopped or the input ends."""

    def __init__(
        self,
        source,
        segmenter,
        compositor,
        sinks=(),
        preview=None,
        every_frame: bool = False,
        show_stats: bool = False,
        refiner=None,
        reconnect_timeout: float = 60.0,
    ) -> None:
        self.source = source
        self.segmenter = segmenter
        self.refiner = refiner
        self.reconnect_timeout = reconnect_timeout
        self.lost = False
        self.compositor = compositor
        self.sinks = list(sinks)
        self.preview = preview
        self.every_frame = every_frame
        self.stats = Stats()
        self.show_stats = show_stats
        self._meter = RateMeter(self.stats)
        self._idle = False
        self._idle_checked = 0.0
        self._last_out: np.ndarray | None = None
        self._last_sent = 0.0
        self._last_frame_at = time.perf_counter()
        self.show_mask = False
        self.blur_enabled = True
        self._stop = threading.Event()
        self._errors: list[BaseException] = []
        self._frames = Latest()
        self._segmentations = Latest()
        self._masks = Latest()
        self._ordered: queue.Queue = queue.Queue(maxsize=8)
        self._threads: list[threading.Thread] = []

    def stop(self) -> None:
        """Ask every thread to finish; safe from signal handlers and other threads."""
        self._stop.set()

    @property
    def threads(self) -> list[threading.Thread]:
        return list(self._threads)

    def run(self) -> Stats:
        """Block until ``q``, ``stop()`` or the end of the input; re-raise a worker's failure."""
        opencv_threads = cv2.getNumThreads()
        if not self.every_frame:
            # Threads that exist before ours are the libraries' worker pools (XNNPACK's among
            # them): let them and the inference thread yield to capture and output. OpenCV then
            # works in the calling thread, so compositing runs at the output loop's priority
            # rather than waiting on pool workers that give way to inference.
            _lower_priority(_native_threads() - {threading.get_native_id()})
            cv2.setNumThreads(1)
        self._start("capture", self._capture_loop)
        if not self.every_frame:
            self._start("inference", self._inference_loop)
            if self.refiner is not None:
                self._start("refine", self._refine_loop)
        try:
            if self.every_frame:
                self._ordered_output_loop()
            else:
                self._live_output_loop()
        except BaseException as e:  # noqa: BLE001 - reported below after a clean shutdown
            self._errors.append(e)
        finally:
            self._shutdown()
            cv2.setNumThreads(opencv_threads)
        if self._errors:
            error = self._errors[0]
            if isinstance(error, WebcamBlurError):
                raise error
            raise WebcamBlurError(f"stopped after an internal error: {type(error).__name__}: {error}") from error
        log.info("%s", self.stats.summary())
        return self.stats

    # threads -----------------------------------------------------------------------------

    def _start(self, name: str, target) -> None:
        def guarded() -> None:
            try:
                target()
            except BaseException as e:  # noqa: BLE001 - any failure stops the whole app
                log.debug("%s thread failed", name, exc_info=True)
                self._errors.append(e)
                self._stop.set()

        thread = threading.Thread(target=guarded, name=f"webcam-blur-{name}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _capture_loop(self) -> None:
        seq = 0
        try:
            while not self._stop.is_set():
                try:
                    frame = self.source.read()
                except SourceLost as lost:
                    self._reconnect(lost)
                    continue
                if frame is None:
                    break  # end of input; a lost camera raises instead
                seq += 1
                self.stats.frames_in += 1
                item = Stamped(seq, time.perf_counter(), as_bgr(frame))
                if self.every_frame:
                    self._put_ordered(item)
                    continue
                self._frames.put(item)
                if not getattr(self.source, "live", True):
                    while not self._frames.wait_taken(0.1) and not self._stop.is_set():
                        pass
        finally:
            self._frames.close()
            if self.every_frame:
                self._put_ordered(None)

    def _reconnect(self, lost: SourceLost) -> None:
        """Retry with backoff while the output shows the last picture; give up after the timeout."""
        self.lost = True
        log.warning("%s; reconnecting (giving up after %g s)", lost, self.reconnect_timeout)
        started, delay = time.perf_counter(), 0.25
        while not self._stop.wait(delay):
            if self.source.reopen():
                log.info("camera is back")
                self.lost = False
                return
            if time.perf_counter() - started >= self.reconnect_timeout:
                raise WebcamBlurError(f"{lost}; gave up after {self.reconnect_timeout:g} s of retrying")
            delay = min(delay * 2, 1.0)

    def _put_ordered(self, item) -> None:
        while not self._stop.is_set():
            try:
                self._ordered.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _inference_loop(self) -> None:
        _lower_priority({threading.get_native_id()})
        try:
            for item in self._frames.each_newest(self._stop):
                if self._idle:
                    time.sleep(0.05)  # nobody is watching: no inference
                    continue
                segmentation = self._infer(item.frame)
                if self.refiner is None:
                    self._publish(item, segmentation.mask)
                else:
                    self._segmentations.put((item, segmentation))
        finally:
            self._segmentations.close()

    def _refine_loop(self) -> None:
        """Refines the newest segmentation while the network already works on the next frame."""
        _lower_priority({threading.get_native_id()})
        for item, segmentation in self._segmentations.each_newest(self._stop):
            self._publish(item, self._refine(item.frame, segmentation))

    def _infer(self, frame: np.ndarray):
        started = time.perf_counter()
        segmentation = self.segmenter.segment(frame)
        self.stats.inference_ms.append((time.perf_counter() - started) * 1000)
        return segmentation

    def _refine(self, frame: np.ndarray, segmentation) -> np.ndarray:
        started = time.perf_counter()
        mask = self.refiner.refine(frame, segmentation)
        self.stats.refine_ms.append((time.perf_counter() - started) * 1000)
        return mask

    def _publish(self, item: Stamped, mask: np.ndarray) -> None:
        self.stats.masks += 1
        self._masks.put((item, mask))

    def _segment(self, frame: np.ndarray) -> np.ndarray:
        """Network and refinement in one go, for ``every_frame``."""
        segmentation = self._infer(frame)
        mask = segmentation.mask if self.refiner is None else self._refine(frame, segmentation)
        self.stats.masks += 1
        return mask

    # output ------------------------------------------------------------------------------

    def _live_output_loop(self) -> None:
        seen = 0
        while not self._stop.is_set():
            self._poll_preview()
            newest = self._frames.newer_than(seen, timeout=0.005 if self.preview else 0.02)
            if newest is None:
                if self._frames.closed and self._masks_done():
                    return
                self._cover_for_lost_camera()
                continue
            seen, item = newest
            self._last_frame_at = time.perf_counter()
            if self._check_idle():
                self._keep_alive()
                continue
            masked = self._masks.peek()
            if masked is None:
                continue  # never show an unblurred background before the first mask
            mask_item, mask = masked
            self._emit(item, mask, mask_item.captured)

    def _check_idle(self) -> bool:
        """Idle when the only outputs are virtual cameras that no other process has open."""
        now = time.perf_counter()
        if now - self._idle_checked >= IDLE_CHECK_PERIOD:
            self._idle_checked = now
            watched = [getattr(sink, "has_readers", lambda: True)() for sink in self.sinks]
            idle = self.preview is None and bool(watched) and not any(watched)
            if idle != self._idle:
                log.info("%s", "no one reads the virtual camera: idling" if idle else "virtual camera opened: resuming")
            self._idle = idle
        return self._idle

    def _cover_for_lost_camera(self) -> None:
        """While no frames come, keep every output going with the last picture, dimmed, and say why."""
        period = 1.0 / max(getattr(self.source, "fps", 30.0), 1.0)
        now = time.perf_counter()
        if self._last_out is None or now - self._last_frame_at < max(4 * period, 0.5) and not self.lost:
            return
        if now - self._last_sent < period:
            return
        self._last_sent = now
        shown = cv2.convertScaleAbs(self._last_out, alpha=0.45)
        draw_label(shown, "camera lost - reconnecting", (16, shown.shape[0] - 20), 0.8)
        for sink in self.sinks:
            if not sink.records:  # stand-in pictures are for a meeting, never for a recording
                sink.send(shown)
        if self.preview is not None:
            self.preview.send(shown)

    def _keep_alive(self) -> None:
        """While idle, repeat the last picture now and then so the device never goes blank."""
        now = time.perf_counter()
        if self._last_out is not None and now - self._last_sent >= IDLE_CHECK_PERIOD:
            self._last_sent = now
            for sink in self.sinks:
                if not sink.records:
                    sink.send(self._last_out)

    def _masks_done(self) -> bool:
        return not any(t.is_alive() for t in self._threads if t.name.endswith(("inference", "refine")))

    def _ordered_output_loop(self) -> None:
        while not self._stop.is_set():
            self._poll_preview()
            try:
                item = self._ordered.get(timeout=0.1)
            except queue.Empty:
                continue
            if item is None:
                return
            self._emit(item, self._segment(item.frame), item.captured)

    def _emit(self, item: Stamped, mask: np.ndarray, mask_captured: float) -> None:
        started = time.perf_counter()
        frame = item.frame
        if mask.shape != frame.shape[:2]:
            mask = cv2.resize(mask, (frame.shape[1], frame.shape[0]), interpolation=cv2.INTER_LINEAR)
        if self.show_mask:
            out = cv2.cvtColor(mask, cv2.COLOR_GRAY2BGR)
        elif self.blur_enabled:
            out = self.compositor.compose(frame, mask)
        else:
            out = frame
        done = time.perf_counter()
        self.stats.compose_ms.append((done - started) * 1000)
        for sink in self.sinks:
            sink.send(out)
        self._last_out = out
        if self._meter.update() and self.show_stats:
            log.info("%s", self._meter.text)
        if self.preview is not None:
            if self.show_stats:
                out = out.copy()  # the overlay is for the preview only, never the meeting
                draw_label(out, self._meter.text, (10, 28))
            self.preview.send(out)
        self.stats.frames_out += 1
        self.stats.last_out = time.perf_counter()
        if self.stats.first_out is None:
            self.stats.first_out = self.stats.last_out
        self.stats.latency_ms.append((time.perf_counter() - item.captured) * 1000)
        self.stats.mask_age_ms.append((done - mask_captured) * 1000)

    def _poll_preview(self) -> None:
        if self.preview is None:
            return
        key = self.preview.poll()
        if key is None:
            return
        if key in (ord("q"), ord("Q"), 27):
            self.stop()
        elif key == ord("b"):
            self.blur_enabled = not self.blur_enabled
        elif key == ord("m"):
            self.show_mask = not self.show_mask
        elif key in (ord("+"), ord("=")):
            self.compositor.blur = min(100.0, self.compositor.blur + 10)
        elif key in (ord("-"), ord("_")):
            self.compositor.blur = max(0.0, self.compositor.blur - 10)

    def _shutdown(self) -> None:
        self._stop.set()
        self._frames.close()
        deadline = time.perf_counter() + JOIN_TIMEOUT
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.perf_counter()))
        for closeable in [self.source.release, *(s.close for s in self.sinks)] + (
            [self.preview.close] if self.preview is not None else []
        ):
            try:
                closeable()
            except Exception:  # noqa: BLE001 - closing must reach every resource
                log.debug("error while closing", exc_info=True)
        stuck = [t.name for t in self._threads if t.is_alive()]
        if stuck:
            log.warning("threads still running after %.1f s: %s", JOIN_TIMEOUT, ", ".join(stuck))
