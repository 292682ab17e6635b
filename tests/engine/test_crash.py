"""kill -9 in the middle of a heavy write load: every line is stored exactly once across runs."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

CONFIG = """
[storage]
dir = "var"
keep_windows = 100000

[engine]
poll_interval = 0.02
glob_interval = 0.2
batch_lines = 2000

[[guards]]
tail_glob = "logs/*.log"
parsers = ["Ev"]

[[parsers]]
id = "Ev"
kind = "regex"
window = 3600
regex = 'n=(\\d+)'
group_by = ["area"]

[[parsers.fields]]
name = "n"
group = 1
type = "int"
"""


def count(db: Path) -> tuple[int, int]:
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute('SELECT COUNT(*), COUNT(DISTINCT n) FROM "ev_Ev"').fetchone()
        finally:
            con.close()
    except sqlite3.Error:
        return (0, 0)


def wait_for(pred, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)  # another process's database: nothing to await but its state
    return False


def test_kill_9_mid_load_loses_and_doubles_nothing(tmp_path: Path) -> None:
    (tmp_path / "alser.toml").write_text(CONFIG)
    logs = tmp_path / "logs"
    logs.mkdir()
    files = [logs / f"app.{i}.log" for i in range(3)]
    for f in files:
        f.touch()
    db = tmp_path / "var" / "alser.db"
    cmd = [sys.executable, "-m", "alser_tui", "-c", str(tmp_path / "alser.toml"), "--no-ui"]

    def start() -> subprocess.Popen[bytes]:
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

        def started() -> bool:
            try:
                con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
                ok = con.execute("SELECT 1 FROM meta WHERE key='live_started'").fetchone()
                con.close()
                return bool(ok)
            except sqlite3.Error:
                return False

        assert wait_for(started, 20), p.stderr.read() if p.poll() is not None and p.stderr else ""
        return p

    total = 60_000
    written = threading.Event()

    def writer() -> None:
        now = int(time.time())
        per_chunk = 500
        handles = [f.open("a") for f in files]
        try:
            for start_n in range(0, total, per_chunk):
                h = handles[(start_n // per_chunk) % len(handles)]
                h.write("".join(f"us,{now},n={n}\n" for n in range(start_n, start_n + per_chunk)))
                h.flush()
        finally:
            for h in handles:
                h.close()
            written.set()

    proc = start()
    t = threading.Thread(target=writer)
    t.start()
    # Kill it hard while it is busy storing: some rows are in, more are on their way.
    assert wait_for(lambda: count(db)[0] > 5_000, 30)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    killed_at = count(db)[0]
    t.join(60)
    assert written.is_set()
    assert killed_at < total, "the kill came too late to prove anything"

    proc2 = start()
    try:
        assert wait_for(lambda: count(db)[0] >= total, 60), count(db)
        rows, distinct = count(db)
        assert rows == total and distinct == total
    finally:
        proc2.send_signal(signal.SIGTERM)
        assert proc2.wait(10) == 0
