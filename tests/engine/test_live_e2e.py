"""Live mode end to end: real files appended, rotated, truncated; restart resumes exactly."""

from __future__ import annotations

import queue
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from alser_tui.engine.config import load_config
from alser_tui.engine.engine import Engine
from alser_tui.engine.events import AlarmRaised, Event, Finished, Stats, WindowClosed
from alser_tui.engine.store import Store

BASE = 1_800_000_000  # a window boundary for 10 s windows

CONFIG = """
[storage]
dir = "var"

[engine]
lateness = 2
poll_interval = 0.02
glob_interval = 0.2

[[guards]]
tail_glob = "logs/app.*.log"
parsers = ["Err"]

[[parsers]]
id = "Err"
kind = "regex"
window = 10
regex = '^(\\w+) code=(\\d+)'
group_by = ["kind"]
beep_threshold = 5
limit = 5

[[parsers.fields]]
name = "kind"
group = 1
[[parsers.fields]]
name = "code"
group = 2
type = "int"
"""


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Running:
    """An engine running in a thread, with its events in a queue."""

    def __init__(self, root: Path, clock: Clock) -> None:
        self.config = load_config(root / "alser.toml")
        self.engine = Engine(self.config, clock=clock, stats_interval=0.02)
        self.events: queue.Queue[Event] = queue.Queue()
        self.engine.subscribe(self.events.put)
        self.seen: list[Event] = []
        self.thread = threading.Thread(target=self.engine.run, daemon=True)
        self.engine.open()
        self.thread.start()

    def wait(self, pred: Callable[[Event], bool], timeout: float = 10) -> Event:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no matching event within {timeout}s; last: {self.seen[-3:]}")
            try:
                ev = self.events.get(timeout=left)
            except queue.Empty:
                continue
            self.seen.append(ev)
            if pred(ev):
                return ev

    def wait_parsed(self, n: int) -> Stats:
        ev = self.wait(lambda e: isinstance(e, Stats) and e.parsers["Err"].parsed >= n)
        assert isinstance(ev, Stats)
        assert ev.parsers["Err"].parsed == n, "more rows than lines written"
        return ev

    def wait_window(self, start: int) -> WindowClosed:
        ev = self.wait(lambda e: isinstance(e, WindowClosed) and e.start == start)
        assert isinstance(ev, WindowClosed)
        return ev

    def stop(self) -> Stats:
        self.engine.request_stop()
        fin = self.wait(lambda e: isinstance(e, Finished))
        self.thread.join(5)
        assert isinstance(fin, Finished)
        return fin.stats


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "alser.toml").write_text(CONFIG)
    (tmp_path / "logs").mkdir()
    return tmp_path


@pytest.fixture
def start(root: Path) -> Iterator[Callable[[Clock], Running]]:
    runs: list[Running] = []

    def make(clock: Clock) -> Running:
        r = Running(root, clock)
        runs.append(r)
        return r

    yield make
    for r in runs:
        r.engine.request_stop()
        r.thread.join(5)


def append(path: Path, lines: list[str]) -> None:
    with path.open("a") as f:
        f.write("".join(line + "\n" for line in lines))


def lines_for(ts: int, kind: str, n: int, code: int = 1) -> list[str]:
    return [f"us,{ts},{kind} code={code + i}" for i in range(n)]


def amounts(ev: WindowClosed) -> dict[str, float]:
    return {r.group["kind"]: r.amount for r in ev.rows}


