#!/usr/bin/env python3
"""Run the real pipeline for many frames, or hours, and watch memory, threads and open files: they must stay flat.

    python scripts/soak.py --frames 20000
    python scripts/soak.py --hours 8 --sample-seconds 60     # a working day of calls

Frames of a shared person video are replayed as a 30 fps camera would deliver them (``--unpaced``:
as fast as the pipeline takes them), through segmentation, refinement and compositing, into a
sink that drops them. Every --every frames (or, with --hours, every --sample-seconds) it prints
``frames N  minutes M  RSS X MB  threads T  fds F``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
import time
from pathlib import Path

import cv2

from webcam_blur import app
from webcam_blur.bench import shared_dir
from webcam_blur.capture import ReplaySource
from webcam_blur.errors import WebcamBlurError
from webcam_blur.frames import decode_video
from webcam_blur.live.outputs import Outputs
from webcam_blur.live.pipeline import Pipeline
from webcam_blur.settings import make_settings
from webcam_blur.sinks import NullSink


def rss_mb() -> float:
    """Current (not peak) resident memory, from /proc."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


class CountingSink(NullSink):
    """Drops frames, counting them; samples memory, threads and open files every ``every`` frames or
    ``seconds`` of wall time, and stops after ``total`` frames."""

    def __init__(self, every: int | None, seconds: float | None, total: int, stop) -> None:
        super().__init__(name="a counting sink")
        self.count, self.every, self.seconds, self.total, self.stop = 0, every, seconds, total, stop
        self.started = self.sampled = time.perf_counter()
        self.rows: list[tuple[int, float, float, int, int]] = []

    def send(self, frame) -> None:
        self.count += 1
        now = time.perf_counter()
        due = now - self.sampled >= self.seconds if self.seconds else self.count % self.every == 0
        if due:
            self.sampled = now
            row = (self.count, (now - self.started) / 60, rss_mb(), threading.active_count(), open_files())
            self.rows.append(row)
            print(f"frames {row[0]:8d}  minutes {row[1]:7.2f}  RSS {row[2]:7.1f} MB  threads {row[3]}  fds {row[4]}",
                  flush=True)
        if self.count >= self.total:
            self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=20000, help="frames to push through (default: %(default)s)")
    parser.add_argument("--every", type=int, default=1000, help="report every N frames (default: %(default)s)")
    parser.add_argument("--hours", type=float, help="run this long at 30 fps instead of --frames")
    parser.add_argument("--sample-seconds", type=float, default=60.0,
                        help="with --hours: report every this many seconds (default: %(default)s)")
    parser.add_argument("--weights", type=Path, help="weights file (default: the downloaded official network)")
    parser.add_argument("--video", type=Path, default=shared_dir() / "videos" / "again.mkv",
                        help="person clip to replay (default: %(default)s)")
    parser.add_argument("--size", default="640x480", help="frame size WxH (default: %(default)s)")
    parser.add_argument("--unpaced", action="store_true", help="replay as fast as possible instead of at 30 fps")
    args = parser.parse_args(argv)
    try:
        width, height = (int(v) for v in args.size.split("x"))
        frames = [cv2.resize(frame, (width, height)) for frame in decode_video(args.video, 120)]
        settings = make_settings({"weights": str(args.weights)} if args.weights else {})
        segmenter = app.build_segmenter(settings)
        pipeline_box = {}
        total = round(args.hours * 3600 * 30) if args.hours else args.frames
        sink = CountingSink(None if args.hours else args.every, args.sample_seconds if args.hours else None, total,
                            lambda: pipeline_box["p"].stop())
        with contextlib.ExitStack() as resources:
            compositor = app.build_compositor(settings, resources)
            source = ReplaySource(frames, fps=30.0, paced=not args.unpaced)
            pipeline = Pipeline(source, segmenter, compositor, Outputs([sink]), refiner=app.build_refiner(settings))
            pipeline_box["p"] = pipeline
            started = time.perf_counter()
            stats = pipeline.run()
    except (WebcamBlurError, ValueError) as e:
        print(f"soak: error: {e}", file=sys.stderr)
        return 1
    elapsed = time.perf_counter() - started
    rows = sink.rows
    if len(rows) >= 2:
        growth = rows[-1][2] - rows[len(rows) // 2][2]
        print(f"{stats.frames_out} frames in {elapsed:.0f} s ({stats.frames_out / elapsed:.0f} fps), {stats.masks} masks; "
              f"RSS {rows[0][2]:.0f} -> {rows[-1][2]:.0f} MB (second half: {growth:+.1f} MB); "
              f"threads {rows[0][3]} -> {rows[-1][3]}; fds {rows[0][4]} -> {rows[-1][4]}; "
              f"after stop: {threading.active_count()} threads")
    return 0


if __name__ == "__main__":
    sys.exit(main())
