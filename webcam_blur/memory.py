"""The address space the operating system lets this process have (``ulimit -v``), checked up front.

Under a tight limit the native libraries do not fail cleanly: importing TensorFlow or OpenCV's Qt
died with SIGSEGV below ~500 MB, and TensorFlow deadlocked while converting under 2 GB. So the
limit is read before work that needs more, and a short one is one line saying what to raise.
Measured on x86-64 Linux (TensorFlow 2.21, LiteRT 2.1): a warm photo runs in 700 MB, the live
pipeline in 1 GB; building a runtime on a cold cache (TensorFlow) needs 3 GB.
"""

from __future__ import annotations

from .errors import WebcamBlurError

RUN_NEEDS = 1 << 30  # bytes of address space for a warm photo or live run
BUILD_NEEDS = 3 << 30  # and for building a runtime with TensorFlow on a first run


def address_space_limit() -> int | None:
    """The soft RLIMIT_AS in bytes, or None where there is none (or no such limit, as on Windows)."""
    try:
        import resource
    except ImportError:
        return None
    limit = resource.getrlimit(resource.RLIMIT_AS)[0]
    return None if limit == resource.RLIM_INFINITY else limit


def require(needed: int, doing: str) -> None:
    """Refuse, in one line, to start ``doing`` where the address space limit is below ``needed``."""
    limit = address_space_limit()
    if limit is not None and limit < needed:
        raise WebcamBlurError(
            f"{doing} needs about {needed >> 20} MB of address space, but this process may use only "
            f"{limit >> 20} MB (ulimit -v); raise that limit"
        )


def short_of_memory(error: BaseException) -> bool:
    """Whether ``error`` is the system refusing memory (an import may fail this way, not only MemoryError)."""
    if isinstance(error, MemoryError):
        return True
    text = str(error)
    return isinstance(error, (ImportError, OSError)) and (
        "failed to map segment" in text or "Cannot allocate memory" in text
    )
