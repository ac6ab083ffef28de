"""``webcam-blur bench``: our pipeline against the tutorials' naive loop and the peer's loop, on the same frames, in one run.

(a) ours: the real pipeline (capture thread, inference thread, output loop) with the app's default
    look (refined mask, halo-free blur), fed decoded frames as a 30 fps camera would, and once
    more unpaced to find its ceiling; the network and the mask refinement run in two threads;
(b) naive: synchronous ``model.predict`` at 512² on every frame, full-resolution Gaussian blur,
    ``np.where`` blend — what the still-photo tutorials do in a loop (its argmax is taken on the
    stride-16 logits, which flatters it a little).
(c) peer: Linux-Fake-Background-Webcam's per-frame loop with MediaPipe's selfie network
    (``peer.py``), the tool users pick instead, paced like a camera and unpaced.
A third run of (a) sends to a virtual camera nobody has open, to show the idle CPU cost.
CPU % is this process's user+system time over the wall time of that run alone (200 = both cores).
Output fps is the steady rate, from the first frame out to the last, beside the rate the
camera delivered; the wait for the first mask (frames before it are not shown: the background
must never appear unblurred) is ``first_output_ms`` in the JSON.
Mask age is how old the newest frame is that the matte is known to fit when a frame goes out:
the frame the network saw or, with the change gate, a later one the gate found unchanged; in
brackets (``source_age_ms_p50``), the age of the frame the network saw.
Ratios from one run are what to compare: a shared machine's absolute numbers drift.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np

from . import app
from .capture import Pacer, ReplaySource
from .errors import WebcamBlurError
from .frames import decode_video
from .live.outputs import Outputs
from .live.pipeline import Pipeline
from .look.background import cover
from .look.effects import EFFECTS
from .models.auto import AUTO, WIDE
from .models.registry import MODELS
from .settings import CANVASES, DEFAULTS, DEVICES, MASKS, RUNTIMES, Settings, make_settings
from .sinks import NullSink

RESOLUTIONS = {"640x480": (640, 480), "1280x720": (1280, 720), "1920x1080": (1920, 1080)}
DEFAULT_VIDEO = "again.mkv"


def shared_dir() -> Path:
    """The project's test material (``$WEBCAM_BLUR_SHARED``, else ``../shared``): benchmark clips and models."""
    return Path(os.environ.get("WEBCAM_BLUR_SHARED", "../shared"))


def _percentile(values, q: float) -> float:
    return float(np.percentile(list(values), q)) if len(values) else float("nan")


class _Usage:
    """CPU time of this process over a stretch of wall time, and the peak resident memory within it.

    The peak is reset at the start where Linux allows it (``/proc/self/clear_refs``), so each run
    reports its own; elsewhere it is the process's peak so far.
    """

    def __enter__(self):
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass
        self._cpu = time.process_time()
        self._wall = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.cpu_percent = 100.0 * (time.process_time() - self._cpu) / (time.perf_counter() - self._wall)
        self.peak_rss_mb = _peak_rss_mb()


