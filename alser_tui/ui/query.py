"""Engine queries the console runs off the UI thread, and the frozen results they return.

No Textual here: the app runs these in its query worker and posts the results back.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from alser_tui.ui.text import group_key

if TYPE_CHECKING:
    # Both import sqlite_utils and the parsers: the app loads them after its first frame.
    from alser_tui.engine.alarms import Alarm
    from alser_tui.engine.engine import Engine
    from alser_tui.engine.store import GroupRow

HISTOGRAM_WINDOWS = 60
EVENTS_LIMIT = 10_000
FIRST_PAGE = 60  # events read before the first frame of the drill-down (a screenful)


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
    # A group asked for (an alarm's) that is not among ``rows``: its own amount, or None
    # when the window holds none of its events.
    pinned: GroupRow | None = None


def build_scope(
    engine: Engine,
    parser_id: str,
    start: int | None,
    pin: tuple[int, dict[str, Any]] | None = None,
) -> Scope:
    """The top-N of the open window (start None) or of a past window, with its neighbours;
    ``pin``: (window start, group) to show even when it is not in that window's top N."""
    scope = _build_scope(engine, parser_id, start)
    if pin is None or scope.start != pin[0] or scope.end is None:
        return scope
    group = pin[1]
    if any(group_key(r.group) == group_key(group) for r in scope.rows):
        return scope
    from dataclasses import replace

    return replace(scope, pinned=group_amount(engine, parser_id, scope.start, scope.end, group))


def group_amount(
    engine: Engine, parser_id: str, start: int, end: int, group: dict[str, Any]
) -> GroupRow | None:
    """One group's amount in one window, computed from its events (it is outside the top N
    the store's aggregate returns)."""
    from alser_tui.engine.store import GroupRow

    p = engine.runs[parser_id].config
    if p.stats_sql:
        return None  # a free SQL aggregate: no per-group formula to apply here
    try:
        rows = engine.events_of(parser_id, start, end, group, limit=EVENTS_LIMIT)
    except KeyError:  # the alarm's group has a field the table does not store
        return None
    if not rows:
        return None
    kind, name = p.aggregate_kind, p.aggregate_field
    if kind == "count_distinct":
        amount: float = len({r.get(name) for r in rows if r.get(name) is not None})
    elif kind == "sum":
        amount = round(sum(r.get(name) or 0 for r in rows), 6)
    else:
        amount = len(rows)
    return GroupRow(amount, group)


def _build_scope(engine: Engine, parser_id: str, start: int | None) -> Scope:
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
            from alser_tui.engine.store import GroupRow

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


def store_bytes(engine: Engine) -> int | None:
    """The store's size on disk: the database and its write-ahead log."""
    store = engine.store
    if store is None:
        return None
    total = 0
    for suffix in ("", "-wal"):
        try:
            total += os.stat(f"{store.path}{suffix}").st_size
        except OSError:
            continue
    return total


@dataclass(frozen=True, slots=True)
class Events:
    parser: str
    start: int
    end: int
    group: dict[str, Any]
    rows: tuple[dict[str, Any], ...]
    limited: bool  # there may be more than ``rows`` (a first page, or the limit reached)
    more: bool = False  # ``rows`` continue the ones already held (a live window followed)


def fetch_events(
    engine: Engine,
    parser_id: str,
    start: int,
    end: int,
    group: dict[str, Any],
    *,
    limit: int = EVENTS_LIMIT,
    after: tuple[int, int] | None = None,
) -> Events:
    """The group's events in the window, oldest first. ``after`` = (ts, n): only those past
    the n events held at that time stamp (following a live window reads what is new, not
    the whole window again; a late line stamped before ``ts`` shows on the next full read)."""
    if after is None:
        rows = engine.events_of(parser_id, start, end, group, limit=limit)
        return Events(parser_id, start, end, group, tuple(rows), len(rows) >= limit)
    ts, skip = after
    rows = engine.events_of(parser_id, ts, end, group, limit=limit + skip)[skip:]
    return Events(parser_id, start, end, group, tuple(rows), len(rows) >= limit, more=True)


def fetch_alarm_events(
    engine: Engine, alarm: Alarm, group: dict[str, Any], *, limit: int = EVENTS_LIMIT
) -> Events:
    """An instant or dropped alarm's own event(s), shown under its group."""
    rows = engine.alarm_events(alarm, limit=limit)
    return Events(alarm.parser, alarm.start, alarm.end, group, tuple(rows), len(rows) >= limit)
