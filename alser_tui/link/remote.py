"""The console attached to a running guard: its events over the guard's socket, its windows
and raw lines straight from its database (read-only), acks and silences sent to it.

``RemoteEngine`` and ``RemoteDelivery`` stand where the in-process ``Engine`` and
``ConsoleDelivery`` stand (link/__init__.py names what the console uses of them). Quitting
the console closes a socket; the guard goes on. When the guard goes away (a restart, an
upgrade) the console says so and reconnects by itself; what it missed meanwhile comes with
the guard's backlog (alarms already seen are not shown twice).
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alser_tui.engine.alarms import Alarm
from alser_tui.engine.config import Config, ParserConfig
from alser_tui.engine.events import AlarmRaised, Event, Finished, Stats
from alser_tui.engine.queries import StoreQueries
from alser_tui.guard.client import GuardClient, GuardGone
from alser_tui.guard.wire import WireError, decode, encode

RECONNECT_EVERY = 1.0  # seconds between attempts while the guard is away
SEEN_ALARMS = 5000  # alarm ids remembered, so that a backlog shows each alarm once
LIVE_DB = "alser.db"


@dataclass
class RemoteRun:
    """A parser as the console sees it: its config and the newest event time the guard
    reported (the open window is the one holding it)."""

    config: ParserConfig
    max_ts: int | None = None


def uptime_words(seconds: float) -> str:
    s = int(max(0, seconds))
    d, h, m = s // 86400, s % 86400 // 3600, s % 3600 // 60
    if d:
        return f"{d}d {h}h"
    if h:
        return f"{h}h {m}m"
    return f"{m}m" if m else f"{s}s"


class RemoteEngine(StoreQueries):
    """``run()`` returns once ``request_stop()`` was called. The socket is read on a thread
    of its own, started by the first of ``open()``, ``run()`` or a request (a request's
    reply comes in among the events); subscribers are called from that thread."""

    def __init__(self, config: Config, client: GuardClient) -> None:
        from alser_tui.guard.server import register_reply_types

        register_reply_types()
        self.config = config
        self.client: GuardClient | None = client
        self.path = client.path
        self.hello = client.hello
        self.runs: dict[str, RemoteRun] = {p.id: RemoteRun(p) for p in config.parsers if p.enabled}
        self.store: Any = None
        self.subscribers: list[Callable[[Event], None]] = []
        self.stop_event = threading.Event()
        self.replaying = False  # the events being emitted are the backlog: no bell
        self.connected = True
        self.reconnects = 0
        self.gone_since: float | None = None
        self.last_error = ""
        self._seen: OrderedDict[int, None] = OrderedDict()
        # Called (on this thread) when acks or silences changed through the guard.
        self.on_delivery_changed: Callable[[], None] | None = None
        self.on_reloaded: Callable[[], None] | None = None
        self._reader: threading.Thread | None = None
        self._reader_lock = threading.Lock()

    # ------------------------------------------------------------------ engine-like

    def subscribe(self, fn: Callable[[Event], None]) -> None:
        self.subscribers.append(fn)

    def emit(self, event: Event) -> None:
        for fn in self.subscribers:
            fn(event)

    def open(self) -> None:
        """Open the guard's database to read (no read access to it: every query goes
        over the socket instead, and the guard answers)."""
        from alser_tui.engine.store import Store, StoreUnavailable

        parsers = [r.config for r in self.runs.values()]
        path = self.data_dir / LIVE_DB
        if os.access(path, os.R_OK) and os.access(path.parent, os.R_OK | os.X_OK):
            try:
                self.store = Store(path, parsers, read_only=True)
            except StoreUnavailable:
                self.store = None
        self._ensure_reader()

    # Queries the guard answers when its database cannot be read here.

    def open_window(self, parser_id: str) -> Any:
        if self.store is not None:
            return super().open_window(parser_id)
        return self.call("open_window", parser=parser_id)

    def window_of(self, parser_id: str, start: int) -> Any:
        if self.store is not None:
            return super().window_of(parser_id, start)
        return self.call("window", parser=parser_id, start=start)

    def events_of(
        self,
        parser_id: str,
        start: int,
        end: int,
        group: dict[str, Any] | None = None,
        limit: int = 10_000,
    ) -> list[dict[str, Any]]:
        if self.store is not None:
            return super().events_of(parser_id, start, end, group, limit)
        got = self.call("events", parser=parser_id, start=start, end=end, group=group, limit=limit)
        return list(got)

    def alarm_events(self, alarm: Alarm, limit: int = 10_000) -> list[dict[str, Any]]:
        if self.store is not None:
            return super().alarm_events(alarm, limit)
        return list(self.call("alarm_events", alarm=encode(alarm), limit=limit))

    def open_totals(self) -> dict[str, tuple[int, float] | None]:
        if self.store is not None:
            return super().open_totals()
        return dict(self.call("open_totals"))

    def recent_windows(
        self, parser_id: str, limit: int = 60
    ) -> list[tuple[int, int, float, list[dict[str, Any]]]]:
        if self.store is not None:
            return super().recent_windows(parser_id, limit)
        got = self.call("recent_windows", parser=parser_id, limit=limit)
        return [(s, e, t, list(rows)) for s, e, t, rows in got]

    def _ensure_reader(self) -> None:
        with self._reader_lock:
            if self._reader is None:
                self._reader = threading.Thread(target=self._read, name="guard-link", daemon=True)
                self._reader.start()

    @property
    def data_dir(self) -> Path:
        return Path(self.hello.get("data_dir") or self.config.data_dir)

    def run(self) -> None:
        self._ensure_reader()
        assert self._reader is not None
        self._reader.join()

    def _read(self) -> None:
        while not self.stop_event.is_set():
            client = self.client
            if client is None:
                client = self._reconnect()
                if client is None:
                    continue
            try:
                for msg in client.messages():
                    self._handle(msg)
            except GuardGone as exc:
                if self.stop_event.is_set():
                    break
                self.last_error = str(exc)
                self.connected = False
                self.gone_since = time.time()
                client.close()
                self.client = None

    def _reconnect(self) -> GuardClient | None:
        if self.stop_event.wait(RECONNECT_EVERY):
            return None
        try:
            client = GuardClient(self.path)
        except GuardGone as exc:
            self.last_error = str(exc)
            return None
        if self.stop_event.is_set():
            client.close()
            return None
        self.client = client
        self.hello = client.hello
        self.connected = True
        self.gone_since = None
        self.reconnects += 1
        self.replaying = True  # its backlog follows
        return client

    def _handle(self, msg: dict[str, Any]) -> None:
        kind = msg.get("type")
        if kind == "event":
            try:
                event = decode(msg["event"])
            except (WireError, KeyError):
                return  # a newer guard's event this console does not know
            if isinstance(event, Finished):
                return  # the guard's engine stopped (a reload): the console goes on
            if isinstance(event, AlarmRaised) and event.id is not None:
                if event.id in self._seen:
                    return  # shown already (a backlog after a reconnect)
                self._seen[event.id] = None
                while len(self._seen) > SEEN_ALARMS:
                    self._seen.popitem(last=False)
            if isinstance(event, Stats):
                for pid, ps in event.parsers.items():
                    run = self.runs.get(pid)
                    if run is not None and ps.max_ts is not None:
                        run.max_ts = ps.max_ts
            self.replaying = bool(msg.get("past"))
            try:
                self.emit(event)
            finally:
                self.replaying = False
        elif kind == "delivery_changed" and self.on_delivery_changed is not None:
            self.on_delivery_changed()
        elif kind == "reloaded" and self.on_reloaded is not None:
            self.on_reloaded()

    def request_stop(self) -> None:
        self.stop_event.set()
        client = self.client
        if client is not None:
            client.close()  # wakes the reader

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None

    # ------------------------------------------------------------------ for the status line

    def link_words(self, now: float) -> str:
        """'attached to guard pid 123 · up 3d 4h', or why not and since when."""
        pid = self.hello.get("pid", "?")
        if self.connected:
            up = uptime_words(now - float(self.hello.get("started", now)))
            return f"attached to guard pid {pid} · up {up}"
        away = uptime_words(now - (self.gone_since or now))
        return f"guard pid {pid} gone {away} ago: reconnecting…"

    # ------------------------------------------------------------------ delivery

    def call(self, op: str, **args: Any) -> Any:
        self._ensure_reader()  # the reply comes in among the events
        client = self.client
        if client is None or not self.connected:
            raise GuardGone("the guard is away (reconnecting)")
        return decode(client.call(op, **args))


class RemoteDelivery:
    """ConsoleDelivery's part for a console attached to a guard: acks and silences are the
    guard's to store (it tells every console); nothing is sent from here."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.engine: RemoteEngine | None = None  # set once the engine is built
        self.delivery = None  # nothing to subscribe to an engine: the guard delivers
        self.error = ""

    @property
    def has_desktop_channel(self) -> bool:
        dc = self.config.delivery
        return dc is not None and any(c.type == "desktop" and c.enabled for c in dc.channels)

    def _call(self, op: str, **args: Any) -> Any:
        if self.engine is None:
            raise GuardGone("not attached yet")
        return self.engine.call(op, **args)

    def open(self) -> Any:
        try:
            return self.snapshot()
        except (GuardGone, RuntimeError) as exc:
            self.error = str(exc)
            return None

    def snapshot(self) -> Any:
        from alser_tui.link import Snapshot

        doc = self._call("delivery")
        silences = tuple(decode(s) for s in doc["silences"])
        return Snapshot(silences, frozenset(doc["acks"]), tuple(doc["channels"]))

    def ack(self, alarms: Sequence[Alarm]) -> int:
        return int(self._call("ack", alarms=[encode(a) for a in alarms]))

    def silence(self, parser: str, group: dict[str, Any], seconds: float, comment: str = "") -> Any:
        from alser_tui.link.local import group_matchers

        doc = self._call(
            "silence",
            parser=parser,
            matchers=[list(m) for m in group_matchers(group)],
            seconds=seconds,
            comment=comment,
        )
        return decode(doc)

    def unsilence(self, sid: int) -> bool:
        return bool(self._call("unsilence", sid=sid))

    def stop(self) -> None:
        """Nothing to flush: the guard delivers."""
