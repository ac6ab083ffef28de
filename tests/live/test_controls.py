"""The preview's keys: each changes the view as its help says; h lists them all."""

from webcam_blur.live.controls import Controls
from webcam_blur.look.lighten import AUTO


def test_f_and_l_toggle_framing_and_the_lift_from_the_settings():
    controls = Controls(60, framing=True, lighten=40.0)
    assert controls.view.framing and controls.view.lighten == 40.0
    controls.press(ord("f"))
    controls.press(ord("l"))
    assert not controls.view.framing and controls.view.lighten is None
    controls.press(ord("l"))
    assert controls.view.lighten == 40.0  # back to the amount asked for


def test_l_turns_on_auto_when_the_lift_was_off():
    controls = Controls(60)
    assert controls.view.lighten is None and not controls.view.framing
    controls.press(ord("l"))
    assert controls.view.lighten == AUTO


def test_h_shows_a_help_that_lists_every_key():
    controls = Controls(60)
    controls.press(ord("h"))
    assert controls.view.show_help
    lines = controls.help_lines()
    for key in ("q", "b", "+", "m", "f", "l", "h"):
        assert any(line.startswith(key) or f"/ {key}" in line.split(":")[0] for line in lines), key
    assert "f auto-framing" in Controls.HELP and "l low-light lift" in Controls.HELP
    controls.press(ord("h"))
    assert not controls.view.show_help


def test_unknown_keys_change_nothing():
    controls = Controls(60)
    before = dict(vars(controls.view))
    for key in (ord("z"), 0, 255, -1):
        controls.press(key)
    assert vars(controls.view) == before
