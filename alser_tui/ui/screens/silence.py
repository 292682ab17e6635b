"""Asks for how long to silence a group: 15 min, 1 h, 4 h or until the next 09:00."""

from __future__ import annotations

import time
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from alser_tui.ui.delivery import Choice
from alser_tui.ui.text import clock


def ends(now: float, seconds: float) -> str:
    """``ends 13:05``, or with the day when it is not today: ``ends Thu 09:00``."""
    until = now + seconds
    if time.localtime(until)[:3] == time.localtime(now)[:3]:
        return f"ends {clock(until)[:5]}"
    return "ends " + time.strftime("%a %H:%M", time.localtime(until))


class SilencePicker(ModalScreen[Choice | None]):
    CSS_PATH = "silence.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="silence-cancel"),
        *(
            Binding(str(i + 1), f"pick({i})", f"{i + 1}", show=False, id=f"silence-{i + 1}")
            for i in range(4)
        ),
    ]

    def __init__(self, what: Text, choices: list[Choice], now: float) -> None:
        super().__init__()
        self.what = what
        self.choices = choices
        self.now = now

    def compose(self) -> ComposeResult:
        with Vertical(id="silence-box"):
            yield Static("Silence: no bell, no desktop, no channel hears of", id="silence-title")
            yield Static(self.what, id="silence-what")
            yield OptionList(
                *(
                    Option(f"{i + 1}  {c.label:<22} {ends(self.now, c.seconds)}", id=str(i))
                    for i, c in enumerate(self.choices)
                ),
                id="silence-choices",
            )
            yield Static(
                "enter or 1-4 silences · esc cancels · S lists silences", id="silence-hint"
            )

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = 1  # 1 h: the usual answer
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.action_pick(int(event.option.id or 0))

    def action_pick(self, index: int) -> None:
        if 0 <= index < len(self.choices):
            self.dismiss(self.choices[index])

    def action_cancel(self) -> None:
        self.dismiss(None)
