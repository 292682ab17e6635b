"""Where a screen shows the app's toasts: at most two one-line toasts, on a layer of their
own, placed by each screen's CSS away from its table."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from alser_tui.ui.text import css_beside, show
from alser_tui.ui.toasts import MAX_VISIBLE, SEVERITIES


class ToastShelf(Vertical):
    DEFAULT_CSS = css_beside(__file__)

    def __init__(self) -> None:
        super().__init__()
        self.shown: list[tuple[str, str]] = []

    def compose(self) -> ComposeResult:
        for _ in range(MAX_VISIBLE):
            yield Static(classes="toast")

    def show(self, toasts: list[tuple[str, str]]) -> None:
        if toasts == self.shown:
            return
        self.shown = list(toasts)
        self.display = bool(toasts)
        slots = list(self.query(".toast").results(Static))
        # Bottom-aligned: the newest toast sits lowest, nearest the status line.
        padded = [None] * (len(slots) - len(toasts)) + list(toasts)
        for slot, item in zip(slots, padded, strict=True):
            slot.display = item is not None
            if item is None:
                continue
            text, severity = item
            show(slot, Text(text), fixed=False)  # literal: it may quote log text
            for s in SEVERITIES:
                slot.set_class(s == severity, f"-{s}")

    @property
    def texts(self) -> list[str]:
        return [t for t, _s in self.shown]
