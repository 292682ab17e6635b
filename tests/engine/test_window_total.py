"""A window's ``total`` is its whole volume: the sum of the amounts of all its groups (after
``where``), before ``min_amount`` and ``limit`` cut what is shown. The same figure on every
path: live (closed windows and the console's open total), a replay in one process, a
replay by workers counting time slices, SQL past the Python counting's group bound, and
``stats_sql``."""

from __future__ import annotations

import queue
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from alser_tui.engine import grouping
from alser_tui.engine.config import load_config
from alser_tui.engine.engine import Engine
from alser_tui.engine.events import Event, Stats, WindowClosed
from alser_tui.engine.sources import slices
from alser_tui.engine.store import Store

T0 = 1_800_000_000 - 1_800_000_000 % 3600
WINDOW = 60
PAGES = ["home", "cart", "pay", "help", "faq", "me", "api", "404"]


def _parser(pid: str, *keys: str) -> str:
    """A regex parser of "PAGE uid=N x" lines: fields page and uid, plus ``keys``."""
    return (
        f'[[parsers]]\nid = "{pid}"\nkind = "regex"\nwindow = {WINDOW}\n'
        "regex = '^(\\w+) uid=(\\d+) '\n"
        + "".join(f"{k}\n" for k in keys)
        + '[[parsers.fields]]\nname = "page"\ngroup = 1\n'
        + '[[parsers.fields]]\nname = "uid"\ngroup = 2\ntype = "int"\n\n'
    )


# Every aggregate kind with a min_amount that hides some groups and a limit that cuts more.
PARSERS: dict[str, str] = {
    "Top": _parser("Top", 'group_by = ["page"]', "min_amount = 4", "limit = 2"),
    "Users": _parser(
        "Users", 'aggregate = "count_distinct:uid"', 'group_by = ["page"]', "min_amount = 3",
        "limit = 1",
    ),
    "Sum": _parser("Sum", 'aggregate = "sum:uid"', 'group_by = ["page"]', "min_amount = 150",
                   "limit = 2"),
    "Even": _parser("Even", 'group_by = ["page"]', 'where = "uid % 2 = 0"', "min_amount = 3",
                    "limit = 1"),
    "All": _parser("All", "min_amount = 1000"),  # no group_by: its one group is never shown
    "Raw": _parser(
        "Raw",
        'stats_sql = "SELECT COUNT(*) AS amount, page FROM {table} WHERE {window}'
        ' GROUP BY page ORDER BY amount DESC, page"',
        "min_amount = 4",
        "limit = 2",
    ),
}  # fmt: skip
MIN_AMOUNT = {"Top": 4, "Users": 3, "Sum": 150, "Even": 3, "All": 1000, "Raw": 4}


def _config(root: Path, parsers: list[str], live: bool = False) -> Path:
    head = '[storage]\ndir = "var"\n\n'
    if live:
        head += "[engine]\nlateness = 1\npoll_interval = 0.02\nglob_interval = 0.2\n\n"
    source = 'tail_glob = "logs/*.log"' if live else 'history_glob = "h/*.log"'
    names = ", ".join(f'"{p}"' for p in parsers)
    text = head + f"[[guards]]\n{source}\nparsers = [{names}]\n\n"
    text += "".join(PARSERS[p] for p in parsers)
    path = root / "alser.toml"
    path.write_text(text)
    return path


Line = tuple[int, str, int]  # ts, page, uid


def _lines(rng: random.Random, windows: int, per_window: int) -> list[Line]:
    out = []
    for w in range(windows):
        for _ in range(per_window):
            page = PAGES[min(int(rng.expovariate(0.6)), len(PAGES) - 1)]
            out.append((T0 + w * WINDOW + rng.randint(0, WINDOW - 1), page, rng.randint(1, 40)))
    return out


def _text(lines: list[Line]) -> str:
    return "".join(f"{rng_area(uid)},{ts},{page} uid={uid} x\n" for ts, page, uid in lines)


