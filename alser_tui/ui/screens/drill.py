"""The raw events behind one row: a breadcrumb and every event of the group in the window."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Static

from alser_tui.engine.config import ParserConfig
from alser_tui.ui.query import EVENTS_LIMIT, Events, fetch_events
from alser_tui.ui.text import group_words, parser_style, span
from alser_tui.ui.widgets.alarm_strip import AlarmStrip
from alser_tui.ui.widgets.event_table import EventTable

if TYPE_CHECKING:
    from alser_tui.ui.app import AlserApp

FOLLOW_EVERY = 4  # ticks between re-reads of a live window


class DrillScreen(Screen[None]):
    CSS_PATH = "drill.tcss"
    AUTO_FOCUS = "EventTable"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="back"),
    ]

    def __init__(
        self, p: ParserConfig, start: int, end: int, group: dict[str, Any], *, live: bool
    ) -> None:
        super().__init__()
        self.parser = p
        self.start = start
        self.end = end
        self.group = group
        self.live = live
        self.events: Events | None = None
        self._ticks = 0

    @property
    def alser(self) -> AlserApp:
        return cast("AlserApp", self.app)

    def compose(self) -> ComposeResult:
        yield AlarmStrip()
        yield Static(id="breadcrumb")
        yield EventTable()
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one(EventTable).setup(self.parser)
        self._show_breadcrumb()
        self.query_one(AlarmStrip).show(self.alser.model, self.alser.muted)
        self.request()

    def request(self) -> None:
        self.alser.submit(
            "events",
            partial(
                fetch_events, self.alser.engine, self.parser.id, self.start, self.end, self.group
            ),
            self._apply,
        )

    def _apply(self, events: Events | BaseException) -> bool:
        if isinstance(events, BaseException):
            self.log.error("events query failed", events)
            return False
        if not self.is_attached:
            return False
        self.events = events
        self.query_one(EventTable).extend(events.rows)
        self._show_breadcrumb()
        return True

    def tick(self, dirty: set[str]) -> None:
        """Called by the app's refresh timer while this screen is on top."""
        self._ticks += 1
        if "alarms" in dirty:
            self.query_one(AlarmStrip).show(self.alser.model, self.alser.muted)
        if self.live and not self.alser.main.paused and self._ticks % FOLLOW_EVERY == 0:
            self.request()

    def breadcrumb(self) -> Text:
        """``PhpErr › area=us file=map.php line=2828 › 52 lines · 12:04:00 ~ 12:05:00``."""
        text = Text()
        text.append(self.parser.label, style=parser_style(self.parser.colors))
        text.append(" › ")
        text.append(group_words(self.group) or "all")
        text.append(" › ")
        if self.events is None:
            text.append("reading…")
        else:
            n = len(self.events.rows)
            text.append(f"{n:,} line{'s' if n != 1 else ''}")
            if self.events.limited:
                text.append(f" (the first {EVENTS_LIMIT:,})")
        text.append(f"  ·  {span(self.start, self.end)}")
        if self.live:
            text.append(" · following")
        return text

    def _show_breadcrumb(self) -> None:
        self.query_one("#breadcrumb", Static).update(self.breadcrumb())

    def action_back(self) -> None:
        self.app.pop_screen()
