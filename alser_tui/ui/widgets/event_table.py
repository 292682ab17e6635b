"""Raw events of one group in one window: time, area, every column, the original line."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType

from alser_tui.engine.config import ParserConfig
from alser_tui.ui.text import clock, css_beside, log_text
from alser_tui.ui.widgets.keyed_table import KeyedTable

RAW_WIDTH = 400
VALUE_WIDTH = 60


class EventTable(KeyedTable):
    """Append-only: events of a window come oldest first, so following adds rows at the end."""

    DEFAULT_CSS = css_beside(__file__)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "scroll_left", "Scroll left", show=False, id="scroll-left"),
        Binding("right", "scroll_right", "Scroll right", show=False, id="scroll-right"),
    ]

    def setup(self, p: ParserConfig) -> None:
        names = [n for n in p.column_names if n not in ("area", "ts")]
        self.set_columns(
            [("time", "ts"), ("area", "area"), *((n, f"c:{n}") for n in names), ("raw line", "raw")]
        )
        self._names = names

    def extend(self, events: Sequence[dict[str, Any]]) -> int:
        """Add the events past the rows already shown; returns how many were added."""
        have = self.row_count
        for i, ev in enumerate(events[have:], start=have):
            cells = [
                Text(clock(ev["ts"])) if ev.get("ts") is not None else Text("–"),
                log_text(ev.get("area"), 8),
                *(log_text(ev.get(n), VALUE_WIDTH) for n in self._names),
                log_text(ev.get("raw"), RAW_WIDTH),
            ]
            self.add_row(*cells, key=str(i))
        return len(events) - have if len(events) > have else 0
