"""delivery.db: the outbox, held digest items, silences, acknowledgements, alert state and
what notices were already sent about.

A file of its own in the data dir, so delivery never contends with the engine's writer and
the `silence` / `outbox` commands can use it while an instance runs.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,
    created REAL NOT NULL,
    kind TEXT NOT NULL,           -- alarm | resolved | digest | catch-up | quiet
    doc TEXT NOT NULL,            -- JSON, rendered by the channel at send time
    state TEXT NOT NULL,          -- pending | sent | failed | skipped
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try REAL NOT NULL,
    last_error TEXT NOT NULL DEFAULT '',
    sent_at REAL
);
CREATE INDEX IF NOT EXISTS messages_queue ON messages (channel, state, id);
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,
    bucket TEXT NOT NULL,         -- digest | quiet | catch-up
    created REAL NOT NULL,
    severity REAL NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS items_bucket ON items (channel, bucket, id);
CREATE TABLE IF NOT EXISTS channel_state (
    channel TEXT PRIMARY KEY,
    period REAL,
    due REAL,
    last_digest REAL
);
CREATE TABLE IF NOT EXISTS silences (
    id INTEGER PRIMARY KEY,
    parser TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL DEFAULT '',
    matchers TEXT NOT NULL,       -- JSON [[field, glob], ...]
    created REAL NOT NULL,
    until REAL NOT NULL,
    comment TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS acks (
    key TEXT PRIMARY KEY,
    created REAL NOT NULL,
    comment TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS alerts (
    key TEXT PRIMARY KEY,
    parser TEXT NOT NULL,
    kind TEXT NOT NULL,
    doc TEXT NOT NULL,
    first_ts REAL NOT NULL,
    last_window INTEGER NOT NULL,
    window INTEGER NOT NULL,
    last_sent REAL,
    channels TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS alarm_marks (
    store TEXT PRIMARY KEY,       -- alser.db's store_id ('' : not known yet)
    last_id INTEGER NOT NULL      -- every alarm of that database up to this id is handled
);
CREATE TABLE IF NOT EXISTS notices_seen (
    topic TEXT NOT NULL,          -- unguarded
    item TEXT NOT NULL,           -- what a notice was sent about (a path)
    created REAL NOT NULL,
    PRIMARY KEY (topic, item)
);
"""


class DeliveryDB:
    """One connection shared by the delivery threads behind a lock (statements are short)."""

    def __init__(self, path: Path | None) -> None:
        """``path`` None: a database in memory (a replay that delivers nothing)."""
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.lock = threading.RLock()
        self.con = sqlite3.connect(
            str(path) if path is not None else ":memory:",
            timeout=10,
            check_same_thread=False,
            isolation_level=None,
        )
        self.con.row_factory = sqlite3.Row
        self.con.execute("PRAGMA journal_mode=WAL")
        # The outbox must survive a crash; NORMAL in WAL mode loses at most the last commit
        # on power failure, never corrupts.
        self.con.execute("PRAGMA synchronous=NORMAL")
        self.con.executescript(SCHEMA)
        # This database's name in the ids of the messages it sends (Message-ID,
        # Idempotency-Key): outbox row ids start again at 1 in a new file.
        self.con.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('site', ?)", (uuid.uuid4().hex[:16],)
        )
        self.site: str = self.con.execute("SELECT value FROM meta WHERE key = 'site'").fetchone()[0]

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One transaction; inside another one (same thread: the lock is held) it is part
        of that one, so an alarm's lifecycle, outbox rows and mark commit together."""
        with self.lock:
            if self.con.in_transaction:
                yield self.con
                return
            self.con.execute("BEGIN IMMEDIATE")
            try:
                yield self.con
            except BaseException:
                self.con.execute("ROLLBACK")
                raise
            self.con.execute("COMMIT")

    def query(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self.lock:
            return self.con.execute(sql, args).fetchall()

    def execute(self, sql: str, args: tuple[Any, ...] = ()) -> int:
        """Run one statement in its own transaction; returns lastrowid (or rowcount)."""
        with self.lock:
            cur = self.con.execute(sql, args)
            return cur.lastrowid or cur.rowcount

    def data_version(self) -> int:
        """Changes when another connection (the CLI) committed something."""
        with self.lock:
            return int(self.con.execute("PRAGMA data_version").fetchone()[0])

    def close(self) -> None:
        with self.lock:
            self.con.close()
