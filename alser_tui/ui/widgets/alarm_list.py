"""Alarms across parsers, newest first: time, severity, parser, kind, text; unacked stand out."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable

from alser_tui.ui.model import ConsoleModel, alarm_kind_word
from alser_tui.ui.text import clock, css_beside, log_text
from alser_tui.ui.widgets.keyed_table import Cell, KeyedTable

TEXT_WIDTH = 100


class AlarmList(KeyedTable):
    """Newest on top; the cursor follows the top until the user moves it."""

    DEFAULT_CSS = css_beside(__file__)
    COMPONENT_CLASSES: ClassVar[set[str]] = DataTable.COMPONENT_CLASSES | {
        "alarm-list--unacked",
        "alarm-list--acked",
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open", id="alarm-open"),
        Binding("a", "ack", "Ack", id="ack"),
        Binding("A", "ack_all", "Ack all", id="ack-all"),
    ]

    class Open(Message):
        """Enter on an alarm: show its parser, window and group."""

        def __init__(self, seq: int) -> None:
            super().__init__()
            self.seq = seq

    class Ack(Message):
        def __init__(self, seq: int | None) -> None:
            super().__init__()
            self.seq = seq  # None: every alarm

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(stick_to_top=True, **kwargs)

    def show(self, model: ConsoleModel) -> None:
        self.set_columns(
            [("", "ack"), ("time", "time"), ("sev", "sev"), ("parser", "parser"),
             ("kind", "kind"), ("alarm", "text")]
        )  # fmt: skip
        unacked = self.get_component_rich_style("alarm-list--unacked", partial=True)
        acked = self.get_component_rich_style("alarm-list--acked", partial=True)
        rows: list[tuple[str, list[Cell]]] = []
        # Newest event time first (a replay raises them out of order), then newest raised.
        for e in sorted(model.alarms, key=lambda e: (e.alarm.ts, e.seq), reverse=True):
            a = e.alarm
            style = acked if e.acked else unacked
            p = model.parsers.get(a.parser)
            rows.append(
                (
                    str(e.seq),
                    [
                        Text("○" if e.acked else "●", style=style),
                        Text(clock(a.ts), style=style),
                        Text(f"{a.severity:,.0f}", style=style, justify="right"),
                        log_text(p.config.id if p else a.parser, 16, style),
                        Text(alarm_kind_word(a.kind), style=style),
                        log_text(a.text, TEXT_WIDTH, style),
                    ],
                )
            )
        self.sync(rows)

    def action_open(self) -> None:
        key = self.cursor_key
        if key is not None:
            self.post_message(self.Open(int(key)))

    def action_ack(self) -> None:
        key = self.cursor_key
        if key is not None:
            self.post_message(self.Ack(int(key)))

    def action_ack_all(self) -> None:
        self.post_message(self.Ack(None))
