"""A listening guard end to end: syslog pushed by `logger` and by a Python client is windowed
like tailed lines, connections show in Stats, and the spool replays with --history."""

from __future__ import annotations

import json
import queue
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from alser_tui.cli import main
from alser_tui.engine.config import ConfigError, load_config, parse_config
from alser_tui.engine.engine import Engine
from alser_tui.engine.events import Event, Finished, Stats, WindowClosed

BASE = 1_800_000_000
WAIT = 10.0

CONFIG = """
[storage]
dir = "var"

[engine]
lateness = 2
poll_interval = 0.02
glob_interval = 0.2

[[guards]]
listen = "syslog+tcp://127.0.0.1:{port}"
program = "app"
spool_dir = "spool"
parsers = ["Err"]

[[parsers]]
id = "Err"
kind = "regex"
window = 10
regex = '^(\\w+) code=(\\d+)'
group_by = ["kind"]

[[parsers.fields]]
name = "kind"
group = 1
[[parsers.fields]]
name = "code"
group = 2
type = "int"
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def wait_event(events: queue.Queue[Event], pred: Callable[[Event], bool]) -> Event:
    deadline = time.monotonic() + WAIT
    while True:
        left = deadline - time.monotonic()
        assert left > 0, "no matching event in time"
        try:
            ev = events.get(timeout=left)
        except queue.Empty:
            continue
        if pred(ev):
            return ev


def send_syslog(port: int, program: str, lines: list[str]) -> None:
    if shutil.which("logger"):
        for line in lines:
            subprocess.run(
                ["logger", "--server", "127.0.0.1", "--port", str(port), "--tcp", "--rfc5424",
                 "-t", program, line],
                check=True,
                timeout=WAIT,
            )  # fmt: skip
        return
    print("logger(1) not found: sending its RFC 5424 frames from Python")
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as c:
        for line in lines:
            c.sendall(f"<13>1 2026-11-25T10:00:00Z vm {program} - - - {line}\n".encode())


def test_listen_guard_windows_stats_and_spool_replay(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    (tmp_path / "alser.toml").write_text(CONFIG.replace("{port}", str(port)))
    config = load_config(tmp_path / "alser.toml")
    assert config.guards[0].history_glob == "spool/app.*.log"  # the spool replays by default
    clock = Clock(BASE + 1)
    engine = Engine(config, clock=clock, stats_interval=0.02)
    events: queue.Queue[Event] = queue.Queue()
    engine.subscribe(events.put)
    engine.open()
    thread = threading.Thread(target=engine.run, daemon=True)
    thread.start()
    try:
        send_syslog(port, "app", [f"us,{BASE + 1},Timeout code={i}" for i in range(3)])
        send_syslog(port, "noise", [f"us,{BASE + 1},Timeout code=99"])  # another program
        with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as c:
            frame = f"<13>1 - web2 app - - - us,{BASE + 3},Db code=7".encode()
            c.sendall(b"%d %s%d %s" % (len(frame), frame, len(frame), frame))
            st = wait_event(events, lambda e: isinstance(e, Stats) and e.parsers["Err"].parsed == 5)
            assert isinstance(st, Stats)
            # Every connection is listed with its counts, the Python one still open.
            assert all(f.path.startswith(f"syslog+tcp://127.0.0.1:{port}#") for f in st.files)
            assert sum(f.lines for f in st.files) == 5
        clock.now = BASE + 13
        ev = wait_event(events, lambda e: isinstance(e, WindowClosed) and e.start == BASE)
        assert isinstance(ev, WindowClosed)
        assert {r.group["kind"]: r.amount for r in ev.rows} == {"Timeout": 3, "Db": 2}
    finally:
        engine.request_stop()
        wait_event(events, lambda e: isinstance(e, Finished))
        thread.join(WAIT)
    # The socket is free again once the engine stopped.
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))

    code = main(["-c", str(tmp_path / "alser.toml"), "--history", "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    windows = [json.loads(x) for x in out.out.splitlines() if '"window"' in x]
    assert [(w["start"], w["total"]) for w in windows] == [(BASE, 5)]


GUARD = {"listen": "tcp://127.0.0.1:5140", "parsers": ["P"]}
PARSER = {"id": "P", "kind": "json", "fields": [{"name": "x"}]}


@pytest.mark.parametrize(
    ("guard", "key", "problem"),
    [
        ({"listen": "tcp://127.0.0.1"}, "guards[0].listen", "a port is needed"),
        ({"tail_glob": "a/*.log"}, "guards[0].listen", "only one of tail_glob, listen"),
        ({"program": "php"}, "guards[0].program", "only syslog listeners"),
        ({"listen": "udp://:5514", "program": "a b"}, "guards[0].program", "not a syslog program"),
        ({"listen": "", "tail_glob": "a/*", "spool_dir": "s"}, "guards[0].spool_dir", "only a guard with listen"),
    ],
)  # fmt: skip
def test_listen_config_errors(guard: dict, key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config({"guards": [GUARD | guard], "parsers": [PARSER]}, "c.toml")
    assert err.value.key == key
    assert problem in err.value.problem


def test_listen_config_across_guards() -> None:
    two = [GUARD, {"listen": "syslog+tcp://127.0.0.1:5140", "parsers": ["P"]}]
    with pytest.raises(ConfigError, match=r"guards\[1\]\.listen: guards\[0\] uses it with another"):
        parse_config({"guards": two, "parsers": [PARSER]})
    same = [
        {"listen": "udp://:5514", "program": "a", "spool_dir": "s", "parsers": ["P"]},
        {"listen": "udp://:5514", "program": "a", "spool_dir": "s", "parsers": ["P"]},
    ]
    with pytest.raises(ConfigError, match=r"guards\[1\]\.spool_dir: guards\[0\] spools the same"):
        parse_config({"guards": same, "parsers": [PARSER]})
    same[1]["program"] = "b"
    cfg = parse_config({"guards": same, "parsers": [PARSER]})
    assert [g.name for g in cfg.guards] == ["a", "b"]
    assert [g.history_glob for g in cfg.guards] == ["s/a.*.log", "s/b.*.log"]
