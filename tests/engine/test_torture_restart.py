"""Interruptions: a parser that raises, SIGTERM and kill -9 of the real command in the middle of
a heavy backlog. Restarted, the windows and alarms tables come out as an uninterrupted run
gives them, and every line is stored exactly once."""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from torture_support import BASE, Clock, Running, ev_parser

from alser_tui.engine.config import load_config
from alser_tui.engine.engine import Engine
from alser_tui.engine.parsers import Parser
from alser_tui.engine.store import Store

# --------------------------------------------------------------------------- a parser that raises

CRASH_CONFIG = (
    """
[storage]
dir = "var"

[engine]
lateness = 2
poll_interval = 0.02
glob_interval = 0.2

[[guards]]
tail_glob = "logs/*.log"
parsers = ["Ev", "Kind"]
"""
    + ev_parser()
    + """
[[parsers]]
id = "Kind"
kind = "regex"
window = 10
regex = '^(\\w+)'
group_by = ["kind"]

[[parsers.fields]]
name = "kind"
group = 1
"""
)


class Exploding(Parser):
    """Wraps a real parser; raises on the lines a bug would trip over."""

    def __init__(self, inner: Any) -> None:  # no config of its own: no super().__init__
        self.inner = inner
        self.drops = inner.drops
        self.reject_note = ""

    def parse(self, area: str, ts: int, msg: str) -> Any:
        if msg.startswith("BOOM"):
            raise ValueError(f"cannot handle {msg[:12]!r}")
        if msg.startswith("DEEP"):
            raise RecursionError("maximum recursion depth exceeded")
        return self.inner.parse(area, ts, msg)


def test_a_parser_raising_rejects_the_line_and_the_engine_goes_on(tmp_path: Path) -> None:
    (tmp_path / "alser.toml").write_text(CRASH_CONFIG)
    (tmp_path / "logs").mkdir()
    log = tmp_path / "logs" / "a.log"
    log.touch()

    def rig(engine: Engine) -> None:
        assert engine.processor is not None
        engine.processor.parsers["Ev"] = Exploding(engine.processor.parsers["Ev"])

    clock = Clock(BASE + 1)
    run = Running(tmp_path / "alser.toml", clock, prepare=rig)
    try:
        good = [f"us,{BASE + 1},A id={i}\n" for i in range(20)]
        bad = [f"us,{BASE + 2},BOOM id=1\n", f"us,{BASE + 2},DEEP id=2\n"] * 3
        with log.open("a") as f:
            f.write("".join(good[:10] + bad + good[10:]))
        st = run.stats_where(lambda s: s.parsers["Kind"].parsed == 26)
        ev = st.parsers["Ev"]
        assert (ev.parsed, ev.rejected, ev.crashed) == (20, 6, 6)
        assert ev.last_error == "RecursionError: maximum recursion depth exceeded"
        assert ev.last_reject == f"us,{BASE + 2},DEEP id=2"
        assert any(e.startswith("parser Ev: raised on 6 lines") for e in st.errors), st.errors
        # The other parser of the same guard saw every line; windows still close.
        clock.now = BASE + 20
        assert run.wait_window(BASE, parser="Ev").total == 20
        assert run.wait_window(BASE, parser="Kind").total == 26
        # And it keeps reading after the bad lines.
        with log.open("a") as f:
            f.write(f"us,{BASE + 21},A id=99\n")
        run.stats_where(lambda s: s.parsers["Ev"].parsed == 21)
    finally:
        run.stop()


# --------------------------------------------------------------------------- the real command

WINDOW = 60
WINDOWS = 24
FILES = 3

RESTART_CONFIG = f"""
[storage]
dir = "var"
keep_windows = 100000

[engine]
lateness = 2
poll_interval = 0.02
glob_interval = 0.2
batch_lines = 2000

[[guards]]
tail_glob = "logs/*.log"
parsers = ["Err", "Crit"]

[[parsers]]
id = "Err"
kind = "regex"
window = {WINDOW}
regex = '^(\\w+) id=(\\d+)'
group_by = ["area", "kind"]
limit = 4
beep_threshold = 400
abnormal_base = 50
abnormal_percent = 1.0

[[parsers.fields]]
name = "kind"
group = 1
[[parsers.fields]]
name = "id"
group = 2
type = "int"

[[parsers]]
id = "Crit"
kind = "regex"
window = {WINDOW}
regex = '^CRIT id=(\\d+)'
instant = "crit {{id}}"

[[parsers.fields]]
name = "id"
group = 1
type = "int"
"""


