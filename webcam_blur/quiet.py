"""Native libraries' chatter kept off the user's terminal.

TensorFlow's C++ start-up lines ignore ``TF_CPP_MIN_LOG_LEVEL``, and LiteRT prints "INFO: Created
TensorFlow Lite XNNPACK delegate for CPU." for every interpreter: neither tells a user anything.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys

log = logging.getLogger("webcam_blur")


@contextlib.contextmanager
def native_stderr_silenced():
    """Point file descriptor 2 at /dev/null for the block, unless we log at debug level."""
    if log.getEffectiveLevel() <= logging.DEBUG:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