def rng_area(uid: int) -> str:
    return "us" if uid % 3 else "de"


def _expected_totals(pid: str, lines: list[Line]) -> dict[int, tuple[float, int]]:
    """{window start: (total over every group, groups at or above min_amount)}."""
    per: dict[int, dict[str, Any]] = defaultdict(dict)
    for ts, page, uid in lines:
        if pid == "Even" and uid % 2:
            continue
        groups = per[ts - ts % WINDOW]
        key = "" if pid == "All" else page
        if pid == "Users":
            groups.setdefault(key, set()).add(uid)
        elif pid == "Sum":
            groups[key] = groups.get(key, 0) + uid
        else:
            groups[key] = groups.get(key, 0) + 1
    out = {}
    for start, groups in per.items():
        amounts = [len(v) if isinstance(v, set) else v for v in groups.values()]
        out[start] = (sum(amounts), sum(1 for a in amounts if a >= MIN_AMOUNT[pid]))
    return out


def _check(closed: list[WindowClosed], lines: list[Line], pids: list[str]) -> None:
    for pid in pids:
        want = _expected_totals(pid, lines)
        got = {ev.start: ev.total for ev in closed if ev.parser == pid}
        assert got == {s: t for s, (t, _) in want.items()}, pid
        groups = {ev.start: ev.groups for ev in closed if ev.parser == pid}
        assert groups == {s: g for s, (_, g) in want.items()}, pid
        # The cut is real: some window hides groups under min_amount or past the limit.
        assert any(len(ev.rows) < ev.groups or ev.groups < 2 for ev in closed if ev.parser == pid)
    shown_less = [ev for ev in closed if sum(r.amount for r in ev.rows) < ev.total]
    assert len(shown_less) > len(closed) // 2


def _replay(root: Path, workers: int) -> tuple[list[WindowClosed], Engine]:
    closed: list[WindowClosed] = []
    engine = Engine(load_config(root / "alser.toml"), history=True, workers=workers,
                    keep_open=True)  # fmt: skip
    engine.subscribe(lambda ev: closed.append(ev) if isinstance(ev, WindowClosed) else None)
    engine.run()
    return closed, engine


@pytest.fixture
def history(tmp_path: Path) -> list[Line]:
    _config(tmp_path, list(PARSERS))
    (tmp_path / "h").mkdir()
    lines = _lines(random.Random(4), 40, 60)
    half = len(lines) // 2
    (tmp_path / "h" / "a.log").write_text(_text(lines[:half]))
    (tmp_path / "h" / "b.log").write_text(_text(lines[half:]))
    return lines


def test_replay_in_one_process(tmp_path: Path, history: list[Line]) -> None:
    closed, engine = _replay(tmp_path, 0)
    try:
        assert len(closed) == 40 * len(PARSERS)
        _check(closed, history, list(PARSERS))
    finally:
        engine.close()


