"""Files in the watched folders that no guard covers: a new log family nobody reads yet."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual import events

from alser_tui.ui.text import css_beside, log_text
from alser_tui.ui.widgets.keyed_table import Cell, KeyedTable
from alser_tui.ui.widgets.source_table import PAD, cut_left, shown_path


class UnguardedTable(KeyedTable):
    """One row per file, keyed by its path; its name is kept when the path is cut."""

    DEFAULT_CSS = css_beside(__file__)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._last: tuple[Sequence[str], str] | None = None
        self._cut_for = -1

    def show(self, paths: Sequence[str], base: str = "") -> None:
        """The files by path; one row ``none`` (key "", never a path) when there are none."""
        self._last = (paths, base)
        self.set_columns([("file", "file")])
        self._cut_for = budget = self._budget()
        width = budget - 2 * PAD if budget else 0
        rows: list[tuple[str, list[Cell]]] = []
        for path in paths:
            name = log_text(shown_path(path, base)).plain
            rows.append((path, [log_text(cut_left(name, width) if width else name)]))
        self.sync(rows or [("", [Text("none")])])

    def on_resize(self, event: events.Resize) -> None:
        if self._last is not None and self._budget() != self._cut_for:
            self.show(*self._last)
