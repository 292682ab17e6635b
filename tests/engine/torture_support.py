"""Shared by the test_torture_* files: a live engine in a thread with a hand-driven clock,
lines that carry a unique id, and the exactly-once check against the database."""

from __future__ import annotations

import queue
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from alser_tui.engine.config import load_config
from alser_tui.engine.engine import Engine
from alser_tui.engine.events import Event, Finished, Stats, WindowClosed

BASE = 1_800_000_000  # a window boundary for 10 s windows

CONFIG = """
[storage]
dir = "var"
keep_windows = 100000

[engine]
lateness = 2
poll_interval = 0.02
glob_interval = 0.2
batch_lines = {batch}

[[guards]]
tail_glob = "{glob}"
parsers = ["Ev"]

"""


def ev_parser(pid: str = "Ev", regex: str = r"^(\w+) id=(\d+)") -> str:
    """The tests' parser: ``KIND id=N`` lines, grouped by kind, the id kept as an int (so
    that every line can be found once in the store)."""
    return f"""
[[parsers]]
id = "{pid}"
kind = "regex"
window = 10
regex = '{regex}'
group_by = ["kind"]

[[parsers.fields]]
name = "kind"
group = 1
[[parsers.fields]]
name = "id"
group = 2
type = "int"
"""


def write_config(root: Path, glob: str = "logs/*.log", batch: int = 10_000) -> Path:
    path = root / "alser.toml"
    path.write_text(CONFIG.format(glob=glob, batch=batch) + ev_parser())
    (root / "logs").mkdir(exist_ok=True)
    return path


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Ids:
    """Hands out ids and remembers which were written, so the check is exact."""

    def __init__(self) -> None:
        self.next = 0
        self.written: list[int] = []

    def lines(self, n: int, ts: int, kind: str = "A") -> str:
        out = []
        for _ in range(n):
            out.append(f"us,{ts},{kind} id={self.next}\n")
            self.written.append(self.next)
            self.next += 1
        return "".join(out)

    def append(self, path: Path, n: int, ts: int = BASE + 1, kind: str = "A") -> None:
        with path.open("a") as f:
            f.write(self.lines(n, ts, kind))


class Running:
    """An engine running in a thread; its events land in a queue that ``wait`` scans."""

    def __init__(
        self,
        config_path: Path,
        clock: Clock,
        prepare: Callable[[Engine], None] | None = None,
        **engine_kw: object,
    ) -> None:
        self.config = load_config(config_path)
        self.engine = Engine(self.config, clock=clock, stats_interval=0.02, **engine_kw)  # type: ignore[arg-type]
        self.events: queue.Queue[Event] = queue.Queue()
        self.engine.subscribe(self.events.put)
        self.seen: list[Event] = []
        self.engine.open()
        if prepare is not None:
            prepare(self.engine)  # opened, not running yet: a test may rig its parts
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.failure: BaseException | None = None
        self.thread.start()

    def _run(self) -> None:
        try:
            self.engine.run()
        except BaseException as exc:  # surfaced by wait(): a dead engine fails the test
            self.failure = exc

    def wait(self, pred: Callable[[Event], bool], timeout: float = 10) -> Event:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if self.failure is not None:
                raise AssertionError(f"engine died: {self.failure!r}") from self.failure
            if left <= 0:
                raise AssertionError(f"no matching event within {timeout}s; last: {self.seen[-3:]}")
            try:
                ev = self.events.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            self.seen.append(ev)
            if pred(ev):
                return ev

    def stats_where(self, pred: Callable[[Stats], bool], timeout: float = 10) -> Stats:
        ev = self.wait(lambda e: isinstance(e, Stats) and pred(e), timeout)
        assert isinstance(ev, Stats)
        return ev

    def wait_parsed(self, n: int, timeout: float = 10) -> Stats:
        st = self.stats_where(lambda s: s.parsed >= n, timeout)
        assert st.parsed == n, f"more rows than lines written: {st.parsed} > {n}"
        return st

    def wait_window(self, start: int, timeout: float = 10, parser: str = "") -> WindowClosed:
        """The window's close, also when an earlier wait already passed it by."""

        def match(e: Event) -> bool:
            return (
                isinstance(e, WindowClosed)
                and e.start == start
                and (not parser or e.parser == parser)
            )

        for ev in self.seen:
            if match(ev):
                assert isinstance(ev, WindowClosed)
                return ev
        ev = self.wait(match, timeout)
        assert isinstance(ev, WindowClosed)
        return ev

    def stop(self) -> Stats:
        self.engine.request_stop()
        fin = self.wait(lambda e: isinstance(e, Finished))
        self.thread.join(5)
        assert isinstance(fin, Finished)
        return fin.stats


def with_shards(db: Path) -> list[Path]:
    """The database and, for a replay's, the shards its workers stored rows in."""
    if db.name != "history.db":
        return [db]
    return [db, *sorted(db.parent.glob("history-shard*.db"))]


def stored_ids(db: Path, parser: str = "Ev") -> Counter[int]:
    got: Counter[int] = Counter()
    for path in with_shards(db):
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            got.update(r[0] for r in con.execute(f'SELECT id FROM "ev_{parser}"'))
        finally:
            con.close()
    return got


def assert_exactly_once(db: Path, written: Iterable[int]) -> None:
    """Every id written is stored once: none missing, none twice, none invented."""
    got = stored_ids(db)
    want = Counter(written)
    missing = sorted((want - got).keys())
    doubled = sorted(k for k, n in got.items() if n > 1)
    extra = sorted(got.keys() - want.keys())
    assert not missing and not doubled and not extra, (
        f"missing {missing[:10]} ({len(missing)}), doubled {doubled[:10]} ({len(doubled)}),"
        f" invented {extra[:10]} ({len(extra)})"
    )


# --------------------------------------------------------------------------- child processes


def query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    """Read another process's database (read-only; an error is an empty answer)."""
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()
    except sqlite3.Error:
        return []


def rows_in(db: Path, parser: str = "Ev") -> int:
    total = 0
    for path in with_shards(db):
        got = query(path, f'SELECT COUNT(*) FROM "ev_{parser}"')
        if not got:
            return -1
        total += int(got[0][0])
    return total


def wait_for(pred: Callable[[], bool], timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.02)  # another process's state: nothing to await but polling it
    return False


def wait_started(db: Path, timeout: float = 20) -> bool:
    """The child has placed its readers (a first run starts at the files' end)."""
    return wait_for(lambda: bool(query(db, "SELECT 1 FROM meta WHERE key='live_started'")), timeout)


class Lines:
    """A child's stderr, read by a thread so the pipe never fills; lines can be awaited."""

    def __init__(self, stream: Any) -> None:
        self.q: queue.Queue[str] = queue.Queue()
        self.all: list[str] = []
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: Any) -> None:
        for line in stream:
            self.q.put(line)

    def drain(self, timeout: float = 10) -> list[str]:
        """Every line, once the child has exited (its stderr reached its end)."""
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "stderr still open"
        while not self.q.empty():
            self.all.append(self.q.get())
        return self.all

    def wait(self, text: str, timeout: float = 15) -> str:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.q.get(timeout=left)
            except queue.Empty:
                break
            self.all.append(line)
            if text in line:
                return line
        raise AssertionError(f"no {text!r} on stderr within {timeout}s: {self.all[-5:]}")
