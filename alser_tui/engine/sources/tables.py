"""Database tables as a source: the original's second kind of guard.

Every table matching a LIKE pattern (``log_%``) is polled for rows with ``id`` above the last
one read; the zlib-compressed ``data`` column becomes the line ``AREA,NOW,DATA`` (AREA = the
table name after its last ``_``). Tables that appear later are found by ``rescan()`` and read
from their first row. The last id of each table travels to the engine as a FileState with
the rows it produced, so the engine's store commits both together and a restart resumes
exactly where the stored rows end (no extra state file, no loss, no duplicates).

SQLite through the standard library (read-only), MySQL/MariaDB through PyMySQL (imported
only when such a guard exists). A database that is down or a query that fails is recorded
in ``last_error`` and retried later; it never stops the engine.
"""

from __future__ import annotations

import os
import sqlite3
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from .tailer import FileState

if TYPE_CHECKING:
    from alser_tui.engine.ingest import Dsn

POLL_INTERVAL = 1.0
RETRY_AFTER = 5.0


@dataclass(frozen=True, slots=True)
class TableInfo:
    """One polled table, for display and the engine's watermark (ids stand in for bytes)."""

    path: str
    table: str
    area: str
    offset: int  # last id read
    size: int  # highest id seen
    lag: int
    lines_read: int
    bad_rows: int  # data that did not uncompress
    last_error: str = ""
    overlong: int = 0  # FollowedFile compatibility
    missing: bool = False
    last_line_at: float = 0.0  # wall clock of the last poll that found rows

    kind: ClassVar[str] = "table"

    @property
    def note(self) -> str:
        return f"{self.bad_rows:,} rows not zlib data" if self.bad_rows else ""


@dataclass(slots=True)
class _Table:
    name: str
    area: str
    last_id: int
    max_id: int
    lines_read: int = 0
    bad_rows: int = 0
    last_line_at: float = 0.0


def area_of(table: str) -> str:
    return table.rpartition("_")[2] if "_" in table else table


def decode_data(value: Any) -> str | None:
    """The text of a zlib-compressed ``data`` value; None when it is not zlib data."""
    if isinstance(value, str):
        value = value.encode("latin-1", "replace")
    if value is None:
        return None
    try:
        raw = zlib.decompress(bytes(value))
    except zlib.error:
        return None
    # One row is one line: a newline inside would split it into a broken second line.
    return raw.decode("utf-8", "replace").rstrip("\r\n").replace("\n", "\\n")


