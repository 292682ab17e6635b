"""Wires sources -> parsers -> store/windows -> alarms and emits events. Knows nothing of output."""

from __future__ import annotations

import bisect
import math
import os
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alser_tui.engine import grouping, ingest
from alser_tui.engine.alarms import Alarm, AlarmRules, format_row
from alser_tui.engine.config import Config, GuardConfig, ParserConfig
from alser_tui.engine.events import (
    AlarmRaised,
    Event,
    FileStats,
    Finished,
    ParserStats,
    ShownRow,
    Stats,
    UnguardedFiles,
    WindowClosed,
)
from alser_tui.engine.health import HealthMonitor, skew_text, skew_verdict
from alser_tui.engine.parallel import ParsePool, WorkerError
from alser_tui.engine.parsers.base import Parser
from alser_tui.engine.pipeline import FUTURE_SLACK, ChunkResult, LineProcessor, active_guards
from alser_tui.engine.queries import StoreQueries
from alser_tui.engine.sources.fdlimit import FileBudget
from alser_tui.engine.sources.follower import LiveFollower
from alser_tui.engine.sources.history import (
    PIECE_BATCH_LINES,
    HistoryReader,
    Piece,
    plan_pieces,
)
from alser_tui.engine.sources.slices import TimeSlice, plan_slices
from alser_tui.engine.sources.tailer import FileState
from alser_tui.engine.sources.watcher import DirWatcher
from alser_tui.engine.store import LIVE_DB, Aggregate, Store, StoreUnavailable
from alser_tui.engine.unguarded import UnguardedTracker
from alser_tui.engine.windows import WindowClock, window_start

try:  # psutil gives the current RSS; fall back to the peak from getrusage.
    import psutil

    _PROC: Any = psutil.Process()
except Exception:  # pragma: no cover - psutil is a dependency
    _PROC = None

Subscriber = Callable[[Event], None]
# Replays above this size get a parse worker process (bench/RESULTS.md: +5-20% lines/s).
AUTO_WORKERS_BYTES = 32 * 1024 * 1024
AUTO_WORKERS = 4
# Windows aggregated by the workers per request at the end of a replay: their results are
# stored before the next request, so memory does not grow with the replay's length.
AGGREGATE_CHUNK = 500
# Windows a replay closes per transaction at its end.
CLOSE_BATCH = 500
# Line times this far (seconds) from the clock, in each of the last SKEW_SAMPLES reads that
# reached a file's end, make a clock-skew warning for that file; rows further ahead than
# this are counted as "future" and never make a window the open one.
SKEW_TOLERANCE = float(FUTURE_SLACK)
SKEW_SAMPLES = 5
# How often a live engine forgets what [storage] keep_days no longer keeps.
FORGET_EVERY = 3600.0
# Back-off between attempts to write to a store that refused (full, read-only, locked).
RETRY_MIN, RETRY_MAX = 0.05, 2.0


def _source_error(source: Any) -> str:
    """The receivers' and table sources' last trouble ("" when none or for files)."""
    return str(getattr(source, "last_error", "") or "")


def current_rss() -> int:
    if _PROC is not None:
        try:
            return int(_PROC.memory_info().rss)
        except OSError:  # /proc cannot be opened (out of descriptors): the peak will do
            pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@dataclass(slots=True)
class _ParserRun:
    config: ParserConfig
    parser: Parser
    clock: WindowClock
    rules: AlarmRules
    skipped: int = 0
    rejected: int = 0
    parsed: int = 0
    last_reject: str = ""
    max_ts: int | None = None
    instant: bool = False
    future: int = 0
    crashed: int = 0
    last_error: str = ""
    passed: int | None = None  # see ParserStats.passed


@dataclass(slots=True)
class _GuardRun:
    index: int  # into config.guards: the pipeline's name for this guard
    config: GuardConfig
    runs: list[_ParserRun]
    source: Any  # LiveFollower | HistoryReader
    last_ts: dict[str, int] = field(default_factory=dict)
    caught_up: bool = False


def _window_closed(
    p: ParserConfig,
    start: int,
    end: int,
    agg: Aggregate,
    pairs: list[tuple[Any, dict[str, Any]]],
    marks: list[Any],
) -> WindowClosed:
    """The event of a closed window: its rows as shown, each formatted with its marks."""
    rows = tuple(
        ShownRow(a, g, format_row(p.row_format, a, g), m)
        for (a, g), m in zip(pairs, marks, strict=True)
    )
    return WindowClosed(p.id, start, end, agg.total, agg.groups, rows)


