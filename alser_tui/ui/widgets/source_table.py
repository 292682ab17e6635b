"""Every live source, one row each: how far it is read, how far behind, how fast, and when
its last line came. Files, a receiver's connections and polled tables alike; a guard without
any source has a row of its own (first), and the sources of a silent guard say so."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from rich.cells import cell_len, get_character_cell_size
from rich.text import Text
from textual import events

from alser_tui.engine.events import FileStats, GuardHealth
from alser_tui.ui.model import source_keys
from alser_tui.ui.text import compact, css_beside, log_text
from alser_tui.ui.widgets.keyed_table import FLEX_MIN, Cell, KeyedTable
from alser_tui.ui.widgets.status_line import size_words

SOURCE_MIN = 12  # cells the source's name keeps however narrow the table
PAD = 1  # the blank cell KeyedTable draws on each side of a cell
COLUMNS = (
    ("source", "source"),
    ("read", "read"),
    ("size", "size"),
    ("behind", "behind"),
    ("lines", "lines"),
    ("lines/s", "rate"),
    ("last line", "last"),
    ("note", "note"),
)


def cut_left(text: str, width: int) -> str:
    """The end of ``text`` in ``width`` cells, an ellipsis where its start was cut: a path
    keeps its file name."""
    if width <= 0:
        return ""
    if cell_len(text) <= width:
        return text
    room = width - 1
    i = len(text)
    while i > 0 and room - get_character_cell_size(text[i - 1]) >= 0:
        i -= 1
        room -= get_character_cell_size(text[i])
    return "…" + text[i:]


def shown_path(path: str, base: str) -> str:
    """A path under ``base`` (the config's folder) as the config names it: relative."""
    if base and path.startswith(base.rstrip(os.sep) + os.sep):
        return path[len(base.rstrip(os.sep)) + 1 :]
    return path


def skew_words(seconds: int) -> str:
    """``skew +45s``, ``skew −5m``, ``skew −2h``, ``skew +1.5d``: how far its line times run
    from the clock (short: the note column is the first to give way)."""
    sign = "+" if seconds > 0 else "−"
    s = abs(seconds)
    if s >= 86400:
        amount = f"{s / 86400:.1f}".removesuffix(".0") + "d"
    elif s >= 3600:
        amount = f"{s / 3600:.1f}".removesuffix(".0") + "h"
    elif s >= 60:
        amount = f"{s // 60}m"
    else:
        amount = f"{s}s"
    return f"skew {sign}{amount}"


def ago_words(ts: float, now: float) -> str:
    """``now``, ``3s ago``, ``12m ago``; the time of day after an hour, the date after a day."""
    if ts <= 0:
        return "never"
    age = now - ts
    if age < 1:
        return "now"
    if age < 60:
        return f"{int(age)}s ago"
    if age < 3600:
        return f"{int(age // 60)}m ago"
    if age < 86400:
        return time.strftime("%H:%M:%S", time.localtime(ts))
    return time.strftime("%b %d", time.localtime(ts))


def rate_words(rate: float | None) -> str:
    if rate is None:
        return "–"
    if rate == 0:
        return "0"
    return f"{rate:.1f}" if rate < 10 else compact(rate)


def count_words(n: int) -> str:
    return f"{n:,}" if n < 1_000_000 else compact(n)


class SourceTable(KeyedTable):
    """Rows keyed by path: the once-a-second updates leave the cursor where it is."""

    DEFAULT_CSS = css_beside(__file__)
    FLEX_COLUMNS: ClassVar[frozenset[str]] = frozenset({"note"})

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._last: tuple[Any, ...] | None = None
        self._cut_for = -1  # the width the source names were last cut for

    def show(
        self,
        files: Sequence[FileStats],
        rates: Mapping[str, float | None],
        now: float,
        *,
        steady: bool = False,
        base: str = "",
        guards: Sequence[GuardHealth] = (),
    ) -> None:
        """``steady`` hides what varies from run to run (lines/s, how long ago)."""
        self._last = (files, rates, now, steady, base, guards)
        self.set_columns(COLUMNS)
        rows: list[tuple[str, list[Cell]]] = [
            (f"\x00guard {g.index}", self._missing_cells(g, now, steady, base))
            for g in guards
            if g.state == "no source"
        ]
        silent = {p: g for g in guards if g.silent for p in g.paths}
        for key, f in zip(source_keys(files), files, strict=True):
            cells = self._cells(f, rates.get(key), now, steady, base)
            g = silent.get(f.path)
            if g is not None:
                note = cells[-1].plain if isinstance(cells[-1], Text) else str(cells[-1])
                mark = f"◌ {g.name} silent"
                cells[-1] = log_text(f"{mark} · {note}" if note else mark)
            rows.append((key, cells))
        self._cut_for = self._budget()
        self.sync(self._fit_sources(rows))

    def on_resize(self, event: events.Resize) -> None:
        # Runs before KeyedTable's: the names are cut again for the new width, then its
        # own fitting finds nothing left to do.
        if self._last is not None and self._budget() != self._cut_for:
            files, rates, now, steady, base, guards = self._last
            self.show(files, rates, now, steady=steady, base=base, guards=guards)

    @staticmethod
    def _cells(f: FileStats, rate: float | None, now: float, steady: bool, base: str) -> list[Cell]:
        if not f.followed:  # matched, not open (the note says why): nothing to measure
            read = size = behind = "–"
        elif f.kind == "table":  # ids stand in for bytes
            read, size, behind = f"#{f.offset:,}", f"#{f.size:,}", f"{f.lag:,} rows"
        else:
            read, size, behind = size_words(f.offset), size_words(f.size), size_words(f.lag)
        if f.last_line <= 0:
            last = "never"
        else:
            last = "–" if steady else ago_words(f.last_line, now)
        note = [skew_words(f.skew)] if f.skew else []
        if f.note:
            note.append(f.note)

        def right(value: str) -> Text:
            return Text(value, justify="right", no_wrap=True)

        return [
            log_text(shown_path(f.path, base)),
            right(read),
            right(size),
            right(behind),
            right(count_words(f.lines)),
            right("–" if steady else rate_words(rate)),
            right(last),
            log_text(" · ".join(note)),
        ]

    @staticmethod
    def _missing_cells(g: GuardHealth, now: float, steady: bool, base: str) -> list[Cell]:
        """A guard without a source: its glob, and why ("folder … does not exist")."""
        if g.last_line <= 0:
            last = "never"
        else:
            last = "–" if steady else ago_words(g.last_line, now)
        dash = Text("–", justify="right", no_wrap=True)
        # Paths in the reason under the config's folder: relative, as the config has them.
        reason = g.reason.replace(base.rstrip(os.sep) + os.sep, "") if base else g.reason
        return [
            log_text(shown_path(g.source, base)),
            dash,
            dash,
            dash,
            Text("0", justify="right", no_wrap=True),
            dash,
            Text(last, justify="right", no_wrap=True),
            log_text(f"∅ no source: {reason}"),
        ]

    def _fit_sources(self, rows: list[tuple[str, list[Cell]]]) -> list[tuple[str, list[Cell]]]:
        """Cut the source names from the left to what the other columns leave (the note
        gives way first, down to FLEX_MIN, then KeyedTable cuts it from the right)."""
        budget = self._budget()
        if not budget or not rows:
            return rows
        natural = [cell_len(label) for label, _key in COLUMNS]
        for _key, cells in rows:
            for i, c in enumerate(cells):
                natural[i] = max(natural[i], c.cell_len if isinstance(c, Text) else cell_len(c))
        pad = 2 * PAD
        others = sum(w + pad for w in natural[1:-1]) + min(natural[-1], FLEX_MIN) + pad
        width = max(SOURCE_MIN, budget - others - pad)
        if natural[0] <= width:
            return rows
        out = []
        for key, cells in rows:
            name = cells[0]
            plain = name.plain if isinstance(name, Text) else name
            out.append((key, [log_text(cut_left(plain, width)), *cells[1:]]))
        return out