def write_backlog(logs: Path, base: int) -> int:
    """Time-ordered files with a threshold burst, an abnormal jump and instant lines."""
    rng = random.Random(11)
    n = 0
    handles = [(logs / f"s{i}.log").open("w") for i in range(FILES)]
    try:
        for w in range(WINDOWS):
            for sec in range(0, WINDOW, 2):
                ts = base + w * WINDOW + sec
                for h in handles:
                    out = []
                    for _ in range(rng.randint(20, 40)):
                        kind = rng.choice("ABCDE")
                        if w == 9 and rng.random() < 0.5:
                            kind = "Burst"  # one window over the threshold
                        if w in (5, 6) and rng.random() < (0.05 if w == 5 else 0.2):
                            kind = "Grow"  # an abnormal jump from one window to the next
                        if rng.random() < 0.002:
                            kind = "CRIT"
                        out.append(f"{rng.choice(('us', 'de'))},{ts},{kind} id={n}\n")
                        n += 1
                    h.write("".join(out))
    finally:
        for h in handles:
            h.close()
    return n


def prime(root: Path, data_dir: Path) -> None:
    """Say a run happened before, so the command reads the backlog from its start instead
    of starting at the end as a first run does."""
    config = load_config(root / "alser.toml")
    store = Store(data_dir / "alser.db", config.parsers)
    store.set_meta("live_started", "0")
    store.close()


def query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()
    except sqlite3.Error:
        return []


def counts(db: Path) -> tuple[int, int]:
    rows = query(db, 'SELECT (SELECT COUNT(*) FROM "ev_Err"), (SELECT COUNT(*) FROM windows)')
    return rows[0] if rows else (0, 0)


def wait_for(pred: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.02)  # another process's database: nothing to await but its state
    return False


def spawn(root: Path, data_dir: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "alser_tui", "-c", str(root / "alser.toml"), "--no-ui",
         "--data-dir", str(data_dir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip


def run_to_the_end(root: Path, data_dir: Path, lines: int) -> None:
    proc = spawn(root, data_dir)
    db = data_dir / "alser.db"
    try:
        done = wait_for(lambda: counts(db) == (lines, 2 * WINDOWS), 60)
        assert done, (counts(db), proc.poll())
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0


def outcome(db: Path) -> tuple[list[tuple[Any, ...]], Counter[tuple[Any, ...]], Counter[int]]:
    windows = query(db, "SELECT parser, start, end, total, groups, rows FROM windows ORDER BY 1, 2")
    alarms = Counter(
        query(db, "SELECT parser, kind, severity, amount, grp, start, end, ts, text FROM alarms")
    )
    ids = Counter(r[0] for r in query(db, 'SELECT id FROM "ev_Err"'))
    return windows, alarms, ids


@pytest.fixture(scope="module")
def backlog(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, Any]:
    """The logs and the outcome of one uninterrupted run over them (shared: it is slow)."""
    root = tmp_path_factory.mktemp("restart")
    (root / "alser.toml").write_text(RESTART_CONFIG)
    logs = root / "logs"
    logs.mkdir()
    ref = root / "ref"
    prime(root, ref)
    base = (int(time.time()) // 86400 - 2) * 86400  # two days ago: every window can close
    lines = write_backlog(logs, base)
    run_to_the_end(root, ref, lines)
    return root, lines, outcome(ref / "alser.db")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "kill-9"])
def test_interrupted_under_load_then_restarted_equals_one_run(
    backlog: tuple[Path, int, Any], sig: signal.Signals
) -> None:
    root, lines, (ref_windows, ref_alarms, ref_ids) = backlog
    # What the uninterrupted run gave: the scenario is really in the data.
    assert len(ref_windows) == 2 * WINDOWS and ref_ids == Counter(range(lines))
    kinds = Counter(k for _, k, *_ in ref_alarms.elements())
    assert kinds["threshold"] >= 1 and kinds["abnormal"] >= 1 and kinds["instant"] >= 5, kinds

    data = root / f"run-{sig.name}"
    prime(root, data)
    db = data / "alser.db"
    proc = spawn(root, data)
    try:
        assert wait_for(lambda: counts(db)[0] > lines // 4, 60), counts(db)
        proc.send_signal(sig)
        t0 = time.monotonic()
        code = proc.wait(10)
        stopped_in = time.monotonic() - t0
    finally:
        proc.kill()
    at_stop = counts(db)
    assert at_stop[0] < lines, "the signal came too late to prove anything"
    if sig == signal.SIGTERM:
        assert code == 0 and stopped_in < 5, (code, stopped_in)
        assert proc.stderr is not None and b"done (stopped)" in proc.stderr.read()
    run_to_the_end(root, data, lines)

    windows, alarms, ids = outcome(db)
    assert ids == ref_ids  # every line once
    assert windows == ref_windows
    assert alarms == ref_alarms
    assert at_stop[1] < 2 * WINDOWS  # the second run had windows to close
    grp = json.loads(next(a for a in alarms if a[1] == "threshold")[4])
    assert grp["kind"] == "Burst"
