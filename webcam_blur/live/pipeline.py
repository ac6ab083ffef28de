"""The running app: a capture thread, an inference thread, a refine thread and the output loop.

Live sources never queue: the capture thread keeps only the newest frame, the inference thread
always segments the newest frame, and the output loop composes every captured frame with the
newest matte. A slow model therefore lowers the mask refresh rate, never the output frame rate,
and latency cannot grow. ``every_frame`` instead segments each frame in order (for files).
Every thread of the app lives here.
"""

from __future__ import annotations

import logging
import os
import platform
import queue
import threading
import time
from typing import Protocol

import cv2
import numpy as np

from ..errors import WebcamBlurError
from ..frames import as_bgr
from ..look.framing import Framer
from ..look.lighten import AUTO, Lightener
from .controls import Controls, View
from .gate import ChangeGate
from .mailbox import Latest, Stamped
from .outputs import Outputs
from .stats import RateMeter, Stats

log = logging.getLogger(__name__)

JOIN_TIMEOUT = 1.0
INFERENCE_NICENESS = 10


class Source(Protocol):
    """Exists for documentation and static typing: what the pipeline reads (see ``capture.py``)."""

    name: str
    size: tuple[int, int]  # width, height
    fps: float
    live: bool  # frames come at their own pace (a camera); False: as fast as they are taken
    lost: bool  # True while a lost camera is being reconnected

    def read(self) -> np.ndarray | None:
        """The next frame; None at the end of the input."""

    def interrupt(self) -> None:
        """Make a blocked ``read`` return soon (the app is stopping)."""

    def close(self) -> None: ...


class Segmenter(Protocol):
    """See ``models/segmenter.py``: a frame in, a ``Segmentation`` (mask, probability, cell) out."""

    def segment(self, frame: np.ndarray): ...


class Refiner(Protocol):
    """See ``look/refine.py``: a frame and its segmentation in, a uint8 matte at the frame's size out."""

    def refine(self, frame: np.ndarray, segmentation) -> np.ndarray: ...


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


