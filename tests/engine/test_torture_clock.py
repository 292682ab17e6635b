"""Times that lie: lines from far in the future or the past, seconds and milliseconds mixed,
a server whose clock is wrong, the engine's own clock jumping. None is silently dropped: each
line is stored, or counted late, future or malformed where the console and --tick show it."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from torture_support import (
    BASE,
    Clock,
    Ids,
    Lines,
    Running,
    assert_exactly_once,
    rows_in,
    wait_for,
    wait_started,
    write_config,
)

from alser_tui.engine.events import WindowClosed
from alser_tui.headless import HeadlessPrinter

YEAR = 365 * 86400


def db(root: Path) -> Path:
    return root / "var" / "alser.db"


def test_odd_times_are_stored_or_counted_never_dropped(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    log = tmp_path / "logs" / "a.log"
    log.touch()
    clock = Clock(BASE + 1)
    run = Running(config, clock)
    try:
        ids = Ids()
        ids.append(log, 3, ts=BASE + 1)
        with log.open("a") as f:
            # Milliseconds beside seconds, a fractional second: the same window.
            f.write(f"us,{(BASE + 2) * 1000 + 999},A id=100\n")
            f.write(f"us,{BASE + 3}.75,A id=101\n")
            # Ten years ahead (a clock set wrong), and 1970.
            f.write(f"us,{BASE + 10 * YEAR},A id=102\n")
            f.write("us,1,A id=103\n")
            # Not times at all: negative, and past what SQLite integers hold.
            f.write("us,-5,A id=104\n")
            f.write(f"us,{10**30},A id=105\n")
        ids.written += [100, 101, 102, 103]
        st = run.wait_parsed(7)
        assert st.malformed == 2
        assert st.parsers["Ev"].future == 1
        # The open window is the clock's, not the one ten years ahead.
        opened = run.engine.open_window("Ev")
        assert opened is not None and opened[0] == BASE and opened[2].total == 5
        # 1970 came before anything closed: it makes its own window, closed at once.
        w1970 = run.wait_window(0)
        assert w1970.total == 1
        clock.now = BASE + 20
        ev = run.wait_window(BASE)
        assert ev.total == 5  # seconds, milliseconds and the fraction together
        # Now a line for that closed window, and one for 1970 again: late, stored, counted.
        ids.append(log, 1, ts=BASE + 5)
        with log.open("a") as f:
            f.write("us,2,A id=106\n")
        ids.written.append(106)
        st = run.stats_where(lambda s: s.parsers["Ev"].late == 2)
        assert st.parsed == 9
        # The window ten years ahead holds nothing back and never closed early.
        assert not [e for e in run.seen if isinstance(e, WindowClosed) and e.start > BASE]
    finally:
        run.stop()
    # 1970's row was counted in its window, then left with the windows kept for drill-down
    # (storage.keep_windows) when a later window closed; the other rows are all there.
    assert_exactly_once(db(tmp_path), [i for i in ids.written if i != 103])


def test_future_lines_neither_close_nor_hold_windows(tmp_path: Path) -> None:
    # batch 10: the first read of the backlog ends on its future line.
    config = write_config(tmp_path, batch=10)
    logs = tmp_path / "logs"
    clock = Clock(BASE + 5)
    run = Running(config, clock)
    try:
        ids = Ids()
        # A file read to its end whose last line is a year ahead: it must not keep windows
        # open (the watermark is the clock) nor let them close before their time.
        ids.append(logs / "caught-up.log", 2, ts=BASE + 1)
        ids.append(logs / "caught-up.log", 1, ts=BASE + YEAR)
        run.wait_parsed(3)
        for _ in range(3):  # a few engine loops (stats come after the closing step)
            run.stats_where(lambda s: True)
        assert not [e for e in run.seen if isinstance(e, WindowClosed)]
        clock.now = BASE + 13
        assert run.wait_window(BASE).total == 2
        # A backlog whose first read ends on a future line: the file's progress stays at its
        # last sound line, so the next window waits for the rest of the backlog.
        backlog = logs / "backlog.log"
        with backlog.open("a") as f:
            f.write(ids.lines(9, BASE + 11) + ids.lines(1, BASE + YEAR))
            f.write(ids.lines(300, BASE + 12))
        clock.now = BASE + 40
        ev = run.wait_window(BASE + 10)
        assert ev.total == 309
        st = run.stats_where(lambda s: s.parsed == 313)
        assert st.late == 0
    finally:
        run.stop()
    assert_exactly_once(db(tmp_path), ids.written)


def test_engine_clock_jumping_back_and_forth(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    log = tmp_path / "logs" / "a.log"
    log.touch()
    clock = Clock(BASE + 1)
    run = Running(config, clock)
    try:
        ids = Ids()
        ids.append(log, 4, ts=BASE + 1)
        run.wait_parsed(4)
        clock.now = BASE + 3601  # NTP steps the clock an hour ahead
        assert run.wait_window(BASE).total == 4
        ids.append(log, 3, ts=BASE + 3601)
        run.wait_parsed(7)
        clock.now = BASE + 1  # and back: the windows closed meanwhile stay closed
        ids.append(log, 5, ts=BASE + 2)
        st = run.stats_where(lambda s: s.parsed == 12)
        assert st.late == 5  # every line of the hour already passed: late, not lost
        clock.now = BASE + 3620
        assert run.wait_window(BASE + 3600).total == 3
    finally:
        run.stop()
    assert_exactly_once(db(tmp_path), ids.written)


def test_a_server_with_a_wrong_clock_gets_a_skew_warning(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    logs = tmp_path / "logs"
    for name in ("good", "slow", "ahead"):
        (logs / f"{name}.log").touch()
    now = BASE + 30 * 86400
    clock = Clock(now)
    run = Running(config, clock)
    offsets = {"good": 0, "slow": -2 * 3600, "ahead": int(5.5 * 3600)}  # local time as UTC
    ids = Ids()
    try:
        for k in range(6):  # several reads that each reach the end: a consistent skew
            for name, off in offsets.items():
                ids.append(logs / f"{name}.log", 3, ts=now + off + k)
            run.wait_parsed(len(ids.written))
        st = run.stats_where(lambda s: len(s.warnings) == 2)
        skews = {Path(f.path).stem: f.skew for f in st.files}
        assert skews["good"] is None
        assert skews["slow"] is not None and abs(skews["slow"] + 7200) <= 10
        assert skews["ahead"] is not None and abs(skews["ahead"] - 19800) <= 10
        text = " | ".join(st.warnings)
        assert "slow.log: line times 2.0 h behind the clock" in text
        assert "ahead.log: line times 5.5 h ahead of the clock" in text
        # Neither is dropped: the slow one's lines are late, the fast one's are future.
        assert st.parsed == len(ids.written) and st.late > 0
        assert st.parsers["Ev"].future == 18
        line = HeadlessPrinter.progress_line(st)
        assert "future 18" in line and "slow.log: line times 2.0 h behind" in line
        # The clock is put right: the warning goes once the recent reads agree again.
        for k in range(6):
            ids.append(logs / "slow.log", 1, ts=now + 10 + k)
            run.wait_parsed(len(ids.written))
        st = run.stats_where(lambda s: len(s.warnings) == 1)
        assert "ahead.log" in st.warnings[0]
    finally:
        run.stop()
    assert_exactly_once(db(tmp_path), ids.written)


def test_skew_warning_on_stderr_of_the_command(tmp_path: Path) -> None:
    write_config(tmp_path)
    log = tmp_path / "logs" / "old-clock.log"
    log.touch()
    proc = subprocess.Popen(
        [sys.executable, "-m", "alser_tui", "-c", str(tmp_path / "alser.toml"), "--no-ui",
         "--tick", "0.5"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    err = Lines(proc.stderr)
    try:
        assert wait_started(db(tmp_path))
        for k in range(1, 7):  # one line at a time, each read to the end: a sample per read
            with log.open("a") as f:
                f.write(f"us,{int(time.time()) - 3 * 3600},A id={k}\n")
            assert wait_for(lambda k=k: rows_in(db(tmp_path)) == k)
        line = err.wait("alser-tui: warning:")
        assert "old-clock.log: line times 3.0 h behind the clock" in line, line
        tick = err.wait("] lines 6 ")
        assert "old-clock.log: line times 3.0 h behind the clock" in tick, tick
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
