"""Text on frames (the --stats figures, the lost-camera notice): white letters with a dark rim.

The rim is the letters' own shape grown by a few pixels, not a second ``putText`` at a larger
thickness: OpenCV 5 draws text with a TrueType font whose glyphs get wider with thickness, so a
thick dark copy no longer sits under the thin white one (two misaligned copies, unreadable).
Grown from one rendering, the rim covers the letters on OpenCV 4 and 5 alike.
"""

from __future__ import annotations

import cv2
import numpy as np

FONT = cv2.FONT_HERSHEY_SIMPLEX
RIM = 2  # pixels of dark rim around each stroke


def draw_label(image: np.ndarray, text: str, origin: tuple[int, int], scale: float = 0.7) -> None:
    """Write ``text`` into the BGR ``image`` in place, baseline starting at ``origin`` (x, y).

    The text is made smaller where it would not fit the frame's width.
    """
    x, y = origin
    pad = RIM + 2
    (width, height), baseline = cv2.getTextSize(text, FONT, scale, 1)
    room = image.shape[1] - x - pad
    if width > room > 0:
        scale *= room / width
        (width, height), baseline = cv2.getTextSize(text, FONT, scale, 1)
    x0, y0 = max(0, x - pad), max(0, y - height - pad)
    x1, y1 = min(image.shape[1], x + width + pad), min(image.shape[0], y + baseline + pad)
    if x1 <= x0 or y1 <= y0:
        return
    region = image[y0:y1, x0:x1]
    letters = np.zeros(region.shape[:2], np.uint8)
    cv2.putText(letters, text, (x - x0, y - y0), FONT, scale, 255, 1, cv2.LINE_AA)
    rim = cv2.dilate(letters, np.ones((2 * RIM + 1, 2 * RIM + 1), np.uint8))
    keep = cv2.cvtColor(cv2.bitwise_not(rim), cv2.COLOR_GRAY2BGR)
    cv2.multiply(region, keep, dst=region, scale=1 / 255)  # dark under the rim
    cv2.add(region, cv2.cvtColor(letters, cv2.COLOR_GRAY2BGR), dst=region)  # white letters on it
