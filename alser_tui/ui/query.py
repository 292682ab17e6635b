"""Engine queries the console runs off the UI thread, and the frozen results they return.

No Textual here: the app runs these in its query worker and posts the results back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from alser_tui.engine.engine import Engine
from alser_tui.engine.store import GroupRow
from alser_tui.ui.text import group_key

HISTOGRAM_WINDOWS = 60
EVENTS_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class Scope:
    """One parser's table for one window (the newest when ``live``)."""

    parser: str
    start: int | None = None  # None: no data yet
    end: int | None = None
    live: bool = True
    rows: tuple[GroupRow, ...] = ()
    total: float = 0
    groups: int = 0
    previous: dict[str, float] = field(default_factory=dict)
    windows: tuple[tuple[int, float], ...] = ()  # (start, total), oldest first, newest last
    pruned: bool = False  # the window's events are gone: rows as stored at close


def build_scope(engine: Engine, parser_id: str, start: int | None) -> Scope:
    """The top-N of the open window (start None) or of a past window, with its neighbours."""
    size = engine.runs[parser_id].config.window
    recent = engine.recent_windows(parser_id, HISTOGRAM_WINDOWS)
    opened = engine.open_window(parser_id)
    windows = [(s, t) for s, _e, t, _r in recent]
    if opened is not None and (not windows or opened[0] > windows[-1][0]):
        windows.append((opened[0], opened[2].total))
    if start is None or (windows and start >= windows[-1][0]):
        if opened is None:
            return Scope(parser_id, windows=tuple(windows))
        start, end, agg = opened
        rows, total, groups, pruned = agg.rows, agg.total, agg.groups, False
    else:
        end = start + size
        agg = engine.window_of(parser_id, start)
        stored = next((r for s, _e, _t, r in recent if s == start), None)
        pruned = (agg is None or not agg.rows) and bool(stored)
        if pruned:
            assert stored is not None
            rows = tuple(GroupRow(r["amount"], r["group"]) for r in stored)
            total = next(t for s, _e, t, _r in recent if s == start)
            groups = len(rows)
        elif agg is not None:
            rows, total, groups = agg.rows, agg.total, agg.groups
        else:
            rows, total, groups = (), 0, 0
    before = [r for s, _e, _t, r in recent if s < start]
    previous = {group_key(r["group"]): r["amount"] for r in before[-1]} if before else {}
    live = not windows or start >= windows[-1][0]
    return Scope(
        parser_id, start, end, live, tuple(rows), total, groups, previous, tuple(windows), pruned
    )


def open_totals(engine: Engine) -> dict[str, tuple[int, float] | None]:
    """Every running parser's open window: (start, total), or None before its first row."""
    return engine.open_totals()


@dataclass(frozen=True, slots=True)
class Events:
    parser: str
    start: int
    end: int
    group: dict[str, Any]
    rows: tuple[dict[str, Any], ...]
    limited: bool


def fetch_events(
    engine: Engine, parser_id: str, start: int, end: int, group: dict[str, Any]
) -> Events:
    rows = engine.events_of(parser_id, start, end, group)
    return Events(parser_id, start, end, group, tuple(rows), len(rows) >= EVENTS_LIMIT)
