"""SQLite storage: one database per data dir holding every parser's events, closed windows,
alarms and file offsets, so that rows and the offsets that produced them commit atomically."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import sqlite_utils

from alser_tui.engine import grouping
from alser_tui.engine.config import SQL_TYPES, ParserConfig
from alser_tui.engine.sources.tailer import FileState
from alser_tui.engine.stats_sql import run_stats_sql

SCHEMA_VERSION = 1
# The live database's file name in the data dir (delivery reads its alarms table too).
LIVE_DB = "alser.db"
# How long one write waits for another process's write lock before it fails; the engine then
# keeps the batch, shows the error and retries with back-off (a long wait in SQLite would
# freeze the loop: no stats, no prompt stop).
WRITE_BUSY_TIMEOUT = 2.0
# Cut contents (see the cuts table) are kept this long, at most CUTS_MAX of them: their
# copies appear within minutes (logrotate copies, then cuts).
CUTS_KEEP = 86_400.0
CUTS_MAX = 1024


# At most this many rows of one window are built, stored and shown, whatever ``limit`` says
# (0 means "all"): a million distinct groups must not become a million Python objects and a
# 100 MB JSON column (bench/cardinality.py). The total and the group count still cover all.
MAX_SHOWN_ROWS = 10_000


def shown_limit(p: ParserConfig) -> int:
    return min(p.limit, MAX_SHOWN_ROWS) if p.limit else MAX_SHOWN_ROWS


class StoreUnavailable(OSError):
    """The database cannot be opened or set up (read-only or full disk, not a database...)."""


def events_table(parser_id: str) -> str:
    return f"ev_{parser_id}"


def persist_table(parser_id: str) -> str:
    return f"persist_{parser_id}"


def q(name: str) -> str:
    """Quote an identifier. Names come from the validated config, never from log text."""
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True, slots=True)
class GroupRow:
    amount: float
    group: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Aggregate:
    rows: tuple[GroupRow, ...]
    total: float  # every group's amount (after ``where``), before min_amount and limit
    groups: int  # how many groups passed min_amount, before the limit


class Store:
    """The engine's writer connection plus per-thread reader connections for the UI."""

    def __init__(
        self,
        path: Path,
        parsers: Sequence[ParserConfig],
        *,
        scratch: bool = False,
        keep_file: bool = False,
        ts_index: bool = True,
        wal: bool = True,
        read_only: bool = False,
    ) -> None:
        """``scratch``: a replay's database, rebuilt on each run (an existing file is
        removed unless ``keep_file``: a replay shard the engine has just created).
        ``ts_index=False``: the events tables get their time index from index_events()
        once loaded (a replay shard: building it at the end costs less than keeping it
        up to date row by row). ``wal=False``: a rollback journal kept in memory, for a
        replay shard nobody reads while its worker writes it (WAL wrote every page twice,
        to the log then to the file: ~0.3 us of the ~2 us insert per row).
        ``read_only``: another process's database (a guard's, for an attached console):
        no writer connection, no schema; only the reader connections' queries."""
        self.path = path
        self.ts_index = ts_index
        self.wal = wal
        self.parsers = {p.id: p for p in parsers}
        self.scratch = scratch
        self._local = threading.local()
        self._insert_sql: dict[str, str] = {}
        self._persist_sql: dict[str, str] = {}
        self._shards: list[Path] = []  # replay workers' files, once attached
        # The aggregates a replay's workers computed are kept in a scratch table, created
        # on the first precompute() (in memory, a long replay's windows would not be small).
        self._precomputed_table = False
        self.precomputed_used = 0
        self.con: sqlite3.Connection | None = None
        if read_only:
            if not path.exists():
                raise StoreUnavailable(f"cannot use the database {path}: it does not exist")
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if scratch and not keep_file and path.exists():
                for suffix in ("", "-wal", "-shm"):
                    Path(str(path) + suffix).unlink(missing_ok=True)
            self.con = self._connect()
            self.db = sqlite_utils.Database(self.con)
            self._create_schema()
        except (sqlite3.Error, OSError) as exc:
            # One clear line for the command (exit 1) instead of a traceback.
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise StoreUnavailable(f"cannot use the database {path}: {reason}") from exc

    # ------------------------------------------------------------------ setup

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=WRITE_BUSY_TIMEOUT
        )
        # Bigger pages: ~25% cheaper inserts of rows that carry their raw line (new files only).
        con.execute("PRAGMA page_size=16384")
        con.execute("PRAGMA journal_mode=WAL" if self.wal else "PRAGMA journal_mode=MEMORY")
        # A scratch (history replay) database is rebuilt on every run: durability buys nothing.
        con.execute("PRAGMA synchronous=OFF" if self.scratch else "PRAGMA synchronous=NORMAL")
        # Sorts too big for the cache (GROUP BY over a million groups) spill to a temp file
        # instead of growing the heap: bench/cardinality.py, 144 -> 70 MB peak for 1M groups.
        con.execute("PRAGMA temp_store=FILE")
        con.execute("PRAGMA cache_size=-16000")
        return con

    def reader(self) -> sqlite3.Connection:
        """A read connection for the calling thread (WAL lets readers run beside the writer)."""
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=30
            )
            self._see_shards(con)
            con.execute("PRAGMA query_only=ON")
            self._local.con = con
        return con

    def attach_shards(self, shards: Sequence[Path]) -> None:
        """Read the rows that replay workers stored in their own files as if they were
        here: each events table is shadowed by a temporary view over it and its shards'
        (SQLite resolves a bare name in the temp schema first), so every query below, and
        every reader opened later, sees all of them. (A replay worker attaches its
        siblings' shards to its own the same way, to close its share of the windows.)"""
        self._shards = list(shards)
        self._see_shards(self.con)

    @property
    def shards_attached(self) -> bool:
        return bool(self._shards)

    def precompute(self, results: Iterable[tuple[str, int, int, Aggregate]]) -> None:
        """Aggregates the replay's workers computed; aggregate() hands them out."""
        rows = [(pid, start, end, _encode(agg)) for pid, start, end, agg in results]
        if not rows:
            return
        with self._transaction() as con:
            if not self._precomputed_table:
                con.execute(
                    "CREATE TABLE IF NOT EXISTS precomputed (parser TEXT, start INTEGER,"
                    " end INTEGER, agg TEXT, PRIMARY KEY (parser, start, end))"
                )
                self._precomputed_table = True
            con.executemany("INSERT OR REPLACE INTO precomputed VALUES (?, ?, ?, ?)", rows)

    def clear_precomputed(self) -> None:
        """Forget every precomputed aggregate (a replay stopped early closes its windows
        over the rows stored)."""
        if self._precomputed_table:
            with self._transaction() as con:
                con.execute("DELETE FROM precomputed")

    def _see_shards(self, con: sqlite3.Connection) -> None:
        shards = self._shards
        if not shards:
            return
        for i, shard in enumerate(shards):
            con.execute(f"ATTACH DATABASE ? AS {q(f'shard{i}')}", (str(shard),))
        for pid in self.parsers:
            arms = [f"SELECT * FROM {t}" for t in self._tables_of(pid)]
            view = q(events_table(pid))
            con.execute(f"CREATE TEMP VIEW {view} AS " + " UNION ALL ".join(arms))

    def _create_schema(self) -> None:
        db = self.db
        db["meta"].create({"key": str, "value": str}, pk="key", if_not_exists=True)
        db["offsets"].create(
            {
                "dev": int,
                "inode": int,
                "fingerprint": str,
                "path": str,
                "offset": int,
                "updated": float,
                "head": str,
            },
            pk=("dev", "inode", "fingerprint"),
            if_not_exists=True,
        )
        if "head" not in db["offsets"].columns_dict:  # a database from before the column
            db["offsets"].add_column("head", str)
        # Contents cut from their inode (copytruncate, rewrites), stored with the batch that
        # moved past the cut: a copy of one resumes where it was read to, even when the run
        # that saw the cut died before it saw the copy.
        db["cuts"].create(
            {
                "dev": int,
                "inode": int,
                "head": str,
                "fingerprint": str,
                "path": str,
                "offset": int,
                "updated": float,
            },
            pk=("dev", "inode", "head"),
            if_not_exists=True,
        )
        db["windows"].create(
            {
                "parser": str,
                "start": int,
                "end": int,
                "total": float,
                "groups": int,
                "rows": str,
                "closed_at": float,
            },
            pk=("parser", "start"),
            if_not_exists=True,
        )
        db["alarms"].create(
            {
                "id": int,
                "parser": str,
                "kind": str,
                "severity": float,
                "amount": float,
                "grp": str,
                "start": int,
                "end": int,
                "ts": int,
                "text": str,
                "created": float,
                "acked": int,
                "title": str,
                "previous": float,
            },
            pk="id",
            if_not_exists=True,
        )
        # What delivery needs to rebuild an alarm it did not hear of (a crash in between);
        # a database from before these columns gets them, NULL in its old rows.
        have = db["alarms"].columns_dict
        for name, ctype in (("title", str), ("previous", float)):
            if name not in have:
                db["alarms"].add_column(name, ctype)
        if not self.scratch and self.meta("store_id") is None:
            # Names this database (not its path): delivery's mark of the alarms it handled
            # is only valid for the database it was taken from.
            self.set_meta("store_id", uuid.uuid4().hex)
        if "alarms_created" not in {i.name for i in db["alarms"].indexes}:
            db["alarms"].create_index(["created"], index_name="alarms_created", if_not_exists=True)
        for p in self.parsers.values():
            self._create_parser_tables(p)

    def _create_parser_tables(self, p: ParserConfig) -> None:
        columns: dict[str, Any] = {"area": str, "ts": int}
        for name, ftype in p.columns:
            columns[name] = {"TEXT": str, "INTEGER": int, "REAL": float}[SQL_TYPES[ftype]]
        table_name = events_table(p.id)
        table = self.db[table_name]
        wanted = {**columns, "raw": str}
        if table.exists() and set(table.columns_dict) != set(wanted):
            # The parser's fields changed in the config: its transient events no longer fit.
            table.drop()
        table.create(wanted, if_not_exists=True)
        if self.ts_index:
            table.create_index(["ts"], index_name=f"{table_name}_ts", if_not_exists=True)
        names = ", ".join(q(c) for c in wanted)
        marks = ", ".join("?" for _ in wanted)
        self._insert_sql[p.id] = f"INSERT INTO {q(table_name)} ({names}) VALUES ({marks})"
        if p.persist and not self.scratch:
            # A replay's scratch database is rebuilt every run: no history worth keeping there.
            ptable = self.db[persist_table(p.id)]
            if ptable.exists() and set(ptable.columns_dict) != set(wanted):
                # Never drop history: keep the old table under a dated name.
                ptable.rename_table(f"{persist_table(p.id)}_{int(time.time())}")
                ptable = self.db[persist_table(p.id)]
            ptable.create(wanted, if_not_exists=True)
            self._persist_sql[p.id] = (
                f"INSERT INTO {q(persist_table(p.id))} ({names}) VALUES ({marks})"
            )

    def index_events(self) -> None:
        """The time index of every events table (see ``ts_index``); no-op where it exists.
        Named in ``main``: once shards are attached, a bare table name is their view."""
        for pid in self.parsers:
            table = events_table(pid)
            self.con.execute(
                f"CREATE INDEX IF NOT EXISTS main.{q(table + '_ts')} ON {q(table)} (ts)"
            )

    # ------------------------------------------------------------------ writing

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """All or nothing. IMMEDIATE takes the write lock first, so another writer makes it
        wait (busy timeout) rather than fail half-way; a failed COMMIT is rolled back."""
        con = self.con
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
            con.execute("COMMIT")
        except BaseException:
            # SQLite may have rolled back already (SQLITE_FULL, an I/O error): then a second
            # ROLLBACK would raise and hide the real error.
            if con.in_transaction:
                try:
                    con.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            raise

    def write_batch(
        self,
        rows_by_parser: dict[str, list[tuple[Any, ...]]],
        states: Iterable[FileState] = (),
        alarms: Sequence[Any] = (),
    ) -> list[int]:
        """Insert rows, the file offsets that produced them and the alarms they raised at
        once (instant, dropped), in one transaction: a crash keeps all of them or none.
        Returns the alarms' ids."""
        with self._transaction() as con:
            for pid, rows in rows_by_parser.items():
                if rows:
                    con.executemany(self._insert_sql[pid], rows)
                    psql = self._persist_sql.get(pid)
                    if psql:
                        con.executemany(psql, rows)
            now = time.time()
            positions = [s for s in states if not s.cut]
            cuts = [s for s in states if s.cut]
            con.executemany(
                "INSERT OR REPLACE INTO offsets"
                " (dev, inode, fingerprint, path, offset, updated, head)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(s.dev, s.inode, s.fingerprint, s.path, s.offset, now, s.head) for s in positions],
            )
            if cuts:
                args = [
                    (s.dev, s.inode, s.head, s.fingerprint, s.path, s.offset, now) for s in cuts
                ]
                con.executemany(
                    "INSERT OR REPLACE INTO cuts"
                    " (dev, inode, head, fingerprint, path, offset, updated)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    args,
                )
                # A position saved for that content is now a cut: it moves (and ages out).
                con.executemany(
                    "DELETE FROM offsets WHERE dev = ? AND inode = ? AND head = ?"
                    " AND fingerprint = ?",
                    [a[:4] for a in args],
                )
            return self._insert_alarms(con, alarms)

    def saved_offsets(self) -> list[FileState]:
        """The positions the last run stored, then the contents it saw cut (``cut`` set) in
        the last CUTS_KEEP seconds (older ones are forgotten here)."""
        self.con.execute("DELETE FROM cuts WHERE updated < ?", (time.time() - CUTS_KEEP,))
        positions = [
            FileState(
                path=r[0], dev=r[1], inode=r[2], fingerprint=r[3], offset=r[4], head=r[5] or ""
            )
            for r in self.con.execute(
                "SELECT path, dev, inode, fingerprint, offset, head FROM offsets"
            )
        ]
        cuts = [
            FileState(
                path=r[0], dev=r[1], inode=r[2], fingerprint=r[3], offset=r[4], head=r[5], cut=True
            )
            for r in self.con.execute(
                "SELECT path, dev, inode, fingerprint, offset, head FROM cuts"
                " ORDER BY updated DESC LIMIT ?",
                (CUTS_MAX,),
            )
        ]
        return positions + cuts[::-1]  # oldest first, as they happened

    def meta(self, key: str, default: str | None = None) -> str | None:
        row = self.con.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        self.con.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # ------------------------------------------------------------------ windows

    def aggregate(
        self, p: ParserConfig, start: int, end: int, con: sqlite3.Connection | None = None
    ) -> Aggregate:
        """The parser's aggregate over [start, end): top rows, total and group count."""
        if self._precomputed_table and (con is None or con is self.con):
            found = self.con.execute(
                "SELECT agg FROM precomputed WHERE parser = ? AND start = ? AND end = ?",
                (p.id, start, end),
            ).fetchone()
            if found is not None:
                self.precomputed_used += 1
                return _decode(found[0])
        con = con or self.con
        if p.stats_sql:
            found, total_, groups_ = run_stats_sql(
                con, p.stats_sql, events_table(p.id), p.group_by, start, end,
                min_amount=p.min_amount, limit=shown_limit(p),
            )  # fmt: skip
            return Aggregate(tuple(GroupRow(a, g) for a, g in found), total_, groups_)
        if grouping.eligible(p.aggregate_kind, p.group_by, p.stats_sql):
            counted = self._aggregate_counted(con, p, start, end)
            if counted is not None:
                return counted
        return sql_aggregate(con, p, start, end)

    def _aggregate_counted(
        self, con: sqlite3.Connection, p: ParserConfig, start: int, end: int
    ) -> Aggregate | None:
        """aggregate() for count and count_distinct, the groups counted in Python
        (grouping.py); None when the window has too many groups for that."""
        where = window_condition(p)
        distinct = q(p.aggregate_field) if p.aggregate_kind == "count_distinct" else None
        counts = grouping.count_groups(
            con,
            q(events_table(p.id)),
            ", ".join(q(g) for g in p.group_by),
            where,
            (start, end),
            distinct,
        )
        return None if counts is None else counted_aggregate(p, counts)

    def window_total(
        self, p: ParserConfig, start: int, end: int, con: sqlite3.Connection | None = None
    ) -> float:
        """The window's total as aggregate() computes it (every group's amount, shown or
        not), without building its rows when a plain count says the same: a count's groups
        split the window's rows, so their amounts add up to COUNT(*)."""
        con = con or self.con
        if p.aggregate_kind == "count" and not p.stats_sql:
            sql = f"SELECT COUNT(*) FROM {q(events_table(p.id))} WHERE {window_condition(p)}"
            return con.execute(sql, (start, end)).fetchone()[0]
        return self.aggregate(p, start, end, con).total

    def next_ts(self, parser_id: str, at_least: int) -> int | None:
        # MIN over a view of shards scans every row: ask each table (its ts index) instead.
        arms = [f"SELECT MIN(ts) AS m FROM {t} WHERE ts >= ?" for t in self._tables_of(parser_id)]
        sql = f"SELECT MIN(m) FROM ({' UNION ALL '.join(arms)})"
        return self.con.execute(sql, (at_least,) * len(arms)).fetchone()[0]

    def _tables_of(self, parser_id: str) -> list[str]:
        """The tables holding a parser's events: its own, and the replay shards' if any."""
        table = q(events_table(parser_id))
        shards = self._shards
        if not shards:
            return [table]
        return [f"main.{table}", *(f"{q(f'shard{i}')}.{table}" for i in range(len(shards)))]

    def min_ts(self, parser_id: str) -> int | None:
        return self.next_ts(parser_id, -(2**62))

    def save_window(
        self,
        parser_id: str,
        start: int,
        end: int,
        agg: Aggregate,
        closed_at: float,
        con: sqlite3.Connection | None = None,
    ) -> None:
        rows = json.dumps([{"amount": r.amount, "group": r.group} for r in agg.rows])
        (con or self.con).execute(
            "INSERT OR REPLACE INTO windows (parser, start, end, total, groups, rows, closed_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (parser_id, start, end, agg.total, agg.groups, rows, closed_at),
        )

    def close_window(
        self,
        parser_id: str,
        start: int,
        end: int,
        agg: Aggregate,
        closed_at: float,
        alarms: Sequence[Any] = (),
        prune_before: int | None = None,
    ) -> list[int]:
        """A closed window, its alarms and the pruning it allows, in one transaction: after a
        crash the window is either closed with its alarms or still open (closed again).
        Returns the alarms' ids."""
        with self._transaction() as con:
            self.save_window(parser_id, start, end, agg, closed_at, con)
            ids = self._insert_alarms(con, alarms)
            if prune_before is not None:
                self.prune(parser_id, prune_before, con)
        return ids

    def close_windows(
        self, windows: Sequence[tuple[str, int, int, Aggregate, Sequence[Any]]], closed_at: float
    ) -> None:
        """Closed windows (parser, start, end, aggregate, alarms) in one transaction: a
        replay closes its windows in batches (nothing to prune there)."""
        with self._transaction() as con:
            for parser_id, start, end, agg, alarms in windows:
                self.save_window(parser_id, start, end, agg, closed_at, con)
                self._insert_alarms(con, alarms)

    def last_closed_end(self, parser_id: str) -> int | None:
        row = self.con.execute(
            "SELECT MAX(end) FROM windows WHERE parser = ?", (parser_id,)
        ).fetchone()
        return row[0]

    def recent_windows(
        self, parser_id: str, limit: int, con: sqlite3.Connection | None = None
    ) -> list[tuple[int, int, float, list[dict[str, Any]]]]:
        """The last closed windows, oldest first: (start, end, total, rows)."""
        con = con or self.con
        recs = con.execute(
            "SELECT start, end, total, rows FROM windows WHERE parser = ?"
            " ORDER BY start DESC LIMIT ?",
            (parser_id, limit),
        ).fetchall()
        return [(s, e, t, json.loads(r)) for s, e, t, r in reversed(recs)]

    def forget_before(self, event_ts: float, wall: float) -> dict[str, int]:
        """A long-running guard's history, bounded: closed windows that ended before
        ``event_ts``, alarms stored before ``wall`` (never the newest one: new ids follow
        it, and delivery's mark counts on that), and the positions of files not seen since
        ``wall`` that are gone from their path. Returns how many rows went, per table."""
        gone: dict[str, int] = {}
        with self._transaction() as con:
            gone["windows"] = con.execute("DELETE FROM windows WHERE end < ?", (event_ts,)).rowcount
            gone["alarms"] = con.execute(
                "DELETE FROM alarms WHERE created < ? AND id < (SELECT MAX(id) FROM alarms)",
                (wall,),
            ).rowcount
            stale = con.execute(
                "SELECT dev, inode, fingerprint, path FROM offsets WHERE updated < ?", (wall,)
            ).fetchall()
            # A file that is still there keeps its position however long it has been idle
            # (an idle file's position is not rewritten): read again, it would count twice.
            lost = [r[:3] for r in stale if not os.path.lexists(r[3])]
            con.executemany(
                "DELETE FROM offsets WHERE dev = ? AND inode = ? AND fingerprint = ?", lost
            )
            gone["offsets"] = len(lost)
        return gone

    def prune(self, parser_id: str, before_ts: int, con: sqlite3.Connection | None = None) -> None:
        (con or self.con).execute(
            f"DELETE FROM {q(events_table(parser_id))} WHERE ts < ?", (before_ts,)
        )

    # ------------------------------------------------------------------ alarms

    def save_alarms(self, alarms: Sequence[Any]) -> list[int]:
        with self._transaction() as con:
            return self._insert_alarms(con, alarms)

    def _insert_alarms(self, con: sqlite3.Connection, alarms: Sequence[Any]) -> list[int]:
        """Insert in the caller's transaction; returns their ids. The ids are given here
        (after the highest, in order: alarms are never deleted) so that they are known
        without a statement per alarm; delivery marks what it handled by them."""
        if not alarms:
            return []
        now = time.time()
        first = con.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM alarms").fetchone()[0]
        con.executemany(
            "INSERT INTO alarms (id, parser, kind, severity, amount, grp, start, end, ts, text,"
            " created, acked, title, previous) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
            [
                (
                    first + i,
                    a.parser,
                    a.kind,
                    a.severity,
                    a.amount,
                    json.dumps(a.group, default=str),
                    a.start,
                    a.end,
                    a.ts,
                    a.text,
                    now,
                    a.title,
                    a.previous,
                )
                for i, a in enumerate(alarms)
            ],
        )
        return list(range(first, first + len(alarms)))

    def recent_alarms(self, since: float, limit: int, titles: Any = None) -> list[tuple[int, Any]]:
        """(id, Alarm) of the alarms stored since ``since`` (wall clock), the newest
        ``limit`` of them, oldest first: what an attached console shows it missed."""
        rows = (
            self.reader()
            .execute(
                f"SELECT {ALARM_COLUMNS} FROM alarms WHERE created >= ? ORDER BY id DESC LIMIT ?",
                (since, limit),
            )
            .fetchall()
        )
        return [(r[0], alarm_from_row(r, titles)) for r in reversed(rows)]

    # ------------------------------------------------------------------ drill-down

    def events_of(
        self,
        p: ParserConfig,
        start: int,
        end: int,
        group: dict[str, Any] | None = None,
        *,
        limit: int = 10_000,
        con: sqlite3.Connection | None = None,
    ) -> list[dict[str, Any]]:
        """Raw events of one window (and one group), oldest first. Values are bound, never spliced."""
        con = con or self.reader()
        cond = ["ts >= ?", "ts < ?"]
        params: list[Any] = [start, end]
        for name, value in (group or {}).items():
            if name not in p.column_names:
                raise KeyError(name)
            cond.append(f"{q(name)} IS ?")
            params.append(value)
        if p.where:
            cond.append(f"({p.where})")
        cols = [*p.column_names, "raw"]
        sql = (
            f"SELECT {', '.join(q(c) for c in cols)} FROM {q(events_table(p.id))}"
            f" WHERE {' AND '.join(cond)} ORDER BY ts, rowid LIMIT ?"
        )
        params.append(limit)
        return [dict(zip(cols, rec, strict=True)) for rec in con.execute(sql, params)]

    def events_at(
        self,
        p: ParserConfig,
        ts: int,
        match: dict[str, Any],
        *,
        contains: str = "",
        one_per_line: bool = False,
        limit: int = 10_000,
        con: sqlite3.Connection | None = None,
    ) -> list[dict[str, Any]]:
        """The events stamped ``ts`` whose columns equal ``match`` and whose raw line holds
        ``contains``: an alarm's own events. The parser's ``where`` is not applied (it picks
        what its windows count; an instant row it leaves out still raised its alarm).
        ``one_per_line``: a line that made several rows (syslog-ng statistics) once."""
        con = con or self.reader()
        cond = ["ts = ?"]
        params: list[Any] = [ts]
        for name, value in match.items():
            if name not in p.column_names:
                raise KeyError(name)
            cond.append(f"{q(name)} IS ?")
            params.append(value)
        if contains:
            cond.append("instr(raw, ?) > 0")  # a substring, never a LIKE pattern
            params.append(contains)
        cols = [*p.column_names, "raw"]
        sql = (
            f"SELECT {', '.join(q(c) for c in cols)} FROM {q(events_table(p.id))}"
            f" WHERE {' AND '.join(cond)}{' GROUP BY raw' if one_per_line else ''}"
            " ORDER BY ts, rowid LIMIT ?"
        )
        params.append(limit)
        return [dict(zip(cols, rec, strict=True)) for rec in con.execute(sql, params)]

    def close(self) -> None:
        try:
            if self.con is not None:
                self.con.close()
        finally:
            con = getattr(self._local, "con", None)
            if con is not None:
                con.close()


