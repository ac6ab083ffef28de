"""The preview window: it never takes the app down with it, whatever the display does."""

from __future__ import annotations

import os
import signal
import time

from helpers import error_lines, find_window, press_close_button, run_app, start_app, video_frames, wait_for_line


def test_no_display_stops_the_live_app_with_one_line_before_loading_the_model(shared):
    result = run_app("--input", str(shared / "videos" / "again.mkv"), "--no-vcam", unset=("DISPLAY", "WAYLAND_DISPLAY"),
                     timeout=60)
    assert result.returncode == 1
    (line,) = error_lines(result.stderr)
    assert "no display" in line and "--no-preview" in line
    assert "Traceback" not in result.stderr
    assert "building the LiteRT runtime" not in result.stderr  # refused before the model loads


def test_a_display_that_does_not_answer_is_one_line_not_a_signal(shared):
    result = run_app("--input", str(shared / "videos" / "again.mkv"), "--no-vcam", env={"DISPLAY": ":87"},
                     unset=("WAYLAND_DISPLAY",), timeout=120)
    assert result.returncode == 1  # a signal would be negative (SIGABRT: -6)
    (line,) = error_lines(result.stderr)
    assert "display :87 does not answer" in line and "--no-preview" in line


def test_x_server_killed_while_the_preview_is_open_ends_cleanly_and_keeps_the_recording(shared, tmp_path, xvfb):
    out = tmp_path / "recording.mp4"
    process = start_app("--input", str(shared / "videos" / "people_walking.mp4"), "--no-vcam", "--output", str(out),
                        env={"DISPLAY": xvfb.display})
    try:
        find_window(xvfb.display)
        wait_for_line(process, "running:")
        time.sleep(3.0)
        xvfb.kill()
        _, stderr = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 1, stderr
    (line,) = error_lines(stderr)[-1:]
    assert "display went away" in line
    assert "Traceback" not in stderr
    assert len(video_frames(out)) > 10  # finalised: playable up to the end


def test_a_wayland_session_without_xwayland_is_one_line(shared):
    result = run_app("--input", str(shared / "videos" / "again.mkv"), "--no-vcam",
                     env={"WAYLAND_DISPLAY": "wayland-87", "XDG_RUNTIME_DIR": "/tmp"}, unset=("DISPLAY",), timeout=120)
    assert result.returncode == 1
    (line,) = error_lines(result.stderr)
    assert "preview window" in line and "--no-preview" in line


def test_ctrl_c_in_the_terminal_stops_cleanly_with_the_preview_open(shared, tmp_path, xvfb):
    """Ctrl-C reaches the whole process group, the preview's process too: still a clean stop, not a lost display."""
    out = tmp_path / "recording.mp4"
    process = start_app("--input", str(shared / "videos" / "people_walking.mp4"), "--no-vcam", "--output", str(out),
                        env={"DISPLAY": xvfb.display}, start_new_session=True)
    try:
        find_window(xvfb.display)
        wait_for_line(process, "running:")
        time.sleep(2.0)
        os.killpg(process.pid, signal.SIGINT)
        _, stderr = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    assert "display went away" not in stderr and "Traceback" not in stderr
    assert len(video_frames(out)) > 10


def test_the_close_button_quits_like_q_and_keeps_the_recording(shared, tmp_path, xvfb):
    out = tmp_path / "recording.mp4"
    process = start_app("--input", str(shared / "videos" / "people_walking.mp4"), "--loop", "--no-vcam",
                        "--output", str(out), env={"DISPLAY": xvfb.display})
    try:
        window = find_window(xvfb.display)
        wait_for_line(process, "running:")
        time.sleep(2.0)
        press_close_button(xvfb.display, window)
        _, stderr = process.communicate(timeout=15)  # --loop: only the close button ends this run
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    assert "frames out" in stderr
    assert "error" not in stderr.lower() and "Traceback" not in stderr
    assert len(video_frames(out)) > 10
