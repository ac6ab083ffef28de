"""scripts/soak.py: the real pipeline for many frames, memory and threads reported."""

import subprocess
import sys

from helpers import ROOT


def test_soak_script_reports_memory_and_threads(shared, tflite_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "soak.py"), "--frames", "300", "--every", "100", "--unpaced",
         "--weights", str(tflite_path), "--video", str(shared / "videos" / "again.mkv")],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("frames ")]
    assert len(rows) >= 3
    assert "RSS" in rows[-1] and "threads" in rows[-1] and "fds" in rows[-1]


def test_soak_by_the_clock_samples_every_period(shared, tflite_path):
    """--hours runs by wall time and samples every --sample-seconds (here 0.002 h = 7 s, sampled each 2 s)."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "soak.py"), "--hours", "0.002", "--sample-seconds", "2",
         "--weights", str(tflite_path), "--video", str(shared / "videos" / "again.mkv")],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines() if line.startswith("frames ")]
    assert len(rows) >= 2
    minutes = [float(row[3]) for row in rows]
    assert all(b > a for a, b in zip(minutes, minutes[1:]))
    assert "fds" in result.stdout.splitlines()[-1]
