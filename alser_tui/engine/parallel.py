"""Parse in worker processes so that a replay uses the second core.

The engine thread keeps reading, writing SQLite and closing windows; workers run the same
LineProcessor as the in-process path. Results come back in submission order, so the
outcome is identical to the single-process run.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
import traceback
from collections import deque
from typing import Any

from alser_tui.engine.config import Config
from alser_tui.engine.pipeline import ChunkResult, LineProcessor


class WorkerError(RuntimeError):
    pass


def _worker(jobs: Any, results: Any, config: Config, locales: frozenset[str]) -> None:
    processor = LineProcessor(config, locales)
    while True:
        job = jobs.get()
        if job is None:
            return
        guard, lines, now = job
        try:
            results.put(processor.process(guard, lines, now))
        except Exception:
            results.put(WorkerError(traceback.format_exc(limit=5)))


class ParsePool:
    """A few worker processes, each with a job and a result queue; jobs go round-robin,
    results come back FIFO. Queues (not bare pipes): their feeder threads keep a large
    job from blocking while the worker is itself blocked handing back a large result."""

    def __init__(
        self, config: Config, locales: frozenset[str], workers: int, depth: int = 2
    ) -> None:
        # spawn, not fork: the console runs the engine in a thread of a threaded process.
        ctx = mp.get_context("spawn")
        self._jobs: list[Any] = []
        self._results: list[Any] = []
        self._procs: list[Any] = []
        for i in range(workers):
            jobs, results = ctx.Queue(), ctx.Queue()
            proc = ctx.Process(
                target=_worker,
                args=(jobs, results, config, locales),
                name=f"alser-parse-{i}",
                daemon=True,
            )
            proc.start()
            self._jobs.append(jobs)
            self._results.append(results)
            self._procs.append(proc)
        self._order: deque[int] = deque()
        self._next = 0
        self.capacity = workers * depth

    @property
    def pending(self) -> int:
        return len(self._order)

    def submit(self, guard: int, lines: list[str], now: int) -> None:
        i = self._next
        self._next = (i + 1) % len(self._jobs)
        self._jobs[i].put((guard, lines, now))
        self._order.append(i)

    def get(self) -> ChunkResult:
        """The oldest submitted job's result (blocks until it is there)."""
        i = self._order.popleft()
        while True:
            try:
                res = self._results[i].get(timeout=1.0)
                break
            except queue.Empty:
                if not self._procs[i].is_alive():
                    code = self._procs[i].exitcode
                    raise WorkerError(f"parse worker {i} died (exit code {code})") from None
        if isinstance(res, WorkerError):
            raise res
        return res

    def close(self) -> None:
        for jobs in self._jobs:
            jobs.put(None)
        for proc in self._procs:
            proc.join(2)
            if proc.is_alive():
                proc.kill()
        for q in (*self._jobs, *self._results):
            q.cancel_join_thread()  # never hang on exit over results nobody will read
            q.close()
