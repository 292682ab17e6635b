"""A DataTable whose rows are keyed and updated in place, so the cursor stays on its row."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.coordinate import Coordinate
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

from alser_tui.ui.text import css_beside

Cell = str | Text
Measured = tuple[Sequence[Cell], tuple[Any, ...], tuple[int, ...]]

FLEX_MIN = 6  # a squeezed text column keeps at least this many cells


def squeeze(widths: Sequence[int], flexible: Sequence[bool], budget: int) -> list[int]:
    """Column widths that fit ``budget``: the flexible columns are capped at one common
    width (the widest give first, never below FLEX_MIN) and the last flexible column takes
    what the cap leaves over; fixed columns keep their width."""
    widths = list(widths)
    if sum(widths) <= budget or not any(flexible):
        return widths
    fixed = sum(w for w, f in zip(widths, flexible, strict=True) if not f)
    flex = [w for w, f in zip(widths, flexible, strict=True) if f]
    room = budget - fixed

    def used(cap: int) -> int:
        return sum(min(w, cap) for w in flex)

    lo, hi = FLEX_MIN, max(flex)
    if used(lo) >= room:
        cap = lo
    else:
        while lo < hi:  # the largest cap that still fits
            mid = (lo + hi + 1) // 2
            lo, hi = (mid, hi) if used(mid) <= room else (lo, mid - 1)
        cap = lo
    out = [min(w, cap) if f else w for w, f in zip(widths, flexible, strict=True)]
    last = max(i for i, f in enumerate(flexible) if f)
    spare = budget - sum(out)
    if spare > 0:
        out[last] = min(widths[last], out[last] + spare)
    return out


def cut(cell: Cell, width: int) -> Cell:
    """The cell cut to ``width`` cells with an ellipsis (a copy: the caller's is kept)."""
    text = cell.copy() if isinstance(cell, Text) else Text(cell)
    text.truncate(width, overflow="ellipsis")
    return text


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
    # Columns (by key) that give up width when the table is narrower than its content: the
    # long text ones. Their cells must be Text with an ellipsis overflow.
    FLEX_COLUMNS: ClassVar[frozenset[str]] = frozenset()
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
        self._rows: Sequence[tuple[str, Sequence[Cell]]] = ()
        self._fit_width = 0
        # Per row key: the cells object last seen and what was measured or cut from it (the
        # callers' cells before cutting, and the cells as shown).
        self._natural_cache: dict[str, Measured] = {}
        self._measure_cache: dict[str, Measured] = {}
        self._cut_cache: dict[
            str, tuple[Sequence[Cell], tuple[tuple[int, int], ...], list[Cell]]
        ] = {}

    # ------------------------------------------------------------------ columns

    def set_columns(self, spec: Sequence[tuple[str, str]]) -> bool:
        """(label, key) pairs; the table is emptied only when they change."""
        spec = tuple(spec)
        if spec == self._columns_spec:
            return False
        self.clear(columns=True)
        self._shown.clear()
        for cache in (self._measure_cache, self._natural_cache, self._cut_cache):
            cache.clear()
        self._rows = ()
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

    def is_flexible(self, column_key: str) -> bool:
        return column_key in self.FLEX_COLUMNS

    def on_resize(self, event: events.Resize) -> None:
        # Squeezed columns depend on the width: cut the same rows again for the new one.
        if self._columns_spec and self._budget() != self._fit_width:
            self.sync(self._rows)

    def _budget(self) -> int:
        """Cells the columns may use: the width less a vertical scrollbar (kept for it
        always, so rows arriving do not re-cut every column)."""
        width = self.size.width
        return width - self.styles.scrollbar_size_vertical if width else 0

    def _cut_to_fit(
        self, rows: Sequence[tuple[str, Sequence[Cell]]]
    ) -> Sequence[tuple[str, Sequence[Cell]]]:
        keys = [key for _label, key in self._columns_spec]
        flexible = [self.is_flexible(k) for k in keys]
        budget = self._fit_width = self._budget()
        if not any(flexible) or not budget or not rows:
            return rows
        natural = [cell_len(label) for label, _key in self._columns_spec]
        for key, cells in rows:
            for i, w in enumerate(self._measured(key, cells, self._natural_cache)[1]):
                natural[i] = max(natural[i], w)
        pad = 2 * self.cell_padding
        fitted = squeeze([w + pad for w in natural], flexible, budget)
        narrow = tuple(
            (i, w - pad)
            for i, (w, n) in enumerate(zip(fitted, natural, strict=True))
            if w - pad < n
        )
        if not narrow:
            return rows
        out: list[tuple[str, Sequence[Cell]]] = []
        for key, cells in rows:
            # The same cells cut the same way are the same objects: _sync skips them.
            cached = self._cut_cache.get(key)
            if cached is not None and cached[0] is cells and cached[1] == narrow:
                out.append((key, cached[2]))
                continue
            widths = dict(narrow)
            cut_cells = [cut(c, widths[i]) if i in widths else c for i, c in enumerate(cells)]
            self._cut_cache[key] = (cells, narrow, cut_cells)
            out.append((key, cut_cells))
        return out

    def _measured(
        self, key: str, cells: Sequence[Cell], cache: dict[str, Measured] | None = None
    ) -> tuple[tuple[Any, ...], tuple[int, ...]]:
        """(signature, widths) of a row's cells, computed once per cells object: a caller
        that keeps its unchanged rows' cells makes an unchanged table nearly free."""
        cache = self._measure_cache if cache is None else cache
        cached = cache.get(key)
        if cached is not None and cached[0] is cells:
            return cached[1], cached[2]
        sig = tuple(_signature(c) for c in cells)
        widths = tuple(c.cell_len if isinstance(c, Text) else cell_len(str(c)) for c in cells)
        cache[key] = (cells, sig, widths)
        return sig, widths

    def _sync(self, rows: Sequence[tuple[str, Sequence[Cell]]]) -> None:
        self._rows = rows
        rows = self._cut_to_fit(rows)
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
            for cache in (self._measure_cache, self._natural_cache, self._cut_cache):
                cache.pop(key, None)
        column_keys = [key for _label, key in self._columns_spec]
        widths = [0] * len(column_keys)
        for order, (key, cells) in enumerate(rows):
            sig, row_widths = self._measured(key, cells)
            for i, w in enumerate(row_widths):
                if w > widths[i]:
                    widths[i] = w
            shown = self._shown.get(key)
            if shown == (order, sig):
                continue  # unchanged and in place: the common case, nothing built
            first, *rest = cells
            values = [Ordered(first, order), *rest]
            if shown is None:
                self.add_row(*values, key=key)
            else:
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

    def append(self, rows: Sequence[tuple[str, Sequence[Cell]]]) -> None:
        """Add rows after the last one (a log growing at its end): nothing moves, nothing
        is re-cut, nothing else is compared."""
        base = len(self._shown)
        for n, (key, cells) in enumerate(rows):
            first, *rest = cells
            self.add_row(Ordered(first, base + n), *rest, key=key)
            self._shown[key] = (base + n, tuple(_signature(c) for c in cells))
        if rows:
            self._rows = [*self._rows, *rows]

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
