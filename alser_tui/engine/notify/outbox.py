"""The outbox: every outgoing message is a row before it is sent; one worker per channel.

A message is ``pending`` until its channel confirms it, then ``sent``; a channel error
leaves it pending with ``attempts``, ``next_try`` (exponential back-off) and ``last_error``.
Messages a channel can never take become ``failed`` (or ``skipped`` where the channel is
unavailable here), still listed by `alser-tui outbox`. Items held for a digest (digest
period, quiet hours, catch-up) live in ``items`` and become one message in one transaction.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from alser_tui.engine.faults import crash_point
from alser_tui.engine.notify.base import DeliveryError, Sender
from alser_tui.engine.notify.config import ChannelConfig
from alser_tui.engine.notify.db import DeliveryDB
from alser_tui.engine.notify.email import DigestState, Held
from alser_tui.engine.notify.render import digest


@dataclass(frozen=True, slots=True)
class Message:
    id: int
    channel: str
    created: float
    kind: str
    doc: dict[str, Any]
    state: str
    attempts: int
    next_try: float
    last_error: str
    sent_at: float | None


def _message(r: Any) -> Message:
    return Message(
        r["id"], r["channel"], r["created"], r["kind"], json.loads(r["doc"]), r["state"],
        r["attempts"], r["next_try"], r["last_error"], r["sent_at"],
    )  # fmt: skip


class Outbox:
    def __init__(self, db: DeliveryDB) -> None:
        self.db = db

    # ------------------------------------------------------------------ messages

    def enqueue(self, channel: str, kind: str, doc: dict[str, Any], now: float) -> int:
        return self.db.execute(
            "INSERT INTO messages (channel, created, kind, doc, state, next_try)"
            " VALUES (?, ?, ?, ?, 'pending', ?)",
            (channel, now, kind, json.dumps(doc, default=str), now),
        )

    def ident(self, channel: str, mid: int) -> str:
        """A message's identity for its receiver, the same on every try of it (a resend
        after a crash is recognisable) and unique across data dirs: channel, row, site."""
        return f"{channel}.{mid}.{self.db.site}"

    def head(self, channel: str) -> Message | None:
        """The oldest pending message: a channel delivers in order."""
        rows = self.db.query(
            "SELECT * FROM messages WHERE channel = ? AND state = 'pending' ORDER BY id LIMIT 1",
            (channel,),
        )
        return _message(rows[0]) if rows else None

    def mark_sent(self, mid: int, now: float) -> None:
        self.db.execute(
            "UPDATE messages SET state = 'sent', sent_at = ?, attempts = attempts + 1 WHERE id = ?",
            (now, mid),
        )

    def mark_retry(self, mid: int, error: str, next_try: float) -> None:
        self.db.execute(
            "UPDATE messages SET attempts = attempts + 1, last_error = ?, next_try = ?"
            " WHERE id = ?",
            (error, next_try, mid),
        )

    def mark_final(self, mid: int, state: str, error: str) -> None:
        self.db.execute(
            "UPDATE messages SET state = ?, attempts = attempts + 1, last_error = ? WHERE id = ?",
            (state, error, mid),
        )

    def wake(self, now: float, channel: str | None = None) -> int:
        """Make pending messages due now (a restart, or the operator asked for a retry)."""
        where = "state = 'pending'" + (" AND channel = ?" if channel else "")
        args: tuple[Any, ...] = (now, channel) if channel else (now,)
        return self.db.execute(f"UPDATE messages SET next_try = ? WHERE {where}", args)

    def retry(self, mid: int, now: float) -> bool:
        """A failed (or skipped) message back to pending."""
        with self.db.tx() as con:
            cur = con.execute(
                "UPDATE messages SET state = 'pending', next_try = ?, attempts = 0"
                " WHERE id = ? AND state IN ('failed', 'skipped', 'pending')",
                (now, mid),
            )
            return cur.rowcount > 0

    def messages(
        self, channel: str | None = None, states: tuple[str, ...] = ("pending", "failed")
    ) -> list[Message]:
        marks = ",".join("?" * len(states))
        sql = f"SELECT * FROM messages WHERE state IN ({marks})"
        args: list[Any] = list(states)
        if channel:
            sql += " AND channel = ?"
            args.append(channel)
        return [_message(r) for r in self.db.query(sql + " ORDER BY id", tuple(args))]

    def counts(self) -> dict[str, dict[str, int]]:
        """channel -> state -> number of messages."""
        out: dict[str, dict[str, int]] = {}
        for r in self.db.query("SELECT channel, state, COUNT(*) n FROM messages GROUP BY 1, 2"):
            out.setdefault(r["channel"], {})[r["state"]] = r["n"]
        return out

    def last_sent(self) -> dict[str, float]:
        rows = self.db.query(
            "SELECT channel, MAX(sent_at) t FROM messages WHERE state = 'sent' GROUP BY 1"
        )
        return {r["channel"]: r["t"] for r in rows}

    # ------------------------------------------------------------------ held items

    def hold(
        self, channel: str, bucket: str, doc: dict[str, Any], severity: float, now: float
    ) -> None:
        self.db.execute(
            "INSERT INTO items (channel, bucket, created, severity, doc) VALUES (?, ?, ?, ?, ?)",
            (channel, bucket, now, severity, json.dumps(doc, default=str)),
        )

    def held(self, channel: str, bucket: str) -> Held:
        r = self.db.query(
            "SELECT COUNT(*) n, COALESCE(SUM(severity), 0) s, MIN(created) t FROM items"
            " WHERE channel = ? AND bucket = ?",
            (channel, bucket),
        )[0]
        return Held(r["n"], r["s"], r["t"])

    def held_counts(self) -> dict[str, int]:
        rows = self.db.query("SELECT channel, COUNT(*) n FROM items GROUP BY 1")
        return {r["channel"]: r["n"] for r in rows}

    def compose(self, channel: str, bucket: str, reason: str, now: float) -> int | None:
        """The held items of a bucket become one digest message, atomically."""
        with self.db.tx() as con:
            rows = con.execute(
                "SELECT id, doc FROM items WHERE channel = ? AND bucket = ? ORDER BY id",
                (channel, bucket),
            ).fetchall()
            if not rows:
                return None
            doc = digest([json.loads(r["doc"]) for r in rows], reason)
            cur = con.execute(
                "INSERT INTO messages (channel, created, kind, doc, state, next_try)"
                " VALUES (?, ?, ?, ?, 'pending', ?)",
                (channel, now, reason, json.dumps(doc, default=str), now),
            )
            con.execute(
                "DELETE FROM items WHERE channel = ? AND bucket = ? AND id <= ?",
                (channel, bucket, rows[-1]["id"]),
            )
            return cur.lastrowid

    # ------------------------------------------------------------------ digest timing

    def digest_state(self, channel: str) -> DigestState | None:
        rows = self.db.query("SELECT * FROM channel_state WHERE channel = ?", (channel,))
        if not rows:
            return None
        r = rows[0]
        return DigestState(r["period"], r["due"], r["last_digest"])

    def save_digest_state(self, channel: str, st: DigestState) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO channel_state (channel, period, due, last_digest)"
            " VALUES (?, ?, ?, ?)",
            (channel, st.period, st.due, st.last_digest),
        )


def backoff(config: ChannelConfig, attempts: int) -> float:
    """Seconds before try number ``attempts + 1``: retry_min, doubling, capped at retry_max."""
    return min(config.retry_max, config.retry_min * 2 ** max(0, attempts - 1))


class ChannelWorker:
    """Sends one channel's outbox in order on its own thread; never raises out of it."""

    def __init__(
        self,
        config: ChannelConfig,
        sender: Sender,
        outbox: Outbox,
        clock: Callable[[], float] = time.time,
        idle_wait: float = 0.2,
    ) -> None:
        self.config = config
        self.name = config.name
        self.sender = sender
        self.outbox = outbox
        self.clock = clock
        self.idle_wait = idle_wait
        self.wakeup = threading.Event()
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None
        self.busy = False
        self.last_error = ""
        self.last_error_at: float | None = None
        self.last_sent: float | None = None
        self.next_try: float | None = None
        self.sent = 0

    def poke(self) -> None:
        self.wakeup.set()

    def start(self) -> None:
        self.thread = threading.Thread(target=self._loop, name=f"delivery-{self.name}", daemon=True)
        self.thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.stopping.set()
        self.wakeup.set()
        if self.thread is not None:
            self.thread.join(timeout)
        try:
            self.sender.close()
        except Exception:  # a channel's crash never stops the others
            pass

    def _loop(self) -> None:
        while not self.stopping.is_set():
            try:
                self.sender.maintain()
                progressed = self.run_once()
            except Exception as exc:  # never let one channel's bug end its thread
                self._error(f"internal error: {exc!r}")
                progressed = False
            if not progressed:
                self.wakeup.wait(self.idle_wait)
                self.wakeup.clear()

    def run_once(self) -> bool:
        """Try the head message if it is due. Returns True if one was sent or finished."""
        msg = self.outbox.head(self.name)
        if msg is None:
            self.next_try = None
            return False
        now = self.clock()
        if msg.next_try > now:
            self.next_try = msg.next_try
            return False
        why = self.sender.unavailable()
        if why:
            self.outbox.mark_final(msg.id, "skipped", why)
            return True
        self.busy = True
        try:
            self.sender.send(msg.doc, self.outbox.ident(self.name, msg.id))
        except DeliveryError as exc:
            return self._failed(msg, str(exc), exc.permanent)
        except OSError as exc:
            return self._failed(msg, exc.strerror or str(exc), False)
        except Exception as exc:  # a bug in one channel must not stop its queue for good
            return self._failed(msg, f"internal error: {exc!r}", False)
        finally:
            self.busy = False
        crash_point(f"after-send.{self.name}")
        done = self.clock()
        self.outbox.mark_sent(msg.id, done)
        self.last_sent = done
        self.next_try = None
        self.sent += 1
        return True

    def _error(self, text: str) -> None:
        self.last_error = text
        self.last_error_at = self.clock()

    def _failed(self, msg: Message, error: str, permanent: bool) -> bool:
        self._error(error)
        attempts = msg.attempts + 1
        limit = self.config.max_attempts
        if permanent or (limit and attempts >= limit):
            self.outbox.mark_final(msg.id, "failed", error)
            return True
        self.next_try = self.clock() + backoff(self.config, attempts)
        self.outbox.mark_retry(msg.id, error, self.next_try)
        return False

    def pending_due(self) -> bool:
        msg = self.outbox.head(self.name)
        return msg is not None and msg.next_try <= self.clock()