def test_tail_from_end_then_window_closes_on_clock(root: Path, start: Any) -> None:
    log = root / "logs" / "app.1.log"
    append(log, lines_for(BASE, "old", 50))  # before the first start: not read (tail -F)
    clock = Clock(BASE + 1)
    run = start(clock)
    append(log, lines_for(BASE + 1, "Timeout", 6) + lines_for(BASE + 3, "Db", 2))
    # A partial line is not emitted until its newline arrives.
    with log.open("a") as f:
        f.write(f"us,{BASE + 4},Db code=9")
    run.wait_parsed(8)
    with log.open("a") as f:
        f.write("\n")
    run.wait_parsed(9)
    clock.now = BASE + 12.5  # past the window's end + lateness
    ev = run.wait_window(BASE)
    assert amounts(ev) == {"Timeout": 6, "Db": 3}
    assert ev.total == 9
    alarm = run.wait(lambda e: isinstance(e, AlarmRaised))
    assert isinstance(alarm, AlarmRaised)
    assert alarm.alarm.kind == "threshold" and alarm.alarm.group == {"kind": "Timeout"}
    run.stop()


def test_lagging_file_holds_window_open_and_late_lines_counted(root: Path, start: Any) -> None:
    clock = Clock(BASE + 1)
    run = start(clock)
    log = root / "logs" / "app.1.log"
    append(log, lines_for(BASE + 1, "A", 3))
    run.wait_parsed(3)
    clock.now = BASE + 30
    ev = run.wait_window(BASE)
    assert amounts(ev) == {"A": 3}
    # A line for the closed window arrives: stored, counted late, never silently lost.
    append(log, lines_for(BASE + 2, "A", 1))
    st = run.wait(lambda e: isinstance(e, Stats) and e.parsers["Err"].late == 1)
    assert isinstance(st, Stats) and st.parsers["Err"].parsed == 4
    run.stop()


@pytest.mark.parametrize("how", ["rename", "copytruncate", "delete"])
def test_rotation_counts_every_line_once(root: Path, start: Any, how: str) -> None:
    log = root / "logs" / "app.1.log"
    log.touch()
    clock = Clock(BASE + 1)
    run = start(clock)
    append(log, lines_for(BASE + 1, "A", 5))
    run.wait_parsed(5)
    if how == "rename":
        append(log, lines_for(BASE + 2, "A", 2))  # written just before the rename
        log.rename(root / "logs" / "app.1.log.1")
    elif how == "copytruncate":
        run.wait_parsed(5)
        shutil.copy(log, root / "logs" / "app.1.log.1")
        with log.open("r+") as f:
            f.truncate(0)
    else:
        log.unlink()
    append(log, lines_for(BASE + 3, "B", 4))
    expected = 5 + 4 + (2 if how == "rename" else 0)
    run.wait_parsed(expected)
    clock.now = BASE + 20
    ev = run.wait_window(BASE)
    assert amounts(ev) == {"A": expected - 4, "B": 4}
    run.stop()


def test_new_file_is_read_from_its_start(root: Path, start: Any) -> None:
    clock = Clock(BASE + 1)
    run = start(clock)
    append(root / "logs" / "app.2.log", lines_for(BASE + 1, "N", 7))
    run.wait_parsed(7)
    assert any(f.path.endswith("app.2.log") for f in run.engine.stats().files)
    run.stop()


def test_restart_resumes_without_loss_or_duplicates(root: Path, start: Any) -> None:
    log = root / "logs" / "app.1.log"
    log.touch()
    clock = Clock(BASE + 1)
    run = start(clock)
    append(log, lines_for(BASE + 1, "A", 4))
    run.wait_parsed(4)
    run.stop()
    # Written while nothing runs: a new file and more lines in the old one.
    append(log, lines_for(BASE + 5, "A", 3))
    append(root / "logs" / "app.3.log", lines_for(BASE + 6, "C", 2))
    run2 = start(clock)
    run2.wait_parsed(5)
    clock.now = BASE + 20
    ev = run2.wait_window(BASE)
    # The window spans both runs: its rows were stored by the first one.
    assert amounts(ev) == {"A": 7, "C": 2}
    run2.stop()
    store = Store(root / "var" / "alser.db", [run2.config.parser("Err")])
    try:
        assert store.con.execute('SELECT COUNT(*) FROM "ev_Err"').fetchone()[0] == 9
        assert store.con.execute("SELECT COUNT(*) FROM windows").fetchone()[0] == 1
    finally:
        store.close()
