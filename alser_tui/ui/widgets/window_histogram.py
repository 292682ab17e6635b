"""Totals of the last windows as bars; the window the table shows is marked."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.widgets import Static

from alser_tui.ui.query import Scope
from alser_tui.ui.text import BARS, amount, bar_levels, css_beside, show


class WindowHistogram(Static):
    DEFAULT_CSS = css_beside(__file__)
    COMPONENT_CLASSES: ClassVar[set[str]] = {"window-histogram--shown"}

    def show(self, scope: Scope | None) -> None:
        if scope is None or not scope.windows:
            show(self, "")
            return
        width = max(1, self.size.width - 2) if self.size.width else 60
        windows = scope.windows[-width:]
        totals = [t for _s, t in windows]
        shown = self.get_component_rich_style("window-histogram--shown", partial=True)
        bars = Text()
        marker = Text()
        for (s, _t), level in zip(windows, bar_levels(totals), strict=True):
            here = s == scope.start
            bars.append(BARS[level], style=shown if here else "")
            marker.append("▲" if here else " ", style=shown if here else "")
        bars.append(f"  {len(windows)} windows · {amount(min(totals))} – {amount(max(totals))}")
        show(self, Text("\n").join([bars, marker]))
