"""What holds something of the operating system's (a device, a file, a child process) and must let it go."""

from __future__ import annotations


class Resource:
    """Closed by ``close()`` or by leaving a ``with`` block; closing twice is harmless."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
