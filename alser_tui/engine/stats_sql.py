"""A parser's raw SQL aggregate (``stats_sql``), the original's ``stats_stmt`` for what the
declarative aggregate/group_by/where cannot say.

The query names its table and window through placeholders, never by splicing values::

    stats_sql = "SELECT COUNT(DISTINCT uid) AS amount, area FROM {table} WHERE {window} GROUP BY area"

``{table}`` becomes the parser's (quoted) events table; ``{window}`` becomes
``(ts >= :start AND ts < :end)`` and ``{start}`` / ``{end}`` the bare bound parameters, so
the bounds are always bound by SQLite. The select list yields ``amount`` first, then the
group columns, each named after one of the parser's columns (drill-down filters on them).
At config load the query is prepared against an empty table of the parser's shape with an
authorizer that allows reading that one table only: anything that would write, attach or
read another table is refused there, before it can ever run on the real store.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

PLACEHOLDERS = {
    "{window}": "(ts >= :start AND ts < :end)",
    "{start}": ":start",
    "{end}": ":end",
}
AMOUNT = "amount"

# Reads of the one table, the SELECT itself, functions and recursive CTEs; nothing else.
_ALLOWED_ACTIONS = {
    sqlite3.SQLITE_SELECT,
    sqlite3.SQLITE_READ,
    sqlite3.SQLITE_FUNCTION,
    getattr(sqlite3, "SQLITE_RECURSIVE", 33),
}
_DENIED_FUNCTIONS = {"load_extension"}


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def render(sql: str, table: str) -> str:
    """The query with its placeholders filled (``table`` is the unquoted table name)."""
    out = sql.replace("{table}", quote_ident(table))
    for mark, text in PLACEHOLDERS.items():
        out = out.replace(mark, text)
    return out


def check_stats_sql(sql: str, table: str, columns: Sequence[str]) -> tuple[str, ...]:
    """Validate a stats_sql against a table with ``columns``; returns its group columns.

    Raises ValueError with a one-line reason.
    """
    if "{table}" not in sql:
        raise ValueError("must read from {table} (the parser's events table)")
    if "{window}" not in sql and not ("{start}" in sql and "{end}" in sql):
        # Without the bounds the query would count every stored window at once.
        raise ValueError("must restrict rows to the window with {window} (or {start} and {end})")
    text = render(sql, table)
    con = sqlite3.connect(":memory:")
    try:
        cols = ", ".join(quote_ident(c) for c in (*columns, "raw"))
        con.execute(f"CREATE TABLE {quote_ident(table)} ({cols})")
        refused: list[str] = []

        def authorize(action: int, arg1: Any, arg2: Any, _db: Any, _trigger: Any) -> int:
            if action not in _ALLOWED_ACTIONS:
                refused.append("only a read-only SELECT is allowed")
                return sqlite3.SQLITE_DENY
            if action == sqlite3.SQLITE_READ and arg1 != table:
                refused.append(f"may read only {{table}}, not {arg1!r}")
                return sqlite3.SQLITE_DENY
            if action == sqlite3.SQLITE_FUNCTION and str(arg2).lower() in _DENIED_FUNCTIONS:
                refused.append(f"function {arg2}() is not allowed")
                return sqlite3.SQLITE_DENY
            return sqlite3.SQLITE_OK

        con.set_authorizer(authorize)
        try:
            cur = con.execute(text, {"start": 0, "end": 0})
            cur.fetchall()
        except (sqlite3.Error, sqlite3.Warning) as exc:
            if refused:
                raise ValueError(refused[0]) from None
            hint = ""
            if "?" in text or "binding" in str(exc).lower():
                hint = " (bind the window with {window}, {start} and {end}, not ?)"
            raise ValueError(f"invalid SQL: {exc}{hint}") from None
        names = [d[0] for d in cur.description or ()]
    finally:
        con.close()
    if not names or names[0] != AMOUNT:
        first = names[0] if names else "nothing"
        raise ValueError(f"the first column must be named amount (… AS amount), not {first!r}")
    groups = tuple(names[1:])
    known = set(columns)
    for name in groups:
        if name not in known:
            raise ValueError(
                f"column {name!r} is not one of the parser's columns ({', '.join(columns)});"
                " name every group column after a column (AS name)"
            )
        if groups.count(name) > 1 or name == AMOUNT:
            raise ValueError(f"column {name!r} appears twice")
    return groups


def run_stats_sql(
    con: sqlite3.Connection,
    sql: str,
    table: str,
    group_by: Sequence[str],
    start: int,
    end: int,
    *,
    min_amount: float,
    limit: int,
) -> tuple[list[tuple[Any, dict[str, Any]]], float, int]:
    """(rows as (amount, group), total, groups) in the query's own order.

    Like the declarative form, ``total`` sums every row's amount (the window's whole
    volume), ``groups`` counts the rows at or above ``min_amount``, and ``limit`` (0: none)
    only cuts what is shown. Done in Python so the query's ORDER BY is kept as written.
    """
    rows: list[tuple[Any, dict[str, Any]]] = []
    total: float = 0
    groups = 0
    for rec in con.execute(render(sql, table), {"start": start, "end": end}):
        amount = rec[0]
        if amount is None:
            amount = 0
        if isinstance(amount, float):
            amount = round(amount, 6)
        try:
            total += amount
            if amount < min_amount:
                continue
        except TypeError:  # a text "amount": shown, never summed
            pass
        groups += 1
        if not limit or len(rows) < limit:
            rows.append((amount, dict(zip(group_by, rec[1:], strict=True))))
    if isinstance(total, float):
        total = round(total, 6)
    return rows, total, groups
