"""One alarm lifecycle for every channel: firing / resolved, realert, silences, acknowledgements.

A (parser, kind, group) *fires* from the first window it is raised in and is *resolved* once
``resolve_after`` windows of its parser closed without it: windows the engine closed, or
that it says passed without a row (``passed``), both counted in event time, never from the
wall clock (which runs ahead of the engine closing a window, and would resolve a group
that fires in every window between two of them). Instant alarms have no group that
lasts (every row is its own), so their identity is their text. Times used for realert and
resolution are event times, so a replay behaves like the live run it replays; silences are
wall-clock ("for 1h from now").
"""

from __future__ import annotations

import fnmatch
import json
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from alser_tui.engine.alarms import CONDITION_KINDS, DROPPED, INSTANT, Alarm
from alser_tui.engine.notify.config import DeliveryConfig
from alser_tui.engine.notify.db import DeliveryDB

WINDOW_KINDS = ("threshold", "abnormal")


def alarm_doc(a: Alarm) -> dict[str, Any]:
    """The JSON form of an alarm: what webhooks, exec and the outbox carry."""
    return {
        "parser": a.parser,
        "kind": a.kind,
        "severity": a.severity,
        "amount": a.amount,
        "group": {k: _plain(v) for k, v in a.group.items()},
        "start": a.start,
        "end": a.end,
        "ts": a.ts,
        "text": a.text,
        "title": a.title or a.parser,
        "previous": a.previous,
    }


def _plain(v: Any) -> Any:
    return v if v is None or isinstance(v, str | int | float | bool) else str(v)


def doc_key(doc: dict[str, Any]) -> str:
    kind = doc["kind"]
    if kind == INSTANT:
        ident = doc["text"]
    else:
        ident = json.dumps(sorted((k, str(v)) for k, v in doc["group"].items()))
    return f"{doc['parser']}|{kind}|{ident}"


def alarm_key(a: Alarm) -> str:
    return doc_key(alarm_doc(a))


def group_key(parser: str, kind: str, group: dict[str, Any]) -> str:
    """doc_key of a window alarm, from a shown row's group."""
    ident = json.dumps(sorted((k, str(_plain(v))) for k, v in group.items()))
    return f"{parser}|{kind}|{ident}"


def event_time(doc: dict[str, Any]) -> float:
    return doc["ts"] if doc["kind"] in (INSTANT, DROPPED) else doc["end"]


# --------------------------------------------------------------------------- silences


@dataclass(frozen=True, slots=True)
class Silence:
    id: int
    parser: str
    kind: str
    matchers: tuple[tuple[str, str], ...]
    created: float
    until: float
    comment: str = ""

    def matches(self, doc: dict[str, Any]) -> bool:
        if self.parser and self.parser != doc["parser"]:
            return False
        if self.kind and self.kind != doc["kind"]:
            return False
        group = doc["group"]
        for name, pattern in self.matchers:
            if name == "text":
                value = doc["text"]
            elif name in group:
                value = group[name]
            else:
                return False
            if not fnmatch.fnmatchcase(str(value), pattern):
                return False
        return True

    def describe(self) -> str:
        parts = [f"parser={self.parser}" if self.parser else "any parser"]
        if self.kind:
            parts.append(f"kind={self.kind}")
        parts.extend(f"{k}={v}" for k, v in self.matchers)
        return " ".join(parts)


