"""Property-based tests: any frame a source may hand us, and any value a user may type, is handled."""

import math

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from webcam_blur.compositor import Compositor
from webcam_blur.errors import WebcamBlurError
from webcam_blur.frames import as_bgr
from webcam_blur.letterbox import Letterbox
from webcam_blur.refine import MaskRefiner, RefineSettings
from webcam_blur.segmenter import Segmentation
from webcam_blur.settings import RULES, Settings, make_settings

DTYPES = st.sampled_from([np.uint8, np.uint16, np.int16, np.float32, np.float64, np.bool_])


@st.composite
def frames(draw, max_side=48):
    height = draw(st.integers(1, max_side))
    width = draw(st.integers(1, max_side))
    channels = draw(st.sampled_from([None, 1, 3, 4]))
    shape = (height, width) if channels is None else (height, width, channels)
    return draw(hnp.arrays(draw(DTYPES), shape))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=frames(), size=st.sampled_from([65, 128, 257, 512]), seed=st.integers(0, 2**16))
def test_frame_path_handles_any_frame(frame, size, seed):
    bgr = as_bgr(frame)
    assert bgr.dtype == np.uint8 and bgr.shape == frame.shape[:2] + (3,)
    box = Letterbox(bgr.shape[0], bgr.shape[1], size)
    canvas = box.place(bgr)
    assert canvas.shape == (size, size, 3)
    grid = math.ceil(size / 16)
    logits = np.random.default_rng(seed).normal(0, 3, (grid, grid, 21)).astype(np.float32)
    segmentation = Segmentation(logits, box, 16)
    assert segmentation.mask.shape == bgr.shape[:2]
    probability = segmentation.probability
    assert np.isfinite(probability).all() and probability.min() >= 0 and probability.max() <= 1
    refiner = MaskRefiner(RefineSettings(), model_size=size)
    for _ in range(2):  # twice: the temporal state must cope too
        alpha = refiner.refine(bgr, segmentation)
        assert alpha.shape == bgr.shape[:2] and alpha.dtype == np.uint8
    for compositor in (Compositor(blur=60, feather=0), Compositor(blur=30, effect="bokeh"), Compositor(blur=0)):
        out = compositor.compose(frame, alpha)
        assert out.shape == bgr.shape and out.dtype == np.uint8


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(frame=frames(max_side=300))
def test_real_segmenter_handles_any_frame(segmenter, frame):
    result = segmenter.segment(frame)
    assert result.mask.shape == frame.shape[:2]
    assert np.isfinite(result.probability).all()


ANY_VALUE = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12), st.lists(st.integers(), max_size=3), st.sampled_from(["otsu", "lite", "blur", "0", "512", "1e9"]),
)


@settings(max_examples=300, deadline=None)
@given(values=st.dictionaries(st.sampled_from(sorted(RULES) + ["bogus_key"]), ANY_VALUE, max_size=6))
@example(values={"weights": "~0"})  # an unknown ~user: Path.expanduser raised RuntimeError
def test_settings_either_validate_or_say_why(values):
    try:
        result = make_settings(values)
    except WebcamBlurError as e:
        message = str(e)
        assert message and "\n" not in message
        for key in values:
            if key == "bogus_key":
                assert "--bogus-key: unknown setting" in message
        return
    assert isinstance(result, Settings)
    assert 0 <= result.blur <= 100 and 64 <= result.model_size <= 2048 and 1 <= result.fps <= 240


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=10), key=st.sampled_from(["blur", "fps", "model_size", "threshold", "temporal", "width", "threads"]))
def test_typed_flag_values_either_validate_or_say_why(text, key):
    try:
        make_settings({key: text})
    except WebcamBlurError as e:
        assert f"--{key.replace('_', '-')}" in str(e)
