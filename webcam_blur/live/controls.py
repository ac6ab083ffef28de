"""The preview's keys: a keymap onto the view state (what the output shows), and its help line."""

from __future__ import annotations

from dataclasses import dataclass

STRENGTH_STEP = 10.0


@dataclass
class View:
    """What the output shows; keys change it while the app runs."""

    strength: float = 60.0  # the effect's strength, 0..100
    effect_on: bool = True  # off: the camera picture as it is
    show_matte: bool = False  # the matte itself instead of the composite
    quit: bool = False


class Controls:
    """Turns key codes into changes of :attr:`view`; unknown keys are ignored."""

    HELP = "q or Esc quit (so does closing the window), b effect on/off, + / - strength, m show the mask"

    def __init__(self, strength: float = 60.0) -> None:
        self.view = View(strength=strength)
        self._keymap = {
            ord("q"): self._quit,
            ord("Q"): self._quit,
            27: self._quit,  # Esc
            ord("b"): self._toggle_effect,
            ord("m"): self._toggle_matte,
            ord("+"): self._stronger,
            ord("="): self._stronger,
            ord("-"): self._weaker,
            ord("_"): self._weaker,
        }

    def press(self, key: int) -> None:
        action = self._keymap.get(key)
        if action is not None:
            action()

    def _quit(self) -> None:
        self.view.quit = True

    def _toggle_effect(self) -> None:
        self.view.effect_on = not self.view.effect_on

    def _toggle_matte(self) -> None:
        self.view.show_matte = not self.view.show_matte

    def _stronger(self) -> None:
        self.view.strength = min(100.0, self.view.strength + STRENGTH_STEP)

    def _weaker(self) -> None:
        self.view.strength = max(0.0, self.view.strength - STRENGTH_STEP)
