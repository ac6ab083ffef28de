"""Settings: declared once, validated together, read from TOML with the flags' names; any value either validates or says why."""

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from webcam_blur.errors import WebcamBlurError
from webcam_blur.settings import DECLARED, Settings, flag_of, make_settings, read_config


def test_all_bad_settings_are_listed_at_once():
    with pytest.raises(WebcamBlurError) as error:
        make_settings({"strength": 300, "fps": "fast", "matte": "fuzzy", "model_size": 12, "colour": "red"})
    message = str(error.value)
    for part in ("--blur must be between 0 and 100", "--fps must be a number", "--mask must be one of",
                 "--model-size must be between 64 and 2048", "--colour: unknown setting"):
        assert part in message
    assert "\n" not in message


def test_a_weights_file_without_a_model_is_for_the_voc_network_and_auto_takes_none():
    assert make_settings({}).model == "auto"
    assert make_settings({"weights": "my.tflite"}).model == "deeplab-voc"
    with pytest.raises(WebcamBlurError, match="--weights names one network's file: not with --model auto"):
        make_settings({"model": "auto", "weights": "my.tflite"})


def test_config_file_is_read_and_flags_win(tmp_path):
    config = tmp_path / "webcam-blur.toml"
    config.write_text('blur = 80\nmodel-size = 385\neffect = "bokeh"\nno_such = 1\nmodel_size = 3\n')
    with pytest.raises(WebcamBlurError, match=r"webcam-blur.toml: unknown keys no_such, model_size"):
        read_config(config)
    config.write_text('blur = 80\nmodel-size = 385\neffect = "bokeh"\ntemporal = 0.2\n')
    values, origins = read_config(config)
    settings = make_settings({**values, "strength": "20"}, origins)
    assert (settings.strength, settings.model_size, settings.effect, settings.temporal) == (20.0, 385, "bokeh", 0.2)


def test_config_keys_are_the_flags_names_and_paths_start_at_the_config_folder(tmp_path):
    folder = tmp_path / "conf"
    folder.mkdir()
    config = folder / "webcam-blur.toml"
    config.write_text(
        'no-preview = true\nno-vcam = true\nno-guided-filter = true\nmjpeg = true\nevery-frame = true\n'
        'output = "out/blurred.mp4"\nbackground = "#00ff00"\ninput = "clips/talk.mp4"\nweights = "/abs/w.tflite"\n'
    )
    values, origins = read_config(config)
    settings = make_settings(values, origins)
    assert (settings.preview, settings.vcam, settings.guided, settings.mjpeg, settings.every_frame) == (
        False, False, False, True, True)
    assert settings.output == folder / "out" / "blurred.mp4"
    assert settings.input == str(folder / "clips" / "talk.mp4")
    assert settings.background == "#00ff00" and str(settings.weights) == "/abs/w.tflite"
    config.write_text("no-preview = false\n")
    assert make_settings(*read_config(config)).preview is True


def test_defaults_are_valid():
    assert make_settings({}) == Settings()


ANY_VALUE = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12), st.lists(st.integers(), max_size=3), st.sampled_from(["otsu", "lite", "blur", "0", "512", "1e9"]),
)


@settings(max_examples=300, deadline=None)
@given(values=st.dictionaries(st.sampled_from(sorted(DECLARED) + ["bogus_key"]), ANY_VALUE, max_size=6))
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
    assert 0 <= result.strength <= 100 and 64 <= result.model_size <= 2048 and 1 <= result.fps <= 240


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=10), key=st.sampled_from(["strength", "fps", "model_size", "threshold", "temporal", "width", "threads"]))
def test_typed_flag_values_either_validate_or_say_why(text, key):
    try:
        make_settings({key: text})
    except WebcamBlurError as e:
        assert flag_of(key) in str(e)


def test_every_setting_is_declared_with_its_rule_help_and_group():
    for name, declared in DECLARED.items():
        meta = declared.metadata
        assert meta["help"] and meta["group"] in ("source", "output", "model", "look", "mask"), name
        assert declared.default is None or meta["rule"](declared.default) == declared.default, name
    assert flag_of("strength") == "--blur" and flag_of("preview") == "--no-preview"


def test_threshold_is_parsed_once_into_a_number_or_otsu():
    assert make_settings({"threshold": "0.3"}).threshold == 0.3
    assert make_settings({"threshold": "otsu"}).threshold == "otsu"
