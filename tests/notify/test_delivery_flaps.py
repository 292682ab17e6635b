"""Resolve / realert flaps: a group over the threshold in every window is one alarm ("new")
and never resolved; a real gap still resolves it.

Resolution is judged in event time, by the windows the engine closed or says passed, never
by the wall clock: that runs ahead of the engine closing the next window, so the delivery
thread's timer resolved a group that fires in every window just before its next window
closed (and it fired anew: new -> resolved -> new).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from notify_support import HttpServer, wait_for

from alser_tui.engine.config import load_config
from alser_tui.engine.engine import Engine
from alser_tui.engine.notify.manager import Delivery

CONFIG = """
[storage]
dir = "var"

[engine]
lateness = {lateness}
poll_interval = 0.02
glob_interval = 0.2

[[guards]]
tail_glob = "logs/app.*.log"
parsers = ["Err"]

[[parsers]]
id = "Err"
kind = "regex"
window = {window}
regex = '^(\\w+) code=(\\d+)'
group_by = ["kind"]
beep_threshold = 2
abnormal_base = 100000  # a partial first window then a full one is not a flap

[[parsers.fields]]
name = "kind"
group = 1
[[parsers.fields]]
name = "code"
group = 2
type = "int"

[channels.hook]
type = "webhook"
url = "{url}"
send_resolved = true
retry_min = 0.2

[delivery]
realert = "1h"
catch_up = false
"""


def kinds(http: HttpServer) -> list[str]:
    """'new threshold A' / 'realert ...' / 'resolved ...' per webhook post, in order."""
    out = []
    for r in http.requests:
        doc = r["json"]
        a = doc["alarm"]
        what = doc.get("reason", "new") if doc["type"] == "alarm" else doc["type"]
        out.append(f"{what} {a['kind']} {a['group']['kind']}")
    return out


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def site(tmp_path: Path, http: HttpServer) -> Iterator[tuple[Path, HttpServer]]:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "app.1.log").touch()
    yield tmp_path, http


def test_the_delivery_timer_before_the_engine_closes_a_window_is_no_flap(site: Any) -> None:
    """The interleaving that flapped, made every time: the engine (real files, real
    SQLite) is stepped by the test as its run loop does, and the delivery's timer runs
    first at the very moment a window may close, before the engine's next pass."""
    root, http = site
    (root / "alser.toml").write_text(CONFIG.format(window=10, lateness=1, url=http.url))
    config = load_config(root / "alser.toml")
    log = root / "logs" / "app.1.log"
    base = 1_800_000_000
    clock = Clock(base)
    engine = Engine(config, clock=clock)
    delivery = Delivery(config, clock=clock)
    engine.subscribe(delivery)
    engine.open()
    delivery.start(threads=False)

    def timer() -> None:  # the dispatcher's own tick, on its interval
        delivery.tick()
        delivery.pump()

    def engine_pass() -> None:  # one turn of Engine.run()'s loop, then delivery handles it
        engine.step()
        engine.close_due_windows(clock())
        engine.emit(engine.stats())
        delivery.drain_events()
        timer()

    def second(k: int, *groups: str) -> None:
        """1 s into window k (when window k - 1 may close): its first lines arrive."""
        clock.now = base + 10 * k + 1
        with log.open("a") as f:
            f.write(
                "".join(f"us,{base + 10 * k + 1},{g} code={i}\n" for g in groups for i in range(3))
            )
        timer()
        engine_pass()

    try:
        for k in range(11):  # windows 0..9 closed, each with A over the threshold
            second(k, "A")
        assert kinds(http) == ["new threshold A"]
        assert len(delivery.lifecycle.firing()) == 1

        # A real gap: window 11 without A (B instead) resolves A when it closes.
        second(11, "B")
        second(12, "B")
        assert kinds(http) == ["new threshold A", "resolved threshold A", "new threshold B"]

        # The parser falls silent: no window closes any more, and the windows that pass
        # without rows resolve B, in event time, once the engine says they passed.
        clock.now = base + 10 * 13 + 1  # window 12 closes (B), window 13 has no rows
        timer()
        engine_pass()
        assert kinds(http)[-1] == "new threshold B" and len(kinds(http)) == 3
        clock.now = base + 10 * 14 + 1  # window 13 passed empty
        timer()
        assert len(kinds(http)) == 3  # the timer alone resolves nothing
        engine_pass()
        assert kinds(http)[-1] == "resolved threshold B"
        assert len(delivery.lifecycle.firing()) == 0
    finally:
        engine.close()
        delivery.stop(timeout=5)


def test_every_window_over_threshold_for_ten_windows_live(site: Any) -> None:
    """A real `alser-tui --no-ui`, a real clock, lines written as they happen."""
    root, http = site
    (root / "alser.toml").write_text(CONFIG.format(window=1, lateness=1, url=http.url))
    log = root / "logs" / "app.1.log"
    cmd = [sys.executable, "-m", "alser_tui", "-c", str(root / "alser.toml"), "--no-ui", "--json"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    windows: list[dict[str, Any]] = []
    reader = threading.Thread(
        target=lambda: windows.extend(
            w
            for line in p.stdout
            if (w := json.loads(line))["type"] == "window"  # type: ignore[union-attr]
        ),
        daemon=True,
    )
    reader.start()
    stop = threading.Event()

    def write() -> None:
        # A log server's stream: a few lines of group A every 50 ms, stamped as they happen.
        n = 0
        while not stop.is_set():
            with log.open("a") as f:
                f.write(f"us,{int(time.time())},A code={n}\n")
            n += 1
            stop.wait(0.05)

    writer = threading.Thread(target=write, daemon=True)
    try:
        writer.start()  # (the file is empty: starting at its end misses nothing)
        wait_for(lambda: len(windows) >= 11, 30, "eleven windows to close")
    finally:
        stop.set()
        writer.join(5)
        p.send_signal(signal.SIGTERM)
        p.wait(20)
        reader.join(5)
    over = [w for w in windows if w["rows"] and w["rows"][0]["amount"] >= 2]
    assert len(over) >= 10, windows
    assert kinds(http) == ["new threshold A"], kinds(http)
