"""Device files that will not open: who holds them, and what the user can do about it.

Cameras and virtual cameras fail the same ways (no permission, another program has it); the
messages are written once, here.
"""

from __future__ import annotations

import os

VIDEO_GROUP_FIX = "add yourself to the 'video' group (sudo usermod -aG video $USER) and log in again"


def opened_by_another_process(path: str) -> bool:
    """Scan /proc for another process with ``path`` open (processes of other users are invisible)."""
    target, me = os.path.realpath(path), str(os.getpid())
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or pid == me:
            continue
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                    return True
            except OSError:
                continue
    return False


def device_problem(path: str, what: str, busy_fix: str) -> str | None:
    """Why the existing device ``path`` (a ``what``: "camera", "virtual camera") cannot be used, if we can tell."""
    if not os.path.exists(path):
        return None
    if not os.access(path, os.R_OK | os.W_OK):
        return f"no permission to open {what} {path}: {VIDEO_GROUP_FIX}"
    if opened_by_another_process(path):
        return f"{what} {path} is in use by another program; {busy_fix}"
    return None
