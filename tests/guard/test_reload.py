"""SIGHUP reloads the guard's config: checked first (a broken one is refused and the guard
goes on), then the engine restarts on it without losing or doubling a line."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from torture_support import (
    CONFIG,
    Ids,
    Lines,
    assert_exactly_once,
    ev_parser,
    rows_in,
    wait_for,
    wait_started,
)


def config_text(glob: str = "logs/*.log", extra: str = "") -> str:
    return CONFIG.format(glob=glob, batch=10_000) + ev_parser() + extra


def test_sighup_refuses_a_broken_config_and_applies_a_good_one(tmp_path: Path) -> None:
    conf = tmp_path / "alser.toml"
    conf.write_text(config_text())
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "app.log"
    log.touch()
    db = tmp_path / "var" / "alser.db"
    cmd = [sys.executable, "-m", "alser_tui", "-c", str(conf), "--no-ui", "--json"]
    out = tmp_path / "out.jsonl"
    with out.open("w") as printed:
        proc = subprocess.Popen(cmd, stdout=printed, stderr=subprocess.PIPE, text=True)
        err = Lines(proc.stderr)
        try:
            assert wait_started(db)
            ids = Ids()
            now = int(time.time())
            ids.append(log, 50, ts=now)
            assert wait_for(lambda: rows_in(db) == 50)

            # A typo: refused, said on stderr, and the guard reads on with the old config.
            conf.write_text(config_text().replace("window = 10", 'window = "ten"'))
            proc.send_signal(signal.SIGHUP)
            line = err.wait("config reload refused")
            assert "parsers[0].window" in line, line
            ids.append(log, 20, ts=now)
            assert wait_for(lambda: rows_in(db) == 70)
            assert proc.poll() is None

            # Fixed, with a second parser on the same guard: the engine restarts on it.
            second = ev_parser("Ev2").replace("[[parsers]]", "[[parsers]]", 1)
            conf.write_text(
                config_text().replace('parsers = ["Ev"]', 'parsers = ["Ev", "Ev2"]') + second
            )
            proc.send_signal(signal.SIGHUP)
            err.wait("config reloaded")
            ids.append(log, 30, ts=now)
            assert wait_for(lambda: rows_in(db) == 100 and rows_in(db, "Ev2") == 30)
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(20)
    assert code == 0, err.drain()
    assert_exactly_once(db, ids.written)
    notices = [json.loads(x) for x in out.read_text().splitlines()]
    config_notices = [(n["state"], n["kind"]) for n in notices if n.get("type") == "notice"]
    assert ("raised", "config") in config_notices and ("cleared", "config") in config_notices
