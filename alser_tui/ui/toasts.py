"""Toasts as data: a transient cue, at most two on screen, the rest merged as ``+5 more``.

No Textual here: the app keeps one board, every screen's ToastShelf shows what it says.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

MAX_VISIBLE = 2
SEVERITIES = ("information", "warning", "error")


@dataclass(frozen=True, slots=True)
class Toast:
    text: str  # plain text (log-derived parts already cleaned)
    severity: str
    expires: float


class ToastBoard:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._toasts: list[Toast] = []
        self.version = 0  # bumps on every change, so shelves repaint only when needed

    def add(self, text: str, severity: str = "information", timeout: float = 5.0) -> None:
        if severity not in SEVERITIES:
            severity = "information"
        self._toasts.append(Toast(text, severity, self.clock() + timeout))
        self.version += 1

    def prune(self) -> None:
        now = self.clock()
        alive = [t for t in self._toasts if t.expires > now]
        if len(alive) != len(self._toasts):
            self._toasts = alive
            self.version += 1

    def visible(self) -> list[tuple[str, str]]:
        """(text, severity) oldest first: the two newest; the older of them carries how many
        more are hidden behind it, with the worst severity among them."""
        self.prune()
        toasts = self._toasts
        if len(toasts) <= MAX_VISIBLE:
            return [(t.text, t.severity) for t in toasts]
        hidden = toasts[: -MAX_VISIBLE + 1]  # merged into the upper toast
        upper = hidden[-1]
        worst = max((t.severity for t in hidden), key=SEVERITIES.index)
        merged = f"{upper.text}  (+{len(hidden) - 1} more)"
        return [(merged, worst), *((t.text, t.severity) for t in toasts[-MAX_VISIBLE + 1 :])]

    def clear(self) -> None:
        self._toasts.clear()
        self.version += 1