def _peak_rss_mb() -> float:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_ours(segmenter, frames, seconds: float, paced: bool, settings: Settings, watched: bool = True) -> dict:
    """The app's own pipeline with the look of ``settings`` (by default: refined mask, halo-free blur)."""
    source = ReplaySource(frames, fps=30.0, paced=paced)
    with contextlib.ExitStack() as resources:
        compositor = app.build_compositor(settings, resources)
        outputs = Outputs([NullSink(watched=watched, name="a virtual camera nobody has open")])
        pipeline = Pipeline(source, segmenter, compositor, outputs, refiner=app.build_refiner(settings),
                            controls=app.build_controls(settings), gate=app.build_gate(settings))
        timer = threading.Timer(seconds, pipeline.stop)
        with _Usage() as usage:
            timer.start()
            stats = pipeline.run()
    elapsed = time.perf_counter() - stats.started
    return {
        "output_fps": stats.output_fps(),
        "camera_fps": stats.frames_in / elapsed,
        "first_output_ms": (stats.first_out - stats.started) * 1000 if stats.first_out else float("nan"),
        "mask_hz": stats.masks / elapsed,
        "inference_ms_p50": _percentile(stats.inference_ms, 50),
        "inference_ms_p95": _percentile(stats.inference_ms, 95),
        "refine_ms_p50": _percentile(stats.refine_ms, 50),
        "compose_ms_p50": _percentile(stats.compose_ms, 50),
        "compose_ms_p95": _percentile(stats.compose_ms, 95),
        "depth_ms_p50": _percentile(stats.depth_ms, 50),
        "depth_refreshes": len(stats.depth_ms),
        "latency_ms_p50": _percentile(stats.latency_ms, 50),
        "latency_ms_p95": _percentile(stats.latency_ms, 95),
        "mask_age_ms_p50": _percentile(stats.mask_age_ms, 50),
        "source_age_ms_p50": _percentile(stats.source_age_ms, 50),
        "cpu_percent": usage.cpu_percent,
        "peak_rss_mb": usage.peak_rss_mb,
    }


def naive_loop(model, frame: np.ndarray) -> np.ndarray:
    """The tutorials' way, kept deliberately plain: it is the baseline we measure against."""
    from .models.pascal import PERSON_CLASS, preprocess

    size = model.input_shape[1]
    rgb = cv2.cvtColor(cv2.resize(frame, (size, size)), cv2.COLOR_BGR2RGB).astype(np.float32)
    logits = model.predict(preprocess(rgb)[None], verbose=0)[0]
    person = (logits.argmax(axis=-1) == PERSON_CLASS).astype(np.uint8)
    mask = cv2.resize(person, (frame.shape[1], frame.shape[0]), interpolation=cv2.INTER_NEAREST)
    blurred = cv2.GaussianBlur(frame, (41, 41), 0)
    return np.where(mask[..., None].astype(bool), frame, blurred)


def run_synchronous(process, frames, seconds: float, paced: bool = False) -> dict:
    """A loop that reads a frame (at the camera's pace when ``paced``), processes it and sends it, one at a time:
    the naive loop and the peer's."""
    pacer = Pacer(30.0) if paced else None
    latencies = []
    started = time.perf_counter()
    with _Usage() as usage:
        while time.perf_counter() - started < seconds or len(latencies) < 3:
            if pacer is not None:
                pacer.wait()
            t0 = time.perf_counter()
            process(frames[len(latencies) % len(frames)])
            latencies.append((time.perf_counter() - t0) * 1000)
    elapsed = time.perf_counter() - started
    return {
        "output_fps": len(latencies) / elapsed,
        "latency_ms_p50": _percentile(latencies, 50),
        "latency_ms_p95": _percentile(latencies, 95),
        "cpu_percent": usage.cpu_percent,
        "peak_rss_mb": usage.peak_rss_mb,
    }


def _depth(run: dict) -> str:
    return f"{run['depth_ms_p50']:.1f} ({run['depth_refreshes']})" if run["depth_refreshes"] else "–"


