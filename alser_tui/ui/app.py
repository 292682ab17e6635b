"""The console app: runs the engine in a thread worker and shows what it reports.

Data flows one way. The engine thread calls our subscriber, which only posts a message; the
UI thread folds each event into the ConsoleModel; a timer (4 Hz) redraws what changed and
asks the query worker for the selected table, so the redraw rate is bounded however fast
lines arrive. Queries run on one long-lived worker thread (one SQLite reader connection),
newest request per kind wins.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from textual import on, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.screen import Screen

from alser_tui.engine.config import Config
from alser_tui.engine.engine import Engine
from alser_tui.engine.events import Event
from alser_tui.ui.messages import EngineEvent, EngineFailed, EngineOpened, QueryDone
from alser_tui.ui.model import ConsoleModel
from alser_tui.ui.query import open_totals
from alser_tui.ui.screens.drill import DrillScreen
from alser_tui.ui.screens.help import HelpScreen, HelpSection
from alser_tui.ui.screens.main import MainScreen
from alser_tui.ui.themes import DEFAULT_THEME, THEME_ORDER, load_themes
from alser_tui.ui.widgets.alarm_list import AlarmList
from alser_tui.ui.widgets.group_table import GroupTable
from alser_tui.ui.widgets.keyed_table import KeyedTable
from alser_tui.ui.widgets.parser_list import ParserList

REFRESH_HZ = 4.0
TOTALS_EVERY = 4  # ticks between open-window totals of every parser
BELL_GAP = 1.0  # seconds: at most one bell per second
STOP_TIMEOUT = 5.0

Query = Callable[[], Any]
Deliver = Callable[[Any], bool | None]


class AlserApp(App[int]):
    TITLE = "alser-tui"
    # The default screen's CSS_PATH is not loaded by Textual (only pushed screens' are).
    CSS_PATH: ClassVar[list[str | Path]] = ["app.tcss", "screens/main.tcss"]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("question_mark", "help", "Help", id="help"),
        Binding("m", "toggle_mute", "Mute bell", show=False, id="mute"),
        Binding("t", "cycle_theme", "Next theme", show=False, id="theme"),
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
        stats_interval: float = 1.0,
        refresh_hz: float = REFRESH_HZ,
        steady: bool = False,
        theme: str | None = None,
    ) -> None:
        """``steady`` hides rates and memory in the status line (deterministic snapshots)."""
        super().__init__()
        self.config = config
        self.history = history
        self.steady = steady
        self.refresh_hz = refresh_hz
        self.engine = Engine(
            config,
            keep_open=True,
            history=history,
            dry_run=dry_run,
            locales=locales,
            data_dir=data_dir,
            clock=clock,
            stats_interval=stats_interval,
        )
        self.engine.subscribe(self._from_engine)
        self.model = ConsoleModel(config)
        self.muted = False
        self._last_bell = float("-inf")
        self._ticks = 0
        self._leaving = threading.Event()
        self._engine_done = threading.Event()
        self._queries_done = threading.Event()
        self._query_wake = threading.Event()
        self._query_lock = threading.Lock()
        self._pending: dict[str, tuple[Query, Deliver, int]] = {}
        self.applied: dict[str, int] = {}  # query kind -> event count it was asked at
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
        """Start the engine, the query worker and the refresh timer (once the main screen
        has its widgets: events may arrive at once)."""
        if self._started:
            return
        self._started = True
        self._run_engine()
        self._run_queries()
        self.set_interval(1 / self.refresh_hz, self._tick, name="refresh")
        for w in self.theme_warnings:
            self.notify(w, severity="warning", timeout=6)

    @work(thread=True, exit_on_error=False, group="engine", name="engine")
    def _run_engine(self) -> None:
        # open() may take a while (SQLite, globbing): the screen is already up meanwhile.
        try:
            try:
                self.engine.open()
            except Exception as exc:
                self.post_message(EngineFailed(f"{type(exc).__name__}: {exc}"))
                return
            self.post_message(EngineOpened())
            try:
                self.engine.run()
            except Exception as exc:
                self.post_message(EngineFailed(f"{type(exc).__name__}: {exc}"))
        finally:
            self._engine_done.set()

    @work(thread=True, exit_on_error=False, group="queries", name="queries")
    def _run_queries(self) -> None:
        try:
            while not self._leaving.is_set():
                self._query_wake.wait(0.25)
                self._query_wake.clear()
                with self._query_lock:
                    pending, self._pending = self._pending, {}
                for kind, (fn, deliver, stamp) in pending.items():
                    if self._leaving.is_set():
                        break
                    try:
                        result = fn()
                    except Exception as exc:  # shown by the deliverer, never fatal here
                        result = exc
                    self.post_message(QueryDone(kind, deliver, result, stamp))
        finally:
            self._queries_done.set()

    def submit(self, kind: str, fn: Query, deliver: Deliver) -> None:
        """Run ``fn`` on the query thread; ``deliver(result)`` runs later on the UI thread.
        A newer request of the same kind replaces one not started yet."""
        with self._query_lock:
            self._pending[kind] = (fn, deliver, self.model.events)
        self._query_wake.set()

    # ------------------------------------------------------------------ engine events

    def _from_engine(self, event: Event) -> None:
        # Engine thread: no widget may be touched here, only a message posted.
        self.post_message(EngineEvent(event))

    @on(EngineEvent)
    def _engine_event(self, message: EngineEvent) -> None:
        if self.model.apply(message.event) and not self.muted:
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

    @on(QueryDone)
    def _query_done(self, message: QueryDone) -> None:
        if self._closing_down():
            return  # a late answer while the app is closing
        try:
            applied = message.deliver(message.result) is not False
        except NoMatches:
            return  # the widgets went away under a shutdown (see _tick)
        if applied:
            self.applied[message.kind] = max(self.applied.get(message.kind, -1), message.stamp)

    # ------------------------------------------------------------------ the timer

    def _tick(self) -> None:
        if self._closing_down():
            return
        self._ticks += 1
        dirty = self.model.take_dirty()
        try:
            self.main.tick(dirty)
            if isinstance(self.screen, DrillScreen):
                self.screen.tick(dirty)
        except NoMatches:
            # Textual's shutdown (run_test's too) removes widgets before their screen.
            return
        model = self.model
        if (
            model.opened
            and not model.error
            and (
                self._ticks % TOTALS_EVERY == 0
                or (model.finished is not None and self.applied.get("totals", -1) < model.events)
            )
        ):
            self.submit("totals", lambda: open_totals(self.engine), self._apply_totals)

    def _closing_down(self) -> bool:
        return self._stopped or self._stopped_refresh or not self.main.is_attached

    def _apply_totals(self, totals: dict[str, tuple[int, float] | None] | BaseException) -> bool:
        if isinstance(totals, BaseException):
            self.log.error("totals query failed", totals)
            return False
        if not self.main.paused:
            self.model.set_open_totals(totals)
        return True

    @property
    def settled(self) -> bool:
        """The replay is over and the tables show what it left (tests wait for this)."""
        m = self.model
        return (
            m.finished is not None
            and self.applied.get("scope", -1) >= m.events
            and self.applied.get("totals", -1) >= m.events
            and not m.dirty
        )

    # ------------------------------------------------------------------ actions

    def action_toggle_mute(self) -> None:
        self.muted = not self.muted
        self.main.refresh_alarms()
        if isinstance(self.screen, DrillScreen):
            self.screen.tick({"alarms"})

    def action_cycle_theme(self) -> None:
        names = [n for n in THEME_ORDER if n in self.theme_names] + [
            n for n in self.theme_names if n not in THEME_ORDER
        ]
        i = names.index(self.theme) if self.theme in names else -1
        self.theme = names[(i + 1) % len(names)]
        self.notify(f"theme: {self.theme}", timeout=1.5)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.help_sections(), HELP_EXTRA))

    def help_sections(self) -> list[HelpSection]:
        return [
            ("anywhere", self.BINDINGS),
            ("main screen", MainScreen.BINDINGS),
            ("parser list", ParserList.BINDINGS),
            ("top-N table", GroupTable.BINDINGS),
            ("alarm list", AlarmList.BINDINGS),
            ("any table", KeyedTable.BINDINGS),
            ("raw lines", DrillScreen.BINDINGS),
        ]

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
        on SIGTERM with --no-ui) and the query thread; then close the store."""
        if self._stopped:
            return
        self._stopped = True
        self._leaving.set()
        self.engine.request_stop()
        self._query_wake.set()
        if not self._started:
            return
        self._engine_done.wait(STOP_TIMEOUT)
        self._queries_done.wait(STOP_TIMEOUT)
        if self._engine_done.is_set() and self._queries_done.is_set():
            self.engine.close()


HELP_EXTRA = [
    ("anywhere", "tab shift+tab", "next / previous pane"),
    ("anywhere", "ctrl+p", "command palette"),
    ("any table", "↑ ↓", "move"),
]


def run_app(config: Config, args: argparse.Namespace) -> int:
    """Entry point from the CLI: returns the exit code."""
    app = AlserApp(
        config,
        history=bool(getattr(args, "history", False)),
        dry_run=bool(getattr(args, "dry_run", False)),
        locales=tuple(getattr(args, "locale", None) or ()),
    )
    code = app.run()
    if app.model.error:
        sys.stderr.write(f"alser-tui: {app.model.error}\n")
        return 1
    return code if isinstance(code, int) else 0