class Engine(StoreQueries):
    """Drive with ``run()`` in one thread; subscribers are called from that thread."""

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
        workers: int = -1,
        keep_open: bool = False,
        skew_tolerance: float = SKEW_TOLERANCE,
    ) -> None:
        self.config = config
        self.history = history
        self.dry_run = dry_run
        self.locales = frozenset(locales)
        self.data_dir = data_dir or config.data_dir
        self.clock = clock
        self.stats_interval = stats_interval
        self.subscribers: list[Subscriber] = []
        self.stop_event = threading.Event()
        self.lines = 0
        self.malformed = 0
        self.filtered = 0
        self.errors: list[str] = []
        self._rate_mark = (time.monotonic(), 0)
        self._rate = 0.0
        self.store: Store | None = None
        self.watcher: DirWatcher | None = None
        self.unguarded: UnguardedTracker | None = None
        self.runs: dict[str, _ParserRun] = {}
        self.guards: list[_GuardRun] = []
        self._current_file = ""
        self._opened = False
        self.workers = workers
        # The console browses a finished replay: its store stays open until close().
        self.keep_open = keep_open
        self.pool: ParsePool | None = None
        self.shards: list[Path] | None = None  # replay workers' own SQLite files
        self._window_rows: dict[str, dict[int, int]] = {}  # their rows per window
        # Pieces of files and time slices not handed out yet.
        self._pieces: deque[tuple[int, Piece | TimeSlice]] = deque()
        self._slice_count: dict[int, frozenset[str]] = {}  # guard -> parsers slices count
        # Windows the slices counted, and those that some other job met rows of.
        self._counted: set[tuple[str, int]] = set()  # (parser, start), kept in the store
        self._dirty_windows: dict[str, set[int]] = {}
        # After a complete replay with workers: every parser's window starts with rows.
        self._next_windows: dict[str, list[int]] | None = None
        self._indexing: ParsePool | None = None  # workers indexing their shards meanwhile
        self.processor: LineProcessor | None = None
        self.last_malformed = ""
        self.skew_tolerance = skew_tolerance
        self._skew: dict[str, deque[int]] = {}  # path -> line time - clock, per read at EOF
        # A batch the store refused: kept (nothing more is read) until a retry stores it.
        self._pending: tuple[list[ChunkResult], list[FileState]] | None = None
        self.store_error = ""
        self._retry_at = 0.0
        self._backoff = 0.0
        self._forget_at = 0.0  # monotonic: when forget_old() runs next (live)
        self.health: HealthMonitor | None = None  # live: no source, silent, skew

    # ------------------------------------------------------------------ wiring

    def subscribe(self, fn: Subscriber) -> None:
        self.subscribers.append(fn)

    def emit(self, event: Event) -> None:
        for fn in self.subscribers:
            fn(event)

    def request_stop(self) -> None:
        self.stop_event.set()
        if self.watcher is not None:
            self.watcher.changed.set()  # wake the idle wait now

    def open(self) -> None:
        """Open the store and the sources (separate from run() so a UI can query at once)."""
        if self._opened:
            return
        self._opened = True
        cfg = self.config
        parsers = [p for p in cfg.parsers if p.enabled]
        if not self.dry_run:
            name = "history.db" if self.history else LIVE_DB
            # WAL lets readers (the console, the notifier) see a database while the engine
            # writes it; a headless replay's scratch database has no other reader.
            wal = not self.history or self.keep_open
            self.store = Store(self.data_dir / name, parsers, scratch=self.history, wal=wal)
        self.processor = LineProcessor(cfg, self.locales)
        for p in parsers:
            # The runs share the processor's parser objects (is_instant/instant_format); a
            # worker process builds its own to parse.
            run = _ParserRun(
                config=p,
                parser=self.processor.parsers[p.id],
                clock=WindowClock(p.window, cfg.engine.lateness),
                rules=AlarmRules(p, cfg.engine.abnormal_memory),
            )
            run.instant = bool(p.instant) or p.kind == "hostline"
            self.runs[p.id] = run
        if self.store is not None and not self.history:
            self._restore()
        saved = self.store.saved_offsets() if self.store and not self.history else []
        first_run = self.store is None or self.store.meta("live_started") is None
        dirs: list[str] = []
        # Live: the followers of all guards share the open-file limit (raised to the hard one).
        budget = None if self.history else FileBudget()
        for gi in active_guards(cfg):
            g = cfg.guards[gi]
            runs = [self.runs[pid] for pid in g.parsers if pid in self.runs]
            pushed = ingest.open_source(
                g, cfg, history=self.history, saved=saved, first_run=first_run, clock=self.clock
            )
            if pushed is not None:  # a listen or tables guard
                self.guards.append(_GuardRun(index=gi, config=g, runs=runs, source=pushed))
                continue
            pattern = g.history_glob if self.history else g.tail_glob
            if not pattern:
                continue
            full = str(cfg.resolve(pattern))
            if self.history:
                source: Any = HistoryReader(full)
            else:
                source = LiveFollower(full, saved, first_run=first_run, budget=budget)
                dirs.append(full)
            self.guards.append(_GuardRun(index=gi, config=g, runs=runs, source=source))
        if self.history:
            workers = self.workers if self.workers >= 0 else self._auto_workers()
            if workers > 0 and self.store is not None:
                # Each worker parses and stores in a shard of its own; the rows never cross
                # a pipe, and the windows close over all the shards at the end.
                self.shards = [self.data_dir / f"history-shard{i}.db" for i in range(workers)]
                for shard in self.shards:  # fresh and with its tables before anyone reads
                    # Time-indexed (and in WAL mode) as they load only when a console may
                    # browse them meanwhile; else each worker indexes its shard once all
                    # rows are in.
                    browsed = self.keep_open
                    Store(shard, parsers, scratch=True, ts_index=browsed, wal=browsed).close()
                if self.keep_open:
                    # Seen at once: a console browsing the replay sees the rows as they come.
                    # Headless, the store reads them only once the workers are done.
                    self.store.attach_shards(self.shards)
                instant = frozenset(pid for pid, r in self.runs.items() if r.instant)
                self.pool = ParsePool(
                    cfg,
                    self.locales,
                    workers,
                    shards=self.shards,
                    keep=instant,
                    browsed=self.keep_open,
                )
                # The workers read the files too, each its own pieces: the engine thread
                # only hands out where to read (it would be a third process on two cores).
                for g in self.guards:
                    if isinstance(g.source, HistoryReader):
                        self._plan_work(g)
            elif workers > 0:
                self.pool = ParsePool(cfg, self.locales, workers)
            if self.shards is None and self.store is not None:
                # Shards of an earlier replay would only take room (and confuse a reader).
                for old in self.data_dir.glob("history-shard*.db*"):
                    old.unlink(missing_ok=True)
        if self.store is not None and not self.history and first_run:
            # Record the start positions now: a crash before the first line must not turn
            # "start at the end" into "start at 0" on the next run.
            try:
                self.store.write_batch({}, self._states())
                self.store.set_meta("live_started", str(self.clock()))
            except sqlite3.Error as exc:
                raise StoreUnavailable(f"cannot write {self.store.path}: {exc}") from exc
        if dirs:
            self.watcher = DirWatcher(sorted(set(dirs)))
            self.watcher.start()
        if not self.history:
            gcs = [g.config for g in self.guards]
            self.unguarded = UnguardedTracker(
                [str(cfg.resolve(g.tail_glob)) for g in gcs if g.tail_glob],
                [str(cfg.resolve(p)) for g in gcs for p in (g.tail_glob, g.history_glob) if p],
                cfg.engine.glob_interval,
            )
            self.health = HealthMonitor(
                self.guards,
                store=self.store,
                now=self.clock(),
                skew_tolerance=self.skew_tolerance,
                skew_samples=SKEW_SAMPLES,
            )

    def _plan_work(self, g: _GuardRun) -> None:
        """Hand a guard's history files to the workers: in time slices where its parsers
        can count their windows as they parse (sources/slices.py), else in plain pieces."""
        files = g.source.hand_over()
        count, unit = self._slice_plan(g)
        slices: list[TimeSlice] = []
        if count and g.config.format != "raw":  # raw lines are dated when read: no slices
            slices, files = plan_slices(files, unit)
        self._slice_count[g.index] = count
        for tslice in slices:
            self._pieces.append((g.index, tslice))
        for piece in plan_pieces(files):
            self._pieces.append((g.index, piece))

    def _slice_plan(self, g: _GuardRun) -> tuple[frozenset[str], int]:
        """(the guard's parsers a slice worker can count, the slices' time unit): those
        whose windows Python counts (grouping.eligible, no ``where``), with a unit that is
        a multiple of their windows (the least common one, unless it is over a day)."""
        configs = [
            r.config
            for r in g.runs
            if grouping.eligible(r.config.aggregate_kind, r.config.group_by, r.config.stats_sql)
            and not r.config.where
        ]
        if not configs:
            return frozenset(), 0
        unit = math.lcm(*(p.window for p in configs))
        if unit > 86_400:
            unit = max(p.window for p in configs)
        return frozenset(p.id for p in configs if unit % p.window == 0), unit

    def _auto_workers(self) -> int:
        """Workers for a replay big enough to repay their start-up (~0.3 s): one per core
        (the engine thread itself only hands out pieces of files), at most AUTO_WORKERS;
        a dry run (no store, rows sent back) gets one parse worker."""
        cores = os.cpu_count() or 1
        if cores < 2:
            return 0
        size = sum(os.path.getsize(f) for g in self.guards for f in getattr(g.source, "files", ()))
        if size < AUTO_WORKERS_BYTES:
            return 0
        return min(cores, AUTO_WORKERS) if self.store is not None else 1

    def _restore(self) -> None:
        """Continue the windows and the abnormal memory where the last run stopped."""
        store = self.store
        assert store is not None
        for pid, run in self.runs.items():
            end = store.last_closed_end(pid)
            run.clock.closed_upto = end
            nxt = store.next_ts(pid, end or 0)
            run.clock.first_open = None if nxt is None else window_start(nxt, run.config.window)
            for _s, _e, _t, rows in store.recent_windows(pid, self.config.storage.keep_windows):
                for r in rows:
                    run.rules.remember(r["group"], r["amount"])

    def _states(self) -> list[FileState]:
        states: list[FileState] = []
        for g in self.guards:
            if isinstance(g.source, LiveFollower):
                states.extend(g.source.states())
        return states

    # ------------------------------------------------------------------ the loop

    def run(self) -> Stats:
        """Read until stopped (live) or until the history is consumed; returns the final stats."""
        self.open()
        cfg = self.config.engine
        reason = "stopped"
        last_scan = time.monotonic()
        rescan_wanted = False
        # Stats pace by the real monotonic clock, so a test's frozen clock still gets them.
        last_stats = time.monotonic()
        try:
            while not self.stop_event.is_set():
                n = self.step()
                now = self.clock()
                if self.history:
                    if self.finished_reading and self._pending is None:
                        reason = "end of history"
                        break
                else:
                    self.close_due_windows(now)
                    if self.watcher is not None and self.watcher.changed.is_set():
                        # Cleared at once so the idle wait below blocks until the next change.
                        self.watcher.changed.clear()
                        rescan_wanted = True
                    # The watcher also fires on every write: re-glob at most 5 times a second.
                    since = time.monotonic() - last_scan
                    if (rescan_wanted and since >= 0.2) or since >= cfg.glob_interval:
                        for g in self.guards:
                            g.source.rescan()
                        last_scan = time.monotonic()
                        rescan_wanted = False
                    if self.unguarded is not None and self.unguarded.due():
                        self.check_unguarded()
                    if time.monotonic() >= self._forget_at:
                        self.forget_old()
                if time.monotonic() - last_stats >= self.stats_interval:
                    self.check_health()
                    self.emit(self.stats())
                    last_stats = time.monotonic()
                if n == 0 and (not self.history or self._pending is not None):
                    if self.watcher is not None:
                        self.watcher.changed.wait(cfg.poll_interval)
                    else:
                        self.stop_event.wait(cfg.poll_interval)
            if self.shards is not None and self.pool is not None:
                self._gather_shards()
            if self.history and not self.dry_run and self._pending is None:
                self._close_replay_windows()
            self._finish_indexing()
        finally:
            final = self.stats()
            if self.health is not None and self.store is not None:
                self.health.save(self.clock(), force=True)
            self._stop_sources()
            if not self.keep_open:
                self.close()
        self.emit(Finished(final, reason))
        return final

    def _gather_shards(self) -> None:
        """The workers are done: close them, so that their shards are complete before the
        windows close over them."""
        pool = self.pool
        assert pool is not None and self.store is not None
        # Stopped early: the pieces under way are stored whatever happens, so count them
        # too (the windows below are closed over exactly the rows counted).
        while pool.pending and self._pending is None:
            self._take_result(pool.get())
        self.pool = None
        if self.stop_event.is_set():
            # Stopped early: the engine closes the windows over the shards itself.
            self.store.clear_precomputed()
            pool.index()
            self._close_pool(pool)
            return
        # The windows that time slices counted whole are ready (in the store); the workers
        # aggregate the others together over all the shards. Closing them below then only
        # evaluates alarms and writes, and finds the next window with rows in _window_rows.
        done = self._counted
        windows = [
            (pid, start, start + self.runs[pid].config.window, n)
            for pid, counts in self._window_rows.items()
            for start, n in counts.items()
            if (pid, start) not in done
        ]
        self._next_windows = {pid: sorted(counts) for pid, counts in self._window_rows.items()}
        if not windows and not self.store.shards_attached:
            # Nothing left to read in the shards: the workers index them while the
            # windows close (_finish_indexing waits for them).
            pool.start_index()
            self._indexing = pool
            return
        pool.index()
        for i in range(0, len(windows), AGGREGATE_CHUNK):  # a bounded number in memory
            self.store.precompute(pool.aggregate(windows[i : i + AGGREGATE_CHUNK]))
        self._close_pool(pool)

    def _close_pool(self, pool: ParsePool) -> None:
        if not pool.close(wait=60):
            raise WorkerError("a replay worker did not finish writing its shard")
        assert self.store is not None and self.shards is not None
        if not self.store.shards_attached:
            self.store.attach_shards(self.shards)

    def _finish_indexing(self) -> None:
        """Wait for the workers indexing their shards meanwhile (see _gather_shards)."""
        pool = self._indexing
        if pool is not None:
            self._indexing = None
            pool.finish_index()
            self._close_pool(pool)

    def _stop_sources(self) -> None:
        for pool in (self.pool, self._indexing):
            if pool is not None:
                pool.close()
        self.pool = self._indexing = None
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None
        for g in self.guards:
            g.source.close()  # receivers free their sockets, tailers their files

    def close(self) -> None:
        self._stop_sources()
        if self.store is not None:
            self.store.close()
            self.store = None

    def step(self) -> int:
        """Read one batch from every guard, parse it and store it. Returns the lines read."""
        if self._pending is not None:
            # Reading waits for the store: the offsets it holds stay where they were, and
            # the batch already read is neither lost nor read twice.
            if time.monotonic() < self._retry_at:
                return 0
            results, states = self._pending
            self._pending = None
            self._apply(results, states)
            if self._pending is not None:
                return 0
        if self.pool is not None:
            return self._step_pooled()
        budget = self.config.engine.batch_lines
        now = int(self.clock())
        results: list[ChunkResult] = []
        states: list[FileState] = []
        total = 0
        for g in self.guards:
            got = 0
            lag_of = getattr(g.source, "lag_of", None)
            for chunk in g.source.read(budget):
                path, lines = chunk[0], chunk[1]
                if len(chunk) > 2:
                    states.append(chunk[2])
                if not lines:
                    continue
                got += len(lines)
                self._current_file = path
                res = self.processor.process(g.index, lines, now)
                if res.last_ts is not None:
                    self._note_progress(g, path, res, now, lag_of)
                results.append(res)
            if got and self.health is not None:
                self.health.delivered(g, now)
            # (Fewer lines than asked can also mean the byte budget of a batch of long lines.)
            g.caught_up = got < budget and bool(getattr(g.source, "at_eof", True))
            total += got
        self.lines += total
        if results or states:
            self._apply(results, states)
        return total

    def _step_pooled(self) -> int:
        """History replay with parse workers: keep them fed, apply results in order."""
        pool = self.pool
        assert pool is not None
        budget = self.config.engine.batch_lines
        now = int(self.clock())
        fed = 0
        for g in self.guards:
            while pool.pending < pool.capacity and not g.source.done:
                for path, lines in g.source.read(budget):
                    if lines:
                        self._current_file = path
                        pool.submit(g.index, lines, now)
                        fed += len(lines)
        while pool.pending < pool.capacity and self._pieces:
            gi, piece = self._pieces.popleft()
            if isinstance(piece, TimeSlice):
                self._current_file = piece.parts[0][0]
                pool.submit_slice(gi, piece, now, PIECE_BATCH_LINES, self._slice_count[gi])
            else:
                self._current_file = piece[0]
                pool.submit_piece(gi, piece, now, PIECE_BATCH_LINES)
        self.lines += fed
        if pool.pending:
            fed += self._take_result(pool.get())
        return fed

    def _take_result(self, res: ChunkResult) -> int:
        """Count and apply one worker result; returns the lines a worker read itself."""
        read = 0
        if res.from_piece:
            self.lines += res.lines
            read = res.lines
            if res.read_errors:
                source = next(g.source for g in self.guards if g.index == res.guard)
                source.errors.extend(res.read_errors)
        self._apply([res], [])
        return read

    @property
    def finished_reading(self) -> bool:
        return (
            all(g.source.done for g in self.guards)
            and not self._pieces
            and (self.pool is None or self.pool.pending == 0)
        )

    def _note_progress(
        self,
        g: _GuardRun,
        path: str,
        res: ChunkResult,
        now: int,
        lag_of: Callable[[str], int] | None,
    ) -> None:
        """The time a file's reading has reached (for the watermark), and its clock skew."""
        if res.mark_ts is not None:
            g.last_ts[path] = res.mark_ts
        elif path not in g.last_ts:
            # Only lines from the future so far: they cannot fall into a window that closes
            # now, so the file holds nothing back (rather than holding everything forever).
            g.last_ts[path] = now
        if lag_of is not None and lag_of(path) == 0:
            # Only reads that reached the end compare with the clock: a backlog is old.
            samples = self._skew.get(path)
            if samples is None:
                samples = self._skew[path] = deque(maxlen=SKEW_SAMPLES)
            samples.append(res.last_ts - now)  # type: ignore[operator]

    def skew_of(self, path: str) -> int | None:
        """How far a file's line times run from the clock, if consistently beyond tolerance."""
        verdict = skew_verdict(self._skew.get(path), self.skew_tolerance, SKEW_SAMPLES)
        return None if verdict is None or isinstance(verdict, bool) else verdict

    def _apply(self, results: list[ChunkResult], states: list[FileState]) -> None:
        """Store parsed rows with the offsets that produced them (and the alarms they raise
        at once) in one transaction, then count and announce. If the store refuses, the
        batch is kept for a retry and nothing is counted yet."""
        if len(results) == 1:
            batch = results[0].rows
        else:
            batch = {}
            for res in results:
                for pid, rows in res.rows.items():
                    if rows:
                        batch.setdefault(pid, []).extend(rows)
        alarms: list[Alarm] = []
        if not self.dry_run:
            for pid, rows in batch.items():
                run = self.runs[pid]
                if rows and run.instant:
                    alarms.extend(self._instants(run, rows))
            for res in results:
                for pid, d in res.drops:
                    run = self.runs[pid]
                    alarms.append(run.rules.dropped(d, run.config.window))
        ids: list[int] = []
        if self.store is not None:
            try:
                # A shard worker stored its rows already (``batch`` holds copies of some).
                ids = self.store.write_batch({} if self.shards else batch, states, alarms)
            except sqlite3.OperationalError as exc:
                self._pending = (results, states)
                self._store_failed(exc)
                return
            self._store_ok()
        for res in results:
            self.malformed += res.malformed
            self.filtered += res.filtered
            if res.malformed_sample:
                self.last_malformed = res.malformed_sample
            for pid, n in res.skipped.items():
                self.runs[pid].skipped += n
            for pid, n in res.rejected.items():
                self.runs[pid].rejected += n
            for pid, line in res.last_reject.items():
                self.runs[pid].last_reject = line
            for pid, n in res.crashed.items():
                self.runs[pid].crashed += n
                self.runs[pid].last_error = res.errors.get(pid, "")
        for res in results:
            for pid, counts in res.windows.items():
                mine = self._window_rows.setdefault(pid, {})
                for start, n in counts.items():
                    mine[start] = mine.get(start, 0) + n
                # Windows a slice counted are whole only if no other job met their rows:
                # those of a plain piece, or foreign to the slice that met them, are not.
                dirty = self._dirty_windows.setdefault(pid, set())
                met = res.foreign.get(pid, ()) if res.sliced else counts
                # (Their stored aggregate is replaced by the workers' at the end.)
                self._counted.difference_update((pid, start) for start in met)
                dirty.update(met)
            if res.aggregates and self.store is not None:
                fresh = [
                    (pid, start, end, agg)
                    for (pid, start, end), agg in res.aggregates.items()
                    if start not in self._dirty_windows.get(pid, ())
                ]
                self.store.precompute(fresh)
                self._counted.update((pid, start) for pid, start, _, _ in fresh)
            for pid, (n, lo, hi) in res.stored.items():
                # Rows in a worker's shard (a replay: no window has closed, none is late).
                run = self.runs[pid]
                run.parsed += n
                run.clock.note_batch(lo, ())
                if run.max_ts is None or hi > run.max_ts:
                    run.max_ts = hi
        if self.shards:
            self._announce(alarms)
            return
        limit = None if self.history else self.clock() + self.skew_tolerance
        for pid, rows in batch.items():
            run = self.runs[pid]
            if not rows:
                continue
            run.parsed += len(rows)
            if self.dry_run:
                continue
            lo = hi = rows[0][1]
            for r in rows:
                t = r[1]
                if t < lo:
                    lo = t
                elif t > hi:
                    hi = t
            run.clock.note_batch(lo, rows)
            if limit is not None and hi > limit:
                # Far-future rows are kept and counted, but the open window stays the
                # clock's: one line from a broken clock must not move it years ahead.
                run.future += sum(1 for r in rows if r[1] > limit)
                hi = max((r[1] for r in rows if r[1] <= limit), default=None)
            if hi is not None and (run.max_ts is None or hi > run.max_ts):
                run.max_ts = hi
        self._announce(alarms, ids)

    def _store_failed(self, exc: sqlite3.Error) -> None:
        self._backoff = min(max(self._backoff * 2, RETRY_MIN), RETRY_MAX)
        self._retry_at = time.monotonic() + self._backoff
        path = self.store.path if self.store is not None else "the database"
        self.store_error = f"cannot write {path}: {exc}; reading paused, retrying"

    def _store_ok(self) -> None:
        if self._backoff:
            self._backoff = 0.0
            self.store_error = ""

    def _instants(self, run: _ParserRun, rows: list[tuple[Any, ...]]) -> list[Alarm]:
        parser = run.parser
        names = parser.columns
        fmt = parser.instant_format
        out = []
        for r in rows:
            if parser.is_instant(r):
                out.append(
                    run.rules.instant(dict(zip(names, r, strict=False)), fmt, run.config.window)
                )
        return out

    def _announce(self, alarms: list[Alarm], ids: list[int] | None = None) -> None:
        """Alarms already stored (with their rows or their window): tell the subscribers,
        with their ids in the live database (a replay's scratch ids mean nothing later)."""
        if not ids or self.history:
            for a in alarms:
                self.emit(AlarmRaised(a))
            return
        for a, aid in zip(alarms, ids, strict=True):
            self.emit(AlarmRaised(a, aid))

    # ------------------------------------------------------------------ windows

    def watermark(self, run: _ParserRun, now: float) -> float:
        """How far event time has surely advanced for this parser's sources."""
        wm = now
        for g in self.guards:
            if run not in g.runs:
                continue
            # A file read to its end holds nothing back (its next line will be about "now");
            # a file with unread bytes holds windows open at the time of its last line read.
            for f in g.source.files:
                if f.lag > 0:
                    wm = min(wm, g.last_ts.get(f.path, float("-inf")))
        return wm

    def close_due_windows(self, now: float) -> bool:
        """Close every window the watermark allows; False when the store refused (the
        windows stay open and are closed on a later call)."""
        if self.store is None:
            return True
        if self._pending is not None or time.monotonic() < self._retry_at:
            # Rows read but not stored yet may belong to these windows.
            return False
        for run in self.runs.values():
            wm = now if now == float("inf") else self.watermark(run, now)
            while (start := run.clock.due(wm)) is not None:
                if not self._close_window(run, start):
                    return False
            # Said with the next Stats, so after every WindowClosed it covers.
            run.passed = run.clock.passed(wm)
        return True

    def _close_replay_windows(self) -> None:
        """--history: every window closes at the end, CLOSE_BATCH windows a transaction (a
        transaction per window was most of the time of a month of one-minute windows).
        Each window is evaluated once, and the abnormal memory learns it then; a batch the
        store refuses (disk full) is retried as it is until stored or the replay stopped,
        and its windows are shown once stored."""
        store = self.store
        assert store is not None
        batch: list[tuple[str, int, int, Aggregate, list[Alarm]]] = []
        shown: list[tuple[WindowClosed, list[Alarm]]] = []
        for run in self.runs.values():
            p = run.config
            while (start := run.clock.due(float("inf"))) is not None:
                end = start + p.window
                try:
                    agg = store.aggregate(p, start, end)
                    nxt = self._next_ts(p.id, end)
                except sqlite3.OperationalError as exc:  # a read refused: wait, try again
                    self._store_failed(exc)
                    self.emit(self.stats())
                    if self.stop_event.wait(self._backoff):
                        return
                    continue
                pairs = [(r.amount, r.group) for r in agg.rows]
                alarms, marks = run.rules.evaluate_window(start, end, pairs)
                run.clock.closed(start, nxt)
                batch.append((p.id, start, end, agg, alarms))
                shown.append((_window_closed(p, start, end, agg, pairs, marks), alarms))
                if len(batch) >= CLOSE_BATCH:
                    if not self._store_closed(batch, shown):
                        return
                    batch, shown = [], []
        self._store_closed(batch, shown)

    def _store_closed(
        self,
        batch: list[tuple[str, int, int, Aggregate, list[Alarm]]],
        shown: list[tuple[WindowClosed, list[Alarm]]],
    ) -> bool:
        """Store closed replay windows in one transaction (retried while the store
        refuses), then show them; False when the replay was stopped meanwhile."""
        assert self.store is not None
        while batch:
            try:
                self.store.close_windows(batch, self.clock())
                self._store_ok()
                break
            except sqlite3.OperationalError as exc:
                self._store_failed(exc)
                self.emit(self.stats())
                if self.stop_event.wait(self._backoff):
                    return False
        for event, alarms in shown:
            self.emit(event)
            self._announce(alarms)
        return True

    def _close_window(self, run: _ParserRun, start: int) -> bool:
        store = self.store
        assert store is not None
        p = run.config
        end = start + p.window
        prune = None if self.history else end - self.config.storage.keep_windows * p.window
        try:
            agg = store.aggregate(p, start, end)
            pairs = [(r.amount, r.group) for r in agg.rows]
            # The abnormal memory learns the window only once it is stored: a refused
            # store evaluates the same window again, with the same outcome.
            alarms, marks = run.rules.evaluate_window(start, end, pairs, update=False)
            ids = store.close_window(p.id, start, end, agg, self.clock(), alarms, prune)
            nxt = self._next_ts(p.id, end)
        except sqlite3.OperationalError as exc:
            self._store_failed(exc)
            return False
        self._store_ok()
        for amount, group in pairs:
            run.rules.remember(group, amount)
        run.clock.closed(start, nxt)
        self.emit(_window_closed(p, start, end, agg, pairs, marks))
        self._announce(alarms, ids)
        return True

    def _next_ts(self, parser_id: str, at_least: int) -> int | None:
        """The earliest row time at or after ``at_least`` (a window start), or, after a
        complete replay with workers, the start of the next window with rows (the same
        for the clock, and the shards need not be read)."""
        if self._next_windows is None:
            assert self.store is not None
            return self.store.next_ts(parser_id, at_least)
        starts = self._next_windows.get(parser_id, [])
        i = bisect.bisect_left(starts, at_least)
        return starts[i] if i < len(starts) else None

    def forget_old(self) -> dict[str, int]:
        """[storage] keep_days: forget the closed windows, alarms and positions of files gone
        older than that (a guard runs for months; its database must not grow forever)."""
        self._forget_at = time.monotonic() + FORGET_EVERY
        days = self.config.storage.keep_days
        if self.store is None or self.history or days <= 0:
            return {}
        keep = days * 86_400
        try:
            return self.store.forget_before(self.clock() - keep, time.time() - keep)
        except sqlite3.OperationalError:  # busy or full: the next hour tries again
            return {}

    def check_unguarded(self) -> tuple[str, ...]:
        """Rescan the watched directories for files no guard covers; announce new ones."""
        tracker = self.unguarded
        if tracker is None:
            return ()
        first = not tracker.scanned
        new = tracker.scan()
        # The first scan and files that went away are news too: the delivery keeps the
        # set it told of in step with the folders (one that comes back, even while we were
        # down, is reported again), never judging by what this run alone has seen.
        if new or tracker.gone or first:
            self.emit(UnguardedFiles(tracker.files, tuple(new), first))
        return tracker.files

    def check_health(self) -> None:
        """Judge the live sources (engine/health.py); announce what began or ended."""
        if self.health is None:
            return
        # A batch the store refused: nothing is read meanwhile, and no source is to blame.
        reading = self._pending is None
        for event in self.health.check(self.clock(), self._skew, reading=reading):
            self.emit(event)

    # ------------------------------------------------------------------ stats

    def stats(self) -> Stats:
        now = self.clock()
        mono = time.monotonic()
        t0, n0 = self._rate_mark
        if mono - t0 >= 0.5:
            self._rate = (self.lines - n0) / (mono - t0)
            self._rate_mark = (mono, self.lines)
        files = [
            FileStats(
                f.path,
                f.offset,
                f.size,
                f.lines_read,
                self.skew_of(f.path),
                last_line=f.last_line_at,
                kind=f.kind,
                note=f.note,
            )
            for g in self.guards
            if not isinstance(g.source, HistoryReader)
            for f in g.source.files
        ]
        unfollowed = {
            p: why for g in self.guards for p, why in getattr(g.source, "unfollowed", {}).items()
        }
        files.extend(
            FileStats(p, 0, 0, 0, note=f"not followed: {why}", followed=False)
            for p, why in unfollowed.items()
        )
        if len(self._skew) > 2 * len(files) + 16:  # files gone long ago
            current = {f.path for f in files}
            self._skew = {k: v for k, v in self._skew.items() if k in current}
        parsers = {
            pid: ParserStats(
                parsed=r.parsed,
                skipped=r.skipped,
                rejected=r.rejected,
                late=r.clock.late,
                last_reject=r.last_reject,
                future=r.future,
                crashed=r.crashed,
                last_error=r.last_error,
                passed=r.passed,
                max_ts=r.max_ts,
            )
            for pid, r in self.runs.items()
        }
        errors = [*self.errors]
        if self.store_error:
            errors.append(self.store_error)
        for pid, r in self.runs.items():
            if r.crashed:
                errors.append(
                    f"parser {pid}: raised on {r.crashed:,} lines (counted as rejected);"
                    f" last: {r.last_error}"
                )
        # A database that is down, a spool that cannot be written: shown, never fatal.
        errors.extend(e for g in self.guards if (e := _source_error(g.source)))
        warnings = [f"{f.path}: {skew_text(f.skew)}" for f in files if f.skew is not None]
        if self.health is not None:
            warnings.extend(self.health.warnings())
        if unfollowed:
            names = sorted(unfollowed)
            more = f" and {len(names) - 3:,} more" if len(names) > 3 else ""
            warnings.append(
                f"files not followed: {len(names):,}, {next(iter(unfollowed.values()))}:"
                f" {', '.join(names[:3])}{more} (see the sources screen)"
            )
        for g in self.guards:
            for path in getattr(g.source, "compressed_files", ()):
                warnings.append(
                    f"{path}: gzip-compressed, not followed live (a rotated copy;"
                    " --history reads it)"
                )
        return Stats(
            time=now,
            mode="history" if self.history else "live",
            lines=self.lines,
            lines_per_s=self._rate,
            malformed=self.malformed,
            filtered=self.filtered,
            parsers=parsers,
            files=tuple(files),
            rss=current_rss(),
            catching_up=not all(g.caught_up for g in self.guards),
            current_file=self._current_file,
            errors=tuple(errors),
            unguarded=self.unguarded.files if self.unguarded is not None else (),
            warnings=tuple(warnings),
            guards=self.health.snapshot() if self.health is not None else (),
        )
