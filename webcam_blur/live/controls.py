"""The preview's keys: a keymap onto the view state (what the output shows), and their help."""

from __future__ import annotations

from dataclasses import dataclass

from ..look.lighten import AUTO

STRENGTH_STEP = 10.0


@dataclass
class View:
    """What the output shows; keys change it while the app runs."""

    strength: float = 60.0  # the effect's strength, 0..100
    effect_on: bool = True  # off: the camera picture as it is
    show_matte: bool = False  # the matte itself instead of the composite
    framing: bool = False  # the picture follows the person (look/framing.py)
    lighten: float | str | None = None  # lift of an underexposed person: "auto", 0..100, or None (off)
    show_help: bool = False  # the keys, written over the preview
    quit: bool = False


class Controls:
    """Turns key codes into changes of :attr:`view`; unknown keys are ignored."""

    KEYS = (
        ("q / Esc", "quit (so does closing the window)"),
        ("b", "effect on/off"),
        ("+ / -", "effect strength"),
        ("m", "show the mask"),
        ("f", "auto-framing on/off"),
        ("l", "low-light lift on/off"),
        ("h", "this help"),
    )
    HELP = ", ".join(f"{key} {what}" for key, what in KEYS)

    def __init__(self, strength: float = 60.0, framing: bool = False, lighten: float | str | None = None) -> None:
        self.view = View(strength=strength, framing=framing, lighten=lighten)
        self._lighten = AUTO if lighten is None else lighten  # what l turns on
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
            ord("f"): self._toggle_framing,
            ord("l"): self._toggle_lighten,
            ord("h"): self._toggle_help,
        }

    def press(self, key: int) -> None:
        action = self._keymap.get(key)
        if action is not None:
            action()

    def help_lines(self) -> list[str]:
        """The keys, a line each, for the preview."""
        return [f"{key}: {what}" for key, what in self.KEYS]

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

    def _toggle_framing(self) -> None:
        self.view.framing = not self.view.framing

    def _toggle_lighten(self) -> None:
        self.view.lighten = None if self.view.lighten is not None else self._lighten

    def _toggle_help(self) -> None:
        self.view.show_help = not self.view.show_help
