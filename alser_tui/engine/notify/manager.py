"""Delivery: subscribes to engine events, applies the lifecycle and routes, fills the outbox.

Threads: the engine's thread only puts events on a queue (``__call__``); a dispatcher thread
runs the lifecycle, routing and digest timing against SQLite; one worker per channel does
the network I/O. So neither the engine nor the console ever waits for a mail server.

Live, an alarm's lifecycle state, its outbox rows and the mark of the alarms handled
(backlog.py) commit in one delivery.db transaction; at start every alarm alser.db holds
above the mark is handled first. So a crash anywhere loses no alarm and doubles none (a
message sent but not yet marked sent goes again, under the same id).

A replay delivers nothing unless asked to (``deliver``): it runs the same routes, digests
and quiet hours into an outbox in memory, and ``report`` says what it would have sent.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alser_tui.engine.alarms import ABNORMAL, THRESHOLD, Alarm
from alser_tui.engine.config import Config
from alser_tui.engine.events import (
    AlarmRaised,
    AlarmResolved,
    Event,
    Finished,
    SourceNotice,
    Stats,
    UnguardedFiles,
    WindowClosed,
)
from alser_tui.engine.faults import crash_point
from alser_tui.engine.health import notice_text
from alser_tui.engine.notify.backlog import StoredAlarms
from alser_tui.engine.notify.base import DeliveryError, Sender
from alser_tui.engine.notify.config import (
    BellConfig,
    ChannelConfig,
    DeliveryConfig,
    DesktopConfig,
    EmailConfig,
    ExecConfig,
    IrcConfig,
    WebhookConfig,
)
from alser_tui.engine.notify.db import DeliveryDB
from alser_tui.engine.notify.email import (
    AdaptivePeriod,
    DigestState,
    EmailSender,
    SeverityPool,
    digest_policy,
)
from alser_tui.engine.notify.lifecycle import (
    AlertState,
    Lifecycle,
    Silence,
    alarm_doc,
    alarm_key,
    event_time,
    group_key,
)
from alser_tui.engine.notify.outbox import ChannelWorker, Outbox
from alser_tui.engine.notify.render import (
    NOTICE,
    UNGUARDED,
    alarm_message,
    one_line,
    resolved_message,
    source_notice,
    unguarded_notice,
)
from alser_tui.engine.store import LIVE_DB

CATCH_UP, QUIET, DIGEST = "catch-up", "quiet", "digest"


def build_sender(cfg: ChannelConfig) -> Sender:
    if isinstance(cfg, EmailConfig):
        return EmailSender(cfg)
    if isinstance(cfg, IrcConfig):
        from alser_tui.engine.notify.irc import IrcSender

        return IrcSender(cfg)
    if isinstance(cfg, WebhookConfig):
        from alser_tui.engine.notify.webhook import WebhookSender

        return WebhookSender(cfg)
    if isinstance(cfg, ExecConfig):
        from alser_tui.engine.notify.exec import ExecSender

        return ExecSender(cfg)
    if isinstance(cfg, DesktopConfig):
        from alser_tui.engine.notify.desktop import DesktopSender

        return DesktopSender(cfg)
    if isinstance(cfg, BellConfig):
        from alser_tui.engine.notify.desktop import BellSender

        return BellSender(cfg)
    raise ValueError(f"no sender for channel type {cfg.type!r}")


class _Unsent(Sender):
    """The transport of a replay that delivers nothing: never called (no worker runs)."""

    def send(self, doc: dict[str, Any], ident: str) -> None:
        raise DeliveryError("a replay without --deliver sends nothing", permanent=True)


@dataclass(frozen=True, slots=True)
class ChannelStatus:
    name: str
    type: str
    state: str  # ok | sending | retrying in Ns | quiet hours | unavailable: ... | ...
    queued: int  # pending messages
    held: int  # alarms waiting for a digest, the morning or the end of a catch-up
    failed: int
    sent: int
    last_error: str = ""
    last_error_at: float | None = None
    last_sent: float | None = None

    def line(self) -> str:
        """One short phrase for the console's status line and --tick."""
        parts = [f"{self.name} {self.state}"]
        if self.queued:
            parts.append(f"{self.queued} queued")
        if self.held:
            parts.append(f"{self.held} held")
        if self.failed:
            parts.append(f"{self.failed} failed")
        text = ", ".join(parts)
        if self.last_error and (self.queued or self.failed) and "retry" in self.state:
            text += f" ({self.last_error[:60]})"
        return text


