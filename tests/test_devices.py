"""Who has a device open: the /proc scan behind the "in use by another program" messages."""

import subprocess
import sys
import time

from webcam_blur.devices import opened_by_another_process


def test_another_process_holding_a_file_open_is_seen(tmp_path):
    device = tmp_path / "video10"
    device.write_bytes(b"")
    assert not opened_by_another_process(str(device))
    holder = subprocess.Popen(
        [sys.executable, "-c", f"f = open({str(device)!r}); import time; time.sleep(30)"],
    )
    try:
        deadline = time.monotonic() + 10
        while not opened_by_another_process(str(device)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert opened_by_another_process(str(device))
    finally:
        holder.kill()
        holder.wait()
    assert not opened_by_another_process(str(device))
