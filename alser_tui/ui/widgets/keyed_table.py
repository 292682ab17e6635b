"""A table whose rows are keyed and updated in place, so the cursor stays on its row.

Drawn through Textual's line API: each row is one Rich ``Text`` rendered to a strip and
cached until its cells, the column widths or its cursor state change. Textual's DataTable
renders every cell through Rich's padding machinery on each change (about 0.15 ms a cell
here), which made a screen switch cost a tenth of a second; a cached row costs a crop."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType, NoBinding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from alser_tui.ui.text import css_beside

Cell = str | Text
Measured = tuple[Sequence[Cell], tuple[Any, ...], tuple[int, ...]]

FLEX_MIN = 6  # a squeezed text column keeps at least this many cells
PAD = 1  # blank cells on each side of a cell


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


def cut(cell: Cell, width: int) -> Text:
    """The cell cut to ``width`` cells with an ellipsis (a copy: the caller's is kept)."""
    text = cell.copy() if isinstance(cell, Text) else Text(cell)
    text.truncate(width, overflow="ellipsis")
    return text


def _signature(cell: Any) -> Any:
    # Text equality ignores the base style; a changed style must still repaint the cell.
    if isinstance(cell, Text):
        return (cell.plain, str(cell.style), tuple(cell.spans))
    return cell


class KeyedTable(ScrollView, can_focus=True):
    """Rows go in with ``sync(rows)``: removed, updated, added and re-sorted by key; the
    row under the cursor keeps the cursor whatever happens around it. The first line is
    the column header; it stays put while the rows scroll under it."""

    DEFAULT_CSS = css_beside(__file__)
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "keyed-table--header",
        "keyed-table--cursor",
    }
    # Columns (by key) that give up width when the table is narrower than its content: the
    # long text ones. Their cells must be Text with an ellipsis overflow.
    FLEX_COLUMNS: ClassVar[frozenset[str]] = frozenset()
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False, id="down"),
        Binding("k", "cursor_up", "Up", show=False, id="up"),
        Binding("g", "scroll_top", "First row", show=False, id="first"),
        Binding("G", "scroll_bottom", "Last row", show=False, id="last"),
        # The help lists the arrows once, as "↑ ↓ move" (an "-alias" id keeps them out).
        Binding("down", "cursor_down", "Down", show=False, id="down-alias"),
        Binding("up", "cursor_up", "Up", show=False, id="up-alias"),
        # One meaning in the help ("a page down or up"), so they share its line.
        Binding("pagedown", "page_down", "A page down / up", show=False),
        Binding("pageup", "page_up", "A page down / up", show=False),
        Binding("home", "scroll_top", "First row", show=False),
        Binding("end", "scroll_bottom", "Last row", show=False),
    ]

    class RowHighlighted(Message):
        """The cursor moved to another row (by a key, the mouse or the program)."""

        def __init__(self, table: KeyedTable, row: int, key: str) -> None:
            super().__init__()
            self.table = table
            self.cursor_row = row
            self.key = key

        @property
        def control(self) -> KeyedTable:
            return self.table

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cursor_row = 0
        # Until someone puts the cursor on a row, it stays on the first row: the initial
        # cursor is not a choice to keep while that row's group sinks down the table.
        self.chosen = False
        self._columns_spec: tuple[tuple[str, str], ...] = ()
        self._keys: list[str] = []  # row keys top to bottom
        self._index: dict[str, int] = {}
        self._row_cells: dict[str, Sequence[Cell]] = {}  # the callers' cells, uncut
        self._sigs: dict[str, tuple[Any, ...]] = {}
        self._pending_key: str | None = None
        self._rows: Sequence[tuple[str, Sequence[Cell]]] = ()
        self._natural: list[int] = []  # per column: the widest cell (label included)
        self._widths: tuple[int, ...] = ()  # per column as drawn (padding excluded)
        self._fit_width = 0
        # Per row key: the cells object last seen and what was measured from it.
        self._measure_cache: dict[str, Measured] = {}
        # Per row key: (signature, widths, cursor, focus) and the strip drawn for them.
        self._strips: dict[str, tuple[tuple[Any, ...], Strip]] = {}
        self._header: tuple[tuple[Any, ...], Strip] | None = None
        # Styles looked up once per style change (computing them walks the DOM).
        self._style_cache: dict[str, Style] = {}

    # ------------------------------------------------------------------ columns

    def set_columns(self, spec: Sequence[tuple[str, str]]) -> bool:
        """(label, key) pairs; the table is emptied only when they change."""
        spec = tuple(spec)
        if spec == self._columns_spec:
            return False
        self._columns_spec = spec
        self._clear_rows()
        self.chosen = False
        self._natural = [cell_len(label) for label, _key in spec]
        self._fit()
        return True

    def _clear_rows(self) -> None:
        self._keys = []
        self._index = {}
        self._row_cells = {}
        self._sigs = {}
        self._rows = ()
        self._measure_cache.clear()
        self._strips.clear()
        self._header = None
        self.cursor_row = 0
        self._resize_virtual()
        self.refresh()

    @property
    def column_keys(self) -> list[str]:
        return [key for _label, key in self._columns_spec]

    # ------------------------------------------------------------------ rows

    @property
    def row_count(self) -> int:
        return len(self._keys)

    @property
    def keys(self) -> list[str]:
        return list(self._keys)

    def get_row(self, key: str) -> list[Cell]:
        """The cells of a row as shown: those wider than their column cut to it."""
        return [
            cut(c, w) if (c.cell_len if isinstance(c, Text) else cell_len(str(c))) > w else c
            for c, w in zip(self._row_cells[key], self._widths, strict=False)
        ]

    def get_row_index(self, key: str) -> int:
        return self._index[key]

    @property
    def cursor_key(self) -> str | None:
        if not self._keys:
            return None
        return self._keys[min(self.cursor_row, len(self._keys) - 1)]

    def select_key(self, key: str) -> None:
        """Put the cursor on this row now, or on the next sync that brings it."""
        self.chosen = True
        if key in self._index:
            self._move_to(self._index[key])
            self._pending_key = None
        else:
            self._pending_key = key

    def move_cursor(self, *, row: int, scroll: bool = True) -> None:
        """Put the cursor on a row (clamped), scrolled into view; the user's choice."""
        self.chosen = True
        self._move_to(row, scroll=scroll)

    def _move_to(self, row: int, *, scroll: bool = True) -> None:
        row = max(0, min(row, len(self._keys) - 1)) if self._keys else 0
        old = self.cursor_row
        if row != old:
            self.cursor_row = row
            self._refresh_row(old)
            self._refresh_row(row)
            self.post_message(self.RowHighlighted(self, row, self._keys[row]))
        if scroll:
            self._scroll_to_row(row)

    def follows_first_row(self) -> bool:
        """Whether a sync puts the cursor on the first row instead of keeping its row."""
        return not self.chosen

    def is_flexible(self, column_key: str) -> bool:
        return column_key in self.FLEX_COLUMNS

    def sync(self, rows: Sequence[tuple[str, Sequence[Cell]]]) -> None:
        """Make the table show exactly ``rows`` (key, cells), in this order."""
        self._rows = rows
        wanted = self._pending_key or self.cursor_key
        if self._pending_key is None and self.follows_first_row():
            wanted = rows[0][0] if rows else None
        self._pending_key = None
        keys = [k for k, _ in rows]
        old_keys = self._keys
        old_key = self.cursor_key
        cells_by_key: dict[str, Sequence[Cell]] = {}
        sigs: dict[str, tuple[Any, ...]] = {}
        natural = [cell_len(label) for label, _key in self._columns_spec]
        changed = keys != old_keys
        for key, cells in rows:
            sig, widths = self._measured(key, cells)
            for i, w in enumerate(widths):
                if w > natural[i]:
                    natural[i] = w
            cells_by_key[key] = cells
            sigs[key] = sig
            if not changed and self._sigs.get(key) != sig:
                changed = True
        for key in [k for k in self._measure_cache if k not in cells_by_key]:
            del self._measure_cache[key]
            self._strips.pop(key, None)
        self._keys = keys
        self._index = {k: i for i, k in enumerate(keys)}
        self._row_cells = cells_by_key
        self._sigs = sigs
        self._natural = natural
        refit = self._fit()
        if len(keys) != len(old_keys):
            self._resize_virtual()
        row = self._index.get(wanted, self.cursor_row) if wanted is not None else 0
        row = max(0, min(row, len(keys) - 1)) if keys else 0
        moved = row != self.cursor_row
        self.cursor_row = row
        if changed or refit or moved:
            self.refresh()
        if keys and (moved or keys[row] != old_key):
            self.post_message(self.RowHighlighted(self, row, keys[row]))
            self._scroll_to_row(row)

    def append(self, rows: Sequence[tuple[str, Sequence[Cell]]]) -> None:
        """Add rows after the last one (a log growing at its end): nothing moves, nothing
        else is compared."""
        if not rows:
            return
        base = len(self._keys)
        natural = self._natural
        for n, (key, cells) in enumerate(rows):
            sig, widths = self._measured(key, cells)
            for i, w in enumerate(widths):
                if w > natural[i]:
                    natural[i] = w
            self._keys.append(key)
            self._index[key] = base + n
            self._row_cells[key] = cells
            self._sigs[key] = sig
        self._rows = [*self._rows, *rows]
        self._fit()
        self._resize_virtual()
        self.refresh()
        if base == 0:
            self.post_message(self.RowHighlighted(self, self.cursor_row, self._keys[0]))

    def _measured(self, key: str, cells: Sequence[Cell]) -> tuple[tuple[Any, ...], tuple[int, ...]]:
        """(signature, widths) of a row's cells, computed once per cells object: a caller
        that keeps its unchanged rows' cells makes an unchanged table nearly free."""
        cached = self._measure_cache.get(key)
        if cached is not None and cached[0] is cells:
            return cached[1], cached[2]
        sig = tuple(_signature(c) for c in cells)
        widths = tuple(c.cell_len if isinstance(c, Text) else cell_len(str(c)) for c in cells)
        self._measure_cache[key] = (cells, sig, widths)
        return sig, widths

    # ------------------------------------------------------------------ layout

    def _budget(self) -> int:
        """Cells the columns may use: the width less a vertical scrollbar (kept for it
        always, so rows arriving do not re-cut every column)."""
        width = self.size.width
        return width - self.styles.scrollbar_size_vertical if width else 0

    def _fit(self) -> bool:
        """Column widths for what the table holds now and the pane's width; True when they
        changed (every row is drawn anew)."""
        keys = self.column_keys
        budget = self._fit_width = self._budget()
        pad = 2 * PAD
        natural = [w + pad for w in self._natural]
        flexible = [self.is_flexible(k) for k in keys]
        if budget and any(flexible):
            fitted = squeeze(natural, flexible, budget)
        else:
            fitted = natural
        widths = tuple(w - pad for w in fitted)
        if widths == self._widths:
            return False
        self._widths = widths
        self._resize_virtual()
        return True

    def _resize_virtual(self) -> None:
        width = sum(self._widths) + 2 * PAD * len(self._widths)
        self.virtual_size = Size(width, len(self._keys) + 1)

    def on_resize(self, event: events.Resize) -> None:
        if self._budget() != self._fit_width and self._fit():
            self.refresh()
        self._scroll_to_row(self.cursor_row)

    def _visible_rows(self) -> int:
        """Rows that fit under the header."""
        return max(1, self.scrollable_content_region.height - 1)

    def _scroll_to_row(self, row: int) -> None:
        top = round(self.scroll_y)
        seen = self._visible_rows()
        if row < top:
            self.scroll_to(y=row, animate=False, immediate=True)
        elif row >= top + seen:
            self.scroll_to(y=row - seen + 1, animate=False, immediate=True)

    def _refresh_row(self, row: int) -> None:
        y = row - round(self.scroll_y) + 1
        if 1 <= y < self.size.height:
            self.refresh_line(y)

    # ------------------------------------------------------------------ drawing

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()  # a theme or focus change: every row anew
        self._header = None
        self._style_cache = {}

    def _style(self, name: str) -> Style:
        """The widget's own style (``""``) or a component's, cached until styles change
        (per focus state: ``:focus`` rules restyle the cursor and the background)."""
        key = f"{name}:{self.has_focus}"
        style = self._style_cache.get(key)
        if style is None:
            style = self.rich_style if not name else self.get_component_rich_style(name)
            self._style_cache[key] = style
        return style

    def on_focus(self, event: events.Focus) -> None:
        self._refresh_row(self.cursor_row)  # the cursor's colours say where the keys go

    def on_blur(self, event: events.Blur) -> None:
        self._refresh_row(self.cursor_row)

    def _line(self, cells: Sequence[Cell], base: Style) -> Strip:
        line = Text(end="", no_wrap=True)
        blank = " " * PAD
        for cell, width in zip(cells, self._widths, strict=False):
            text = cell if isinstance(cell, Text) else Text(str(cell))
            if text.cell_len > width:
                text = cut(text, width)  # a squeezed column: an ellipsis at its edge
            room = width - text.cell_len
            right = text.justify == "right"
            line.append(blank + " " * room if right else blank)
            line.append_text(text)
            line.append(blank if right else " " * room + blank)
        # Text.render leaves out the base style when the line has no spans: put it under
        # every segment here (the cells' own styles stay on top of it).
        segments = list(Segment.apply_style(line.render(self.app.console), style=base))
        return Strip(segments, line.cell_len)

    def _header_strip(self) -> Strip:
        style = self._style("keyed-table--header")
        state = (self._widths, self._columns_spec)
        if self._header is None or self._header[0] != state:
            labels = [Text(label, style=style) for label, _key in self._columns_spec]
            self._header = (state, self._line(labels, style))
        return self._header[1]

    def _row_strip(self, row: int) -> Strip:
        key = self._keys[row]
        cursor = row == self.cursor_row
        focused = self.has_focus
        state = (self._sigs[key], self._widths, cursor, cursor and focused)
        cached = self._strips.get(key)
        if cached is not None and cached[0] == state:
            return cached[1]
        base = self._style("")
        if cursor:
            base = base + self._style("keyed-table--cursor")
        strip = self._line(self._row_cells[key], base)
        self._strips[key] = (state, strip)
        return strip

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        scroll_x = round(self.scroll_x)
        fill = self._style("")
        if y == 0:
            if not self._columns_spec:
                return Strip.blank(width, fill)
            strip = self._header_strip()
            fill = self._style("keyed-table--header")  # the header band spans the pane
        else:
            row = round(self.scroll_y) + y - 1
            if row >= len(self._keys):
                return Strip.blank(width, fill)
            strip = self._row_strip(row)
            if row == self.cursor_row:  # and so does the cursor's
                fill = fill + self._style("keyed-table--cursor")
        return strip.crop_extend(scroll_x, scroll_x + width, fill)

    # ------------------------------------------------------------------ keys and mouse

    def action_cursor_up(self) -> None:
        self.move_cursor(row=self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(row=self.cursor_row + 1)

    def action_page_up(self) -> None:
        self.move_cursor(row=self.cursor_row - self._visible_rows())

    def action_page_down(self) -> None:
        self.move_cursor(row=self.cursor_row + self._visible_rows())

    def action_scroll_top(self) -> None:
        self.move_cursor(row=0)

    def action_scroll_bottom(self) -> None:
        self.move_cursor(row=len(self._keys) - 1)

    async def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1:
            return
        row = round(self.scroll_y) + offset.y - 1
        if row >= len(self._keys):
            return
        if row == self.cursor_row and self.chosen:
            # A click on the selected row does what enter does.
            try:
                binding = self._bindings.get_bindings_for_key("enter")[0]
            except (NoBinding, IndexError):
                return
            await self.run_action(binding.action)
            return
        self.move_cursor(row=row)