def table(results: dict) -> str:
    rows = [
        "| input | run | output / camera fps | mask Hz | inference ms p50/p95 | refine ms p50 | depth ms p50 (runs) | compose ms p50/p95 | latency ms p50/p95 | mask age ms p50 (since the network's frame) | CPU % | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for res, r in results.items():
        for label, key in (("ours (30 fps camera)", "ours"), ("ours (unpaced)", "ours_unpaced")):
            o = r[key]
            rows.append(
                f"| {res} | {label} | {o['output_fps']:.1f} / {o['camera_fps']:.1f} | {o['mask_hz']:.1f} | "
                f"{o['inference_ms_p50']:.1f} / {o['inference_ms_p95']:.1f} | {o['refine_ms_p50']:.1f} | "
                f"{_depth(o)} | {o['compose_ms_p50']:.2f} / {o['compose_ms_p95']:.2f} | "
                f"{o['latency_ms_p50']:.1f} / {o['latency_ms_p95']:.1f} | {o['mask_age_ms_p50']:.0f} ({o['source_age_ms_p50']:.0f}) | "
                f"{o['cpu_percent']:.0f} | {o['peak_rss_mb']:.0f} |"
            )
        idle = r["ours_unwatched"]
        rows.append(
            f"| {res} | ours (virtual camera unwatched: idle) | – | {idle['mask_hz']:.1f} | – | – | – | – | – | – | "
            f"{idle['cpu_percent']:.0f} | – |"
        )
        for label, key in (("peer: LFBW loop, MediaPipe selfie (30 fps camera)", "peer"),
                           ("peer: LFBW loop, MediaPipe selfie (unpaced)", "peer_unpaced"),
                           ("naive (predict + full blur + np.where)", "naive")):
            n = r[key]
            rows.append(
                f"| {res} | {label} | {n['output_fps']:.1f} | {n['output_fps']:.1f} | – | – | – | – | "
                f"{n['latency_ms_p50']:.0f} / {n['latency_ms_p95']:.0f} | – | {n['cpu_percent']:.0f} | {n['peak_rss_mb']:.0f} |"
            )
    rows.append("")
    rows.append("| input | speed-up (paced ours / naive) | ceiling (unpaced ours / naive) | CPU, paced: ours / peer | "
                "ceiling: ours / peer |")
    rows.append("|---|---|---|---|---|")
    for res, r in results.items():
        rows.append(f"| {res} | {r['speedup']:.1f}x | {r['max_speedup']:.1f}x | {r['cpu_vs_peer']:.2f}x | "
                    f"{r['ours_unpaced']['output_fps'] / r['peer_unpaced']['output_fps']:.2f}x |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="webcam-blur bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--video", type=Path, help="any person clip to replay as a camera, scaled to cover each "
                        f"resolution (default: ../shared/videos/{DEFAULT_VIDEO}; a talking head: talking_head_a.mp4)")
    parser.add_argument("--model", choices=[*MODELS, AUTO],
                        help=f"segmentation network (default: {DEFAULTS.model}; with --weights, {WIDE})")
    parser.add_argument("--weights", help="weights file (default: the network's published file)")
    parser.add_argument("--model-size", type=int, default=DEFAULTS.model_size,
                        help="the frame's long side in the network (default: %(default)s)")
    parser.add_argument("--canvas", choices=CANVASES, default=DEFAULTS.canvas,
                        help="network input: the frame's own aspect (fit) or padded to a square (default: %(default)s)")
    parser.add_argument("--threads", type=int, help="inference threads (default: the app's default)")
    parser.add_argument("--device", choices=DEVICES, default=DEFAULTS.device, help="inference device (default: %(default)s)")
    parser.add_argument("--runtime", choices=RUNTIMES, default=DEFAULTS.runtime,
                        help="lite, int8 (quantized: about half the network's time) or keras (default: %(default)s)")
    parser.add_argument("--resolutions", default=",".join(RESOLUTIONS), help="comma-separated, from: %(default)s")
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each paced run (default: %(default)s)")
    parser.add_argument("--naive-seconds", type=float, default=5.0, help="length of each naive run (default: %(default)s)")
    parser.add_argument("--effect", choices=[name for name, e in EFFECTS.items() if not e.needs_background],
                        default=DEFAULTS.effect, help="our pipeline's effect (default: %(default)s)")
    parser.add_argument("--mask", choices=MASKS, default=DEFAULTS.matte, help="mask of our pipeline (default: %(default)s)")
    parser.add_argument("--no-motion-gate", dest="motion_gate", action="store_false",
                        help="our pipeline runs the network on every newest frame, even while the picture is still")
    parser.add_argument("--models-dir", type=Path, metavar="DIR", help="folder of published model files, looked in "
                        "before any download (default: $WEBCAM_BLUR_MODELS, else ../shared/models if it exists)")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    shared_models = shared_dir() / "models"
    if args.models_dir or (not os.environ.get("WEBCAM_BLUR_MODELS") and shared_models.is_dir()):
        os.environ["WEBCAM_BLUR_MODELS"] = str(args.models_dir or shared_models)
    try:
        resolutions = [r.strip() for r in args.resolutions.split(",")]
        unknown = [r for r in resolutions if r not in RESOLUTIONS]
        if unknown:
            raise WebcamBlurError(f"unknown resolution {unknown[0]}; choose from {', '.join(RESOLUTIONS)}")
        video = args.video or shared_dir() / "videos" / DEFAULT_VIDEO
        if not video.is_file():
            raise WebcamBlurError(f"benchmark video not found: {video} (pass --video)")
        values = {"model_size": args.model_size, "canvas": args.canvas, "device": args.device,
                  "runtime": args.runtime, "matte": args.mask, "motion_gate": args.motion_gate,
                  "effect": args.effect}
        # Unset, the model is the settings' default (deeplab-voc where --weights names a file).
        values.update({key: value for key, value in (("model", args.model), ("weights", args.weights),
                                                     ("threads", args.threads)) if value})
        settings = make_settings(values)
        results = benchmark(video, settings, resolutions, args.seconds, args.naive_seconds)
    except WebcamBlurError as e:
        print(f"webcam-blur bench: error: {e}", file=sys.stderr)
        return 1
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


def benchmark(video: Path, settings: Settings, resolutions: list[str], seconds: float, naive_seconds: float) -> dict:
    """Every run at every resolution, on the same decoded frames, with the app's parts built from ``settings``.

    Ours and the peer run first at every resolution, the naive loop last: it needs TensorFlow in
    memory, which would count in the others' peak memory.
    """
    from .models import weights as weights_module
    from .peer import PeerLoop

    decoded = decode_video(video, 90)
    segmenter = app.build_segmenter(settings)
    peer = PeerLoop(settings.threads)
    results = {}
    for res in resolutions:
        frames = [cover(f, *RESOLUTIONS[res]) for f in decoded]  # scaled to cover: cropped, never distorted
        segmenter.prepare(*RESOLUTIONS[res])
        ours = run_ours(segmenter, frames, seconds, True, settings)
        unpaced = run_ours(segmenter, frames, seconds / 2, False, settings)
        ours["max_output_fps"] = unpaced["output_fps"]
        idle = run_ours(segmenter, frames, min(seconds, 4.0), True, settings, watched=False)
        results[res] = {
            "ours": ours,
            "ours_unpaced": unpaced,
            "ours_unwatched": {"cpu_percent": idle["cpu_percent"], "mask_hz": idle["mask_hz"]},
            "peer": run_synchronous(peer, frames, seconds, paced=True),
            "peer_unpaced": run_synchronous(peer, frames, seconds / 2),
        }
        results[res]["cpu_vs_peer"] = ours["cpu_percent"] / results[res]["peer"]["cpu_percent"]
    name = settings.model if settings.model in MODELS and MODELS[settings.model].keras else WIDE  # a Keras model
    spec = MODELS[name]
    naive_model = spec.build((512, 512, 3))
    weights_module.load_into(naive_model, settings.weights if name == settings.model else None, spec.weights,
                             spec.tflite_layers)
    for res in resolutions:
        r = results[res]
        frames = [cover(f, *RESOLUTIONS[res]) for f in decoded]
        r["naive"] = run_synchronous(lambda frame: naive_loop(naive_model, frame), frames, naive_seconds)
        r["speedup"] = r["ours"]["output_fps"] / r["naive"]["output_fps"]
        r["max_speedup"] = r["ours_unpaced"]["output_fps"] / r["naive"]["output_fps"]
        print(f"{res}: ours {r['ours']['output_fps']:.1f} fps at {r['ours']['cpu_percent']:.0f}% CPU, peer "
              f"{r['peer']['output_fps']:.1f} fps at {r['peer']['cpu_percent']:.0f}% CPU, naive "
              f"{r['naive']['output_fps']:.1f} fps", file=sys.stderr)
    return results
