"""Backpressure and cardinality: a backlog is read in batches at the pace rows are stored (lag
shown per file, memory flat however long the lines), and a window with a huge number of
groups keeps what it builds and remembers bounded."""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
from pathlib import Path

import psutil
from torture_support import BASE, Clock, Ids, assert_exactly_once, rows_in, write_config

from alser_tui.engine.config import load_config
from alser_tui.engine.engine import Engine
from alser_tui.engine.events import WindowClosed
from alser_tui.engine.store import MAX_SHOWN_ROWS, Store


def stepped(root: Path, batch: int) -> Engine:
    """An engine driven by hand, one step at a time (no thread: every step can be checked)."""
    engine = Engine(load_config(write_config(root, batch=batch)), clock=Clock(BASE + 1))
    engine.open()
    return engine


def test_backlog_is_read_batch_by_batch_with_the_lag_shown(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    log = tmp_path / "logs" / "a.log"
    log.touch()
    engine = stepped(tmp_path, batch=1000)
    db = tmp_path / "var" / "alser.db"
    try:
        ids = Ids()
        ids.append(log, 10_500)
        size = log.stat().st_size
        lags = []
        done = 0
        while (n := engine.step()) > 0:
            assert n <= 1000
            done += n
            st = engine.stats()
            lags.append(st.files[0].lag)
            # Each batch is stored with the offset that produced it, before the next read.
            assert rows_in(db) == done
            assert st.files[0].offset == size - st.files[0].lag
            assert st.catching_up == (st.files[0].lag > 0)
        assert done == 10_500 and len(lags) == 11
        assert lags == sorted(lags, reverse=True) and lags[0] > 0 and lags[-1] == 0
    finally:
        engine.close()
    assert_exactly_once(db, ids.written)


def test_long_lines_are_batched_by_bytes_too(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    log = tmp_path / "logs" / "a.log"
    log.touch()
    engine = stepped(tmp_path, batch=10_000)
    try:
        pad = "x" * 100_000
        with log.open("a") as f:
            for i in range(300):  # 30 MB in 300 lines: far below the line budget
                f.write(f"us,{BASE + 1},A id={i} {pad}\n")
        offsets = [0]
        while engine.step() > 0:
            offsets.append(engine.stats().files[0].offset)
        steps = [b - a for a, b in itertools.pairwise(offsets)]
        assert offsets[-1] == log.stat().st_size
        assert len(steps) >= 3 and max(steps) <= 10 << 20, steps  # ~8 MB a batch
        assert engine.stats().parsed == 300
    finally:
        engine.close()


def test_a_big_backlog_leaves_memory_flat(tmp_path: Path) -> None:
    """The real command over a 160 MB backlog of 100 KB lines: its peak RSS stays far below
    the backlog (it reached ~250 MB when a batch was only counted in lines)."""
    write_config(tmp_path)
    config = load_config(tmp_path / "alser.toml")
    store = Store(tmp_path / "var" / "alser.db", config.parsers)
    store.set_meta("live_started", "0")  # not a first run: the backlog is read from 0
    store.close()
    pad = "x" * 100_000
    n = 1600
    with (tmp_path / "logs" / "big.log").open("w") as f:
        for i in range(n):
            f.write(f"us,{BASE + 1},A id={i} {pad}\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "alser_tui", "-c", str(tmp_path / "alser.toml"), "--no-ui"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    peak = 0
    try:
        child = psutil.Process(proc.pid)
        deadline = time.monotonic() + 60
        while rows_in(tmp_path / "var" / "alser.db") < n:
            assert time.monotonic() < deadline and proc.poll() is None
            peak = max(peak, child.memory_info().rss)
            time.sleep(0.01)  # sampling another process's memory: nothing to await
    finally:
        proc.terminate()
        proc.wait(10)
    assert 0 < peak < 120 << 20, f"peak RSS {peak >> 20} MB for a 160 MB backlog"


CARD_CONFIG = """
[storage]
dir = "var"

[engine]
abnormal_memory = 500

[[guards]]
history_glob = "h/*.log"
parsers = ["Msg"]

[[parsers]]
id = "Msg"
kind = "regex"
window = 60
regex = '^(.+)$'
group_by = ["msg"]
limit = 0

[[parsers.fields]]
name = "msg"
group = 1
"""


def test_a_window_with_a_huge_number_of_groups_stays_bounded(tmp_path: Path) -> None:
    (tmp_path / "alser.toml").write_text(CARD_CONFIG)
    (tmp_path / "h").mkdir()
    groups = 30_000
    with (tmp_path / "h" / "a.log").open("w") as f:
        for i in range(groups):
            f.write(f"us,{BASE + i % 60},distinct message {i}\n")
    engine = Engine(load_config(tmp_path / "alser.toml"), history=True, workers=0)
    closed: list[WindowClosed] = []
    engine.subscribe(lambda e: closed.append(e) if isinstance(e, WindowClosed) else None)
    engine.run()
    (win,) = closed
    # limit = 0 asks for every group: the total and count cover them all, but the rows
    # built, stored and remembered are capped.
    assert win.total == groups and win.groups == groups
    assert len(win.rows) == MAX_SHOWN_ROWS
    assert len(engine.runs["Msg"].rules._last) == 500  # the LRU's bound
