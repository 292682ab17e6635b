"""Real processes for the source-health tests: `alser-tui --no-ui --json` and log writers."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# A writer: appends one ALS line to PATH every PERIOD seconds, its time OFFSET seconds
# from the clock, and stamps how many it wrote in PATH.count (read by the test once it is
# killed: the file is the truth, a line cut by kill -9 has no newline and is not counted).
WRITER = """
import sys, time
path, period, offset = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
n = 0
with open(path, "a", buffering=1) as f:
    while True:
        n += 1
        f.write(f'us,{int(time.time()) + offset},{{"what": "w{n}"}}\\n')
        time.sleep(period)
"""


def spawn_writer(path: Path, *, period: float = 0.05, offset: int = 0) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(period), str(offset)])


def lines_in(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


class Child:
    """`alser-tui --no-ui --json` in a child process; a thread collects its JSON lines."""

    def __init__(self, root: Path, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "alser_tui", "-c", str(root / "alser.toml"), "--no-ui",
             "--json", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=root,
        )  # fmt: skip
        self.out: list[dict[str, Any]] = []
        self.err: list[str] = []
        self.cond = threading.Condition()
        self._threads = [
            threading.Thread(target=self._read_out, daemon=True),
            threading.Thread(target=self._read_err, daemon=True),
        ]
        for t in self._threads:
            t.start()

    def _read_out(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self.cond:
                self.out.append(json.loads(line))
                self.cond.notify_all()

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self.cond:
                self.err.append(line.rstrip("\n"))
                self.cond.notify_all()

    def of(self, type_: str, kind: str | None = None) -> list[dict[str, Any]]:
        with self.cond:
            return [
                o
                for o in self.out
                if o["type"] == type_ and (kind is None or o.get("kind") == kind)
            ]

    def wait(self, pred: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                value = pred()
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise AssertionError(
                        f"no {what} within {timeout}s; stdout {self.out[-5:]}; "
                        f"stderr {self.err[-10:]}"
                    )
                self.cond.wait(min(left, 0.1))

    def stop(self) -> int:
        """SIGTERM: flush and exit 0; the final stats are on stderr then."""
        self.proc.terminate()
        rc = self.proc.wait(20)
        for t in self._threads:
            t.join(5)
        return rc


def wait_started(root: Path, timeout: float = 20.0) -> None:
    """The child records its start positions before it reads a line: wait for that."""
    import sqlite3

    db = root / "var" / "alser.db"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if db.exists():
            try:
                con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
                try:
                    row = con.execute("SELECT 1 FROM meta WHERE key = 'live_started'").fetchone()
                finally:
                    con.close()
                if row:
                    return
            except sqlite3.Error:
                pass
        time.sleep(0.05)
    raise AssertionError("the child did not start")