class _Db:
    """The few queries the source needs, for one database kind."""

    def __init__(self, dsn: Dsn, password_env: str) -> None:
        self.dsn = dsn
        self.password_env = password_env
        self.con: Any = None
        self.mysql = dsn.kind == "mysql"

    def connect(self) -> None:
        if self.con is not None:
            return
        if self.mysql:
            import pymysql

            self.con = pymysql.connect(
                host=self.dsn.host,
                port=self.dsn.port,
                user=self.dsn.user,
                password=os.environ.get(self.password_env, "") if self.password_env else "",
                database=self.dsn.database,
                autocommit=True,  # each poll sees the rows committed since the last one
                connect_timeout=5,
                read_timeout=30,
                charset="utf8mb4",
            )
        else:
            if not os.path.exists(self.dsn.path):
                raise FileNotFoundError(f"no such database file: {self.dsn.path}")
            uri = "file:" + self.dsn.path.replace("?", "%3f").replace("#", "%23") + "?mode=ro"
            self.con = sqlite3.connect(uri, uri=True, timeout=5, check_same_thread=False)

    def close(self) -> None:
        if self.con is not None:
            try:
                self.con.close()
            except Exception:  # a dead connection may fail to close; it is dropped anyway
                pass
            self.con = None

    def _rows(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        self.connect()
        cur = self.con.cursor()
        try:
            cur.execute(sql, params)
            return list(cur.fetchall())
        finally:
            cur.close()

    def quote(self, name: str) -> str:
        if self.mysql:
            return "`" + name.replace("`", "``") + "`"
        return '"' + name.replace('"', '""') + '"'

    def tables(self, pattern: str) -> list[str]:
        if self.mysql:
            return sorted(r[0] for r in self._rows("SHOW TABLES LIKE %s", (pattern,)))
        return sorted(
            r[0]
            for r in self._rows(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE ?", (pattern,)
            )
        )

    def max_id(self, table: str) -> int:
        rows = self._rows(f"SELECT MAX(id) FROM {self.quote(table)}", ())
        return int(rows[0][0] or 0) if rows else 0

    def after(self, table: str, last_id: int, limit: int) -> list[tuple[Any, ...]]:
        mark = "%s" if self.mysql else "?"
        return self._rows(
            f"SELECT id, data FROM {self.quote(table)} WHERE id > {mark} ORDER BY id LIMIT {mark}",
            (last_id, limit),
        )


class TableSource:
    """The engine's source for a guard with ``tables`` (same interface as LiveFollower)."""

    done = False

    def __init__(
        self,
        dsn: Dsn,
        pattern: str,
        *,
        password_env: str = "",
        saved: Iterable[FileState] = (),
        first_run: bool,
        clock: Callable[[], float] = time.time,
        poll_interval: float = POLL_INTERVAL,
    ) -> None:
        self.dsn = dsn
        self.pattern = pattern
        self.clock = clock
        self.poll_interval = poll_interval
        self.db = _Db(dsn, password_env)
        prefix = self.fingerprint("")
        self._saved = {s.fingerprint: s.offset for s in saved if s.fingerprint.startswith(prefix)}
        self._tables: dict[str, _Table] = {}
        self._reported: dict[str, int] = {}
        self._turn = 0
        self._next_poll = 0.0
        self._backlog = False
        self._retry_at = 0.0
        self.last_error = ""
        self.errors = 0
        self._scan(at_end=first_run)

    # ------------------------------------------------------------------ identity

    def fingerprint(self, table: str) -> str:
        """The offsets-table key of a table (dev and inode are 0: no file has inode 0)."""
        return f"table:{self.dsn.display}#{table}"

    def path(self, table: str) -> str:
        return f"{self.dsn.display}#{table}"

    def state(self, t: _Table) -> FileState:
        return FileState(self.path(t.name), 0, 0, self.fingerprint(t.name), t.last_id)

    # ------------------------------------------------------------------ engine interface

    def rescan(self) -> None:
        self._scan(at_end=False)

    def _scan(self, *, at_end: bool) -> None:
        """Find matching tables (new ones from their start, or their end on a first run)."""
        if not self._ready():
            return
        try:
            names = self.db.tables(self.pattern)
            for name in names:
                t = self._tables.get(name)
                if t is None:
                    resume = self._saved.pop(self.fingerprint(name), None)
                    top = self.db.max_id(name)
                    start = resume if resume is not None else (top if at_end else 0)
                    self._tables[name] = _Table(name, area_of(name), start, max(top, start))
                else:
                    t.max_id = max(t.max_id, self.db.max_id(name))
            for name in [n for n in self._tables if n not in names]:
                del self._tables[name]  # dropped: its last state stays stored
        except Exception as exc:
            self._failed(exc)

    def read(self, max_lines: int) -> list[tuple[str, list[str], FileState]]:
        """Rows above each table's last id (round-robin), and every position that moved."""
        out: list[tuple[str, list[str], FileState]] = []
        now = time.monotonic()
        if (self._backlog or now >= self._next_poll) and self._ready():
            self._next_poll = now + self.poll_interval
            self._backlog = False
            try:
                self._poll(max_lines, out)
            except Exception as exc:
                self._failed(exc)
        # Positions not yet handed over (a first run's start, a table that went quiet).
        for t in self._tables.values():
            if self._reported.get(t.name) != t.last_id:
                out.append((self.path(t.name), [], self.state(t)))
                self._reported[t.name] = t.last_id
        return out

    def _poll(self, max_lines: int, out: list[tuple[str, list[str], FileState]]) -> None:
        tables = list(self._tables.values())
        if not tables:
            return
        self._turn = (self._turn + 1) % len(tables)
        left = max_lines
        now = int(self.clock())
        wall = time.time()  # when the rows were read (the clock above stamps the lines)
        for t in tables[self._turn :] + tables[: self._turn]:
            if left <= 0:
                break
            rows = self.db.after(t.name, t.last_id, left)
            if not rows:
                continue
            lines = []
            for row_id, data in rows:
                text = decode_data(data)
                if text is None:
                    t.bad_rows += 1
                else:
                    lines.append(f"{t.area},{now},{text}")
                t.last_id = int(row_id)
            t.max_id = max(t.max_id, t.last_id)
            t.lines_read += len(lines)
            if lines:
                t.last_line_at = wall
            left -= len(rows)
            out.append((self.path(t.name), lines, self.state(t)))
            self._reported[t.name] = t.last_id
        # The budget ran out: more rows may wait, so poll again without the interval.
        self._backlog = left <= 0
        self.last_error = ""

    def _ready(self) -> bool:
        return time.monotonic() >= self._retry_at

    def _failed(self, exc: Exception) -> None:
        # The database may be restarting: drop the connection, try again a bit later.
        self.errors += 1
        self.last_error = f"{type(exc).__name__}: {exc}"[:300]
        self._retry_at = time.monotonic() + RETRY_AFTER
        self.db.close()

    @property
    def files(self) -> list[TableInfo]:
        return [
            TableInfo(
                path=self.path(t.name),
                table=t.name,
                area=t.area,
                offset=t.last_id,
                size=t.max_id,
                lag=max(0, t.max_id - t.last_id),
                lines_read=t.lines_read,
                bad_rows=t.bad_rows,
                last_error=self.last_error,
                last_line_at=t.last_line_at,
            )
            for t in self._tables.values()
        ]

    def states(self) -> list[FileState]:
        return [self.state(t) for t in self._tables.values()]

    def close(self) -> None:
        self.db.close()
