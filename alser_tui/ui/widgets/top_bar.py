"""The top line: what is guarded, and whether the view is LIVE, PAUSED or a past window."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label

from alser_tui.ui.text import css_beside, show


class TopBar(Horizontal):
    DEFAULT_CSS = css_beside(__file__)

    def __init__(self, title: str, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._title = title

    def compose(self) -> ComposeResult:
        yield Label(self._title, id="top-title")
        yield Label("starting…", id="top-view")

    def show_view(self, text: str, kind: str) -> None:
        """``kind`` is live, trouble (live, some guard reads nothing), paused, past or idle
        (a CSS class, never the only cue)."""
        label = self.query_one("#top-view", Label)
        show(label, text, fixed=False)
        for k in ("live", "trouble", "paused", "past", "idle"):
            label.set_class(k == kind, f"-{k}")
