"""Raw events of one group in one window: time, area, every column, the original line; a
filter narrows the rows, a search marks its hits."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message

from alser_tui.engine.config import ParserConfig
from alser_tui.sanitize import clean
from alser_tui.ui.text import clock, css_beside, log_text
from alser_tui.ui.widgets.keyed_table import Cell, KeyedTable

RAW_WIDTH = 400
VALUE_WIDTH = 60
FEED_CHUNK = 100  # rows built at a time


class EventTable(KeyedTable):
    """Events of a window come oldest first, so following adds rows at the end. Row keys are
    the events' positions, so filtering and searching keep the cursor on its event."""

    DEFAULT_CSS = css_beside(__file__)
    COMPONENT_CLASSES: ClassVar[set[str]] = KeyedTable.COMPONENT_CLASSES | {"event-table--hit"}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Event", id="event-open"),
        Binding("slash", "screen.search", "Search", id="search"),
        Binding("n", "screen.next_hit(1)", "Next hit", show=False, id="next-hit"),
        Binding("N", "screen.next_hit(-1)", "Previous hit", show=False, id="previous-hit"),
        Binding("f", "screen.filter", "Filter", id="filter"),
        Binding("left", "scroll_left", "Scroll left", show=False, id="scroll-left"),
        Binding("right", "scroll_right", "Scroll right", show=False, id="scroll-right"),
    ]

    class Open(Message):
        """Enter on an event: show it whole."""

        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    def __init__(self) -> None:
        super().__init__()
        self.events: list[dict[str, Any]] = []
        # Per event: every shown value, cleaned, lower case; made when a search or filter
        # first needs it (for ten thousand events it is a few hundred ms: not on enter).
        self._hay: list[str | None] = []
        self.filter = ""
        self.search = ""
        self.shown: list[int] = []  # event positions on screen, in order
        self._fed = 0  # events considered for the screen so far (the rest wait for feed)
        self._names: list[str] = []

    def setup(self, p: ParserConfig) -> None:
        """Empty, with the columns of this parser (the screen is reused for every group)."""
        self.events = []
        self._hay = []
        self.filter = self.search = ""
        self.shown = []
        self._fed = 0
        self._columns_spec = ()  # rebuilt even when the columns are the same
        names = [n for n in p.column_names if n not in ("area", "ts")]
        self.set_columns(
            [("time", "ts"), ("area", "area"), *((n, f"c:{n}") for n in names), ("raw line", "raw")]
        )
        self._names = names

    # ------------------------------------------------------------------ rows

    def add_events(self, events: Sequence[dict[str, Any]], *, more: bool = False) -> int:
        """Take events: the window's from the first (only those past the ones held are new)
        or, with ``more``, ones that continue them. Nothing is shown yet: ``feed`` puts
        them on screen a chunk at a time. Returns how many were new."""
        fresh = list(events) if more else list(events[len(self.events) :])
        self.events.extend(fresh)
        self._hay.extend([None] * len(fresh))
        return len(fresh)

    def feed(self, chunk: int = FEED_CHUNK) -> int:
        """Show up to ``chunk`` more of the held events (those the filter keeps); returns how
        many are still waiting. A big window appears a screenful first, the rest between
        frames, so a key never waits for ten thousand rows to be built."""
        end = min(len(self.events), self._fed + chunk)
        keep = [i for i in range(self._fed, end) if self._kept(i)]
        self._fed = end
        self.shown.extend(keep)
        self.append([(str(i), self._cells(i)) for i in keep])
        return len(self.events) - self._fed

    def set_filter(self, term: str) -> None:
        self.filter = term
        self._rebuild()

    def set_search(self, term: str) -> None:
        self.search = term
        self._rebuild()

    def _rebuild(self) -> None:
        # An explicit search or filter: every held event is considered at once.
        self._fed = len(self.events)
        self.shown = [i for i in range(len(self.events)) if self._kept(i)]
        self.sync([(str(i), self._cells(i)) for i in self.shown])

    def _kept(self, i: int) -> bool:
        return not self.filter or self.filter.lower() in self.hay(i)

    def hay(self, i: int) -> str:
        """What a search sees of event i (made once, when first asked)."""
        text = self._hay[i]
        if text is None:
            text = self._hay[i] = self._haystack(self.events[i])
        return text

    def _haystack(self, ev: dict[str, Any]) -> str:
        """What a search sees: every value shown, the time as shown included."""
        ts = ev.get("ts")
        values = [clock(ts) if ts is not None else None]
        values += [ev.get(n) for n in ("area", *self._names, "raw")]
        return "\n".join(clean(str(v)) for v in values if v is not None).lower()

    def _cells(self, i: int) -> list[Cell]:
        ev = self.events[i]
        cells: list[Cell] = [
            Text(clock(ev["ts"])) if ev.get("ts") is not None else Text("–"),
            log_text(ev.get("area"), 8),
            *(log_text(ev.get(n), VALUE_WIDTH) for n in self._names),
            log_text(ev.get("raw"), RAW_WIDTH),
        ]
        if self.search and self.search.lower() in self.hay(i):
            style = self.get_component_rich_style("event-table--hit", partial=True)
            pattern = re.compile(re.escape(self.search), re.IGNORECASE)
            for c in cells:
                if isinstance(c, Text):
                    c.highlight_regex(pattern, style)
        return cells

    # ------------------------------------------------------------------ search

    def hits(self, term: str | None = None) -> list[int]:
        """Rows (positions on screen) whose event holds the search term."""
        needle = (self.search if term is None else term).lower()
        if not needle:
            return []
        return [row for row, i in enumerate(self.shown) if needle in self.hay(i)]

    def next_hit(self, step: int) -> int | None:
        """Move to the next (step 1) or previous (-1) hit from the cursor, wrapping; returns
        the hit's number (1-based) among all hits."""
        rows = self.hits()
        if not rows:
            return None
        here = self.cursor_row
        if step > 0:
            after = [r for r in rows if r > here]
            target = after[0] if after else rows[0]
        else:
            before = [r for r in rows if r < here]
            target = before[-1] if before else rows[-1]
        self.move_cursor(row=target)
        return rows.index(target) + 1

    def first_hit(self) -> int | None:
        """The cursor on the first hit at or after it (a new search starts where you are)."""
        rows = self.hits()
        if not rows:
            return None
        here = self.cursor_row
        target = next((r for r in rows if r >= here), rows[0])
        self.move_cursor(row=target)
        return rows.index(target) + 1

    def hit_number(self) -> int | None:
        rows = self.hits()
        return rows.index(self.cursor_row) + 1 if self.cursor_row in rows else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # The drill-down's search or filter input is open: letters are text (see drill.py).
        return not getattr(self.screen, "asking", "")

    def action_open(self) -> None:
        key = self.cursor_key
        if key is not None:
            self.post_message(self.Open(int(key)))
