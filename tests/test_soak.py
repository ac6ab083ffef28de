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
    assert "RSS" in rows[-1] and "threads" in rows[-1]
