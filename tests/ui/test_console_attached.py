"""Consoles attached to a real guard process: two at once, an ack in one shows in the other,
quitting one leaves the guard guarding and delivering, a restarted guard is found again,
and no alarm reaches the channel twice."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from console_support import wait_for
from textual.pilot import Pilot

from alser_tui.engine.config import load_config
from alser_tui.guard.client import GuardClient
from alser_tui.guard.server import socket_path
from alser_tui.ui.app import AlserApp
from alser_tui.ui.widgets.status_line import StatusLine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "notify"))
from notify_support import HttpServer  # the delivery tests' webhook sink

SIZE = (140, 40)
CONFIG = """
[storage]
dir = "var"

[engine]
lateness = 1
poll_interval = 0.02
glob_interval = 0.2

[[guards]]
tail_glob = "logs/*.log"
parsers = ["Ev"]

[[parsers]]
id = "Ev"
kind = "regex"
window = 2
regex = '^(\\w+) id=(\\d+)'
group_by = ["kind"]
beep_threshold = 5

[[parsers.fields]]
name = "kind"
group = 1
[[parsers.fields]]
name = "id"
group = 2
type = "int"

[delivery]
catch_up = false

[channels.hook]
type = "webhook"
url = "{url}"
"""


class Guard:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.conf = root / "alser.toml"
        self.proc: subprocess.Popen[bytes] | None = None
        self.n = 0

    def start(self) -> None:
        cmd = [sys.executable, "-m", "alser_tui", "-c", str(self.conf), "--no-ui"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        path = socket_path(self.root / "var")
        while True:
            try:
                GuardClient(path).close()
                return
            except ConnectionError:
                assert time.monotonic() < deadline, "the guard did not come up"
                time.sleep(0.05)  # another process coming up: nothing to await but it

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            assert self.proc.wait(20) == 0

    def burst(self, kind: str, n: int = 7) -> None:
        """Lines of now, over the threshold: their window closes within 3 s."""
        ts = int(time.time())
        with (self.root / "logs" / "app.log").open("a") as f:
            for _ in range(n):
                f.write(f"us,{ts},{kind} id={self.n}\n")
                self.n += 1


@pytest.fixture
def hook() -> Iterator[HttpServer]:
    server = HttpServer()
    yield server
    server.close()


@pytest.fixture
def guard(tmp_path: Path, hook: HttpServer) -> Iterator[Guard]:
    (tmp_path / "alser.toml").write_text(CONFIG.replace("{url}", hook.url))
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "app.log").touch()
    g = Guard(tmp_path)
    g.start()
    yield g
    g.stop()


def console(g: Guard) -> AlserApp:
    config = load_config(g.conf)
    return AlserApp(config, guard=GuardClient(socket_path(config.data_dir)), desktop=False)


def alarms_of(app: AlserApp, kind: str) -> list:
    return [e for e in app.model.alarms if e.alarm.group.get("kind") == kind]


def status(app: AlserApp) -> str:
    return app.main.query_one(StatusLine).plain


def posted(hook: HttpServer) -> list[str]:
    """The kinds (group values) of the alarms the channel was sent, one per POST."""
    with hook.cond:
        docs = [r["json"] for r in hook.requests]
    return [d["alarm"]["group"]["kind"] for d in docs if d.get("type") == "alarm"]


async def test_two_consoles_one_guard(guard: Guard, hook: HttpServer) -> None:
    one, two = console(guard), console(guard)
    async with one.run_test(size=SIZE) as p1:
        async with two.run_test(size=SIZE) as p2:
            guard.burst("Boom")
            await wait_for(p1, lambda: bool(alarms_of(one, "Boom")), 20)
            await wait_for(p2, lambda: bool(alarms_of(two, "Boom")), 20)
            assert guard.proc is not None
            await wait_for(p2, lambda: f"attached to guard pid {guard.proc.pid}" in status(two))

            # An ack in one console: stored by the guard, shown in the other at once.
            one.ack(alarms_of(one, "Boom")[0].seq)
            await wait_for(p2, lambda: alarms_of(two, "Boom")[0].acked, 5)
            con = sqlite3.connect(guard.root / "var" / "delivery.db")
            assert [k for (k,) in con.execute("SELECT key FROM acks") if "Boom" in k]
            con.close()
        # The second console quit: the guard guards on and delivers, the first hears it.
        assert guard.proc.poll() is None
        guard.burst("Bang")
        await wait_for(p1, lambda: bool(alarms_of(one, "Bang")), 20)
        await wait_for(p1, lambda: "Bang" in posted(hook), 10)

        # The guard restarts under the console: it says so, then finds the new one.
        old = guard.proc.pid
        guard.stop()
        await wait_for(p1, lambda: "reconnecting" in status(one), 10)
        guard.start()
        await wait_for(p1, lambda: f"attached to guard pid {guard.proc.pid}" in status(one), 15)
        assert guard.proc.pid != old
        guard.burst("Zap")
        await wait_for(p1, lambda: bool(alarms_of(one, "Zap")), 20)
        # The backlog of the new guard brought the old alarms again: each is shown once.
        assert len(alarms_of(one, "Boom")) == 1 and len(alarms_of(one, "Bang")) == 1
        assert alarms_of(one, "Boom")[0].acked
        # Each alarm reached the channel once, across the consoles and the restart.
        await wait_for(p1, lambda: "Zap" in posted(hook), 10)
        assert sorted(posted(hook)) == ["Bang", "Boom", "Zap"]
    await p1_exit_clean(p1)


async def p1_exit_clean(pilot: Pilot) -> None:
    """The console has quit; nothing of it is left running."""
    assert not pilot.app.is_running
