"""The console app: runs the engine in a thread worker and shows what it reports.

Data flows one way. The engine thread calls our subscriber, which only posts a message; the
UI thread folds each event into the ConsoleModel; a timer (4 Hz) redraws what changed and
asks the query worker for the selected table, so the redraw rate is bounded however fast
lines arrive. Queries run on one long-lived worker thread (one SQLite reader connection),
newest request per kind wins. Acks and silences go to delivery.db on that thread too.

The engine (sqlite_utils, the parsers) is imported on its thread after the first frame:
the screen is up in well under half a second whatever the backlog.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.screen import ModalScreen, Screen

from alser_tui.engine.alarms import Alarm
from alser_tui.engine.config import Config
from alser_tui.engine.events import AlarmRaised, Event, Finished
from alser_tui.link import DeliveryLink, EngineLink
from alser_tui.link.local import ConsoleDelivery
from alser_tui.ui.commands import Command, ConsoleCommands, command
from alser_tui.ui.delivery import DESKTOP_GAP, DesktopCue, silence_choices
from alser_tui.ui.messages import (
    DeliveryOpened,
    EngineEvent,
    EngineFailed,
    EngineOpened,
    LinkChanged,
    QueryDone,
    ToastPosted,
)
from alser_tui.ui.model import ConsoleModel, Notifiers
from alser_tui.ui.query import open_totals, store_bytes
from alser_tui.ui.screens.drill import DrillScreen
from alser_tui.ui.screens.event import EventScreen
from alser_tui.ui.screens.help import HelpScreen, HelpSection
from alser_tui.ui.screens.main import MainScreen
from alser_tui.ui.screens.silence import SilencePicker
from alser_tui.ui.screens.silences import SilencesScreen
from alser_tui.ui.screens.sources import SourcesScreen
from alser_tui.ui.text import clock, group_words
from alser_tui.ui.themes import DEFAULT_THEME, THEME_ORDER, load_themes
from alser_tui.ui.toasts import ToastBoard
from alser_tui.ui.widgets.alarm_list import AlarmList
from alser_tui.ui.widgets.event_table import EventTable
from alser_tui.ui.widgets.group_table import GroupTable
from alser_tui.ui.widgets.keyed_table import KeyedTable
from alser_tui.ui.widgets.parser_list import ParserList
from alser_tui.ui.widgets.silence_table import SilenceTable, match_words
from alser_tui.ui.widgets.toast_shelf import ToastShelf

if TYPE_CHECKING:
    from alser_tui.engine.notify.lifecycle import Silence

REFRESH_HZ = 4.0
TOTALS_EVERY = 4  # ticks between open-window totals of every parser
STATUS_EVERY = 4  # ticks between reads of delivery.db and the channels' states
BELL_GAP = 1.0  # seconds: at most one bell per second
STOP_TIMEOUT = 5.0

Query = Callable[[], Any]
Deliver = Callable[[Any], bool | None]
# Kinds asked for by the timer or ahead of a key: they never hold up a key's own query.
BACKGROUND = frozenset({"totals", "status", "prefetch", "scope-follow", "prefetch-events"})
PREFETCH_FRESH = 2.0  # seconds a read-ahead page of lines is good for
LETTER_ACTIONS = frozenset({"quit", "help", "toggle_mute", "cycle_theme", "silences", "sources"})


@dataclass
class Lane:
    """One query thread's queue: newest request per kind."""

    pending: dict[str, tuple[Query, Deliver, int]] = field(default_factory=dict)
    wake: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)