def parse_matcher(text: str) -> tuple[str, str]:
    """'file=map.php' -> ('file', 'map.php'); the value may use * and ? globs."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise ValueError(f"a match must be FIELD=VALUE, got {text!r}")
    return name.strip(), value.strip()


class Silences:
    """The silences table; used by the running delivery and by `alser-tui silence`."""

    def __init__(self, db: DeliveryDB) -> None:
        self.db = db

    def add(
        self,
        *,
        parser: str = "",
        kind: str = "",
        matchers: tuple[tuple[str, str], ...] = (),
        duration: float,
        now: float,
        comment: str = "",
    ) -> Silence:
        until = now + duration
        sid = self.db.execute(
            "INSERT INTO silences (parser, kind, matchers, created, until, comment)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (parser, kind, json.dumps([list(m) for m in matchers]), now, until, comment),
        )
        return Silence(sid, parser, kind, matchers, now, until, comment)

    def list(self, now: float, *, expired: bool = False) -> list[Silence]:
        rows = self.db.query(
            "SELECT * FROM silences" + ("" if expired else " WHERE until > ?") + " ORDER BY id",
            () if expired else (now,),
        )
        return [
            Silence(
                r["id"],
                r["parser"],
                r["kind"],
                tuple((m[0], m[1]) for m in json.loads(r["matchers"])),
                r["created"],
                r["until"],
                r["comment"],
            )
            for r in rows
        ]

    def remove(self, sid: int) -> bool:
        with self.db.tx() as con:
            return con.execute("DELETE FROM silences WHERE id = ?", (sid,)).rowcount > 0


# --------------------------------------------------------------------------- lifecycle


@dataclass(slots=True)
class AlertState:
    key: str
    doc: dict[str, Any]  # the latest alarm of this identity
    first_ts: float
    last_window: int
    window: int
    last_sent: float | None = None
    channels: list[str] = field(default_factory=list)

    @property
    def parser(self) -> str:
        return self.doc["parser"]

    @property
    def kind(self) -> str:
        return self.doc["kind"]


@dataclass(frozen=True, slots=True)
class Verdict:
    key: str
    notify: bool
    reason: str  # new | realert | firing | silenced #N | acknowledged
    state: AlertState


class Lifecycle:
    """Decides, per alarm, whether channels hear of it; finds resolutions."""

    def __init__(
        self,
        config: DeliveryConfig,
        db: DeliveryDB,
        windows: dict[str, int],
        *,
        persist: bool = True,
        memory: int = 100_000,
    ) -> None:
        self.config = config
        self.db = db
        self.windows = windows
        self.persist = persist
        self.memory = memory
        self.alerts: OrderedDict[str, AlertState] = OrderedDict()
        self.silences = Silences(db)
        self._active: list[Silence] = []
        self._version = -1
        self._acks: set[str] = set()
        # The console writes silences and acks from its own thread while the dispatcher
        # judges alarms: one lock keeps the cached view and the table in step. It is the
        # database's: the dispatcher judges inside a transaction (holding that one), and
        # two locks taken in either order by different threads would deadlock.
        self._lock = db.lock
        self.counts = {"silenced": 0, "acknowledged": 0, "realert": 0}
        self._load()

    def _load(self) -> None:
        self._acks = {r["key"] for r in self.db.query("SELECT key FROM acks")}
        if not self.persist:
            return
        for r in self.db.query("SELECT * FROM alerts ORDER BY rowid"):
            self.alerts[r["key"]] = AlertState(
                r["key"],
                json.loads(r["doc"]),
                r["first_ts"],
                r["last_window"],
                r["window"],
                r["last_sent"],
                json.loads(r["channels"]),
            )

    def _save(self, st: AlertState) -> None:
        if self.persist:
            self.db.execute(
                "INSERT OR REPLACE INTO alerts (key, parser, kind, doc, first_ts, last_window,"
                " window, last_sent, channels) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    st.key, st.parser, st.kind, json.dumps(st.doc), st.first_ts, st.last_window,
                    st.window, st.last_sent, json.dumps(st.channels),
                ),
            )  # fmt: skip

    def _drop(self, key: str) -> None:
        self.alerts.pop(key, None)
        if self.persist:
            self.db.execute("DELETE FROM alerts WHERE key = ?", (key,))
        if key in self._acks:
            self._acks.discard(key)
            if self.persist:
                # A replay must not erase acknowledgements the live run relies on.
                self.db.execute("DELETE FROM acks WHERE key = ?", (key,))

    # ------------------------------------------------------------------ silences and acks

    def active_silences(self, now: float) -> list[Silence]:
        # Re-read when another connection (the CLI) committed something, or after a write of
        # our own from the console's thread (data_version does not move for those).
        with self._lock:
            version = self.db.data_version()
            if version != self._version:
                self._version = version
                self._active = self.silences.list(now)
                self._acks = {r["key"] for r in self.db.query("SELECT key FROM acks")}
            return [s for s in self._active if s.until > now]

    def add_silence(self, **kw: Any) -> Silence:
        with self._lock:
            s = self.silences.add(**kw)
            self._active.append(s)
            self._version = -1
            return s

    def remove_silence(self, sid: int) -> bool:
        with self._lock:
            self._active = [s for s in self._active if s.id != sid]
            self._version = -1
            return self.silences.remove(sid)

    def ack(self, key: str, now: float, comment: str = "") -> None:
        """Acknowledged: no channel hears of this alarm again until it resolves."""
        with self._lock:
            self._acks.add(key)
            self.db.execute(
                "INSERT OR REPLACE INTO acks (key, created, comment) VALUES (?, ?, ?)",
                (key, now, comment),
            )
            self._version = -1

    # ------------------------------------------------------------------ judging

    def muted(self, doc: dict[str, Any], now: float) -> tuple[str, Silence | None]:
        """("silenced", the silence) / ("acknowledged", None) / ("", None) for an alarm."""
        silence = next((s for s in self.active_silences(now) if s.matches(doc)), None)
        if silence is not None:
            return "silenced", silence
        if doc_key(doc) in self._acks:
            return "acknowledged", None
        return "", None

    def judge(self, a: Alarm, now: float) -> Verdict:
        doc = alarm_doc(a)
        key = doc_key(doc)
        t = event_time(doc)
        st = self.alerts.get(key)
        new = st is None
        if st is None:
            st = AlertState(key, doc, t, a.start, self.windows.get(a.parser, 60))
            self.alerts[key] = st
            while len(self.alerts) > self.memory:
                self.alerts.popitem(last=False)
        else:
            st.doc = doc
            st.last_window = max(st.last_window, a.start)
            self.alerts.move_to_end(key)
        reason = "new" if new else "firing"
        notify = True
        muted, silence = self.muted(doc, now)
        if silence is not None:
            notify, reason = False, f"silenced #{silence.id}"
            self.counts["silenced"] += 1
        elif muted:
            notify, reason = False, "acknowledged"
            self.counts["acknowledged"] += 1
        elif st.last_sent is not None:
            if t - st.last_sent < self.config.for_parser(a.parser).realert:
                notify, reason = False, "realert"
                self.counts["realert"] += 1
            else:
                reason = "realert"
        if notify:
            st.last_sent = t
        self._save(st)
        return Verdict(key, notify, reason, st)

    def sent_to(self, st: AlertState, channels: tuple[str, ...]) -> None:
        for c in channels:
            if c not in st.channels:
                st.channels.append(c)
        self._save(st)

    # ------------------------------------------------------------------ resolution

    def window_closed(self, parser: str, start: int, present: set[str]) -> list[AlertState]:
        """Window ``start`` closed; ``present`` are the keys its rows raise again (the event
        carries the rows and their marks, so this is known before their AlarmRaised)."""
        for key in present:
            st = self.alerts.get(key)
            if st is not None:
                st.last_window = max(st.last_window, start)
        return self._resolve(parser, lambda st: (start - st.last_window) // st.window, start)

    def passed(self, parser: str, upto: int) -> list[AlertState]:
        """Live mode: every window of ``parser`` ending at or before ``upto`` (event time)
        has closed or passed without rows (the engine says so after closing them; windows
        without rows have no close event)."""
        return self._resolve(
            parser, lambda st: (upto - st.last_window - st.window) // st.window, upto
        )

    def _resolve(self, parser: str, missed: Any, now_event: float) -> list[AlertState]:
        after = self.config.for_parser(parser).resolve_after
        realert = self.config.for_parser(parser).realert
        done: list[AlertState] = []
        for st in list(self.alerts.values()):
            if st.parser != parser:
                continue
            if st.kind in WINDOW_KINDS:
                if missed(st) >= after:
                    self._drop(st.key)
                    done.append(st)
            elif st.kind in CONDITION_KINDS:
                continue  # fires until the engine says it ended (resolve())
            elif st.last_sent is None or now_event - st.last_sent >= realert:
                # One-shot kinds are remembered only for their realert time.
                self._drop(st.key)
        return done

    def resolve(self, key: str) -> AlertState | None:
        """A condition alarm (silent) ended: forget it; its state, if it was firing."""
        st = self.alerts.get(key)
        if st is not None:
            self._drop(key)
        return st

    def firing(self) -> list[AlertState]:
        return [st for st in self.alerts.values() if st.kind in WINDOW_KINDS + CONDITION_KINDS]
