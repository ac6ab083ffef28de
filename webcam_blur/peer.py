"""The peer users pick instead, for ``webcam-blur bench`` only: Linux-Fake-Background-Webcam's loop.

Per frame, synchronously: MediaPipe's selfie segmentation network (the model family of Google
Meet and LFBW; 256x256 RGB in 0..1 -> person probability), resized to the frame, thresholded at
0.9, dilated 5x5, box-blurred 10x10 and averaged with the previous mask, a 21x21 Gaussian blur of
the frame behind it, ``cv2.blendLinear``. The network runs through LiteRT directly: the
``mediapipe`` package clashes with TensorFlow's pins. Written here from LFBW's description so
that both tools are measured on the same frames in one run; it is not part of the app.
"""

from __future__ import annotations

import os

import cv2
import numpy as np

from .models.selfie import SELFIE
from .models.weights import locate
from .quiet import native_stderr_silenced

THRESHOLD = 0.9
BACKGROUND_KERNEL = 21


class SelfieSegmenter:
    """MediaPipe / ML Kit selfie segmentation through LiteRT: a BGR frame in, a person probability at its size out."""

    def __init__(self, threads: int | None = None) -> None:
        from ai_edge_litert.interpreter import Interpreter

        with native_stderr_silenced():
            self._interpreter = Interpreter(str(locate(SELFIE)), num_threads=threads or os.cpu_count() or 1)
            self._interpreter.allocate_tensors()
        inp = self._interpreter.get_input_details()[0]
        self._input, self._size = inp["index"], (int(inp["shape"][2]), int(inp["shape"][1]))
        self._output = self._interpreter.get_output_details()[0]["index"]

    def probability(self, frame: np.ndarray) -> np.ndarray:
        rgb = cv2.cvtColor(cv2.resize(frame, self._size, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
        self._interpreter.set_tensor(self._input, (rgb.astype(np.float32) * (1 / 255))[None])
        self._interpreter.invoke()
        grid = self._interpreter.get_tensor(self._output)[0, ..., 0]
        return cv2.resize(grid, (frame.shape[1], frame.shape[0]), interpolation=cv2.INTER_LINEAR)


class PeerLoop:
    """LFBW's per-frame work: one call per camera frame, returning the frame to send."""

    def __init__(self, threads: int | None = None) -> None:
        self.selfie = SelfieSegmenter(threads)
        self._previous: np.ndarray | None = None

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        mask = self.selfie.probability(frame)
        cv2.threshold(mask, THRESHOLD, 1, cv2.THRESH_BINARY, dst=mask)
        cv2.dilate(mask, np.ones((5, 5), np.uint8), iterations=1, dst=mask)
        cv2.blur(mask, (10, 10), dst=mask)
        if self._previous is not None and self._previous.shape == mask.shape:
            cv2.accumulateWeighted(self._previous, mask, 0.5)
        self._previous = mask
        background = cv2.GaussianBlur(frame, (BACKGROUND_KERNEL, BACKGROUND_KERNEL), 0)
        out = np.empty_like(frame)
        cv2.blendLinear(frame, background, mask, 1 - mask, dst=out)
        return out
