"""The live database's alarms table as delivery's record of what it must handle.

The engine commits a window's alarms to alser.db, then tells delivery; a crash in between
must not lose them. Delivery keeps, in the same delivery.db transaction as an alarm's
outbox rows, the highest alarms-table id it has handled (``alarm_marks``), and at start
handles every stored alarm above it. The two files are separate, so the mark names the
database it was taken from (alser.db's ``store_id``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

from alser_tui.engine.alarms import Alarm
from alser_tui.engine.notify.db import DeliveryDB
from alser_tui.engine.store import ALARM_COLUMNS, alarm_from_row

PAGE = 500  # stored alarms read per query


class StoredAlarms:
    """Reads alser.db (its own connection, never writing) and keeps the mark."""

    def __init__(self, path: Path, db: DeliveryDB, titles: Callable[[str], str]) -> None:
        self.path = path
        self.db = db
        self.titles = titles
        self.con: sqlite3.Connection | None = None
        self.store_id = ""  # the database the mark is bound to ("": not yet)
        self.last_id = 0  # the mark: every alarm up to this id is handled

    def open(self) -> None:
        """At delivery's start, before this run's engine stored anything: what is there
        already and above the mark is the backlog of a run that stopped in between."""
        store_id, top = self.peek()
        last = self.bind(store_id, top)
        if store_id:
            self.store_id, self.last_id = store_id, last

    def ready(self) -> bool:
        """Bound to the database (the engine has opened it by the time it emits)."""
        if not self.store_id:
            store_id, _ = self.peek()
            if not store_id:
                return False
            self.last_id = self.bind(store_id, 0)
            self.store_id = store_id
        return True

    # ------------------------------------------------------------------ alser.db

    def _connect(self) -> sqlite3.Connection | None:
        if self.con is None and self.path.exists():
            con = sqlite3.connect(str(self.path), timeout=10, check_same_thread=False)
            con.execute("PRAGMA query_only=ON")
            self.con = con
        return self.con

    def peek(self) -> tuple[str, int]:
        """(the database's store_id, its highest alarm id); ("", 0) while there is none."""
        con = self._connect()
        if con is None:
            return "", 0
        try:
            row = con.execute("SELECT value FROM meta WHERE key = 'store_id'").fetchone()
            top = con.execute("SELECT COALESCE(MAX(id), 0) FROM alarms").fetchone()[0]
        except sqlite3.OperationalError:  # tables not created yet
            return "", 0
        return (row[0] if row else ""), int(top)

    def after(self, last_id: int) -> Iterator[tuple[int, Alarm]]:
        """Stored alarms above ``last_id``, in id order, a page at a time."""
        con = self._connect()
        if con is None:
            return
        while True:
            rows = con.execute(
                f"SELECT {ALARM_COLUMNS} FROM alarms WHERE id > ? ORDER BY id LIMIT ?",
                (last_id, PAGE),
            ).fetchall()
            for r in rows:
                yield r[0], alarm_from_row(r, self.titles)
            if len(rows) < PAGE:
                return
            last_id = rows[-1][0]

    # ------------------------------------------------------------------ the mark

    def bind(self, store_id: str, top: int) -> int:
        """The mark for database ``store_id`` ("" while unknown), created at ``top`` (the
        alarms there before delivery first ran are not news) if there is none."""
        with self.db.tx() as con:
            rows = {r["store"]: r["last_id"] for r in con.execute("SELECT * FROM alarm_marks")}
            if store_id and store_id in rows:
                return int(rows[store_id])
            if "" in rows:
                # Taken at a start that saw no store_id yet (a new or an older database).
                last = int(rows[""])
                if store_id:
                    con.execute("DELETE FROM alarm_marks WHERE store = ''")
                    con.execute("INSERT INTO alarm_marks VALUES (?, ?)", (store_id, last))
                return last
            con.execute("INSERT INTO alarm_marks VALUES (?, ?)", (store_id, top))
            return top

    def handled(self, con: sqlite3.Connection, alarm_id: int) -> None:
        """Advance the mark in the caller's delivery.db transaction (``last_id`` follows
        once that committed)."""
        con.execute(
            "UPDATE alarm_marks SET last_id = MAX(last_id, ?) WHERE store = ?",
            (alarm_id, self.store_id),
        )

    def close(self) -> None:
        if self.con is not None:
            self.con.close()
            self.con = None