class Crew:
    """Named worker threads, each guarded: a failure anywhere is kept and stops them all."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.errors: list[BaseException] = []
        self.threads: dict[str, threading.Thread] = {}

    def start(self, name: str, target) -> None:
        def guarded() -> None:
            try:
                target()
            except BaseException as e:  # noqa: BLE001 - any failure stops the whole app
                log.debug("%s thread failed", name, exc_info=True)
                self.errors.append(e)
                self.stop.set()

        thread = threading.Thread(target=guarded, name=f"webcam-blur-{name}", daemon=True)
        self.threads[name] = thread
        thread.start()

    def alive(self, *names: str) -> bool:
        return any(self.threads[name].is_alive() for name in names if name in self.threads)

    def join(self, timeout: float) -> None:
        deadline = time.perf_counter() + timeout
        for thread in self.threads.values():
            thread.join(max(0.0, deadline - time.perf_counter()))
        stuck = [t.name for t in self.threads.values() if t.is_alive()]
        if stuck:
            log.warning("threads still running after %.1f s: %s", timeout, ", ".join(stuck))


def render(
    view: View, compositor, frame: np.ndarray, matte: np.ndarray,
    framer: Framer | None = None, lightener: Lightener | None = None,
) -> np.ndarray:
    """What the outputs show of one frame, as the view (keys) asks: the composite or the frame, lifted
    and framed where asked; or the matte."""
    if matte.shape != frame.shape[:2]:
        matte = cv2.resize(matte, (frame.shape[1], frame.shape[0]), interpolation=cv2.INTER_LINEAR)
    if view.show_matte:
        return cv2.cvtColor(matte, cv2.COLOR_GRAY2BGR)
    if lightener is not None and view.lighten is not None:
        frame = lightener.apply(frame, matte, None if view.lighten == AUTO else float(view.lighten))
    out = compositor.compose(frame, matte, view.strength) if view.effect_on else frame
    if framer is not None:
        if view.framing:
            out = framer.frame(out, matte)
        else:
            framer.reset()  # switched on again, it starts from the whole picture
    return out


def refresh_due(effect, seq: int, fps: float) -> bool:
    """Frames in order: whether frame ``seq`` (from 1) is due to refresh the effect's view of the room
    (an effect with ``refresh``, every ``refresh_period`` of the input's time)."""
    return hasattr(effect, "refresh") and (seq - 1) % max(1, round(effect.refresh_period * fps)) == 0


def _reported(error: BaseException) -> WebcamBlurError:
    """A worker's failure as the one line the user sees."""
    if isinstance(error, WebcamBlurError):
        return error
    reported = WebcamBlurError(f"stopped after an internal error: {type(error).__name__}: {error}")
    reported.__cause__ = error
    return reported


class Pipeline:
    """Runs ``source`` through ``segmenter``, ``refiner`` and ``compositor`` into ``outputs`` until stopped or the input ends.

    It owns threads only: the source and the outputs belong to whoever made them (``app.py``),
    which releases them when ``run`` returns.
    """

    def __init__(self, source: Source, segmenter: Segmenter, compositor, outputs: Outputs, *,
                 refiner: Refiner | None = None, controls: Controls | None = None, gate: ChangeGate | None = None,
                 every_frame: bool = False, show_stats: bool = False) -> None:
        self.source = source
        self.segmenter = segmenter
        self.refiner = refiner
        self.compositor = compositor
        self.outputs = outputs
        self.controls = controls or Controls()
        self.gate = gate  # live mode only: a file in order (every_frame) is segmented frame by frame
        self.every_frame = every_frame
        self.show_stats = show_stats
        self.framer, self.lightener = Framer(source.fps), Lightener()  # per stream: they follow it over time
        self.stats = Stats()
        self._meter = RateMeter(self.stats)
        self._idle = False
        self._last_frame_at = time.perf_counter()
        self._stop = threading.Event()
        self._crew = Crew(self._stop)
        self._frames, self._segmentations, self._mattes = Latest(), Latest(), Latest()  # newest of each, see mailbox.py
        self._ordered: queue.Queue = queue.Queue(maxsize=8)

    def stop(self) -> None:
        """Ask every thread to finish; safe from signal handlers and other threads."""
        self._stop.set()
        self.source.interrupt()

    @property
    def threads(self) -> list[threading.Thread]:
        return list(self._crew.threads.values())

    def run(self) -> Stats:
        """Block until ``q``, ``stop()`` or the end of the input; re-raise a worker's failure."""
        opencv_threads = cv2.getNumThreads()
        if not self.every_frame:
            # Threads that exist before ours are the libraries' worker pools (XNNPACK's among them): let
            # them and inference yield to capture and output. OpenCV then works in the calling thread, so
            # compositing runs at the output loop's priority, not waiting on workers that give way to inference.
            _lower_priority(_native_threads() - {threading.get_native_id()})
            cv2.setNumThreads(1)
        self._crew.start("capture", self._capture_loop)
        if not self.every_frame:
            self._crew.start("inference", self._inference_loop)
            if self.refiner is not None:
                self._crew.start("refine", self._refine_loop)
            if hasattr(self.compositor.effect, "refresh"):
                self._crew.start("depth", self._depth_loop)
        try:
            self._ordered_output_loop() if self.every_frame else self._live_output_loop()
        except BaseException as e:  # noqa: BLE001 - reported below after a clean shutdown
            self._crew.errors.append(e)
        finally:
            self.stop()
            self._frames.close()
            self._crew.join(JOIN_TIMEOUT)
            cv2.setNumThreads(opencv_threads)
        if self._crew.errors:
            raise _reported(self._crew.errors[0])
        log.info("%s", self.stats.summary())
        return self.stats

    # threads -----------------------------------------------------------------------------

    def _capture_loop(self) -> None:
        seq = 0
        try:
            while not self._stop.is_set():
                frame = self.source.read()
                if frame is None:
                    break  # end of input (a lost camera is retried inside the source)
                seq += 1
                self.stats.frames_in += 1
                item = Stamped(seq, time.perf_counter(), as_bgr(frame))
                if self.every_frame:
                    self._put_ordered(item)
                    continue
                self._frames.put(item)
                if not self.source.live:
                    while not self._frames.wait_taken(0.1) and not self._stop.is_set():
                        pass
        finally:
            self._frames.close()
            if self.every_frame:
                self._put_ordered(None)

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
                if self.gate is not None and not self.gate.needed(item.frame, item.captured):
                    self.stats.unchanged(self.gate.seen_at, item.captured)
                    continue  # the picture did not change where it matters: the matte we have is right
                segmentation = self.stats.timed(self.stats.inference_ms, self.segmenter.segment, item.frame)
                if self.gate is not None:
                    self.gate.segmented(item.frame, segmentation, item.captured)
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
            self._publish(item, self.stats.timed(self.stats.refine_ms, self.refiner.refine, item.frame, segmentation))

    def _depth_loop(self) -> None:
        """Refreshes the effect's view of the room (its depth) every ``refresh_period`` seconds."""
        _lower_priority({threading.get_native_id()})
        while not self._stop.wait(self.compositor.effect.refresh_period):
            item = self._frames.peek()
            if item is not None and not self._idle:
                self.stats.timed(self.stats.depth_ms, self.compositor.effect.refresh, item.frame)

    def _publish(self, item: Stamped, matte: np.ndarray) -> None:
        self.stats.masks += 1
        self._mattes.put((item, matte))

    # output ------------------------------------------------------------------------------

    def _live_output_loop(self) -> None:
        seen = 0
        while not self._stop.is_set():
            self._poll_keys()
            newest = self._frames.newer_than(seen, timeout=0.005 if self.outputs.preview else 0.02)
            if newest is None:
                if self._frames.closed:  # the input ended: that is no lost camera, so no stand-in picture
                    if not self._crew.alive("inference", "refine"):
                        return
                    self._stop.wait(0.01)
                    continue
                self.outputs.cover(time.perf_counter() - self._last_frame_at, self.source.lost)
                continue
            seen, item = newest
            self._last_frame_at = time.perf_counter()
            self._idle = self.outputs.idle()
            if self._idle:
                self.outputs.keep_alive()
                continue
            masked = self._mattes.peek()
            if masked is None:
                continue  # never show an unblurred background before the first mask
            matte_item, matte = masked
            self._emit(item, matte, matte_item.captured)

    def _ordered_output_loop(self) -> None:
        while not self._stop.is_set():
            self._poll_keys()
            try:
                item = self._ordered.get(timeout=0.1)
            except queue.Empty:
                continue
            if item is None:
                return
            if refresh_due(self.compositor.effect, item.seq, self.source.fps):
                self.stats.timed(self.stats.depth_ms, self.compositor.effect.refresh, item.frame)
            segmentation = self.stats.timed(self.stats.inference_ms, self.segmenter.segment, item.frame)
            matte = segmentation.mask if self.refiner is None else (
                self.stats.timed(self.stats.refine_ms, self.refiner.refine, item.frame, segmentation))
            self.stats.masks += 1
            self._emit(item, matte, item.captured)

    def _emit(self, item: Stamped, matte: np.ndarray, matte_captured: float) -> None:
        started = time.perf_counter()
        view = self.controls.view
        out = render(view, self.compositor, item.frame, matte, self.framer, self.lightener)
        done = time.perf_counter()
        self.stats.compose_ms.append((done - started) * 1000)
        if self._meter.update() and self.show_stats:
            log.info("%s", self._meter.text)
        lines = ([self._meter.text] if self.show_stats else []) + (self.controls.help_lines() if view.show_help else [])
        self.outputs.show(out, lines)
        self.stats.frame_out(item.captured, matte_captured, done)

    def _poll_keys(self) -> None:
        key = self.outputs.poll_key()
        if key is not None:
            self.controls.press(key)
            if self.controls.view.quit:
                self.stop()
