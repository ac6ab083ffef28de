"""What shows behind the person: every effect, by name, one class each.

An effect makes the backdrop for one frame (the ``Effect`` protocol in ``compositor.py``); the
compositor blends the person over it through the matte. A class declares its name, its one-line
help, how it is built from the settings and whether it needs ``--background``: adding an effect
is adding a class to ``EFFECTS``.
"""

from __future__ import annotations

import threading

import cv2
import numpy as np

from ..resources import Resource
from .background import Background
from .blur import background_weight, blurred_background
from .lens import defocus, depth_span, lens_blur



class Blur(Resource):
    name = "blur"
    help = "Gaussian blur of the background, without a halo of the person around it"
    done = "blurred the background"
    needs_background = False

    @classmethod
    def from_settings(cls, settings) -> "Blur":
        return cls()

    def backdrop(self, frame: np.ndarray, matte: np.ndarray, strength: float) -> np.ndarray | None:
        return blurred_background(frame, strength, matte)

    def close(self) -> None:
        pass


class Bokeh(Blur):
    name = "bokeh"
    help = "a lens-like disc blur in which highlights bloom"
    done = "lens-blurred the background"

    def backdrop(self, frame: np.ndarray, matte: np.ndarray, strength: float) -> np.ndarray | None:
        return blurred_background(frame, strength, matte, bokeh=True)


class Replace(Resource):
    name = "replace"
    help = "show --background instead"
    done = "replaced the background"
    needs_background = True

    def __init__(self, background: Background) -> None:
        self.background = background

    @classmethod
    def from_settings(cls, settings) -> "Replace":
        return cls(Background(settings.background))

    def backdrop(self, frame: np.ndarray, matte: np.ndarray, strength: float) -> np.ndarray:
        return self.background.frame(frame.shape[1], frame.shape[0])

    def close(self) -> None:
        self.background.close()


class Pixelate(Resource):
    name = "pixelate"
    help = "a mosaic of large blocks, so nothing behind you can be read"
    done = "pixelated the background"
    needs_background = False

    @classmethod
    def from_settings(cls, settings) -> "Pixelate":
        return cls()

    def backdrop(self, frame: np.ndarray, matte: np.ndarray, strength: float) -> np.ndarray | None:
        """Blocks of strength/100 * 8 % of the short side (60: 35 px at 720p), averaged over background pixels only."""
        height, width = frame.shape[:2]
        block = round(strength / 100 * 0.08 * min(height, width))
        if block < 2:
            return None
        grid = (max(1, width // block), max(1, height // block))
        weight = background_weight(matte, matte.shape)  # the person adds no colour
        total = cv2.resize(weight, grid, interpolation=cv2.INTER_AREA)
        colour = cv2.resize(frame.astype(np.float32) * weight[..., None], grid, interpolation=cv2.INTER_AREA)
        plain = cv2.resize(frame, grid, interpolation=cv2.INTER_AREA).astype(np.float32)
        mosaic = np.where(total[..., None] > 1e-3, colour / np.maximum(total, 1e-3)[..., None], plain)
        return cv2.resize(cv2.convertScaleAbs(mosaic), (width, height), interpolation=cv2.INTER_NEAREST)

    def close(self) -> None:
        pass


class Depth(Resource):
    """A lens focused on the person (``lens.py``); depth comes from a small network (``models/depth.py``).

    The room rarely moves, so depth is estimated now and then (``refresh``, every
    ``refresh_period`` seconds, which the live pipeline calls from a thread of its own), not per frame.
    """

    name = "depth"
    help = ("a lens focused on you: the farther something is behind you, the more it blurs (a small depth "
            "network, TCMonoDepth, refreshed every second)")
    done = "lens-blurred the background by its depth"
    needs_background = False
    refresh_period = 1.0  # seconds

    def __init__(self, estimator) -> None:
        self.estimator = estimator
        self._depth: tuple[np.ndarray, tuple[float, float]] | None = None  # the map and its span
        self._estimating = threading.Lock()  # the first frame's estimate may meet the pipeline's first refresh

    @classmethod
    def from_settings(cls, settings) -> "Depth":
        from ..models.depth import DepthEstimator

        return cls(DepthEstimator.load(settings.models_dir, settings.threads))

    def refresh(self, frame: np.ndarray) -> None:
        """Estimate the depth of ``frame`` for the frames to come."""
        with self._estimating:  # one runtime, one caller at a time
            depth = self.estimator.estimate(frame)
            self._depth = (depth, depth_span(depth))

    def backdrop(self, frame: np.ndarray, matte: np.ndarray, strength: float) -> np.ndarray | None:
        if self._depth is None:
            self.refresh(frame)
        depth, span = self._depth
        person = cv2.resize(matte, (depth.shape[1], depth.shape[0]), interpolation=cv2.INTER_AREA) > 127
        return lens_blur(frame, matte, defocus(depth, person, span), strength)

    def close(self) -> None:
        pass


EFFECTS: dict[str, type] = {effect.name: effect for effect in (Blur, Bokeh, Depth, Replace, Pixelate)}
