"""Parse in worker processes so that a replay uses every core.

The engine thread hands out pieces of the files (or, for sources it reads itself, chunks
of lines); workers read them and run the same LineProcessor as the in-process path. With a
store, each worker also writes the rows it parsed to a shard of its own (an SQLite file the
engine's store reads through views), so rows never cross a pipe and inserts run in
parallel; only counts, time spans and the rows of per-event alarm parsers come back.
Results come back in submission order; the windows closed over all the shards at the end
equal the single-process run's.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import sys
import threading
import traceback
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import contextmanager
from operator import itemgetter
from pathlib import Path
from typing import Any

from alser_tui.engine.config import Config
from alser_tui.engine.grouping import SliceCounter
from alser_tui.engine.pipeline import ChunkResult, LineProcessor
from alser_tui.engine.sources.history import Piece, read_piece
from alser_tui.engine.sources.slices import TimeSlice

_TS = itemgetter(1)  # a row's time


class WorkerError(RuntimeError):
    pass


AGGREGATE = "aggregate"  # a job: the aggregates of these (parser, start, end) windows
READ = "read"  # a job: read this piece of a file, parse and store its lines
INDEX = "index"  # a job: every row is in, build the shard's time index
SLICE = "slice"  # a job: read a time slice of the files, and count its windows too


def _worker(
    jobs: Any,
    results: Any,
    config: Config,
    locales: frozenset[str],
    shard: str | None,
    keep: frozenset[str],
    others: tuple[str, ...] = (),
    browsed: bool = False,
) -> None:
    processor = LineProcessor(config, locales)
    store = None
    if shard is not None:
        # Imported here: a parse-only worker needs no SQLite.
        from alser_tui.engine.store import Store

        parsers = [p for p in config.parsers if p.enabled]
        # The time index is built once every row is in (INDEX), unless the engine made the
        # shard with one (a console may browse the replay while it loads). WAL only then:
        # nobody reads a headless replay's shard before its worker is done.
        store = Store(
            Path(shard), parsers, scratch=True, keep_file=True, ts_index=False, wal=browsed
        )
    try:
        while True:
            job = jobs.get()
            if job is None:
                if store is not None:
                    store.index_events()  # a replay stopped early: the shard stays whole
                return
            if job[0] == INDEX:
                results.put(_index(store))
                continue
            if job[0] == AGGREGATE:
                results.put(_aggregate_windows(store, others, job[1]))
                continue
            if job[0] == READ:
                results.put(_read_piece(processor, store, keep, *job[1:]))
                continue
            if job[0] == SLICE:
                results.put(_read_slice(processor, store, keep, *job[1:]))
                continue
            guard, lines, now = job
            try:
                res = processor.process(guard, lines, now)
                if store is not None:
                    _store_in_shard(store, res, keep)
                results.put(res)
            except Exception:
                results.put(WorkerError(traceback.format_exc(limit=5)))
    finally:
        if store is not None:
            store.close()


def _store_in_shard(store: Any, res: ChunkResult, keep: frozenset[str]) -> None:
    """Write the chunk's rows to this worker's shard; hand back only their count and time
    span, plus the rows of the parsers in ``keep`` (their alarms are raised per event)."""
    rows = {pid: r for pid, r in res.rows.items() if r}
    store.write_batch(rows)
    for pid, r in rows.items():
        # Rows per second first (C speed; a batch spans far fewer seconds than rows), then
        # per window: the engine shares the windows out by these counts.
        per_ts = Counter(map(_TS, r))
        res.stored[pid] = (len(r), min(per_ts), max(per_ts))
        size = store.parsers[pid].window
        windows: dict[int, int] = {}
        for ts, n in per_ts.items():
            start = ts - ts % size
            windows[start] = windows.get(start, 0) + n
        res.windows[pid] = windows
    res.rows = {pid: r for pid, r in rows.items() if pid in keep}


def _read_piece(
    processor: LineProcessor,
    store: Any,
    keep: frozenset[str],
    guard: int,
    piece: Piece,
    now: int,
    batch_lines: int,
) -> Any:
    """Read one piece of a file here (the engine thread only hands out where it is), parse
    and store it batch by batch; one result for the whole piece."""
    total = ChunkResult(guard=guard, from_piece=True)
    errors: list[tuple[str, str]] = []
    try:
        for lines in read_piece(piece, batch_lines, errors=errors):
            _store_and_absorb(store, processor.process(guard, lines, now), keep, total)
    except Exception:
        return WorkerError(traceback.format_exc(limit=5))
    total.read_errors = errors
    return total


def _read_slice(
    processor: LineProcessor,
    store: Any,
    keep: frozenset[str],
    guard: int,
    tslice: TimeSlice,
    now: int,
    batch_lines: int,
    count: frozenset[str],
) -> Any:
    """Read, parse and store a time slice, counting the rows of the parsers in ``count``
    per window and group meanwhile: the windows that lie in the slice are whole here, and
    come back aggregated (the others are named in ``foreign``)."""
    from alser_tui.engine.store import counted_aggregate

    parsers = {p.id: p for p in processor.config.parsers}
    counters = {
        pid: SliceCounter(
            parsers[pid].column_names,
            parsers[pid].group_by,
            parsers[pid].aggregate_kind,
            parsers[pid].aggregate_field,
            parsers[pid].window,
        )
        for pid in processor.guard_parsers[guard]
        if pid in count
    }
    total = ChunkResult(guard=guard, from_piece=True, sliced=True)
    errors: list[tuple[str, str]] = []
    # A slice's part of each file is small (a few thousand lines): their rows are stored
    # together, ``batch_lines`` a transaction, as a plain piece's are (a commit per part
    # cost ~10% more).
    pending: ChunkResult | None = None
    try:
        for part in tslice.parts:
            for lines in read_piece(part, batch_lines, errors=errors):
                res = processor.process(guard, lines, now)
                for pid, counter in counters.items():
                    counter.add(res.rows.get(pid, []))
                if pending is None:
                    pending = res
                else:
                    pending.absorb(res)
                if pending.lines >= batch_lines:
                    _store_and_absorb(store, pending, keep, total)
                    pending = None
        if pending is not None:
            _store_and_absorb(store, pending, keep, total)
        for pid, counter in counters.items():
            windows = total.windows.get(pid, {})
            total.foreign[pid] = {w for w in windows if not tslice.holds(w)}
            size = counter.window
            for start, counts in counter.windows().items():
                if tslice.holds(start):
                    total.aggregates[(pid, start, start + size)] = counted_aggregate(
                        parsers[pid], counts
                    )
    except Exception:
        return WorkerError(traceback.format_exc(limit=5))
    total.read_errors = errors
    return total


def _store_and_absorb(
    store: Any, res: ChunkResult, keep: frozenset[str], total: ChunkResult
) -> None:
    if store is not None:
        _store_in_shard(store, res, keep)
    total.absorb(res)


def _index(store: Any) -> Any:
    try:
        if store is not None:
            store.index_events()
        return True
    except Exception:
        return WorkerError(traceback.format_exc(limit=5))


def _aggregate_windows(
    store: Any, others: tuple[str, ...], windows: list[tuple[str, int, int]]
) -> Any:
    """The aggregates of some of the replay's windows, over every shard (this one and the
    others, attached read-only): the windows close on all the cores at once."""
    try:
        if others and not store.shards_attached:
            store.attach_shards([Path(o) for o in others])
        parsers = store.parsers
        return [(pid, s, e, store.aggregate(parsers[pid], s, e)) for pid, s, e in windows]
    except Exception:
        return WorkerError(traceback.format_exc(limit=5))


@contextmanager
def _real_stderr() -> Iterator[None]:
    """multiprocessing hands sys.stderr's file descriptor to its resource tracker; inside
    the console, Textual has replaced sys.stderr with an object whose fileno() is -1, and
    spawning failed with "bad value(s) in fds_to_keep". Lend it a real file meanwhile."""
    saved = sys.stderr
    try:
        ok = saved is not None and saved.fileno() >= 0
    except (OSError, ValueError, AttributeError):
        ok = False
    if ok:
        yield
        return
    with open(os.devnull, "w") as devnull:
        sys.stderr = devnull
        try:
            yield
        finally:
            sys.stderr = saved


def start_method() -> str:
    """fork when this process has one thread (a headless replay): the workers start with
    every module already imported, ~0.3 s sooner than a fresh interpreter that imports
    them. spawn otherwise: forking a threaded process (the console, a mail delivery
    thread) could copy a lock that another thread holds, and the child would wait on it
    forever."""
    if threading.active_count() == 1 and "fork" in mp.get_all_start_methods():
        return "fork"
    return "spawn"


class ParsePool:
    """A few worker processes, each with a job and a result queue; jobs go round-robin,
    results come back FIFO. Queues (not bare pipes): their feeder threads keep a large
    job from blocking while the worker is itself blocked handing back a large result."""

    def __init__(
        self,
        config: Config,
        locales: frozenset[str],
        workers: int,
        depth: int = 2,
        shards: list[Path] | None = None,
        keep: frozenset[str] = frozenset(),
        browsed: bool = False,
    ) -> None:
        """``shards``: one SQLite file per worker, where it stores the rows it parses
        (a replay's rows then never cross a pipe); ``keep``: parsers whose rows still
        come back (see ``_store_in_shard``); ``browsed``: a console reads the shards while
        they load (Store's ``wal``)."""
        ctx = mp.get_context(start_method())
        self._jobs: list[Any] = []
        self._results: list[Any] = []
        self._procs: list[Any] = []
        with _real_stderr():  # the queues' locks start the resource tracker already
            self._start(ctx, config, locales, workers, shards, keep, browsed)
        self._order: deque[int] = deque()
        self._next = 0
        self.capacity = workers * depth

    def _start(
        self,
        ctx: Any,
        config: Config,
        locales: frozenset[str],
        workers: int,
        shards: list[Path] | None,
        keep: frozenset[str],
        browsed: bool,
    ) -> None:
        for i in range(workers):
            jobs, results = ctx.Queue(), ctx.Queue()
            proc = ctx.Process(
                target=_worker,
                args=(
                    jobs,
                    results,
                    config,
                    locales,
                    str(shards[i]) if shards else None,
                    keep,
                    tuple(str(x) for j, x in enumerate(shards or ()) if j != i),
                    browsed,
                ),
                name=f"alser-parse-{i}",
                daemon=True,
            )
            proc.start()
            self._jobs.append(jobs)
            self._results.append(results)
            self._procs.append(proc)

    @property
    def pending(self) -> int:
        return len(self._order)

    def submit(self, guard: int, lines: list[str], now: int) -> None:
        self._put((guard, lines, now))

    def submit_piece(self, guard: int, piece: Piece, now: int, batch_lines: int) -> None:
        """A piece of a file the worker reads itself (see history.plan_pieces)."""
        self._put((READ, guard, piece, now, batch_lines))

    def submit_slice(
        self, guard: int, tslice: TimeSlice, now: int, batch_lines: int, count: frozenset[str]
    ) -> None:
        """A time slice of the files (see sources/slices.py); the windows of the parsers
        in ``count`` that lie in it come back aggregated."""
        self._put((SLICE, guard, tslice, now, batch_lines, count))

    def _put(self, job: tuple[Any, ...]) -> None:
        i = self._next
        self._next = (i + 1) % len(self._jobs)
        self._jobs[i].put(job)
        self._order.append(i)

    def get(self) -> ChunkResult:
        """The oldest submitted job's result (blocks until it is there)."""
        return self._wait(self._order.popleft())

    def index(self) -> None:
        """Every worker builds its shard's time index; back once all are built (a worker
        aggregating across a shard still being indexed would scan it whole)."""
        self.start_index()
        self.finish_index()

    def start_index(self) -> None:
        for jobs in self._jobs:
            jobs.put((INDEX,))

    def finish_index(self) -> None:
        for i in range(len(self._jobs)):
            self._wait(i)

    def aggregate(self, windows: list[tuple[str, int, int, int]]) -> list[Any]:
        """Aggregates of (parser, start, end, rows) windows, computed by the shard workers
        together (each gets a share of similar row count)."""
        n = len(self._jobs)
        shares: list[list[tuple[str, int, int]]] = [[] for _ in range(n)]
        load = [0] * n
        for pid, start, end, rows in sorted(windows, key=lambda w: -w[3]):
            i = load.index(min(load))  # the least loaded so far: biggest windows first
            shares[i].append((pid, start, end))
            load[i] += rows
        for i, share in enumerate(shares):
            self._jobs[i].put((AGGREGATE, share))
        out: list[Any] = []
        for i in range(n):
            out.extend(self._wait(i))
        return out

    def _wait(self, i: int) -> Any:
        """Worker i's next result, raised when it is a WorkerError; a worker that died
        says so instead of a hang."""
        while True:
            try:
                res = self._results[i].get(timeout=1.0)
            except queue.Empty:
                if not self._procs[i].is_alive():
                    code = self._procs[i].exitcode
                    raise WorkerError(f"parse worker {i} died (exit code {code})") from None
                continue
            if isinstance(res, WorkerError):
                raise res
            return res

    def close(self, wait: float = 2.0) -> bool:
        """Stop the workers; True when every one ended by itself (its shard closed)."""
        for jobs in self._jobs:
            jobs.put(None)
        clean = True
        for proc in self._procs:
            proc.join(wait)
            if proc.is_alive():
                clean = False
                proc.kill()
        for q in (*self._jobs, *self._results):
            q.cancel_join_thread()  # never hang on exit over results nobody will read
            q.close()
        return clean