class AlserApp(App[int]):
    TITLE = "alser-tui"
    # The default screen's CSS_PATH is not loaded by Textual (only pushed screens' are).
    CSS_PATH: ClassVar[list[str | Path]] = ["app.tcss", "screens/main.tcss"]
    COMMANDS = App.COMMANDS | {ConsoleCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("question_mark", "help", "Help", id="help"),
        Binding("m", "toggle_mute", "Mute bell", show=False, id="mute"),
        Binding("t", "cycle_theme", "Next theme", show=False, id="theme"),
        Binding("S", "silences", "Silences", show=False, id="silences"),
        Binding("o", "sources", "Sources", show=False, id="sources"),
    ]

    def __init__(
        self,
        config: Config,
        *,
        history: bool = False,
        dry_run: bool = False,
        locales: tuple[str, ...] = (),
        data_dir: Path | None = None,
        clock: Callable[[], float] = time.time,
        wall_clock: Callable[[], float] = time.time,
        stats_interval: float = 1.0,
        refresh_hz: float = REFRESH_HZ,
        steady: bool = False,
        theme: str | None = None,
        desktop: bool | None = None,
        deliver: bool = False,
        guard: Any = None,
    ) -> None:
        """``clock`` is the engine's (windows close by it); ``wall_clock`` times silences.
        ``steady`` hides rates, memory and store size (deterministic snapshots).
        ``desktop``: desktop notifications on, off, or None: where a display exists.
        ``deliver``: a replay (``history``) sends to the channels too (--deliver).
        ``guard``: a GuardClient connected to the guard running on the data dir: the
        console attaches to it (link/remote.py) instead of running an engine itself."""
        super().__init__()
        self.config = config
        self.history = history
        self.steady = steady
        self.refresh_hz = refresh_hz
        self._engine_args: dict[str, Any] = dict(
            keep_open=True,
            history=history,
            dry_run=dry_run,
            locales=locales,
            data_dir=data_dir,
            clock=clock,
            stats_interval=stats_interval,
        )
        # The link (alser_tui/link): the engine, built on its thread after the first frame,
        # in this process or the guard's; and the delivery that goes with it.
        self.engine: EngineLink | None = None
        self.guard = guard
        self.wall_clock = wall_clock
        self.delivery: DeliveryLink
        if guard is not None:
            from alser_tui.link.remote import RemoteDelivery

            self.delivery = RemoteDelivery(config)
        else:
            self.delivery = ConsoleDelivery(
                config,
                replay=history,
                data_dir=data_dir,
                enabled=not dry_run,
                clock=wall_clock,
                deliver=deliver or not history,
            )
        self.desktop = DesktopCue(desktop, channel=self.delivery.has_desktop_channel)
        self._desktop_pending: list[Alarm] = []
        self.model = ConsoleModel(config, clock=wall_clock)
        self.toasts = ToastBoard()
        self._drill: DrillScreen | None = None
        self._main_dirty: set[str] = set()  # what changed while another screen was on top
        self.muted = False
        self._last_bell = float("-inf")
        self._ticks = 0
        self._io = itertools.count(1)
        self._leaving = threading.Event()
        self._engine_done = threading.Event()
        self._lanes = (Lane(), Lane())  # what keys ask for; what the timer reads
        self._query_lock = threading.Lock()
        self._prefetched: tuple[tuple[Any, ...], Any, float] | None = None
        self.applied: dict[str, int] = {}  # query kind -> event count it was asked at
        # Acks made here that a status read may not show yet: key -> the first status read
        # that will (0: not stored yet).
        self._acks_unseen: dict[str, int] = {}
        self._status_reads = 0
        self.delivery_ready = False
        self._threads_started = False
        self._stopped = False
        self._stopped_refresh = False
        self._started = False
        themes, self.theme_warnings = load_themes()
        for t in themes:
            self.register_theme(t)
        self.theme_names = [t.name for t in themes]
        wanted = theme or config.theme or DEFAULT_THEME
        if wanted not in self.theme_names:
            self.theme_warnings.append(f"unknown theme {wanted!r}: using {DEFAULT_THEME!r}")
            wanted = DEFAULT_THEME
        self.theme = wanted
        name = Path(config.path).name if config.path else "config"
        mode = "replay" if history else "live"
        self.main = MainScreen(self.model, f"alser-tui · {name} · {mode}")

    def get_default_screen(self) -> Screen[Any]:
        return self.main

    # ------------------------------------------------------------------ start

    def start_background(self) -> None:
        """Start the refresh timer now, the engine and the query worker once the first frame
        is on screen (importing the engine takes longer than painting)."""
        if self._started:
            return
        self._started = True
        self.set_interval(1 / self.refresh_hz, self._tick, name="refresh")
        self.call_after_refresh(self._start_threads)
        for w in self.theme_warnings:
            self.toast(w, "warning", timeout=6)

    def _start_threads(self) -> None:
        if self._leaving.is_set():
            return
        self._threads_started = True
        self._run_engine()
        for lane in self._lanes:
            self._run_queries(lane)

    @work(thread=True, exit_on_error=False, group="engine", name="engine")
    def _run_engine(self) -> None:
        try:
            try:
                engine = self._make_engine()
                engine.subscribe(self._from_engine)
                snapshot = self.delivery.open()
                if self.delivery.delivery is not None:
                    engine.subscribe(self.delivery.delivery)
                self.post_message(DeliveryOpened(snapshot, self.delivery.error))
                self.engine = engine
                if self._leaving.is_set():
                    return
                # open() may take a while (SQLite, globbing): the screen is up meanwhile.
                engine.open()
            except Exception as exc:
                self.post_message(EngineFailed(f"{type(exc).__name__}: {exc}"))
                return
            self.post_message(EngineOpened())
            try:
                engine.run()
            except Exception as exc:
                self.post_message(EngineFailed(f"{type(exc).__name__}: {exc}"))
        finally:
            self._engine_done.set()

    def _make_engine(self) -> EngineLink:
        if self.guard is None:
            from alser_tui.engine.engine import Engine

            return Engine(self.config, **self._engine_args)
        from alser_tui.link.remote import RemoteEngine

        remote = RemoteEngine(self.config, self.guard)
        remote.on_delivery_changed = lambda: self.post_message(LinkChanged("delivery"))
        remote.on_reloaded = lambda: self.post_message(LinkChanged("reloaded"))
        self.delivery.engine = remote  # type: ignore[attr-defined]
        return remote

    def link_words(self) -> str:
        """What the status line says of the link: '' in-process, the guard's pid and
        uptime when attached (or that it went away and the console reconnects)."""
        words = getattr(self.engine, "link_words", None)
        return words(self.wall_clock()) if words is not None else ""

    @on(LinkChanged)
    def _link_changed(self, message: LinkChanged) -> None:
        if message.what == "delivery" and self.engine is not None:
            # Acks or silences changed in another console or the web view: read them now.
            self._request_status(self.engine)
        elif message.what == "reloaded":
            self.toast("the guard reloaded its config (restart the console for new parsers)")

    @work(thread=True, exit_on_error=False, group="queries", name="queries")
    def _run_queries(self, lane: Lane) -> None:
        try:
            while not self._leaving.is_set():
                lane.wake.wait(0.25)
                lane.wake.clear()
                with self._query_lock:
                    pending, lane.pending = lane.pending, {}
                for kind, (fn, deliver, stamp) in pending.items():
                    if self._leaving.is_set() and not kind.startswith("io-"):
                        continue
                    try:
                        result = fn()
                    except Exception as exc:  # shown by the deliverer, never fatal here
                        result = exc
                    self.post_message(QueryDone(kind, deliver, result, stamp))
        finally:
            lane.done.set()

    def submit(self, kind: str, fn: Query, deliver: Deliver) -> None:
        """Run ``fn`` on a query thread; ``deliver(result)`` runs later on the UI thread.
        A newer request of the same kind replaces one not started yet. What a key asks for
        (the table, the lines, a write) has a thread of its own, so it never waits behind
        the periodic totals and status reads."""
        lane = self._lanes[1] if kind in BACKGROUND else self._lanes[0]
        with self._query_lock:
            lane.pending[kind] = (fn, deliver, self.model.events)
        lane.wake.set()

    def keep_prefetched_events(self, target: tuple[Any, ...], events: Any) -> bool:
        """A first page of a group's lines read ahead of ``enter`` (the latest one only)."""
        if isinstance(events, BaseException):
            return False
        self._prefetched = (target, events, time.monotonic())
        return True

    def prefetched_events(self, target: tuple[Any, ...]) -> Any:
        """The page read ahead for (parser, start, end, group key), if fresh."""
        held = self._prefetched
        if held is None or held[0] != target or time.monotonic() - held[2] > PREFETCH_FRESH:
            return None
        return held[1]

    def submit_io(self, fn: Query, deliver: Deliver) -> None:
        """A write (ack, silence): never replaced by a later one."""
        self.submit(f"io-{next(self._io)}", fn, deliver)

    # ------------------------------------------------------------------ engine events

    def _from_engine(self, event: Event) -> None:
        # Engine thread: no widget may be touched here, only a message posted. (An attached
        # console's backlog, alarms raised before it came, rings no bell.)
        self.post_message(EngineEvent(event, past=getattr(self.engine, "replaying", False)))

    @on(EngineEvent)
    def _engine_event(self, message: EngineEvent) -> None:
        event = message.event
        if isinstance(event, Finished):
            self.call_later(self._tick)  # the end of a replay shows at once, not a tick later
        if not self.model.apply(event) or message.past:
            return  # nothing new, silenced, acknowledged, or from before: no sound
        if isinstance(event, AlarmRaised) and self.desktop.active:
            self._desktop_pending.append(event.alarm)
        if not self.muted:
            now = time.monotonic()
            if now - self._last_bell >= BELL_GAP:
                self._last_bell = now
                self.bell()

    @on(EngineOpened)
    def _engine_opened(self) -> None:
        self.model.opened = True
        self.model.dirty.update(("stats", "parsers"))
        self._tick()

    @on(EngineFailed)
    def _engine_failed(self, message: EngineFailed) -> None:
        self.model.error = message.error
        self.model.dirty.add("stats")

    @on(DeliveryOpened)
    def _delivery_opened(self, message: DeliveryOpened) -> None:
        self.delivery_ready = True
        snap = message.snapshot
        if message.error:
            self.model.notifiers = Notifiers(error=message.error)
            self.toast(f"acks and silences are not kept: {message.error}", "error", 10)
            return
        if snap is None:
            return
        self.model.notifiers = Notifiers(channels=snap.channels)
        self.model.set_silences(snap.silences)
        self.model.set_acked(set(snap.acks))
        # Restored state is announced, never applied silently.
        parts = []
        if snap.silences:
            n = len(snap.silences)
            parts.append(f"{n} silence{'s' if n != 1 else ''} (S lists them)")
        if snap.acks:
            n = len(snap.acks)
            parts.append(f"{n} acknowledgement{'s' if n != 1 else ''}")
        if parts:
            self.toast("restored from delivery.db: " + " and ".join(parts), timeout=10)
        self.model.dirty.update(("alarms", "silences"))

    @on(QueryDone)
    def _query_done(self, message: QueryDone) -> None:
        if self._closing_down():
            return  # a late answer while the app is closing
        try:
            applied = message.deliver(message.result) is not False
        except NoMatches:
            return  # the widgets went away under a shutdown (see _tick)
        if applied and not message.kind.startswith("io-"):  # one kind per write: not kept
            self.applied[message.kind] = max(self.applied.get(message.kind, -1), message.stamp)

    # ------------------------------------------------------------------ the timer

    def _tick(self) -> None:
        if self._closing_down():
            return
        self._ticks += 1
        dirty = self.model.take_dirty()
        try:
            screen = self.screen
            # The main screen's tables are only kept up to date while they can be seen (a
            # modal leaves them visible): behind the drill-down they wait for its escape.
            if screen is self.main or isinstance(screen, ModalScreen):
                self.main.tick(dirty | self._main_dirty)
                self._main_dirty.clear()
            else:
                self._main_dirty |= dirty
                if isinstance(screen, DrillScreen | EventScreen | SilencesScreen | SourcesScreen):
                    screen.tick(dirty)
            self._show_toasts()
        except NoMatches:
            # Textual's shutdown (run_test's too) removes widgets before their screen.
            return
        self._send_desktop_burst()
        model = self.model
        engine = self.engine
        if engine is None or not model.opened or model.error:
            return
        if self._ticks % TOTALS_EVERY == 0 or (
            model.finished is not None and self.applied.get("totals", -1) < model.events
        ):
            self.submit("totals", partial(open_totals, engine), self._apply_totals)
        if self._ticks % STATUS_EVERY == 1 or (
            model.finished is not None and self.applied.get("status", -1) < model.events
        ):
            self._request_status(engine)

    def _request_status(self, engine: EngineLink) -> None:
        """Read delivery.db's acks and silences, the channels' states and the store size."""
        self._status_reads += 1
        self.submit(
            "status",
            partial(self._read_status, engine),
            partial(self._apply_status, self._status_reads),
        )

    def main_resumed(self) -> None:
        """The main screen is on top again: bring it up to date at once."""
        if self._started and not self._closing_down():
            self.main.tick(self._main_dirty | {"alarms", "parsers", "stats"})
            self._main_dirty.clear()

    def _closing_down(self) -> bool:
        return self._stopped or self._stopped_refresh or not self.main.is_attached

    def _apply_totals(self, totals: dict[str, tuple[int, float] | None] | BaseException) -> bool:
        if isinstance(totals, BaseException):
            self.log.error("totals query failed", totals)
            return False
        if not self.main.paused:
            self.model.set_open_totals(totals)
            if self.model.finished is not None:
                self.call_later(self._tick)  # nothing moves any more: show the final totals
        return True

    def _read_status(self, engine: EngineLink) -> tuple[Any, int | None]:
        return self.delivery.snapshot(), store_bytes(engine)

    def _apply_status(self, read: int, result: tuple[Any, int | None] | BaseException) -> bool:
        if isinstance(result, BaseException):
            self.log.error("status query failed", result)
            return False
        snap, size = result
        n = self.model.notifiers
        channels = snap.channels if snap is not None else n.channels
        self.model.notifiers = Notifiers(channels, size, n.error)
        if snap is not None:
            # `alser-tui silence` may have changed them from another shell; an ack ends
            # when its alarm resolves (the delivery deletes it): delivery.db says which hold.
            self.model.set_silences(snap.silences)
            unseen = self._acks_unseen
            for k in [k for k, first in unseen.items() if 0 < first <= read]:
                del unseen[k]
            self.model.sync_acked(set(snap.acks) | set(unseen))
        self.model.dirty.add("stats")
        return True

    @property
    def settled(self) -> bool:
        """The replay is over and the tables show what it left (tests wait for this)."""
        m = self.model
        return (
            m.finished is not None
            and self.delivery_ready
            and max(self.applied.get("scope", -1), self.applied.get("scope-follow", -1)) >= m.events
            and self.applied.get("totals", -1) >= m.events
            and self.applied.get("status", -1) >= m.events
            and not m.dirty
            and not self.main.pending
        )

    # ------------------------------------------------------------------ toasts and sounds

    def toast(self, text: str, severity: str = "information", timeout: float = 4.0) -> None:
        """A transient cue (at most two on screen; more are merged as ``+N more``)."""
        self.toasts.add(text, severity, timeout)
        self._show_toasts()

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: str = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        # Textual's own notifications (any thread) join our toasts, same place, same limit.
        text = message
        if markup:
            try:
                text = Text.from_markup(message).plain
            except Exception:  # not markup after all: show it as it is
                text = message
        text = f"{title}: {text}" if title else text
        wait = self.NOTIFICATION_TIMEOUT if timeout is None else timeout
        self.post_message(ToastPosted(text, severity, wait))

    @on(ToastPosted)
    def _toast_posted(self, message: ToastPosted) -> None:
        self.toast(message.text, message.severity, message.timeout)

    def _show_toasts(self) -> None:
        visible = self.toasts.visible()
        for shelf in self.screen.query(ToastShelf):
            shelf.show(visible)

    def _send_desktop_burst(self) -> None:
        if not self._desktop_pending:
            return
        now = time.monotonic()
        if not self.desktop.active:
            self._desktop_pending.clear()
        elif now - self.desktop.last >= DESKTOP_GAP:
            burst, self._desktop_pending = self._desktop_pending, []
            self.desktop.last = now
            self._desktop_send(burst)

    @work(thread=True, exit_on_error=False, group="desktop")
    def _desktop_send(self, burst: list[Alarm]) -> None:
        self.desktop.send(burst)

    # ------------------------------------------------------------------ acks and silences

    def ack(self, seq: int | None) -> None:
        """Acknowledge one alarm (with every alarm of its parser, kind and group), or all;
        stored in delivery.db, so no channel sends it again until it resolves."""
        if seq is None:
            entries = self.model.ack_all()
            n = sum(1 for e in self.model.alarms if e.acked)
            if entries:
                self.toast(f"acknowledged every alarm ({n:,})", timeout=2.5)
        else:
            entry = self.model.ack(seq)
            entries = [entry] if entry is not None else []
        self.main.refresh_alarms()
        if entries:
            alarms = [e.alarm for e in entries]
            keys = [e.key for e in entries]
            self._acks_unseen.update(dict.fromkeys(keys, 0))
            self.submit_io(partial(self.delivery.ack, alarms), partial(self._acks_stored, keys))

    def _acks_stored(self, keys: list[str], result: int | BaseException) -> bool:
        for k in keys:
            if k in self._acks_unseen:
                # Status reads asked from now on see it (or that it ended since).
                self._acks_unseen[k] = self._status_reads + 1
        if isinstance(result, BaseException):
            self.toast(f"acknowledgement not stored: {result}", "error", 8)
        return True

    def ask_silence(self, parser_id: str, group: dict[str, Any]) -> None:
        """``s``: ask for how long, then silence the group (no bell, no desktop, no channel)."""
        p = self.model.parsers.get(parser_id)
        if p is None:
            return
        what = Text(p.config.label)
        what.append(" › " + (group_words(group) or "every group"))
        now = self.model.clock()
        picker = SilencePicker(what, silence_choices(now), now)
        self.push_screen(picker, partial(self._silence_chosen, parser_id, dict(group)))

    def _silence_chosen(self, parser_id: str, group: dict[str, Any], choice: Any) -> None:
        if choice is None:
            return
        if self.delivery.delivery is None:
            why = self.delivery.error or "delivery.db is not open"
            self.toast(f"cannot silence: {why}", "error", 6)
            return
        self.submit_io(
            partial(self.delivery.silence, parser_id, group, choice.seconds),
            partial(self._silenced, choice.label),
        )

    def _silenced(self, label: str, result: Silence | BaseException | None) -> bool:
        if isinstance(result, BaseException) or result is None:
            self.toast(f"silence not stored: {result}", "error", 8)
            return True
        self.model.set_silences([*self.model.silences, result])
        self.main.refresh_alarms()
        how_long = (
            label if label.startswith("until") else f"for {label} (until {clock(result.until)})"
        )
        self.toast(
            f"⊘ silenced {result.parser} {match_words(result)} {how_long} · S lists silences",
            timeout=5,
        )
        self.main.request_scope(force=True)  # the row's ⊘ mark
        return True

    @on(SilenceTable.Lift)
    def _lift(self, message: SilenceTable.Lift) -> None:
        s = message.silence
        self.submit_io(partial(self.delivery.unsilence, s.id), partial(self._lifted, s))

    def _lifted(self, s: Silence, result: bool | BaseException) -> bool:
        if isinstance(result, BaseException):
            self.toast(f"silence #{s.id} not lifted: {result}", "error", 8)
            return True
        self.model.set_silences([x for x in self.model.silences if x.id != s.id])
        self.main.refresh_alarms()
        self.toast(f"silence #{s.id} lifted: {s.parser} {match_words(s)}", timeout=3)
        self.main.request_scope(force=True)
        if isinstance(self.screen, SilencesScreen):
            self.screen.tick({"silences"})
        return True

    # ------------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Typing a search: q, m, t, S and ? are letters, not commands.
        if getattr(self.screen, "asking", "") and action in LETTER_ACTIONS:
            return False
        return True

    def action_toggle_mute(self) -> None:
        self.muted = not self.muted
        self.main.refresh_alarms()
        self.model.dirty.update(("alarms", "stats"))
        self.toast("bell muted" if self.muted else "bell on", timeout=1.5)

    def action_cycle_theme(self) -> None:
        names = [n for n in THEME_ORDER if n in self.theme_names] + [
            n for n in self.theme_names if n not in THEME_ORDER
        ]
        i = names.index(self.theme) if self.theme in names else -1
        self.theme = names[(i + 1) % len(names)]
        self.toast(f"theme: {self.theme}", timeout=1.5)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.help_sections(), HELP_EXTRA))

    def open_drill(
        self,
        p: Any,
        start: int,
        end: int,
        group: dict[str, Any],
        *,
        live: bool,
        alarm: Alarm | None = None,
    ) -> None:
        """The raw lines of one group (or an instant or dropped alarm's own): one drill-down
        screen, kept and pointed at it."""
        drill = self._drill
        if drill is None:
            drill = self._drill = DrillScreen(p, start, end, group, live=live, alarm=alarm)
            self.install_screen(drill, name="drill")  # kept when popped: no rebuild next time
        else:
            drill.retarget(p, start, end, group, live=live, alarm=alarm)
        if drill is not self.screen:
            self.push_screen(drill)

    def action_silences(self) -> None:
        if not isinstance(self.screen, SilencesScreen):
            self.push_screen(SilencesScreen())

    def action_sources(self) -> None:
        if not isinstance(self.screen, SourcesScreen):
            self.push_screen(SourcesScreen())

    def help_sections(self) -> list[HelpSection]:
        return [
            ("anywhere", self.BINDINGS),
            ("main screen", MainScreen.BINDINGS),
            ("parser list", ParserList.BINDINGS),
            ("top-N table", GroupTable.BINDINGS),
            ("alarm list", AlarmList.BINDINGS),
            ("any table", KeyedTable.BINDINGS),
            ("raw lines", DrillScreen.BINDINGS),
            ("raw lines", EventTable.BINDINGS),
            ("one event", EventScreen.BINDINGS),
            ("silences", SilencesScreen.BINDINGS),
            ("silences", SilenceTable.BINDINGS),
            ("sources", SourcesScreen.BINDINGS),
        ]

    def palette_commands(self) -> list[Command]:
        """Everything the keys do, plus every parser by name (the command palette)."""
        main = self.main
        out = [
            command(f"parser: {v.config.label}", f"show {pid}'s table", self._go_parser, pid)
            for pid, v in self.model.parsers.items()
        ]
        out += [
            command("next firing parser", "e: the next parser with firing alarms",
                    main.action_next_firing, 1),
            command("previous firing parser", "E: the previous one with firing alarms",
                    main.action_next_firing, -1),
            command("pause / resume", "space: freeze the view, reading goes on",
                    main.action_toggle_pause),
            command("live", "esc: back to the open window", main.action_live),
            command("older window", "←: the window before", main.action_step_window, -1),
            command("newer window", "→: the window after", main.action_step_window, 1),
            command("raw lines of the selected group", "enter on a row", main.action_drill),
            command("silence the selected group", "s: 15 min, 1 h, 4 h, until 09:00",
                    main.action_silence_selected),
            command("silences", "S: list and lift silences", self.action_silences),
            command("sources", "o: followed files, lag, lines/s; unguarded files; warnings",
                    self.action_sources),
            command("acknowledge the selected alarm", "a in the alarm list",
                    main.action_ack_selected),
            command("acknowledge every alarm", "A in the alarm list", self.ack, None),
            command("alarm list", "tab: focus the alarms", main.action_focus_alarms),
            command("mute / unmute the bell", "m", self.action_toggle_mute),
            command("next theme", "t: ansi, dark, light, high-contrast", self.action_cycle_theme),
            command("keys", "?: every key on one screen", self.action_help),
            command("quit", "q: flush and leave", self.action_quit),
        ]  # fmt: skip
        screen = self.screen
        if isinstance(screen, DrillScreen):
            out += [
                command("search the lines", "/ then n / N", screen.action_search),
                command("filter the lines", "f", screen.action_filter),
            ]
        return out

    def _go_parser(self, parser_id: str) -> None:
        while self.screen is not self.main and len(self.screen_stack) > 1:
            self.pop_screen()
        self.main.select_parser(parser_id)
        self.main.query_one(GroupTable).focus()

    async def action_quit(self) -> None:
        self.stop_background()
        self.exit(1 if self.model.error else 0)

    def exit(self, *args: Any, **kwargs: Any) -> None:
        # Stop refreshing before Textual takes the screens down (run_test and snapshot
        # helpers exit this way, without the quit action).
        self._stopped_refresh = True
        super().exit(*args, **kwargs)

    def on_unmount(self) -> None:
        self.stop_background()

    def stop_background(self) -> None:
        """Stop the engine after its current batch (rows and file offsets commit together, as
        on SIGTERM with --no-ui) and the query thread; close the store; flush delivery."""
        if self._stopped:
            return
        self._stopped = True
        self._leaving.set()
        if self.engine is not None:
            self.engine.request_stop()
        for lane in self._lanes:
            lane.wake.set()
        if not self._threads_started:
            return
        self._engine_done.wait(STOP_TIMEOUT)
        for lane in self._lanes:
            lane.done.wait(STOP_TIMEOUT)
        queries_done = all(lane.done.is_set() for lane in self._lanes)
        engine = self.engine
        if engine is not None and self._engine_done.is_set() and queries_done:
            engine.close()
        if self._engine_done.is_set():
            self.delivery.stop()  # after the engine: its last alarms are queued by then


HELP_EXTRA = [
    ("anywhere", "tab shift+tab", "next / previous pane"),
    ("anywhere", "ctrl+p", "command palette: every action and parser, by name"),
    ("any table", "↑ ↓", "move"),
    ("silence picker", "1 2 3 4", "15 min, 1 h, 4 h, until 09:00"),
]


def run_app(config: Config, args: argparse.Namespace, guard: Any = None) -> int:
    """Entry point from the CLI: returns the exit code. ``guard``: a GuardClient to attach
    through (a guard runs on the data dir)."""
    app = AlserApp(
        config,
        history=bool(getattr(args, "history", False)),
        dry_run=bool(getattr(args, "dry_run", False)),
        locales=tuple(getattr(args, "locale", None) or ()),
        deliver=bool(getattr(args, "deliver", False)),
        guard=guard,
    )
    try:
        code = app.run()
    finally:
        if guard is not None:
            guard.close()
    if app.model.error:
        sys.stderr.write(f"alser-tui: {app.model.error}\n")
        return 1
    return code if isinstance(code, int) else 0
