"""The quality script scores real masks against real ground truth."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_eval_quality_prints_mean_iou_on_shared_portraits(shared, tflite_path, tmp_path):
    folder = tmp_path / "subset"
    for part in ("images", "masks"):
        (folder / part).mkdir(parents=True)
    for image in sorted((shared / "data" / "portraits" / "images").iterdir())[:8]:
        (folder / "images" / image.name).symlink_to(image)
        (folder / "masks" / (image.stem + ".png")).symlink_to(shared / "data" / "portraits" / "masks" / (image.stem + ".png"))
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "eval_quality.py"), str(folder), "--weights", str(tflite_path), "--json", str(tmp_path / "q.json")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    mean_iou = float(re.fullmatch(r"mean IoU (0\.\d{3})", lines[-2]).group(1))
    boundary = float(re.fullmatch(r"boundary F (0\.\d{3})", lines[-1]).group(1))
    assert mean_iou > 0.9 and 0.1 < boundary <= 1.0
    assert (tmp_path / "q.json").exists()
