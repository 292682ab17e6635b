"""The headless guard (``--no-ui``): the engine, its delivery and printer, and whoever else
listens (the console socket, the web view), through config reloads.

Listeners subscribe to the host, not to an engine: on SIGHUP the config is read and checked
first (a broken one is refused, the guard goes on and says why), then the engine is stopped
and a new one opened on the new config. Its state comes back from the store as after any
restart (file offsets, windows, the abnormal memory, source health), so nothing is read
twice or lost; the delivery is rebuilt only when its channels or the parsers changed.
No Textual here.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

from alser_tui.engine.config import Config, ConfigError
from alser_tui.engine.events import (
    AlarmRaised,
    Event,
    SourceNotice,
    SourceProblem,
    Stats,
    WindowClosed,
)
from alser_tui.engine.health import CONFIG_KIND, notice_text

Listener = Callable[[Event], None]


@dataclass
class GuardOptions:
    """What the command line asked of the guard (cli.py builds it)."""

    history: bool = False
    dry_run: bool = False
    locales: tuple[str, ...] = ()
    workers: int = -1
    json: bool = False
    tick: float = 0.0
    deliver: bool = False
    parsers: tuple[str, ...] = ()  # --parser: the config is restricted to these
    data_dir: str = ""  # --data-dir overrides [storage] dir
    extra: dict[str, Any] = field(default_factory=dict)


def delivery_wanted(config: Config) -> bool:
    """Channels to send to, or a delivery.db whose silences and acks the output honours."""
    if config.delivery is not None and config.delivery.channels:
        return True
    from alser_tui.engine.notify.config import DeliveryConfig

    return (config.data_dir / (config.delivery or DeliveryConfig()).db).exists()


def _delivery_shape(config: Config) -> Any:
    """What a Delivery is built from: when equal, a reload keeps the running one."""
    return (
        config.delivery,
        tuple((p.id, p.window, p.label, p.severity) for p in config.parsers),
        config.engine.lateness,
        config.data_dir,
    )


class GuardHost:
    def __init__(
        self,
        config: Config,
        options: GuardOptions,
        *,
        load: Callable[[], Config] | None = None,
        out: IO[str] | None = None,
        err: IO[str] | None = None,
    ) -> None:
        """``load`` reads the config again (SIGHUP); None: reloads are refused."""
        self.config = config
        self.options = options
        self.load = load
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.started = time.time()
        self.loaded_at = self.started
        self.reloads = 0
        self.engine: Any = None
        self.delivery: Any = None
        self.printer: Any = None
        self._listeners: list[Listener] = []
        self._delivery_watchers: list[Callable[[str], None]] = []
        self.last_stats: Stats | None = None
        # Each parser's last closed window (an attaching console needs it to tell which
        # alarms still fire).
        self.last_windows: dict[str, WindowClosed] = {}
        self.server: Any = None  # the console socket (guard/server.py), live runs only
        self.web: Any = None  # the web view and /metrics (web/server.py), when [web] listen
        self._web_hooked = False
        self._stopping = threading.Event()
        self._next: Config | None = None  # a checked config waiting for the engine to stop
        self._lock = threading.Lock()
        self._config_broken = False
        self._delivery_started = False

    # ------------------------------------------------------------------ listeners

    def subscribe(self, fn: Listener) -> None:
        """Called on the engine thread for every event, whatever engine is running."""
        self._listeners.append(fn)

    def emit(self, event: Event) -> None:
        """The engine's events and the host's own (config notices): the printer, the
        delivery, then the listeners."""
        if isinstance(event, Stats):
            self.last_stats = event
        elif isinstance(event, WindowClosed):
            self.last_windows[event.parser] = event
        if self.printer is not None:
            self.printer(event)
        if self.delivery is not None:
            self.delivery(event)
        for fn in self._listeners:
            fn(event)

    def on_delivery_change(self, fn: Callable[[str], None]) -> None:
        """``fn(origin)`` runs when acks or silences were changed through the guard (by an
        attached console, the web view): the others show it at once."""
        self._delivery_watchers.append(fn)

    def delivery_changed(self, origin: str) -> None:
        for fn in self._delivery_watchers:
            fn(origin)

    def backlog(self, seconds: float, limit: int) -> list[tuple[Event, bool]]:
        """What a console or the web view that comes now missed, as (event, past): the last
        stats, each parser's last closed window, the stored alarms of the last ``seconds``
        and the condition alarms firing now (past ones ring no bell)."""
        out: list[tuple[Event, bool]] = []
        if self.last_stats is not None:
            out.append((self.last_stats, False))
        out.extend((w, True) for w in list(self.last_windows.values()))
        engine = self.engine
        store = getattr(engine, "store", None)
        if store is not None:
            try:
                past = store.recent_alarms(time.time() - seconds, limit)
            except Exception:  # a locked or busy database: the console starts empty
                past = []
            out.extend((AlarmRaised(a, aid), True) for aid, a in past)
        health = getattr(engine, "health", None)
        out.extend((AlarmRaised(a), True) for a in (health.firing() if health else ()))
        return out

    # ------------------------------------------------------------------ status

    @property
    def config_broken(self) -> bool:
        """The last reload was refused: the running config is older than the file."""
        return self._config_broken

    def status_head(self) -> dict[str, Any]:
        """Who runs, since when, on what config (no I/O): the first line of any status."""
        return {
            "pid": os.getpid(),
            "started": self.started,
            "uptime": time.time() - self.started,
            "config": str(self.config.path or ""),
            "loaded_at": self.loaded_at,
            "reloads": self.reloads,
            "config_broken": self._config_broken,
            "engine": "running" if self.engine is not None else "restarting",
        }

    def status(self) -> dict[str, Any]:
        """The guard's health in plain values (``alser-tui status``, the web view)."""
        import json

        st = self.last_stats
        doc = self.status_head()
        if st is not None:
            doc.update(
                lines=st.lines,
                lines_per_s=st.lines_per_s,
                parsed=st.parsed,
                rejected=st.rejected,
                late=st.late,
                malformed=st.malformed,
                errors=list(st.errors),
                warnings=list(st.warnings),
                sources=[
                    {
                        "path": f.path,
                        "kind": f.kind,
                        "lag": f.lag,
                        "last_line": f.last_line,
                        "followed": f.followed,
                        "note": f.note,
                    }
                    for f in st.files
                ],
                guards=[
                    {"name": g.name, "state": g.state, "reason": g.reason, "source": g.source}
                    for g in st.guards
                ],
            )
        d = self.delivery
        if d is not None:
            try:
                rows = d.db.query("SELECT doc FROM alerts")
                doc["firing"] = [json.loads(r["doc"]).get("text", "") for r in rows]
                doc["outbox"] = [
                    {"name": c.name, "state": c.state, "queued": c.queued, "failed": c.failed,
                     "line": c.line()}
                    for c in d.status().values()
                ]  # fmt: skip
            except Exception as exc:  # a busy delivery.db: said, never fatal here
                doc["delivery_error"] = f"{type(exc).__name__}: {exc}"
        return doc

    # ------------------------------------------------------------------ control

    def request_stop(self) -> None:
        self._stopping.set()
        engine = self.engine
        if engine is not None:
            engine.request_stop()

    def request_reload(self) -> str:
        """Read and check the config again; a good one replaces the running one (the engine
        restarts on it), a broken one is refused. Returns what happened, in words."""
        if self.load is None or self.options.history:
            return "reload ignored: a replay runs its config to the end"
        try:
            new = self.load()
        except ConfigError as exc:
            self._refused(str(exc))
            return f"reload refused: {exc}"
        with self._lock:
            if new == self.config and self._next is None:
                self._accepted(changed=False)
                return "reload: the config has not changed"
            self._next = new
        engine = self.engine
        if engine is not None:
            engine.request_stop()
        return "reload: restarting the engine on the new config"

    def _refused(self, why: str) -> None:
        since = time.strftime("%H:%M:%S", time.localtime(self.loaded_at))
        self.err.write(
            f"alser-tui: config reload refused, still running the config loaded at {since}: {why}\n"
        )
        self.err.flush()
        self._config_broken = True
        self._notice("raised", f"config reload refused: {why}")

    def _accepted(self, *, changed: bool) -> None:
        if changed:
            self.err.write(f"alser-tui: config reloaded from {self.config.path}\n")
            self.err.flush()
        if self._config_broken:
            self._config_broken = False
            self._notice("cleared", "the config loads again")

    def _notice(self, state: str, text: str) -> None:
        item = SourceProblem("", str(self.config.path), text)
        self.emit(SourceNotice(CONFIG_KIND, state, notice_text(CONFIG_KIND, state, 1), (item,)))

    # ------------------------------------------------------------------ the loop

    def run(self) -> None:
        """Run engines until stopped (live) or the replay ends; raises what the engine
        raises (the caller turns it into an exit code)."""
        reloaded = False
        try:
            while True:
                engine = self._open_engine(self.config)
                if self.server is None:
                    self._start_server()
                if self.web is None:
                    self._start_web()
                elif reloaded:
                    # Now that the new engine's store is open: the page's model is rebuilt
                    # for the new config and filled again from it.
                    self.web.reloaded()
                reloaded = False
                engine.run()
                with self._lock:
                    new, self._next = self._next, None
                if new is None or self._stopping.is_set():
                    break
                self._switch(new)
                if self.server is not None:
                    self.server.broadcast({"type": "reloaded", "loaded_at": self.loaded_at})
                reloaded = True
        finally:
            self.engine = None
            if self.web is not None:
                self.web.stop()
            if self.server is not None:
                self.server.stop()
            if self.delivery is not None:
                self.delivery.stop()
        if self.delivery is not None and not self.delivery.deliver and self.delivery.channels:
            self.printer.would_send(self.delivery.report)

    def _start_server(self) -> None:
        """The console socket, for a live guard: consoles attach to it instead of running
        an engine of their own on the same data dir."""
        if self.options.history or self.options.dry_run:
            return
        from alser_tui.guard.server import ConsoleServer, register_reply_types, socket_path

        register_reply_types()
        path = socket_path(self.config.data_dir)
        server = ConsoleServer(self, path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            server.start()
        except OSError as exc:
            # The guard guards all the same; consoles cannot attach to it.
            self.err.write(f"alser-tui: warning: no console socket ({path}): {exc}\n")
            self.err.flush()
            return
        self.server = server
        self.subscribe(server.publish)
        self.on_delivery_change(server.delivery_changed)

    def _start_web(self) -> None:
        """The web view and /metrics, when ``[web] listen`` asks for them (live only)."""
        if self.options.history or self.options.dry_run or not self.config.web.listen:
            return
        from alser_tui.web.server import WebServer

        web = WebServer(self, self.config.web)
        try:
            web.start()
        except OSError as exc:
            # The guard guards all the same; said where the operator looks.
            self.err.write(f"alser-tui: warning: no web view on {self.config.web.listen}: {exc}\n")
            self.err.flush()
            return
        self.err.write(f"alser-tui: web view on http://{web.address}/ (metrics: /metrics)\n")
        self.err.flush()
        self.web = web
        if not self._web_hooked:  # once: a reload that changed [web] starts another
            self._web_hooked = True
            self.subscribe(self._to_web)
            self.on_delivery_change(self._web_delivery_changed)

    def _to_web(self, event: Event) -> None:
        if self.web is not None:
            self.web.publish(event)

    def _web_delivery_changed(self, origin: str) -> None:
        if self.web is not None:
            self.web.delivery_changed(origin)

    def _open_engine(self, config: Config) -> Any:
        from alser_tui.engine.engine import Engine
        from alser_tui.headless import HeadlessPrinter

        o = self.options
        engine = Engine(
            config,
            history=o.history,
            dry_run=o.dry_run,
            locales=o.locales,
            workers=o.workers,
        )
        # The store first: a read-only or corrupt data dir is said in its words (and it
        # exists before a console may attach or the delivery reads its alarms).
        engine.open()
        if self.delivery is None and not o.dry_run and (delivery_wanted(config) or not o.history):
            # Live, always: consoles attach and keep their acks and silences here. A replay
            # imports it only when there is something to deliver or to honour (~70 ms).
            from alser_tui.engine.notify.manager import delivery_for

            self.delivery = delivery_for(
                config,
                replay=o.history,
                always=True,
                # A replay is how rules are tried: it sends nothing unless told to.
                deliver=not o.history or o.deliver,
            )
            self._delivery_started = False
        self.printer = HeadlessPrinter(
            config,
            json_lines=o.json,
            tick=o.tick,
            delivery=self.delivery,
            live=not o.history,
            out=self.out,
            err=self.err,
        )
        if self.delivery is not None and not self._delivery_started:
            self.delivery.start()
            self._delivery_started = True
        engine.subscribe(self.emit)
        self.engine = engine
        if self._stopping.is_set() or self._next is not None:
            engine.request_stop()  # a signal that came while it was being built
        return engine

    def _switch(self, new: Config) -> None:
        """The engine stopped for a reload: keep what did not change, rebuild the rest."""
        old, self.config = self.config, new
        self.loaded_at = time.time()
        self.reloads += 1
        if self.delivery is not None and _delivery_shape(old) != _delivery_shape(new):
            self.delivery.stop()
            self.delivery = None
            self._delivery_started = False
        if self.web is not None and old.web != new.web:
            self.web.stop()  # started again on the new [web] once the engine is open
            self.web = None
        self._accepted(changed=True)

    # ------------------------------------------------------------------ signals

    def install_signals(self) -> None:
        """SIGINT/SIGTERM stop, SIGHUP reloads (from the main thread only)."""
        if threading.current_thread() is not threading.main_thread():
            return
        signal.signal(signal.SIGINT, on_signal_thread(self.request_stop))
        signal.signal(signal.SIGTERM, on_signal_thread(self.request_stop))
        if not self.options.history:
            signal.signal(signal.SIGHUP, on_signal_thread(self.request_reload))


def on_signal_thread(fn: Callable[[], Any]) -> Callable[[int, object], None]:
    """A signal handler that runs ``fn`` on a thread of its own.

    Not in the handler itself: a handler runs on the main thread, possibly in the middle of
    Event.wait() on the very event ``fn`` sets (the engine's stop), holding that event's
    lock; set() would then wait for it forever (seen: 1 run in 12). The thread acts once the
    interrupted wait has let it go."""

    def on_signal(signum: int, frame: object) -> None:
        threading.Thread(target=fn, name="alser-signal", daemon=True).start()

    return on_signal
