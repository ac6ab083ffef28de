"""Files that ship inside the package (``assets/``): the DeepLab VOC network and the demo clip.

They are the only copies of the project's test material in the package, so a fresh install
works offline on its first run; ``assets/README.md`` gives their sources and licenses.
"""

from __future__ import annotations

from pathlib import Path

ASSETS = Path(__file__).resolve().parent / "assets"
DEMO_CLIP = "again.mkv"


def bundled(name: str) -> Path:
    """The path of a shipped file (it may be missing from a damaged install: callers check)."""
    return ASSETS / name
