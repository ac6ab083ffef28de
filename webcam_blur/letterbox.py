"""Fit any frame into the network's square input, and map the network's output back onto it."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

PAD_VALUE = 128  # grey: zero after the network's x/127.5-1 preprocessing


@dataclass(frozen=True)
class Letterbox:
    """Geometry of one frame scaled (aspect kept) into the top-left of a ``size`` square."""

    frame_height: int
    frame_width: int
    size: int

    @property
    def content_width(self) -> int:
        return max(1, min(self.size, round(self.frame_width * self.size / max(self.frame_height, self.frame_width))))

    @property
    def content_height(self) -> int:
        return max(1, min(self.size, round(self.frame_height * self.size / max(self.frame_height, self.frame_width))))

    def place(self, frame: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Resize ``frame`` into a padded ``size``x``size`` canvas (reused when ``out`` is given)."""
        shape = (self.size, self.size) + frame.shape[2:]
        if out is None or out.shape != shape:
            out = np.empty(shape, np.uint8)
        w, h = self.content_width, self.content_height
        # Halve with pyrDown (a proper low-pass) while more than 2x too big, then resize linearly:
        # alias-free like INTER_AREA at a third of its cost on 720p frames.
        while frame.shape[1] >= 2 * w and frame.shape[0] >= 2 * h and min(frame.shape[:2]) >= 2:
            frame = cv2.pyrDown(frame)
        cv2.resize(frame, (w, h), dst=out[:h, :w], interpolation=cv2.INTER_LINEAR)
        out[h:] = PAD_VALUE
        out[:h, w:] = PAD_VALUE
        return out

    def frame_to_grid(self, stride: float, size: tuple[int, int] | None = None) -> np.ndarray:
        """2x3 affine matrix from frame pixel centres to coordinates on a stride-``stride`` grid.

        ``cv2.resize`` maps pixel centres (x+0.5)*w/W-0.5; feature ``i`` of a symmetrically padded
        stride-``s`` map sits over canvas pixel ``s*i``. ``size`` (width, height): the frame
        resampled to that size instead.
        """
        width, height = size or (self.frame_width, self.frame_height)
        sx = self.content_width / width
        sy = self.content_height / height
        return np.array(
            [[sx / stride, 0.0, (0.5 * sx - 0.5) / stride], [0.0, sy / stride, (0.5 * sy - 0.5) / stride]],
            np.float64,
        )

    def unplace(self, grid_map: np.ndarray, stride: float = 1.0, size: tuple[int, int] | None = None) -> np.ndarray:
        """Crop the padding away and resample a (low-resolution) map to the frame's size (or ``size``), bilinearly.

        Cells past the content are cut off first, so frame edges replicate content, never padding.
        """
        rows = min(grid_map.shape[0], math.ceil((self.content_height - 1) / stride) + 1)
        cols = min(grid_map.shape[1], math.ceil((self.content_width - 1) / stride) + 1)
        return cv2.warpAffine(
            grid_map[:rows, :cols],
            self.frame_to_grid(stride, size),
            size or (self.frame_width, self.frame_height),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REPLICATE,
        )
