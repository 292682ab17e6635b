"""The selected parser's top-N table for one window, rows keyed by group."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message

from alser_tui.engine.config import ParserConfig
from alser_tui.sanitize import clean
from alser_tui.ui.model import MarkedRow
from alser_tui.ui.text import amount, css_beside, log_text
from alser_tui.ui.widgets.keyed_table import Cell, KeyedTable
from alser_tui.ui.widgets.parser_list import WINDOW_KEYS

# Long values are cut here at most; the layout cuts them further to the pane's width (the
# drill-down shows them whole).
VALUE_WIDTH = 240


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
    if row.pinned:
        parts.append("not in top N")
    if row.abnormal:
        parts.append(f"▲ {row.growth:+.0%}" if row.growth is not None else "▲")
    if row.threshold:
        parts.append("● over")
    if row.silenced:
        parts.append("⊘ silenced")
    return " ".join(parts)


class GroupTable(KeyedTable):
    DEFAULT_CSS = css_beside(__file__)
    COMPONENT_CLASSES: ClassVar[set[str]] = KeyedTable.COMPONENT_CLASSES | {
        "group-table--threshold",
        "group-table--abnormal",
        "group-table--silenced",
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "drill", "Lines", id="drill"),
        Binding("left", "screen.step_window(-1)", "older", group=WINDOW_KEYS, id="older"),
        Binding("right", "screen.step_window(1)", "newer", group=WINDOW_KEYS, id="newer"),
        Binding("escape", "screen.live", "Live", id="live"),
        Binding("s", "silence", "Silence", id="silence-group"),
    ]

    class Drill(Message):
        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    class Silence(Message):
        """``s`` on a row: silence its group."""

        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.narrow = False

    def set_narrow(self, narrow: bool) -> None:
        """Narrow: the group's values share one column (at 80 columns eight would leave
        each a few letters; one line reads like the original's row format)."""
        self.narrow = narrow

    def is_flexible(self, column_key: str) -> bool:
        return column_key.startswith("g:")

    def show(self, p: ParserConfig, rows: list[MarkedRow]) -> None:
        spec = [("#", "rank"), (amount_label(p), "amount")]
        if self.narrow:
            spec.append((" ".join(p.group_by) or "group", "g:*"))
        else:
            spec += [("", "mark"), *((name, f"g:{name}") for name in p.group_by)]
        self.set_columns(spec)
        threshold = self.get_component_rich_style("group-table--threshold", partial=True)
        abnormal = self.get_component_rich_style("group-table--abnormal", partial=True)
        silenced = self.get_component_rich_style("group-table--silenced", partial=True)
        out: list[tuple[str, list[Cell]]] = []
        rank = 0
        for r in rows:
            # A silenced row keeps its words (▲ ● ⊘) but not the alarm colours.
            style = (
                silenced
                if r.silenced
                else threshold
                if r.threshold
                else abnormal
                if r.abnormal
                else ""
            )
            if not r.pinned:
                rank += 1
            cells: list[Cell] = [
                Text("·" if r.pinned else str(rank), style=style, justify="right"),
                Text(amount(r.amount), style=style, justify="right"),
            ]
            mark = mark_text(r)
            if self.narrow:
                # The marks lead the line: a narrow table has no column to spare for them.
                words = [clean(str(r.group.get(n))) for n in p.group_by]
                cells.append(
                    log_text(" ".join([mark, *words] if mark else words), 2 * VALUE_WIDTH, style)
                )
            else:
                cells.append(Text(mark, style=style))
                cells += [log_text(r.group.get(n), VALUE_WIDTH, style) for n in p.group_by]
            out.append((r.key, cells))
        self.sync(out)

    def action_drill(self) -> None:
        key = self.cursor_key
        if key is not None:
            self.post_message(self.Drill(key))

    def action_silence(self) -> None:
        key = self.cursor_key
        if key is not None:
            self.post_message(self.Silence(key))
