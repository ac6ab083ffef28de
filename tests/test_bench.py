"""webcam-blur bench: the table and the JSON (ours, the peer, the naive loop), and the parts it builds through the app."""

import json
import subprocess
import sys

import pytest

from helpers import ROOT
from webcam_blur import app
from webcam_blur.look import refine
from webcam_blur.settings import make_settings


def test_benchmark_prints_the_table_and_json(shared, tflite_path, tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench.py"), "--weights", str(tflite_path), "--resolutions", "640x480",
         "--seconds", "2", "--naive-seconds", "1", "--json", str(out),
         "--video", str(shared / "videos" / "talking_head_a.mp4"),  # any clip: 512x512, cropped to cover 4:3
         "--models-dir", str(shared / "models")],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert "| 640x480 | ours (30 fps camera) |" in result.stdout
    assert "| 640x480 | peer: LFBW loop, MediaPipe selfie (30 fps camera) |" in result.stdout
    assert "naive" in result.stdout and "speed-up" in result.stdout and "CPU, paced: ours / peer" in result.stdout
    figures = json.loads(out.read_text())["640x480"]
    for key in ("output_fps", "max_output_fps", "mask_hz", "inference_ms_p50", "compose_ms_p50", "latency_ms_p50",
                "cpu_percent", "mask_age_ms_p50", "peak_rss_mb"):
        assert figures["ours"][key] > 0, key
    for key in ("output_fps", "cpu_percent", "peak_rss_mb"):
        assert figures["peer"][key] > 0 and figures["peer_unpaced"][key] > 0, key
    assert figures["cpu_vs_peer"] == pytest.approx(figures["ours"]["cpu_percent"] / figures["peer"]["cpu_percent"])
    assert figures["naive"]["output_fps"] > 0
    assert figures["speedup"] == pytest.approx(figures["ours"]["output_fps"] / figures["naive"]["output_fps"])


@pytest.mark.parametrize("model_size", [385, 512])
def test_bench_model_size_refines_with_the_cell_of_that_network(tflite_path, clip_frames, monkeypatch, model_size):
    """bench builds through the app, so the refiner's guided filter spans one cell of the network it runs."""
    settings = make_settings({"model_size": model_size, "weights": str(tflite_path)})
    segmentation = app.build_segmenter(settings).segment(clip_frames[0])
    assert segmentation.cell == pytest.approx(16 * 640 / model_size)
    radii = []
    real = refine._fast_guided_filter
    monkeypatch.setattr(refine, "_fast_guided_filter", lambda *a: radii.append(a[3]) or real(*a))
    app.build_refiner(settings).refine(clip_frames[0], segmentation)
    scale = round(640 / refine.RefineSettings().work_size)  # the filter works at ~256 px
    assert radii == [max(1, round(segmentation.cell / scale))]