def test_replay_by_workers_counting_slices(
    tmp_path: Path, history: list[Line], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(slices, "SLICE_BYTES", 8_000)
    closed, engine = _replay(tmp_path, 2)
    try:
        assert engine.store is not None and engine.store.precomputed_used > 40  # slices counted
        assert {pid for pid, _ in engine._counted} == {"Top", "Users"}
        _check(closed, history, list(PARSERS))
    finally:
        engine.close()


def test_replay_past_the_python_group_bound(
    tmp_path: Path, history: list[Line], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows with more groups than grouping.py counts go to SQL's GROUP BY."""
    monkeypatch.setattr(grouping, "MAX_GROUPS", 3)
    closed, engine = _replay(tmp_path, 0)
    try:
        _check(closed, history, list(PARSERS))
    finally:
        engine.close()


@pytest.mark.parametrize("workers", [0, 2])
def test_replay_of_a_window_of_more_than_50000_groups(
    tmp_path: Path, history: list[Line], monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    """The real bound, in one process and in workers (whose slice counting overflows):
    SQL answers the big window, the slices count the others, and both give the total."""
    monkeypatch.setattr(slices, "SLICE_BYTES", 8_000)
    _config(tmp_path, ["Top", "Users"])
    big = [(T0 + 40 * WINDOW + i % WINDOW, f"p{i}", 1 + i % 7) for i in range(50_010)]
    big += [(T0 + 40 * WINDOW, "home", uid) for uid in range(1, 6)]
    (tmp_path / "h" / "c.log").write_text(_text(big))
    closed, engine = _replay(tmp_path, workers)
    try:
        assert len(closed) == 2 * 41
        if workers:  # the slice counting overflowed there: a worker's SQL over the shards
            assert ("Top", T0 + 40 * WINDOW) not in engine._counted
            assert len(engine._counted) > 60
        _check(closed, history + big, ["Top", "Users"])
        top = next(ev for ev in closed if ev.parser == "Top" and ev.start == T0 + 40 * WINDOW)
        assert (top.total, top.groups, len(top.rows)) == (50_015, 1, 1)
    finally:
        engine.close()


def test_a_window_of_more_than_50000_groups(tmp_path: Path) -> None:
    """The real bound: SQL's GROUP BY answers, and its total counts the hidden groups."""
    (tmp_path / "h").mkdir()
    path = _config(tmp_path, ["Top"])
    p = load_config(path).parser("Top")
    n = grouping.MAX_GROUPS + 10
    store = Store(tmp_path / "s.db", [p])
    try:
        rows = [("us", T0, f"p{i}", i, "raw") for i in range(n)]
        rows += [("us", T0 + 1, "p0", 1, "raw")] * 5  # the one group shown
        store.write_batch({"Top": rows})
        agg = store.aggregate(p, T0, T0 + WINDOW)
        assert (agg.total, agg.groups, [r.amount for r in agg.rows]) == (n + 5, 1, [6])
        assert store.window_total(p, T0, T0 + WINDOW) == n + 5
    finally:
        store.close()


class _Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _wait(events: queue.Queue[Event], pred: Callable[[Event], bool], timeout: float = 10) -> Event:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            ev = events.get(timeout=0.1)
        except queue.Empty:
            continue
        if pred(ev):
            return ev
    raise AssertionError("no such event in time")


def test_live_closed_windows_and_the_open_total(tmp_path: Path) -> None:
    """Live: the console's open total (Store.window_total) and the closed window's total
    are the same whole-window figure."""
    pids = list(PARSERS)
    _config(tmp_path, pids, live=True)
    (tmp_path / "logs").mkdir()
    log = tmp_path / "logs" / "app.log"
    log.write_text("")
    clock = _Clock(T0 + 1)
    engine = Engine(load_config(tmp_path / "alser.toml"), clock=clock, stats_interval=0.02)
    events: queue.Queue[Event] = queue.Queue()
    engine.subscribe(events.put)
    engine.open()
    thread = threading.Thread(target=engine.run, daemon=True)
    thread.start()
    try:
        lines = _lines(random.Random(9), 3, 120)
        with log.open("a") as f:
            f.write(_text(lines))
        _wait(
            events,
            lambda e: isinstance(e, Stats) and e.parsers["Top"].parsed >= len(lines),
        )
        newest = T0 + 2 * WINDOW
        opened = engine.open_totals()
        for pid in pids:
            assert opened[pid] == (newest, _expected_totals(pid, lines)[newest][0]), pid
        clock.now = T0 + 3 * WINDOW + 2  # every window's end + lateness has passed
        closed: list[WindowClosed] = []
        while len(closed) < 3 * len(pids):
            ev = _wait(events, lambda e: isinstance(e, WindowClosed))
            assert isinstance(ev, WindowClosed)
            closed.append(ev)
        _check(closed, lines, pids)
    finally:
        engine.request_stop()
        thread.join(5)
