"""A window's groups counted in Python instead of by SQLite's GROUP BY.

SQLite sorts the window's rows on every group column before it counts (a temporary b-tree
over text columns), then sorts the groups again for the window functions and the ORDER BY;
fetching the group columns and counting them in a dict costs about 40% less
(bench/RESULTS.md). The answer must equal the SQL query's (store._aggregate_sql) to the
byte, so this only takes the cases whose semantics are plain in Python: ``count`` and
``count_distinct`` over one or more group columns. ``sum`` (SQLite's own float summation
order) and a window with more groups than ``MAX_GROUPS`` (the dict would outgrow the
memory bound; SQLite spills its sort to disk) stay with SQL: the caller gets None.
"""

from __future__ import annotations

import heapq
import sqlite3
from collections import Counter
from operator import itemgetter
from typing import Any

# Past this many groups in one window the counting stops and SQL takes over: bounded memory
# (a million groups would be ~150 MB of tuples; 50,000 are ~10 MB) for a bounded waste.
MAX_GROUPS = 50_000
FETCH = 20_000


def eligible(kind: str, group_by: tuple[str, ...] | list[str], stats_sql: str) -> bool:
    return bool(group_by) and kind in ("count", "count_distinct") and not stats_sql


def count_groups(
    con: sqlite3.Connection,
    table: str,
    cols: str,
    where: str,
    params: tuple[Any, ...],
    distinct: str | None,
) -> dict[tuple[Any, ...], int] | None:
    """{group values: amount} over the rows ``where`` selects, or None past MAX_GROUPS.

    ``table``, ``cols`` (quoted, comma-separated) and ``distinct`` (a quoted column, for
    count_distinct) come from the validated config, never from log text."""
    if distinct is None:
        counts: Counter[tuple[Any, ...]] = Counter()
        cur = con.execute(f"SELECT {cols} FROM {table} WHERE {where}", params)
        while True:
            chunk = cur.fetchmany(FETCH)
            if not chunk:
                return counts
            counts.update(chunk)  # C-level counting of the row tuples
            if len(counts) > MAX_GROUPS:
                return None
    # COUNT(DISTINCT x) per group: NULLs are not counted, yet their group exists.
    seen: dict[tuple[Any, ...], set[Any]] = {}
    cur = con.execute(f"SELECT {distinct}, {cols} FROM {table} WHERE {where}", params)
    while True:
        chunk = cur.fetchmany(FETCH)
        if not chunk:
            break
        for rec in chunk:
            key = rec[1:]
            values = seen.get(key)
            if values is None:
                values = seen[key] = set()
            if rec[0] is not None:
                values.add(rec[0])
        if len(seen) > MAX_GROUPS:
            return None
    return {key: len(values) for key, values in seen.items()}


def _sql_rank(value: Any) -> tuple[int, Any]:
    """SQLite's order across storage classes: NULL < numbers < text < blobs."""
    if value is None:
        return (0, 0)
    if isinstance(value, (int, float)):
        return (1, value)
    if isinstance(value, str):
        return (2, value)
    return (3, value)


def top_groups(
    counts: dict[tuple[Any, ...], int], min_amount: float, limit: int
) -> tuple[list[tuple[int, tuple[Any, ...]]], int, int]:
    """(top ``limit`` (amount, group) by amount descending then group ascending, total of
    every group (the window's whole volume), how many groups are at or above
    ``min_amount``) — the SQL query's ORDER BY, cut and window functions. Python orders str
    by code point, SQLite's BINARY collation by UTF-8 bytes: the same order (text here is
    always valid UTF-8)."""
    total = sum(counts.values())
    kept = [(-amount, key) for key, amount in counts.items() if amount >= min_amount]
    try:
        top = heapq.nsmallest(limit, kept)
    except TypeError:  # a column holding several storage classes (never in typed rows)
        top = heapq.nsmallest(limit, kept, key=lambda it: (it[0], [_sql_rank(v) for v in it[1]]))
    return [(-neg, key) for neg, key in top], total, len(kept)


class SliceCounter:
    """A replay worker counts one parser's rows per window and group as it parses a time
    slice (sources/slices.py), so the windows that lie in the slice need no query.

    Rows are counted by (ts, [distinct value,] *group) at C speed, folded into windows
    once the slice is done. Past MAX_GROUPS keys the counting stops (``overflow``) and the
    slice's windows are left to SQL: the memory stays bounded whatever the slice holds.
    """

    def __init__(
        self,
        columns: tuple[str, ...],
        group_by: tuple[str, ...],
        kind: str,
        field: str,
        window: int,
    ) -> None:
        idx = [columns.index(g) for g in group_by]
        self.distinct = kind == "count_distinct"
        if self.distinct:
            idx.insert(0, columns.index(field))
        self._key = itemgetter(columns.index("ts"), *idx)
        self.window = window
        self.counts: Counter[tuple[Any, ...]] = Counter()
        self.overflow = False

    def add(self, rows: list[tuple[Any, ...]]) -> None:
        if self.overflow or not rows:
            return
        self.counts.update(map(self._key, rows))
        if len(self.counts) > MAX_GROUPS:
            self.overflow = True
            self.counts = Counter()

    def windows(self) -> dict[int, dict[tuple[Any, ...], int]]:
        """{window start: {group: amount}} (empty after an overflow)."""
        size = self.window
        out: dict[int, dict[tuple[Any, ...], int]] = {}
        if not self.distinct:
            for key, n in self.counts.items():
                ts = key[0]
                groups = out.get(ts - ts % size)
                if groups is None:
                    groups = out[ts - ts % size] = {}
                group = key[1:]
                groups[group] = groups.get(group, 0) + n
            return out
        seen: dict[int, dict[tuple[Any, ...], set[Any]]] = {}
        for key in self.counts:
            ts = key[0]
            groups_d = seen.setdefault(ts - ts % size, {})
            values = groups_d.setdefault(key[2:], set())
            if key[1] is not None:
                values.add(key[1])
        return {w: {g: len(v) for g, v in gs.items()} for w, gs in seen.items()}
