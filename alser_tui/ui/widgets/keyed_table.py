"""A DataTable whose rows are keyed and updated in place, so the cursor stays on its row."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.coordinate import Coordinate
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

from alser_tui.ui.text import css_beside

Cell = str | Text


class Ordered(Text):
    """A cell that also carries its row's position, so ``DataTable.sort`` can order keyed
    rows without a visible sort column."""

    __slots__ = ("order",)

    def __init__(self, value: Cell, order: int) -> None:
        if isinstance(value, Text):
            super().__init__(value.plain, style=value.style, justify=value.justify)
            for s in value.spans:
                self.spans.append(s)
        else:
            super().__init__(value)
        self.order = order


def _signature(cell: Any) -> Any:
    # Text equality ignores the base style; a changed style must still repaint the cell.
    if isinstance(cell, Text):
        return (cell.plain, str(cell.style), tuple(cell.spans))
    return cell


class KeyedTable(DataTable[Cell]):
    """Rows go in with ``sync(rows)``: removed, updated, added and re-sorted by key; the
    row under the cursor keeps the cursor whatever happens around it."""

    DEFAULT_CSS = css_beside(__file__)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False, id="down"),
        Binding("k", "cursor_up", "Up", show=False, id="up"),
        Binding("g", "scroll_top", "First row", show=False, id="first"),
        Binding("G", "scroll_bottom", "Last row", show=False, id="last"),
    ]

    def __init__(self, *, stick_to_top: bool = False, **kwargs: Any) -> None:
        """``stick_to_top``: a cursor on the first row stays on the first row (a list whose
        newest entries arrive on top follows them until the user moves away)."""
        kwargs.setdefault("cursor_type", "row")
        kwargs.setdefault("zebra_stripes", False)
        super().__init__(**kwargs)
        self._shown: dict[str, tuple[int, tuple[Any, ...]]] = {}  # key -> (order, signature)
        self._pending_key: str | None = None
        self._columns_spec: tuple[tuple[str, str], ...] = ()
        self.stick_to_top = stick_to_top
        # Until someone puts the cursor on a row, it stays on the first row: the initial
        # cursor is not a choice to keep while that row's group sinks down the table.
        self.chosen = False
        self._moving = 0  # >0 while this class moves the cursor itself

    # ------------------------------------------------------------------ columns

    def set_columns(self, spec: Sequence[tuple[str, str]]) -> bool:
        """(label, key) pairs; the table is emptied only when they change."""
        spec = tuple(spec)
        if spec == self._columns_spec:
            return False
        self.clear(columns=True)
        self._shown.clear()
        self.chosen = False
        for label, key in spec:
            self.add_column(label, key=key)
        self._columns_spec = spec
        return True

    # ------------------------------------------------------------------ rows

    @property
    def cursor_key(self) -> str | None:
        if self.row_count == 0:
            return None
        row = min(self.cursor_row, self.row_count - 1)
        key = self.coordinate_to_cell_key(Coordinate(row, 0)).row_key.value
        return key

    def select_key(self, key: str) -> None:
        """Put the cursor on this row now, or on the next sync that brings it."""
        self.chosen = True
        if key in self._shown:
            self._move_to(self.get_row_index(key))
            self._pending_key = None
        else:
            self._pending_key = key

    def _move_to(self, row: int) -> None:
        self._moving += 1
        try:
            self.move_cursor(row=row)
        finally:
            self._moving -= 1

    def watch_cursor_coordinate(self, old: Coordinate, new: Coordinate) -> None:
        super().watch_cursor_coordinate(old, new)
        if not self._moving and old != new:
            self.chosen = True  # the user moved it (keys or mouse)

    def sync(self, rows: Sequence[tuple[str, Sequence[Cell]]]) -> None:
        """Make the table show exactly ``rows`` (key, cells), in this order."""
        self._moving += 1  # removals clamp the cursor: that is not the user moving it
        try:
            self._sync(rows)
        finally:
            self._moving -= 1

    def _sync(self, rows: Sequence[tuple[str, Sequence[Cell]]]) -> None:
        wanted = self._pending_key or self.cursor_key
        on_top = self.stick_to_top and self.cursor_row == 0
        if self._pending_key is None and (on_top or not self.chosen):
            wanted = rows[0][0] if rows else None
        self._pending_key = None
        keys = [k for k, _ in rows]
        fresh = set(keys)
        for key in [k for k in self._shown if k not in fresh]:
            self.remove_row(key)
            del self._shown[key]
        column_keys = [key for _label, key in self._columns_spec]
        widths = [0] * len(column_keys)
        for order, (key, cells) in enumerate(rows):
            first, *rest = cells
            values = [Ordered(first, order), *rest]
            sig = tuple(_signature(c) for c in values)
            shown = self._shown.get(key)
            for i, value in enumerate(values):
                width = value.cell_len if isinstance(value, Text) else cell_len(str(value))
                widths[i] = max(widths[i], width)
            if shown is None:
                self.add_row(*values, key=key)
            elif shown != (order, sig):
                old_order, old = shown
                for i, (col, value) in enumerate(zip(column_keys, values, strict=True)):
                    # The first cell also holds the order: refresh it when the row moved.
                    if old[i] != sig[i] or (i == 0 and old_order != order):
                        self.update_cell(key, col, value)
            self._shown[key] = (order, sig)
        self._fit_columns(column_keys, widths)
        if [r.key.value for r in self.ordered_rows] != keys:
            self.sort(column_keys[0], key=lambda cell: cell.order)
        if wanted is not None and wanted in fresh:
            index = self.get_row_index(wanted)
            if index != self.cursor_row:
                self._move_to(index)

    def _fit_columns(self, column_keys: list[str], widths: list[int]) -> None:
        """Set every column to the width of what it shows now, before the next paint.

        DataTable's own ``update_width`` measures on idle (a paint in between caches cells cut
        to the old width) and only ever grows, so the layout would depend on every row seen
        before; fitting the current rows keeps one picture for one content.
        """
        for key, width in zip(column_keys, widths, strict=True):
            column = self.columns[ColumnKey(key)]
            column.content_width = max(width, cell_len(column.label.plain))

    @property
    def keys(self) -> list[str]:
        return [str(r.key.value) for r in self.ordered_rows]
