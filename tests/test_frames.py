"""Any frame a source may hand us flows through the whole pure core: frames, letterbox, segmentation, refine, compositor."""

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import any_frame
from webcam_blur.frames import as_bgr
from webcam_blur.look.compositor import Compositor
from webcam_blur.look.effects import Blur, Bokeh
from webcam_blur.look.refine import MaskRefiner, RefineSettings
from webcam_blur.models.letterbox import Letterbox
from webcam_blur.models.pascal import person
from webcam_blur.models.segmenter import Segmentation


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=any_frame(), size=st.sampled_from([65, 128, 257, 512]), seed=st.integers(0, 2**16))
def test_frame_path_handles_any_frame(frame, size, seed):
    bgr = as_bgr(frame)
    assert bgr.dtype == np.uint8 and bgr.shape == frame.shape[:2] + (3,)
    box = Letterbox(bgr.shape[0], bgr.shape[1], size)
    canvas = box.place(bgr)
    assert canvas.shape == (size, size, 3)
    grid = math.ceil(size / 16)
    logits = np.random.default_rng(seed).normal(0, 3, (grid, grid, 21)).astype(np.float32)
    segmentation = Segmentation(*person(logits), box, 16)
    assert segmentation.mask.shape == bgr.shape[:2]
    probability = segmentation.probability
    assert np.isfinite(probability).all() and probability.min() >= 0 and probability.max() <= 1
    refiner = MaskRefiner(RefineSettings())
    for _ in range(2):  # twice: the temporal state must cope too
        alpha = refiner.refine(bgr, segmentation)
        assert alpha.shape == bgr.shape[:2] and alpha.dtype == np.uint8
    for compositor, strength in ((Compositor(Blur(), feather=0), 60), (Compositor(Bokeh()), 30), (Compositor(Blur()), 0)):
        out = compositor.compose(bgr, alpha, strength)
        assert out.shape == bgr.shape and out.dtype == np.uint8
