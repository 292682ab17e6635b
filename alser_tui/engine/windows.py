"""Event-time tumbling windows: which window a row belongs to, and when a window may close."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


def window_start(ts: int, size: int) -> int:
    return ts - ts % size


@dataclass(slots=True)
class WindowClock:
    """Tracks one parser's windows. Windows close in order; rows for a closed window are late.

    ``first_open`` is the start of the earliest window holding rows that has not closed yet
    (None when there is none); ``closed_upto`` is the end of the last closed window.
    """

    size: int
    lateness: float
    closed_upto: int | None = None
    first_open: int | None = None
    late: int = 0

    def note_batch(self, batch_min: int, rows: Sequence[Sequence[Any]]) -> None:
        """Register rows just stored (``row[1]`` is the ts); counts the late ones."""
        cut = self.closed_upto
        if cut is not None and batch_min < cut:
            fresh = [r[1] for r in rows if r[1] >= cut]
            self.late += len(rows) - len(fresh)
            if not fresh:
                return
            batch_min = min(fresh)
        start = window_start(batch_min, self.size)
        if self.first_open is None or start < self.first_open:
            self.first_open = start

    def due(self, watermark: float) -> int | None:
        """The start of the next window that may close at this watermark, if any."""
        s = self.first_open
        if s is not None and s + self.size + self.lateness <= watermark:
            return s
        return None

    def closed(self, start: int, next_ts: int | None) -> None:
        """Window ``start`` closed; ``next_ts`` is the earliest stored ts after it, if any."""
        self.closed_upto = start + self.size
        self.first_open = None if next_ts is None else window_start(next_ts, self.size)

    def passed(self, watermark: float) -> int | None:
        """The end of the last window that may close at ``watermark``: every window ending
        at or before it has closed (``due`` returned it) or never had a row."""
        if not math.isfinite(watermark):
            return None
        edge = window_start(math.floor(watermark - self.lateness), self.size)
        if self.first_open is not None:
            edge = min(edge, self.first_open)
        return edge
