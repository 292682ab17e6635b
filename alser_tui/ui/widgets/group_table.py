"""The selected parser's top-N table for one window, rows keyed by group."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable

from alser_tui.engine.config import ParserConfig
from alser_tui.ui.model import MarkedRow
from alser_tui.ui.text import amount, css_beside, log_text
from alser_tui.ui.widgets.keyed_table import Cell, KeyedTable
from alser_tui.ui.widgets.parser_list import WINDOW_KEYS

VALUE_WIDTH = 48  # long messages are cut here; the drill-down shows them whole


def amount_label(p: ParserConfig) -> str:
    kind, name = p.aggregate_kind, p.aggregate_field
    if kind == "count":
        return "count"
    if kind == "count_distinct":
        return f"{name}s"
    return f"Σ {name}"


def mark_text(row: MarkedRow) -> str:
    """Why a row stands out, in words and symbols (colour only repeats it)."""
    parts = []
    if row.abnormal:
        parts.append(f"▲ {row.growth:+.0%}" if row.growth is not None else "▲")
    if row.threshold:
        parts.append("● over")
    return " ".join(parts)


class GroupTable(KeyedTable):
    DEFAULT_CSS = css_beside(__file__)
    COMPONENT_CLASSES: ClassVar[set[str]] = DataTable.COMPONENT_CLASSES | {
        "group-table--threshold",
        "group-table--abnormal",
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "drill", "Lines", id="drill"),
        Binding("left", "screen.step_window(-1)", "older", group=WINDOW_KEYS, id="older"),
        Binding("right", "screen.step_window(1)", "newer", group=WINDOW_KEYS, id="newer"),
        Binding("escape", "screen.live", "Live", id="live"),
    ]

    class Drill(Message):
        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    def show(self, p: ParserConfig, rows: list[MarkedRow]) -> None:
        spec = [("#", "rank"), (amount_label(p), "amount"), ("", "mark")]
        spec += [(name, f"g:{name}") for name in p.group_by]
        self.set_columns(spec)
        threshold = self.get_component_rich_style("group-table--threshold", partial=True)
        abnormal = self.get_component_rich_style("group-table--abnormal", partial=True)
        out: list[tuple[str, list[Cell]]] = []
        for i, r in enumerate(rows):
            style = threshold if r.threshold else abnormal if r.abnormal else ""
            cells: list[Cell] = [
                Text(str(i + 1), style=style, justify="right"),
                Text(amount(r.amount), style=style, justify="right"),
                Text(mark_text(r), style=style),
            ]
            cells += [log_text(r.group.get(name), VALUE_WIDTH, style) for name in p.group_by]
            out.append((r.key, cells))
        self.sync(out)

    def action_drill(self) -> None:
        key = self.cursor_key
        if key is not None:
            self.post_message(self.Drill(key))
