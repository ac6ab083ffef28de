"""The ``webcam-blur`` command: checks the address space limit, then hands over to :mod:`.cli`.

The check comes before anything native is imported: under ``ulimit -v`` of ~500 MB, importing
OpenCV's Qt libraries crashed the process (SIGSEGV) instead of raising.
"""

import sys

from . import memory
from .errors import WebcamBlurError


def main() -> int:
    try:
        memory.require(memory.RUN_NEEDS, "webcam-blur")
    except WebcamBlurError as e:
        print(f"webcam-blur: error: {e}", file=sys.stderr)
        return 1
    from .cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
