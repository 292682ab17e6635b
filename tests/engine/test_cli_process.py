"""The real command in a child process: SIGTERM flushes and exits 0, the lock, --tick, --json."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

CONFIG = """
[storage]
dir = "var"

[engine]
poll_interval = 0.05
glob_interval = 0.2

[[guards]]
tail_glob = "logs/*.log"
parsers = ["Ev"]

[[parsers]]
id = "Ev"
kind = "json"
window = 5
group_by = ["area", "what"]
instant = "seen {what}"

[[parsers.fields]]
name = "what"
"""


def spawn(root: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "alser_tui", "-c", str(root / "alser.toml"), "--no-ui", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=root,
    )


def read_json_until(proc: subprocess.Popen[str], count: int, timeout: float = 20) -> list[dict]:
    """Read JSON lines from the child until `count` instant alarms arrived (bounded)."""
    assert proc.stdout is not None
    out: list[dict] = []
    deadline = time.monotonic() + timeout
    while sum(1 for o in out if o.get("kind") == "instant") < count:
        assert time.monotonic() < deadline, f"only {out}"
        line = proc.stdout.readline()
        assert line, f"child ended early: {proc.stderr.read() if proc.stderr else ''}"
        out.append(json.loads(line))
    return out


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "alser.toml").write_text(CONFIG)
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a.log").touch()
    return tmp_path


def write(root: Path, what: list[str]) -> None:
    now = int(time.time())
    with (root / "logs" / "a.log").open("a") as f:
        for w in what:
            f.write(f'us,{now},{{"what": "{w}"}}\n')


def wait_started(root: Path, timeout: float = 20) -> None:
    """The child records its start positions before it reads: wait for that (bounded)."""
    db = root / "var" / "alser.db"
    deadline = time.monotonic() + timeout
    import sqlite3

    while time.monotonic() < deadline:
        if db.exists():
            try:
                con = sqlite3.connect(db)
                ok = con.execute("SELECT value FROM meta WHERE key='live_started'").fetchone()
                con.close()
                if ok:
                    return
            except sqlite3.Error:
                pass
        time.sleep(0.05)  # polling a file another process writes: no event to await
    raise AssertionError("child did not start")


def test_sigterm_flushes_and_restart_resumes(root: Path) -> None:
    proc = spawn(root, "--json")
    try:
        wait_started(root)
        write(root, ["a", "b"])
        first = read_json_until(proc, 2)
        assert [o["group"]["what"] for o in first if o["kind"] == "instant"] == ["a", "b"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        assert "done (stopped)" in (proc.stderr.read() if proc.stderr else "")
    finally:
        proc.kill()
    write(root, ["c"])  # while nothing runs
    proc2 = spawn(root, "--json")
    try:
        second = read_json_until(proc2, 1)
        # Only the new line: nothing lost, nothing read twice.
        assert [o["group"]["what"] for o in second if o["kind"] == "instant"] == ["c"]
        proc2.send_signal(signal.SIGINT)
        assert proc2.wait(10) == 0
    finally:
        proc2.kill()


def test_second_instance_on_same_data_dir_exits_1(root: Path) -> None:
    proc = spawn(root)
    try:
        wait_started(root)
        other = subprocess.run(
            [sys.executable, "-m", "alser_tui", "-c", str(root / "alser.toml"), "--no-ui"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert other.returncode == 1
        assert f"another alser-tui (pid {proc.pid}) is using" in other.stderr
        assert other.stderr.count("\n") == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)


def test_tick_progress_line(root: Path) -> None:
    proc = spawn(root, "--tick", "0.2")
    try:
        wait_started(root)
        write(root, ["x"] * 3)
        assert proc.stderr is not None
        deadline = time.monotonic() + 20
        line = ""
        while "lines 3 " not in line:
            assert time.monotonic() < deadline
            line = proc.stderr.readline()
        assert re.search(
            r"lines 3 \([\d,]+/s\) parsed 3 rejected 0 late 0 malformed 0 files 1 rss [\d.]+ MB",
            line,
        ), line
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)


def test_usage_error_exits_2() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "alser_tui", "--tick", "x"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 2 and "invalid float value" in r.stderr
    v = subprocess.run(
        [sys.executable, "-m", "alser_tui", "--version"], capture_output=True, text=True, timeout=30
    )
    assert v.returncode == 0 and v.stdout.startswith("alser-tui ")


def test_the_stop_handler_never_waits_for_the_lock_its_thread_holds() -> None:
    """A signal that lands while the main thread is inside Event.wait() on the engine's
    stop event (holding its lock for a moment) must still stop the engine: the handler
    runs on that thread, so it must not take the lock itself (it once deadlocked)."""
    from alser_tui.cli import stop_handler

    class FakeEngine:
        def __init__(self) -> None:
            self.stop_event = threading.Event()

        def request_stop(self) -> None:
            self.stop_event.set()

    engine = FakeEngine()
    handler = stop_handler(engine)
    cond = engine.stop_event._cond  # type: ignore[attr-defined]

    def interrupted_wait() -> None:
        with cond:  # as Event.wait() holds it when the signal arrives
            handler(signal.SIGINT, None)  # the old handler never returned from here

    waiter = threading.Thread(target=interrupted_wait, daemon=True)
    waiter.start()
    waiter.join(5)
    assert not waiter.is_alive()
    assert engine.stop_event.wait(5)


def run_cli(root: Path, *args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """The command as a user types it (no --no-ui added), bounded: a console that hangs
    fails the test instead of the suite."""
    return subprocess.run(
        [sys.executable, "-m", "alser_tui", "-c", str(root / "alser.toml"), *args],
        capture_output=True,
        text=True,
        timeout=20,
        cwd=root,
        **kwargs,  # type: ignore[arg-type]
    )


def test_console_without_a_terminal_exits_2_with_a_hint(root: Path) -> None:
    # Started from cron, a pipe or `ssh host alser-tui`: no terminal to draw on or read keys
    # from (it used to spin a core forever on the closed input).
    r = run_cli(root, stdin=subprocess.DEVNULL)
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and "--no-ui" in r.stderr and "terminal" in r.stderr
    assert r.stdout == "" and not (root / "var" / "alser.db").exists()


def test_json_without_no_ui_exits_2_even_on_a_terminal(root: Path) -> None:
    import os
    import pty

    leader, follower = pty.openpty()
    try:
        r = run_cli(root, "--json", stdin=follower)
    finally:
        os.close(follower)
        os.close(leader)
    assert r.returncode == 2, r.stderr
    assert r.stderr == "alser-tui: --json is headless output: add --no-ui (or --history)\n"


def test_negative_workers_is_a_usage_error(root: Path) -> None:
    r = run_cli(root, "--no-ui", "--history", "--workers", "-1")
    assert r.returncode == 2
    assert "argument --workers: must be 0 or more, got -1" in r.stderr
