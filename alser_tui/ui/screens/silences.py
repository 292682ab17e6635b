"""Every active silence (the console's and `alser-tui silence add`'s), to review and lift."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Static

from alser_tui.ui.text import show
from alser_tui.ui.widgets.alarm_strip import AlarmStrip
from alser_tui.ui.widgets.key_bar import KeyBar
from alser_tui.ui.widgets.silence_table import SilenceTable
from alser_tui.ui.widgets.toast_shelf import ToastShelf

if TYPE_CHECKING:
    from alser_tui.ui.app import AlserApp


class SilencesScreen(Screen[None]):
    CSS_PATH = "silences.tcss"
    AUTO_FOCUS = "SilenceTable"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="silences-back"),
    ]

    @property
    def alser(self) -> AlserApp:
        return cast("AlserApp", self.app)

    def compose(self) -> ComposeResult:
        yield AlarmStrip()
        yield Static(id="silences-title")
        yield SilenceTable()
        yield ToastShelf()
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one(SilenceTable).border_title = "silences"
        self.tick({"alarms", "silences"})

    def tick(self, dirty: set[str]) -> None:
        model = self.alser.model
        if "alarms" in dirty or "silences" in dirty:
            self.query_one(AlarmStrip).show(model, self.alser.muted)
        active = model.active_silences()
        # Every tick: the "left" column counts down, an expired silence drops out.
        self.query_one(SilenceTable).show(active, model.clock())
        n = len(active)
        where = "delivery.db" if self.alser.delivery.delivery is not None else "nowhere"
        show(
            self.query_one("#silences-title", Static),
            f"{n} active silence{'s' if n != 1 else ''} · kept in {where}, shared with every"
            " channel and `alser-tui silence` · d lifts the selected one",
        )

    def action_back(self) -> None:
        self.app.pop_screen()
