"""The parser list: title in the parser's colours, open-window total, trend, state in words."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message

from alser_tui.ui.model import STATE_MARKS, ConsoleModel, ParserState, state_level
from alser_tui.ui.text import amount, css_beside, parser_style, sparkline
from alser_tui.ui.widgets.keyed_table import Cell, KeyedTable

TREND_WIDTH = 12
TITLE_WIDTH = 16
# Narrow layouts keep a word per state, shorter.
SHORT_MARKS: dict[ParserState, str] = {
    ParserState.NO_SOURCE: "∅src",
    ParserState.SILENT: "◌sil",
    ParserState.ABNORMAL: "▲abn",
    ParserState.OVER: "●over",
    ParserState.INSTANT: "!inst",
    ParserState.REJECTING: "✗rej",
    ParserState.QUIET: "·",
    ParserState.OFF: "○off",
}
LEVEL_CLASSES = {
    "alarm": "parser-list--alarm",
    "warn": "parser-list--abnormal",
    "quiet": "parser-list--quiet",
}
WINDOW_KEYS = Binding.Group("window", compact=True)


def digit_of(index: int) -> str:
    """The digit key that jumps to the parser at this index (1-9, then 0)."""
    return str(index + 1) if index < 9 else "0" if index == 9 else ""


class ParserList(KeyedTable):
    DEFAULT_CSS = css_beside(__file__)
    COMPONENT_CLASSES: ClassVar[set[str]] = KeyedTable.COMPONENT_CLASSES | {
        "parser-list--alarm",
        "parser-list--abnormal",
        "parser-list--quiet",
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Table", id="parser-open"),
        Binding("left", "screen.step_window(-1)", "older", group=WINDOW_KEYS, id="older"),
        Binding("right", "screen.step_window(1)", "newer", group=WINDOW_KEYS, id="newer"),
    ]

    class Opened(Message):
        """Enter on a parser: look at its table."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.narrow = False

    def set_narrow(self, narrow: bool) -> None:
        self.narrow = narrow
        self._columns_spec = ()  # force a rebuild with the other column set

    def show(self, model: ConsoleModel) -> None:
        if self.narrow:
            # At 80 columns the table needs the room: the open total shows in its header.
            spec = [("#", "digit"), ("parser", "title"), ("state", "state")]
        else:
            spec = [
                ("#", "digit"),
                ("parser", "title"),
                ("open", "open"),
                ("trend", "trend"),
                ("state", "state"),
            ]
        self.set_columns(spec)
        rows: list[tuple[str, list[Cell]]] = []
        for i, (pid, v) in enumerate(model.parsers.items()):
            state = model.state_of(pid)
            title = v.config.label
            width = 11 if self.narrow else TITLE_WIDTH
            if len(title) > width:
                title = title[: width - 1] + "…"
            cells: list[Cell] = [digit_of(i), Text(title, style=parser_style(v.config.colors))]
            if not self.narrow:
                total = v.open_window[1] if v.open_window is not None else None
                cells.append(Text(amount(total), justify="right"))
                cells.append(sparkline(v.sparkline_values(), TREND_WIDTH))
            mark = SHORT_MARKS[state] if self.narrow else STATE_MARKS[state]
            cells.append(Text(mark, style=self._state_style(state)))
            rows.append((pid, cells))
        self.sync(rows)

    def _state_style(self, state: ParserState) -> Any:
        name = LEVEL_CLASSES[state_level(state)]
        return self.get_component_rich_style(name, partial=True)

    def action_open(self) -> None:
        self.post_message(self.Opened())
