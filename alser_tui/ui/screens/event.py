"""One event: its parsed fields, the raw line, and the JSON inside it pretty-printed."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from alser_tui.engine.config import ParserConfig
from alser_tui.sanitize import clean
from alser_tui.ui.text import clock, group_words, parser_style
from alser_tui.ui.widgets.alarm_strip import AlarmStrip
from alser_tui.ui.widgets.key_bar import KeyBar
from alser_tui.ui.widgets.toast_shelf import ToastShelf

if TYPE_CHECKING:
    from alser_tui.ui.app import AlserApp

RAW_MAX = 20_000  # characters of the raw line shown (a 3 MB line would freeze the layout)
JSON_MAX_LINES = 2_000


def pretty_json(raw: str) -> str | None:
    """The JSON object or array in a raw line (``AREA,TS,{...}``), indented; None when the
    line holds none."""
    starts = [i for i in (raw.find("{"), raw.find("[")) if i >= 0]
    if not starts:
        return None
    try:
        value = json.loads(raw[min(starts) :])
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, dict | list):
        return None
    try:
        text = json.dumps(value, indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):  # nesting deeper than the encoder goes
        return None
    lines = text.split("\n")
    if len(lines) > JSON_MAX_LINES:
        lines = [*lines[:JSON_MAX_LINES], f"… {len(lines) - JSON_MAX_LINES:,} more lines"]
    return "\n".join(lines)


def literal_lines(text: str) -> Text:
    """Several lines of log-derived text: each line cleaned, the line breaks kept."""
    return Text("\n").join(Text(clean(line)) for line in text.split("\n"))


class EventScreen(Screen[None]):
    CSS_PATH = "event.tcss"
    AUTO_FOCUS = "#event-body"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="event-back"),
        Binding("j", "scroll('down')", "Down", show=False, id="event-down"),
        Binding("k", "scroll('up')", "Up", show=False, id="event-up"),
    ]

    def __init__(
        self,
        p: ParserConfig,
        group: dict[str, Any],
        event: dict[str, Any],
        position: tuple[int, int],
    ) -> None:
        super().__init__()
        self.parser = p
        self.group = group
        self.event = event
        self.position = position  # (n-th, of how many shown)
        raw = event.get("raw")
        self.raw = "" if raw is None else str(raw)
        self.json = pretty_json(self.raw[: RAW_MAX * 50])

    @property
    def alser(self) -> AlserApp:
        return cast("AlserApp", self.app)

    def compose(self) -> ComposeResult:
        yield AlarmStrip()
        yield Static(self.breadcrumb(), id="event-crumb")
        with VerticalScroll(id="event-body"):
            yield Static("fields", classes="event-title")
            yield Static(self.fields(), id="event-fields")
            yield Static(f"raw line · {len(self.raw):,} characters", classes="event-title")
            yield Static(self.raw_text(), id="event-raw")
            if self.json is not None:
                yield Static("JSON", classes="event-title")
                yield Static(literal_lines(self.json), id="event-json")
        yield ToastShelf()
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one(AlarmStrip).show(self.alser.model, self.alser.muted)

    def breadcrumb(self) -> Text:
        """``PhpErr › area=us file=map.php › event 3 of 52 · 12:04:07``."""
        text = Text()
        text.append(self.parser.label, style=parser_style(self.parser.colors))
        text.append(" › ")
        text.append(group_words(self.group) or "all")
        n, total = self.position
        text.append(f" › event {n:,} of {total:,}")
        ts = self.event.get("ts")
        if ts is not None:
            text.append(f" · {clock(ts)}")
        return text

    def fields(self) -> Text:
        """``name  value`` per stored column, in the table's order; time also as epoch."""
        names = [n for n in self.event if n != "raw"]
        width = max((len(n) for n in names), default=0)
        lines = []
        for name in names:
            value = self.event[name]
            line = Text(f"{name:<{width}}  ", style="bold")
            if name == "ts" and isinstance(value, int | float):
                line.append(f"{clock(value)}  ({value})")
            elif value is None:
                line.append("–  (no value)")
            else:
                line.append(clean(str(value)))
            lines.append(line)
        return Text("\n").join(lines)

    def raw_text(self) -> Text:
        raw = self.raw
        if len(raw) > RAW_MAX:
            raw = raw[:RAW_MAX] + f"… ({len(self.raw) - RAW_MAX:,} more characters)"
        return Text(clean(raw))

    def tick(self, dirty: set[str]) -> None:
        if "alarms" in dirty:
            self.query_one(AlarmStrip).show(self.alser.model, self.alser.muted)

    def action_scroll(self, where: str) -> None:
        body = self.query_one("#event-body", VerticalScroll)
        body.scroll_down() if where == "down" else body.scroll_up()

    def action_back(self) -> None:
        self.app.pop_screen()