# The alarms table's columns an Alarm is rebuilt from (alarm_from_row), in that order.
ALARM_COLUMNS = "id, parser, kind, severity, amount, grp, start, end, ts, text, title, previous"


def _num(x: Any) -> Any:
    # REAL columns give 12.0 for the 12 the engine raised: the same number, shown as it was.
    return int(x) if isinstance(x, float) and x.is_integer() else x


def alarm_from_row(r: Sequence[Any], titles: Any = None) -> Any:
    """The Alarm a row of ALARM_COLUMNS stores; ``titles(parser)`` names it when the row
    has no title (a database from before the column)."""
    from alser_tui.engine.alarms import Alarm

    _id, parser, kind, severity, amount, grp, start, end, ts, text, title, previous = r
    return Alarm(
        parser, kind, _num(severity), _num(amount), json.loads(grp), start, end, ts, text,
        title or (titles(parser) if titles else ""), _num(previous),
    )  # fmt: skip


def _encode(agg: Aggregate) -> str:
    rows = [[r.amount, r.group] for r in agg.rows]
    return orjson.dumps([agg.total, agg.groups, rows]).decode()


def _decode(text: str) -> Aggregate:
    total, groups, rows = orjson.loads(text)
    return Aggregate(tuple(GroupRow(a, g) for a, g in rows), total, groups)


