"""Alarms across parsers, newest first: time, severity, parser, kind, text; unacked stand out."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message

from alser_tui.ui.model import AlarmEntry, ConsoleModel, alarm_kind_word, alarm_mark
from alser_tui.ui.text import clock, css_beside, log_text
from alser_tui.ui.widgets.keyed_table import Cell, KeyedTable

TEXT_WIDTH = 200  # at most; the layout cuts it to the pane's width
SHOW_MAX = 500  # rows: the newest; the model keeps more for the strip and the acks


class AlarmList(KeyedTable):
    """Newest on top. The cursor shows the newest alarm only while nobody can act on it;
    once the list has focus (or a row was chosen, or a palette is open over it) it stays
    on its alarm whatever arrives: ``enter`` and ``a`` act on the alarm the user read."""

    DEFAULT_CSS = css_beside(__file__)
    COMPONENT_CLASSES: ClassVar[set[str]] = KeyedTable.COMPONENT_CLASSES | {
        "alarm-list--unacked",
        "alarm-list--acked",
    }
    FLEX_COLUMNS: ClassVar[frozenset[str]] = frozenset({"text"})
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open", id="alarm-open"),
        Binding("a", "ack", "Ack", id="ack"),
        Binding("A", "ack_all", "Ack all", id="ack-all"),
        Binding("s", "silence", "Silence", id="silence-alarm"),
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

    class Silence(Message):
        """``s`` on an alarm: silence its group."""

        def __init__(self, seq: int) -> None:
            super().__init__()
            self.seq = seq

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._cells: dict[int, tuple[tuple[bool, bool, str], list[Cell]]] = {}

    def follows_first_row(self) -> bool:
        return not self.chosen and not self.has_focus and self.screen is self.app.screen

    def show(self, model: ConsoleModel) -> None:
        self.set_columns(
            [("", "ack"), ("time", "time"), ("sev", "sev"), ("parser", "parser"),
             ("kind", "kind"), ("alarm", "text")]
        )  # fmt: skip
        # Newest event time first (a replay raises them out of order), then newest raised.
        ordered = sorted(model.alarms, key=lambda e: (e.alarm.ts, e.seq), reverse=True)
        shown = ordered[:SHOW_MAX]
        theme = self.app.theme
        cells: dict[int, tuple[tuple[bool, bool, str], list[Cell]]] = {}
        rows: list[tuple[str, list[Cell]]] = []
        for e in shown:
            state = (e.acked, bool(e.silenced), theme)
            cached = self._cells.get(e.seq)
            # Unchanged alarms keep their cell objects: the table skips them cheaply.
            row = cached[1] if cached is not None and cached[0] == state else self._row(model, e)
            cells[e.seq] = (state, row)
            rows.append((str(e.seq), row))
        self._cells = cells
        total = len(model.alarms)
        self.border_title = (
            f"alarms · newest {SHOW_MAX:,} of {total:,}" if total > SHOW_MAX else "alarms"
        )
        self.sync(rows)

    def _row(self, model: ConsoleModel, e: AlarmEntry) -> list[Cell]:
        a = e.alarm
        quiet = e.acked or e.silenced
        style = self.get_component_rich_style(
            "alarm-list--acked" if quiet else "alarm-list--unacked", partial=True
        )
        mark = alarm_mark(e)
        p = model.parsers.get(a.parser)
        return [
            Text(mark, style=style),
            Text(clock(a.ts), style=style),
            Text(f"{a.severity:,.0f}", style=style, justify="right"),
            log_text(p.config.id if p else a.parser, 16, style),
            Text(alarm_kind_word(a.kind), style=style),
            log_text(a.text, TEXT_WIDTH, style),
        ]

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

    def action_silence(self) -> None:
        key = self.cursor_key
        if key is not None:
            self.post_message(self.Silence(int(key)))
