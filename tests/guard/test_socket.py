"""The guard's socket with a real guard process: what a console hears and may ask, and
`alser-tui status`."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from torture_support import CONFIG, Ids, ev_parser, rows_in, wait_for, wait_started

from alser_tui.guard.client import GuardClient, GuardGone
from alser_tui.guard.server import socket_path
from alser_tui.guard.wire import decode

THRESHOLD = """
beep_threshold = 5
"""


@pytest.fixture
def guard(tmp_path: Path) -> Iterator[tuple[Path, subprocess.Popen[str]]]:
    conf = tmp_path / "alser.toml"
    parser = ev_parser().replace('group_by = ["kind"]', 'group_by = ["kind"]' + THRESHOLD)
    conf.write_text(CONFIG.format(glob="logs/*.log", batch=10_000) + parser)
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "app.log").touch()
    cmd = [sys.executable, "-m", "alser_tui", "-c", str(conf), "--no-ui"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_started(tmp_path / "var" / "alser.db"), proc
        assert wait_for(lambda: socket_path(tmp_path / "var").exists())
        yield tmp_path, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(20)


def status(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "alser_tui", "status", "-c", str(root / "alser.toml"), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30)


def test_a_console_hears_the_guard_and_its_ack_reaches_it(
    guard: tuple[Path, subprocess.Popen[str]],
) -> None:
    root, proc = guard
    path = socket_path(root / "var")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o660
    client = GuardClient(path)
    assert client.hello["pid"] == proc.pid
    msgs = client.messages()
    assert next(m for m in msgs if m["type"] == "caught_up")
    ids = Ids()
    now = int(time.time()) // 10 * 10 - 20  # a window the clock has passed: it closes now
    ids.append(root / "logs" / "app.log", 7, ts=now, kind="Boom")
    raised = None
    deadline = time.monotonic() + 20
    while raised is None and time.monotonic() < deadline:
        m = next(msgs)
        if m["type"] == "event" and m["event"]["@"] == "AlarmRaised":
            raised = decode(m["event"])
    assert raised is not None and raised.alarm.group == {"kind": "Boom"}
    assert raised.alarm.amount == 7 and raised.id is not None

    # An ack from this console: stored by the guard, announced to every console.
    other = GuardClient(path)
    other_msgs = other.messages()
    assert next(m for m in other_msgs if m["type"] == "caught_up")
    assert client.send("ack", alarms=[m["event"]["alarm"]]) > 0
    reply = next(m for m in msgs if m["type"] == "reply")
    assert reply["ok"] and reply["result"] == 1, reply
    assert next(m for m in other_msgs if m["type"] == "delivery_changed")
    acks = other.ask("delivery")["acks"]
    assert acks and "Boom" in acks[0]
    client.close()
    other.close()

    # A console attaching later is shown what it missed (marked as past: no bell).
    late = GuardClient(path)
    seen = []
    for m in late.messages():
        if m["type"] == "caught_up":
            break
        seen.append(m)
    past = [decode(m["event"]) for m in seen if m.get("past") and m["event"]["@"] == "AlarmRaised"]
    windows = [decode(m["event"]) for m in seen if m["event"].get("@") == "WindowClosed"]
    assert [w.parser for w in windows] == ["Ev"]  # its last window: which alarms still fire
    assert [a.alarm.group for a in past] == [{"kind": "Boom"}]
    late.close()
    assert rows_in(root / "var" / "alser.db") == 7


def test_status_says_how_the_guard_is_and_exits_like_is_active(
    guard: tuple[Path, subprocess.Popen[str]],
) -> None:
    root, proc = guard
    assert wait_for(lambda: "reading" in status(root).stdout)
    done = status(root)
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0]
    assert first.startswith(f"guard pid {proc.pid} · up ") and "running" in first
    assert "sources 1 · 0 B behind" in done.stdout
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 0
    assert not socket_path(root / "var").exists()
    gone = status(root)
    assert gone.returncode == 1 and "no guard running" in gone.stdout
    with pytest.raises(GuardGone):
        GuardClient(socket_path(root / "var"))


def test_a_console_without_read_access_asks_the_guard_the_same_answers(
    guard: tuple[Path, subprocess.Popen[str]],
) -> None:
    from alser_tui.engine.config import load_config
    from alser_tui.link.remote import RemoteEngine

    root, _proc = guard
    config = load_config(root / "alser.toml")
    now = int(time.time()) // 10 * 10 - 20
    Ids().append(root / "logs" / "app.log", 7, ts=now, kind="Boom")
    path = socket_path(root / "var")
    reads = RemoteEngine(config, GuardClient(path))
    reads.open()  # reads the guard's database itself
    asks = RemoteEngine(config, GuardClient(path))  # never opened: asks over the socket
    try:
        assert wait_for(lambda: bool(reads.recent_windows("Ev")))
        for remote in (reads, asks):
            remote.runs["Ev"].max_ts = now
        assert asks.store is None and reads.store is not None
        assert asks.recent_windows("Ev") == reads.recent_windows("Ev")
        assert asks.window_of("Ev", now) == reads.window_of("Ev", now)
        assert asks.window_of("Ev", now).total == 7
        assert asks.events_of("Ev", now, now + 10, {"kind": "Boom"}) == reads.events_of(
            "Ev", now, now + 10, {"kind": "Boom"}
        )
        assert len(asks.events_of("Ev", now, now + 10)) == 7
    finally:
        for remote in (reads, asks):
            remote.request_stop()
            remote.close()