@dataclass(slots=True)
class _Channel:
    config: ChannelConfig
    sender: Sender
    worker: ChannelWorker
    policy: AdaptivePeriod | SeverityPool | None
    digest: DigestState | None
    below_threshold: int = 0

    def quiet(self, now: float) -> bool:
        q = self.config.quiet_hours
        return q is not None and q.contains(now)


class Delivery:
    """Subscribe an instance to the engine (``engine.subscribe(delivery)``), then ``start()``;
    ``stop()`` flushes digests and waits (bounded) for the channels to send."""

    def __init__(
        self,
        config: Config,
        data_dir: Path | None = None,
        *,
        clock: Callable[[], float] = time.time,
        replay: bool = False,
        senders: dict[str, Sender] | None = None,
        tick_interval: float = 0.2,
        deliver: bool = True,
    ) -> None:
        self.config = config
        self.dc: DeliveryConfig = config.delivery or DeliveryConfig()
        self.clock = clock
        self.replay = replay
        self.deliver = deliver
        self.tick_interval = tick_interval
        data_dir = data_dir or config.data_dir
        self.db = DeliveryDB(data_dir / self.dc.db)
        # Without ``deliver`` the outbox is in memory and nothing sends it; silences and
        # acknowledgements still come from delivery.db.
        self.outbox = Outbox(self.db if deliver else DeliveryDB(None))
        self.report: dict[str, dict[str, Any]] = {}  # what it would have sent, once stopped
        labels = {p.id: p.label for p in config.parsers}
        self.backlog = StoredAlarms(data_dir / LIVE_DB, self.db, lambda pid: labels.get(pid, pid))
        self._reconciled = False
        windows = {p.id: p.window for p in config.parsers}
        # A replay must not leave firing/realert state behind for the live instance.
        self.lifecycle = Lifecycle(self.dc, self.db, windows, persist=not replay)
        self.events: queue.SimpleQueue[Event | None] = queue.SimpleQueue()
        self.catching_up = replay and self.dc.catch_up
        # A live catch-up ends at a "caught up" Stats only once lagging alarms stopped for
        # this long (real seconds), so one backlog makes one digest, not two.
        self.catch_up_settle = 1.0
        self._last_lagging = float("-inf")
        self.counts = {"alarms": 0, "notified": 0, "resolved": 0, "notices": 0}
        self._thread: threading.Thread | None = None
        self._started = False
        self._closed = False
        self.last_error = ""  # the dispatcher's own trouble (a bug, a broken database)
        self.errors = 0
        self._last_tick = float("-inf")
        now = clock()
        self.channels: dict[str, _Channel] = {}
        for cfg in self.dc.channels:
            if not cfg.enabled:
                continue
            if deliver:
                sender = (senders or {}).get(cfg.name) or build_sender(cfg)
            else:
                sender = _Unsent(cfg)
            policy = digest_policy(cfg) if cfg.per == "digest" else None
            state = None
            if policy is not None:
                state = self.outbox.digest_state(cfg.name) or policy.initial(now)
            worker = ChannelWorker(cfg, sender, self.outbox, clock)
            self.channels[cfg.name] = _Channel(cfg, sender, worker, policy, state)

    # ------------------------------------------------------------------ engine side

    def __call__(self, event: Event) -> None:
        """Called on the engine thread: only a queue put, never I/O."""
        self.events.put(event)

    def start(self, *, threads: bool = True) -> None:
        # What a previous run left pending is due now, and is sent once: rows are marked sent
        # the moment their channel accepts them.
        self.outbox.wake(self.clock())
        if not self.replay:
            self.backlog.open()
        self._started = True
        if not threads:
            return
        for ch in self.channels.values():
            if self.deliver:
                ch.worker.start()
        self._thread = threading.Thread(target=self._dispatch, name="delivery", daemon=True)
        self._thread.start()

    def stop(self, *, flush: bool = True, timeout: float = 10.0) -> None:
        """Handle every queued event; with ``flush`` send what is held (outside quiet hours)
        and wait up to ``timeout`` for the channels. What is left stays in the outbox."""
        if self._thread is not None:
            self.events.put(None)
            self._thread.join()
            self._thread = None
        else:
            self.drain_events()
        if flush:
            self.flush()
        deadline = time.monotonic() + timeout
        workers = [c.worker for c in self.channels.values()]
        threaded = any(w.thread is not None for w in workers)
        while flush and threaded and time.monotonic() < deadline:
            if not any(w.pending_due() or w.busy for w in workers):
                break
            for w in workers:
                w.poke()
            time.sleep(0.02)
        for w in workers:
            w.stop(max(0.1, deadline - time.monotonic()))
        if not self.deliver:
            self.report = self.would_send()
            self.outbox.db.close()
        self._closed = True
        self.backlog.close()
        self.db.close()

    def _dispatch(self) -> None:
        while True:
            try:
                event = self.events.get(timeout=self.tick_interval)
            except queue.Empty:
                event = False  # type: ignore[assignment]
            if event is None:
                self.drain_events()
                return
            try:
                if event is not False:
                    self.handle(event)
                if time.monotonic() - self._last_tick >= self.tick_interval:
                    self._last_tick = time.monotonic()
                    self.tick()
            except Exception as exc:  # delivery trouble must never stop the engine or itself
                self.last_error = f"{type(event).__name__}: {exc!r}"
                self.errors += 1

    def drain_events(self) -> None:
        while True:
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                return
            if event is not None:
                self.handle(event)

    # ------------------------------------------------------------------ events

    def handle(self, event: Event) -> None:
        if isinstance(event, Stats) and event.mode == "history":
            self.replay = True
        if not self._reconciled and not self.replay:
            self._reconcile()
        if isinstance(event, AlarmRaised):
            if event.id is not None and self._reconciled and not self.replay:
                self._stored_alarm(event.id, event.alarm)
            else:
                self._alarm(event.alarm)
        elif isinstance(event, WindowClosed):
            present = set()
            for row in event.rows:
                if row.marks.threshold:
                    present.add(group_key(event.parser, THRESHOLD, row.group))
                if row.marks.abnormal:
                    present.add(group_key(event.parser, ABNORMAL, row.group))
            with self.db.tx():
                self._resolved(self.lifecycle.window_closed(event.parser, event.start, present))
        elif isinstance(event, Stats):
            if not self.replay:
                self._passed(event)
            if (
                event.mode != "history"
                and self.catching_up
                and not event.catching_up
                and time.monotonic() - self._last_lagging >= self.catch_up_settle
            ):
                self.end_catch_up()
        elif isinstance(event, Finished):
            # The end of a replay says nothing about what resolved afterwards.
            self.end_catch_up()
        elif isinstance(event, UnguardedFiles):
            self._unguarded(event)
        elif isinstance(event, AlarmResolved):
            st = self.lifecycle.resolve(alarm_key(event.alarm))
            if st is not None:
                self._resolved([st])
        elif isinstance(event, SourceNotice):
            self._source_notice(event)

    def end_catch_up(self) -> None:
        self.catching_up = False
        self.tick()

    def _reconcile(self) -> None:
        """Handle what alser.db holds above the mark (a crash came between the engine
        storing alarms and their outbox rows), once the engine has opened it."""
        if not self.backlog.ready():
            return
        self._reconciled = True
        for aid, a in self.backlog.after(self.backlog.last_id):
            self._stored_alarm(aid, a)

    def _stored_alarm(self, aid: int, a: Alarm) -> None:
        """An alarm of alser.db: handled once, whether it came as an event, from the
        backlog at start, or both."""
        if aid <= self.backlog.last_id:
            return
        crash_point("before-outbox")
        with self.db.tx() as con:
            self._alarm(a)
            self.backlog.handled(con, aid)
        self.backlog.last_id = aid
        crash_point("after-outbox")

    def _passed(self, st: Stats) -> None:
        """Live resolution by the windows the engine says passed (event time)."""
        firing = {s.parser for s in self.lifecycle.alerts.values()}
        for pid, ps in st.parsers.items():
            if ps.passed is not None and pid in firing:
                with self.db.tx():
                    self._resolved(self.lifecycle.passed(pid, ps.passed))

    def _alarm(self, a: Alarm) -> None:
        now = self.clock()
        self.counts["alarms"] += 1
        verdict = self.lifecycle.judge(a, now)
        doc = verdict.state.doc
        if self.dc.catch_up and (self.replay or now - event_time(doc) > self.dc.catch_up_lag):
            self.catching_up = True
            self._last_lagging = time.monotonic()
        # A catch-up digest counts every alarm of the missed period, realert or not.
        counted = verdict.notify or (self.catching_up and verdict.reason == "realert")
        if not counted:
            return
        channels = self.dc.route(a.parser, a.kind, a.severity)
        message = alarm_message(doc, verdict.reason)
        for name in channels:
            self._deliver(name, message, a.severity, now)
        if verdict.notify:
            self.counts["notified"] += 1
            self.lifecycle.sent_to(verdict.state, channels)

    def _resolved(self, states: list[AlertState]) -> None:
        now = self.clock()
        for st in states:
            self.counts["resolved"] += 1
            if st.last_sent is None:
                continue
            message = resolved_message(st.doc, st.first_ts)
            for name in st.channels:
                ch = self.channels.get(name)
                if ch is not None and ch.config.send_resolved:
                    self._deliver(name, message, st.doc["severity"], now, resolution=True)

    def _unguarded(self, ev: UnguardedFiles) -> None:
        """A notice when files no guard covers appear: the ones this site was not told of
        before (the whole list on the first run), judged against delivery.db at every
        change, so a restart repeats nothing. Files that went away are forgotten (the
        engine says so), so one that comes back is news again."""
        if self.replay or not self.dc.unguarded_notices:
            return
        channels = tuple(c for c in self.dc.route("", NOTICE, 0) if c in self.channels)
        if not channels:
            return  # nobody told, nothing remembered: a channel added later gets the list
        known = {
            r["item"]
            for r in self.db.query("SELECT item FROM notices_seen WHERE topic = ?", (UNGUARDED,))
        }
        fresh = [p for p in ev.new if p not in known]
        now = self.clock()
        if fresh:
            self.counts["notices"] += 1
            message = unguarded_notice(fresh, len(ev.files), now, at_start=ev.first)
            for name in channels:
                self._deliver(name, message, 0, now, notice=True)
        # Recorded after the outbox has it: a crash in between repeats a notice, never loses one.
        current = set(ev.files)
        with self.db.tx() as con:
            con.executemany(
                "DELETE FROM notices_seen WHERE topic = ? AND item = ?",
                [(UNGUARDED, p) for p in known - current],
            )
            con.executemany(
                "INSERT OR IGNORE INTO notices_seen (topic, item, created) VALUES (?, ?, ?)",
                [(UNGUARDED, p, now) for p in current - known],
            )

    def _source_notice(self, ev: SourceNotice) -> None:
        """A guard without a source, a file's clock far off (engine/health.py): told once,
        and once more when it cleared; what was told is kept per item in notices_seen, so
        a restart that raises it again repeats nothing."""
        if self.replay:
            return
        channels = tuple(c for c in self.dc.route("", NOTICE, 0) if c in self.channels)
        if not channels:
            return
        known = {
            r["item"]
            for r in self.db.query("SELECT item FROM notices_seen WHERE topic = ?", (ev.kind,))
        }
        raised = ev.state == "raised"
        items = [i for i in ev.items if (i.source in known) != raised]
        if not items:
            return
        now = self.clock()
        self.counts["notices"] += 1
        if ev.kind == "skew":
            lines = [f"{i.source} ({i.guard}): {i.text}" for i in items]
        else:
            lines = [f"{i.guard}: {i.source}: {i.text}" for i in items]
        text = notice_text(ev.kind, ev.state, len(items))
        message = source_notice(ev.kind, ev.state, text, lines, now)
        for name in channels:
            self._deliver(name, message, 0, now, notice=True)
        # Recorded after the outbox has it: a crash in between repeats a notice, never loses one.
        with self.db.tx() as con:
            if raised:
                con.executemany(
                    "INSERT OR IGNORE INTO notices_seen (topic, item, created) VALUES (?, ?, ?)",
                    [(ev.kind, i.source, now) for i in items],
                )
            else:
                con.executemany(
                    "DELETE FROM notices_seen WHERE topic = ? AND item = ?",
                    [(ev.kind, i.source) for i in items],
                )

    def _deliver(
        self,
        name: str,
        message: dict[str, Any],
        severity: float,
        now: float,
        *,
        resolution: bool = False,
        notice: bool = False,
    ) -> None:
        ch = self.channels.get(name)
        if ch is None:
            return
        if self.catching_up:
            self.outbox.hold(name, CATCH_UP, message, severity, now)
            return
        if ch.policy is not None and notice:
            # Not an alarm: no severity threshold. A severity pool counts it as full, so it
            # goes with the next digest its interval allows instead of waiting for alarms.
            policy = ch.policy
            weight = policy.cfg.severity_pool_size if isinstance(policy, SeverityPool) else 0
            self.outbox.hold(name, DIGEST, message, weight, now)
            return
        if ch.policy is not None:
            if not resolution and not ch.policy.accept(severity):
                ch.below_threshold += 1
                return
            self.outbox.hold(name, DIGEST, message, severity, now)
            return
        floor = ch.config.quiet_min_severity
        if ch.quiet(now) and not (floor and severity >= floor):
            self.outbox.hold(name, QUIET, message, severity, now)
            return
        self.outbox.enqueue(name, message["type"], message, now)
        ch.worker.poke()

    # ------------------------------------------------------------------ timing

    def tick(self) -> None:
        """Digests that are due, held alarms whose quiet hours ended, live resolutions."""
        now = self.clock()
        for name, ch in self.channels.items():
            made = False
            if not ch.quiet(now):
                if not self.catching_up:
                    made |= self.outbox.compose(name, CATCH_UP, CATCH_UP, now) is not None
                made |= self.outbox.compose(name, QUIET, QUIET, now) is not None
                if ch.policy is not None and ch.digest is not None:
                    before = (ch.digest.period, ch.digest.due)
                    held = self.outbox.held(name, DIGEST)
                    if ch.policy.due(ch.digest, held, now):
                        made |= self.outbox.compose(name, DIGEST, DIGEST, now) is not None
                        ch.digest.last_digest = now
                        self.outbox.save_digest_state(name, ch.digest)
                    elif before != (ch.digest.period, ch.digest.due):
                        self.outbox.save_digest_state(name, ch.digest)
            if made:
                ch.worker.poke()

    def flush(self) -> None:
        """Everything held becomes a message now, except what waits for the morning."""
        self.catching_up = False
        now = self.clock()
        for name, ch in self.channels.items():
            if ch.quiet(now):
                continue
            made = self.outbox.compose(name, CATCH_UP, CATCH_UP, now) is not None
            made |= self.outbox.compose(name, QUIET, QUIET, now) is not None
            if self.outbox.compose(name, DIGEST, DIGEST, now) is not None:
                made = True
                if ch.digest is not None:
                    ch.digest.last_digest = now
                    self.outbox.save_digest_state(name, ch.digest)
            if made:
                ch.worker.poke()

    def would_send(self) -> dict[str, dict[str, Any]]:
        """Per channel, what the outbox holds to send and what waits for a digest or the
        morning (a replay without ``deliver``: all it would have sent)."""
        out: dict[str, dict[str, Any]] = {}
        held = self.outbox.held_counts()
        for name, ch in self.channels.items():
            msgs = self.outbox.messages(name, ("pending",))
            alarms = resolved = 0
            for m in msgs:
                doc = m.doc
                if doc["type"] == "alarm":
                    alarms += 1
                elif doc["type"] == "resolved":
                    resolved += 1
                elif doc["type"] == "digest":
                    alarms += doc["count"]
                    resolved += len(doc["resolved"])
            out[name] = {
                "type": ch.config.type,
                "messages": len(msgs),
                "alarms": alarms,
                "resolved": resolved,
                "held": held.get(name, 0),
                "summaries": [one_line(m.doc) for m in msgs],
            }
        return out

    def muted(self, a: Alarm) -> str:
        """ "silenced", "acknowledged" or "": what the channels make of this alarm (for
        output that shows every alarm, as --no-ui's). Any thread."""
        return self.lifecycle.muted(alarm_doc(a), self.clock())[0]

    def pump(self, rounds: int = 1000) -> int:
        """Without threads (tests): send every due message now. Returns how many went out."""
        sent = 0
        for ch in self.channels.values():
            for _ in range(rounds):
                before = ch.worker.sent
                if not ch.worker.run_once():
                    break
                sent += ch.worker.sent - before
        return sent

    # ------------------------------------------------------------------ console API

    def ack(self, alarm: Alarm, comment: str = "") -> None:
        """Acknowledge: no channel hears of this (parser, kind, group) until it resolves."""
        self.lifecycle.ack(alarm_key(alarm), self.clock(), comment)

    def silence(
        self,
        *,
        parser: str = "",
        kind: str = "",
        matchers: tuple[tuple[str, str], ...] = (),
        duration: float,
        comment: str = "",
    ) -> Silence:
        return self.lifecycle.add_silence(
            parser=parser,
            kind=kind,
            matchers=matchers,
            duration=duration,
            now=self.clock(),
            comment=comment,
        )

    def unsilence(self, sid: int) -> bool:
        return self.lifecycle.remove_silence(sid)

    def silences(self) -> list[Silence]:
        return self.lifecycle.active_silences(self.clock())

    def acked(self) -> set[str]:
        """Keys (``alarm_key``) acknowledged and not resolved yet, as stored."""
        return {r["key"] for r in self.db.query("SELECT key FROM acks")}

    # ------------------------------------------------------------------ status

    def status(self) -> dict[str, ChannelStatus]:
        if self._closed:
            return {}
        now = self.clock()
        counts = self.outbox.counts()
        held = self.outbox.held_counts()
        last_sent = self.outbox.last_sent()
        out: dict[str, ChannelStatus] = {}
        for name, ch in self.channels.items():
            c = counts.get(name, {})
            w = ch.worker
            queued = c.get("pending", 0)
            why = ch.sender.unavailable()
            if not self.deliver:
                state = "not sent (a replay; --deliver sends)"
            elif why:
                state = why
            elif queued and w.next_try is not None and w.next_try > now:
                state = f"retrying in {max(1, round(w.next_try - now))}s"
            elif ch.quiet(now) and held.get(name):
                state = "quiet hours"
            elif queued or w.busy:
                state = "sending"
            else:
                state = "ok"
            extra = ch.sender.state()
            if extra and not why:
                state = f"{state} ({extra})" if state != "ok" else extra
            out[name] = ChannelStatus(
                name=name,
                type=ch.config.type,
                state=state,
                queued=queued,
                held=held.get(name, 0),
                failed=c.get("failed", 0),
                sent=c.get("sent", 0),
                last_error=w.last_error,
                last_error_at=w.last_error_at,
                last_sent=last_sent.get(name),
            )
        return out

    def status_line(self) -> str:
        """'delivery: mail ok · irc retrying in 20s, 2 queued (...)' for --tick."""
        parts = [s.line() for s in self.status().values()]
        if self.last_error:
            parts.append(f"{self.errors} internal errors (last: {self.last_error[:60]})")
        return "delivery: " + (" · ".join(parts) if parts else "no channels")


def delivery_for(
    config: Config,
    *,
    replay: bool = False,
    clock: Callable[[], float] = time.time,
    always: bool = False,
    data_dir: Path | None = None,
    deliver: bool = True,
) -> Delivery | None:
    """A Delivery when the config has channels, else None (for cli/headless/app wiring).
    ``always``: one without channels too (the console keeps its acks and silences in it).
    ``deliver`` False: one that sends nothing and reports what it would have sent."""
    if not always and (config.delivery is None or not config.delivery.channels):
        return None
    return Delivery(config, data_dir, replay=replay, clock=clock, deliver=deliver)
