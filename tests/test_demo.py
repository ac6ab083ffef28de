"""``webcam-blur demo``: the shipped clip through the real live pipeline, with whatever outputs this machine has."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import time
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from helpers import ROOT, error_lines, find_window, run_app, start_app, video_frames, wait_for_line
from webcam_blur.assets import DEMO_CLIP, bundled

NO_DISPLAY = ("DISPLAY", "WAYLAND_DISPLAY")


def _sharpness(image, region):
    return cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.CV_64F)[region].var()


def test_the_demo_clip_and_network_ship_inside_the_package():
    readme = (bundled("README.md")).read_text()
    for name in (DEMO_CLIP, "deeplabv3_mnv2_pascal_quant.tflite", "LICENSE-CC-BY-4.0.txt",
                 "LICENSE-test_data-Apache-2.0.txt"):
        assert bundled(name).is_file(), name
        assert name in readme
    assert "350af47fd346ea6d74b58833a351f583ba860e9806ec5bd292ff8d8f1f249398" in readme
    assert video_frames(bundled(DEMO_CLIP))[0].shape == (480, 640, 3)


def test_demo_without_display_or_virtual_camera_writes_a_blurred_video(segmenter, tmp_path):
    """No DISPLAY, no v4l2loopback: it still runs, says so, and writes webcam-blur-demo.mp4 here."""
    result = run_app("demo", "--seconds", "3", cwd=tmp_path, unset=NO_DISPLAY, timeout=300)
    assert result.returncode == 0, result.stderr
    written = tmp_path / "webcam-blur-demo.mp4"
    (line,) = result.stdout.splitlines()
    assert line.startswith("webcam-blur demo:") and str(written) in line
    assert "no window" in line
    assert "Traceback" not in result.stderr and "XNNPACK" not in result.stderr
    assert "preview window: no display" in result.stderr  # the notice

    out, clip = video_frames(written), video_frames(bundled(DEMO_CLIP))
    assert 80 <= len(out) <= 90  # 3 s at 30 fps, less the frames before the first mask
    assert out[0].shape == (480, 640, 3)
    checked = 0
    for frame in out[5::20]:
        # The clip loops and the first frames wait for a mask: find the clip frame this one shows.
        source = min(clip, key=lambda c: np.abs(c.astype(int) - frame.astype(int)).mean())
        mask = segmenter.segment(source).mask
        person = cv2.erode(mask, np.ones((31, 31), np.uint8)) > 0
        background = cv2.dilate(mask, np.ones((31, 31), np.uint8)) == 0
        diff = np.abs(frame.astype(int) - source.astype(int)).mean(axis=2)
        assert diff[person].mean() < 4.0  # the person unchanged, up to the codec and a neighbouring frame
        assert diff[background].mean() > 2 * diff[person].mean()
        assert _sharpness(frame, background) < 0.3 * _sharpness(source, background)  # the background blurred
        checked += 1
    assert checked >= 4


def test_demo_shows_the_preview_where_a_display_answers_and_q_ends_it(segmenter, tmp_path, xvfb):
    out = tmp_path / "demo.mp4"
    process = start_app("demo", "-o", str(out), "--seconds", "120", env={"DISPLAY": xvfb.display})
    try:
        window = find_window(xvfb.display)
        wait_for_line(process, "running:")
        time.sleep(3.0)
        subprocess.run(["xdotool", "key", "--window", window, "q"], check=True,
                       env={**os.environ, "DISPLAY": xvfb.display})
        stdout, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    assert "shown in the preview window" in stdout
    assert len(video_frames(out)) > 30  # what was written before q is kept, playable


def test_demo_refuses_nonsense_seconds(tmp_path):
    result = run_app("demo", "--seconds", "-1", cwd=tmp_path, timeout=60)
    assert result.returncode == 1
    (line,) = error_lines(result.stderr)
    assert "--seconds must be between" in line


@pytest.mark.slow
def test_a_built_wheel_runs_the_demo_offline_with_an_empty_home(tmp_path):
    """The package as pip installs it: the wheel carries the network and the clip; a cold first run needs no network."""
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT)],
                   check=True, capture_output=True, timeout=600)
    (wheel,) = wheels.glob("webcam_blur-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for name in (DEMO_CLIP, "deeplabv3_mnv2_pascal_quant.tflite", "LICENSE-CC-BY-4.0.txt",
                 "LICENSE-test_data-Apache-2.0.txt", "README.md"):
        assert f"webcam_blur/assets/{name}" in names

    # A fresh venv with the wheel; its dependencies come from this one (a .pth, so no editable
    # install of the source tree leaks in: .pth files in that folder are not run).
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    Path(site, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
                   check=True, capture_output=True, timeout=600)

    home, run_dir = tmp_path / "home", tmp_path / "run"
    home.mkdir()
    run_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in (*NO_DISPLAY, "WEBCAM_BLUR_CACHE", "WEBCAM_BLUR_MODELS", "KERAS_HOME")}
    unreachable = "http://127.0.0.1:9"  # any download attempt would fail
    env.update(HOME=str(home), http_proxy=unreachable, https_proxy=unreachable, HTTPS_PROXY=unreachable,
               HTTP_PROXY=unreachable)
    result = subprocess.run([str(venv / "bin" / "webcam-blur"), "demo", "--seconds", "2"], cwd=run_dir, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    located = subprocess.run([str(python), "-c", "import webcam_blur; print(webcam_blur.__file__)"],
                             capture_output=True, text=True, env=env, cwd=run_dir).stdout
    assert located.startswith(site)  # the wheel's copy ran, not the source tree
    assert len(result.stdout.splitlines()) == 1
    assert len(video_frames(run_dir / "webcam-blur-demo.mp4")) > 30
    # A cold first run says what it is doing and how long each step took.
    for step in ("building the LiteRT runtime", "built in", "first frame out"):
        assert step in result.stderr, step
    # The shipped network needs no download; the default's second network is said to be missing, in one line.
    downloads = [line for line in result.stderr.splitlines() if "download" in line.lower()]
    assert len(downloads) == 1 and "--model auto works with deeplab-voc alone for now" in downloads[0], downloads
    assert "127.0.0.1 cannot be reached" in downloads[0]  # through the proxy the environment names
    assert "XNNPACK" not in result.stderr
    assert list((home / ".keras" / "webcam-blur").glob("runtime-*.tflite"))


def test_a_cache_that_cannot_be_written_runs_from_memory_with_one_warning(tmp_path):
    not_a_folder = tmp_path / "cache"
    not_a_folder.write_text("a file where the cache folder should be")
    result = run_app("demo", "-o", str(tmp_path / "out.mp4"), "--seconds", "1", cwd=tmp_path, unset=NO_DISPLAY,
                     env={"WEBCAM_BLUR_CACHE": str(not_a_folder)})
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "cannot cache the runtime" in result.stderr and "running it from memory" in result.stderr
    assert len(video_frames(tmp_path / "out.mp4")) > 10