def counted_aggregate(p: ParserConfig, counts: dict[tuple[Any, ...], int]) -> Aggregate:
    """The window's Aggregate from its {group values: amount} (see grouping.py)."""
    top, total, groups = grouping.top_groups(counts, p.min_amount, shown_limit(p))
    names = p.group_by
    rows = tuple(GroupRow(amount=a, group=dict(zip(names, g, strict=True))) for a, g in top)
    return Aggregate(rows=rows, total=total, groups=groups)


def aggregate_expr(p: ParserConfig) -> str:
    kind, fname = p.aggregate_kind, p.aggregate_field
    if kind == "count":
        return "COUNT(*)"
    if kind == "count_distinct":
        return f"COUNT(DISTINCT {q(fname)})"
    return f"COALESCE(SUM({q(fname)}), 0)"


def window_condition(p: ParserConfig) -> str:
    """The SQL condition on a window's rows (parameters: start, end), with ``where``."""
    return "ts >= ? AND ts < ?" + (f" AND ({p.where})" if p.where else "")


def sql_aggregate(con: sqlite3.Connection, p: ParserConfig, start: int, end: int) -> Aggregate:
    """aggregate() by SQLite's GROUP BY (sum, no group_by, or too many groups to count in
    Python). The rows come biggest first, so the ones under min_amount are the tail that
    is dropped here (at most ``limit`` rows are fetched)."""
    sql, params = _aggregate_sql(p, start, end)
    rows: list[GroupRow] = []
    total: float = 0
    groups = 0
    names, least = p.group_by, p.min_amount
    cur = con.execute(sql, params)
    try:
        for rec in cur:
            amount, total, groups = rec[0], rec[1], rec[2]
            if amount < least:
                break
            if isinstance(amount, float):
                amount = round(amount, 6)
            rows.append(GroupRow(amount=amount, group=dict(zip(names, rec[3:], strict=True))))
    finally:
        cur.close()  # left early: the statement lets go of its read at once
    if isinstance(total, float):
        total = round(total, 6)  # sums of REAL columns: drop the binary noise (53.815000000000005)
    return Aggregate(rows=tuple(rows), total=total or 0, groups=groups or 0)


def _aggregate_sql(p: ParserConfig, start: int, end: int) -> tuple[str, list[Any]]:
    where = window_condition(p)
    table = q(events_table(p.id))
    agg = aggregate_expr(p)
    if p.group_by:
        cols = ", ".join(q(g) for g in p.group_by)
        inner = f"SELECT {agg} AS _amount, {cols} FROM {table} WHERE {where} GROUP BY {cols}"
        order = f"_amount DESC, {cols}"
        select_cols = f", {cols}"
    else:
        inner = f"SELECT {agg} AS _amount FROM {table} WHERE {where}"
        order = "_amount DESC"
        select_cols = ""
    # Window functions see every group before LIMIT applies: the total (every group: the
    # window's whole volume) and the count of groups at or above min_amount come for free.
    # No HAVING: a window whose groups are all under min_amount still has its total.
    sql = (
        f"SELECT _amount, SUM(_amount) OVER (), SUM(_amount >= ?) OVER (){select_cols}"
        f" FROM ({inner}) ORDER BY {order} LIMIT ?"
    )
    return sql, [p.min_amount, start, end, shown_limit(p)]
