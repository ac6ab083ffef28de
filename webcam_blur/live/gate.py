"""When the network must run: only where the picture changed.

Most of a call is a person talking in front of a still room. A 64-pixel-wide grey thumbnail of
each frame (0.9 ms at 720p, 0.35 ms at 480p) is compared with that of the frame the network last saw; changes deep
inside the person (a talking mouth, a gesture in front of the chest) cannot move the matte's
edge and are ignored. While nothing else changed, the matte we have is still right: the network
waits, and refreshes it only every ``keep_alive`` seconds. Any change at the person's edge or
behind them runs it at once, so a moving person is segmented at full rate and nothing trails.
"""

from __future__ import annotations

import cv2
import numpy as np

THUMB_WIDTH = 64
CHANGE_LEVEL = 12.0  # grey levels (of 255) a thumbnail pixel must move by; sensor noise stays below
CHANGED_SHARE = 0.004  # share of the watched thumbnail pixels that must change (~8 of 2300 at 16:9)
KEEP_ALIVE = 0.5  # seconds: the matte of a still picture is refreshed at 2 Hz


def thumbnail(frame: np.ndarray) -> np.ndarray:
    height, width = frame.shape[:2]
    size = (THUMB_WIDTH, max(1, round(height * THUMB_WIDTH / width)))
    grey = cv2.cvtColor(cv2.resize(frame, size, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY)
    return grey.astype(np.float32)


class ChangeGate:
    """Decides per frame whether the network must see it (see the module's docstring)."""

    def __init__(self, keep_alive: float = KEEP_ALIVE) -> None:
        self.keep_alive = keep_alive
        self._seen: np.ndarray | None = None  # thumbnail of the frame the network last saw
        self._interior: np.ndarray | None = None  # True deep inside the person, on the thumbnail
        self.seen_at = float("-inf")  # capture time of the frame the network last saw
        self._last: tuple[np.ndarray, np.ndarray] | None = None  # the newest frame and its thumbnail

    def needed(self, frame: np.ndarray, now: float) -> bool:
        """Whether ``frame``, captured at ``now``, must be segmented."""
        if self._seen is None or now - self.seen_at >= self.keep_alive:
            return True
        thumb = self._thumbnail(frame)
        if thumb.shape != self._seen.shape:
            return True
        changed = cv2.absdiff(thumb, self._seen) > CHANGE_LEVEL
        watched = ~self._interior
        return np.count_nonzero(changed & watched) > CHANGED_SHARE * max(1, np.count_nonzero(watched))

    def _thumbnail(self, frame: np.ndarray) -> np.ndarray:
        """The frame's thumbnail, made once per frame: ``needed`` and ``segmented`` ask for the same one."""
        if self._last is None or self._last[0] is not frame:
            self._last = (frame, thumbnail(frame))
        return self._last[1]

    def segmented(self, frame: np.ndarray, segmentation, now: float) -> None:
        """The network saw ``frame`` (captured at ``now``) and found ``segmentation``."""
        self._seen = self._thumbnail(frame)
        height, width = self._seen.shape
        person = (segmentation.probability_at(width, height) > 0.5).astype(np.uint8)
        self._interior = cv2.erode(person, np.ones((5, 5), np.uint8)) > 0
        self.seen_at = now
