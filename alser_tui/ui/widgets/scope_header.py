"""What the table shows: parser, window size, grouping, limit, time span, total."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from alser_tui.engine.config import ParserConfig
from alser_tui.sanitize import clean
from alser_tui.ui.model import STATE_MARKS, ParserState, ParserView
from alser_tui.ui.query import Scope
from alser_tui.ui.text import amount, css_beside, parser_style, show, span


def scope_words(p: ParserConfig, scope: Scope | None) -> str:
    """``window 60s · group by area, file · top 10 · 12:04:00 ~ 12:05:00``."""
    parts = [f"window {p.window}s"]
    if p.aggregate != "count":
        parts.append(p.aggregate)
    if p.group_by:
        parts.append("group by " + ", ".join(p.group_by))
    parts.append(f"top {p.limit}" if p.limit else "all groups")
    if scope is not None and scope.start is not None and scope.end is not None:
        parts.append(span(scope.start, scope.end))
    return " · ".join(parts)


SAMPLE_WIDTH = 200  # characters of the rejected-line sample (the pane cuts it further)


class ScopeHeader(Static):
    DEFAULT_CSS = css_beside(__file__)

    def show(
        self,
        p: ParserConfig,
        scope: Scope | None,
        state: ParserState,
        view: ParserView | None = None,
    ) -> None:
        text = Text()
        text.append(p.label, style=parser_style(p.colors))
        text.append(f" · {p.id}   {STATE_MARKS[state]}")
        if view is not None and view.rejected:
            # What the parser refuses, and a sample of it: the usual first question.
            text.append(f"   ✗ {view.rejected:,} rejected")
            if view.last_reject:
                text.append(" · last: ")
                text.append(clean(view.last_reject[:SAMPLE_WIDTH]))
        text.append("\n")
        text.append(scope_words(p, scope))
        if scope is not None and scope.start is not None:
            text.append(f" · total {amount(scope.total)} in {scope.groups:,} groups")
            if scope.pruned:
                text.append(" · events pruned: rows as stored")
        elif scope is not None:
            text.append(" · no events yet")
        show(self, text)
