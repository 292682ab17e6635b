#!/usr/bin/env python3
"""Console soak: the real console on the demo for a long while, its RSS sampled.

    .venv/bin/python bench/console_soak.py --minutes 90            # report on stdout
    .venv/bin/python bench/console_soak.py --minutes 90 --every 10 --out soak.txt

``alser-tui --demo`` runs in a pseudo-terminal (160x45, TERM=xterm-256color), exactly as
``./run-demo`` starts it: Textual's own terminal driver, the demo's traffic generator in the
process, the delivery (acks, silences, the alarm lifecycle) in delivery.db. A reader thread
drains the terminal (a console whose output nobody reads would block). Every ``--keys``
seconds a "user" presses keys: down and up the top-N table, an older window and back, into
the raw lines and out, the alarm list, an alarm opened and left.

Every ``--every`` seconds the console process's RSS is sampled (psutil), with its CPU share
and how much it drew since the last sample (a console that stopped drawing is not idle, it
is stuck). The report gives RSS at the start (the first sample after the first frame), after
10 minutes, at the end and at its peak, the least-squares slope over the whole run and over
its second half (MB/hour: flat is what "bounded" looks like once the histories are full),
and the samples themselves.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import re
import select
import shutil
import signal
import struct
import sys
import termios
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
ROWS, COLS = 45, 160
KEYS = {
    "down": b"j",
    "up": b"k",
    "left": b"\x1b[D",
    "right": b"\x1b[C",
    "enter": b"\r",
    "escape": b"\x1b",
    "tab": b"\t",
    "first": b"g",
}
# A user glancing at the console: (key, seconds to wait after it).
ROUND = [
    ("down", 0.5), ("down", 0.5), ("up", 1.0),
    ("left", 1.5), ("right", 1.5),
    ("enter", 3.0), ("escape", 1.5),  # the raw lines of a group, and back
    ("tab", 0.5), ("first", 0.5), ("down", 0.5),
    ("enter", 3.0), ("escape", 1.5), ("escape", 1.0),  # an alarm, and back to live
    ("tab", 0.5), ("tab", 0.5),
]  # fmt: skip


class Terminal:
    """The console in a pty: keys in, output drained (counted, the tail kept)."""

    def __init__(self, argv: list[str]) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # the child: the console as a user starts it
            os.environ["TERM"] = "xterm-256color"
            os.environ.setdefault("COLORTERM", "truecolor")
            os.execv(argv[0], argv)
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        self.pid, self.fd = pid, fd
        self.drawn = 0
        self.first = b""  # the start of the output (the demo says where its folder is)
        self.tail = b""
        self.closed = threading.Event()
        self._reader = threading.Thread(target=self._drain, name="soak-pty", daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        while not self.closed.is_set():
            ready, _, _ = select.select([self.fd], [], [], 0.2)
            if not ready:
                continue
            try:
                chunk = os.read(self.fd, 1 << 16)
            except OSError:
                break
            if not chunk:
                break
            self.drawn += len(chunk)
            if len(self.first) < 4096:
                self.first += chunk[: 4096 - len(self.first)]
            self.tail = (self.tail + chunk)[-(1 << 16) :]
        self.closed.set()

    def press(self, key: str) -> None:
        os.write(self.fd, KEYS[key])

    def stop(self, timeout: float = 15.0) -> int | None:
        """``q`` as a user quits; SIGTERM, then SIGKILL if it does not go."""
        try:
            os.write(self.fd, b"q")
        except OSError:
            pass
        deadline = time.monotonic() + timeout
        code = None
        while time.monotonic() < deadline:
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                code = os.waitstatus_to_exitcode(status)
                break
            time.sleep(0.1)
        if code is None:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        self.closed.set()
        self._reader.join(2)
        os.close(self.fd)
        return code


def keys(term: Terminal, every: float) -> None:
    """The user: a round of keys every ``every`` seconds until the console is gone."""
    while not term.closed.wait(every):
        for key, wait in ROUND:
            if term.closed.is_set():
                return
            try:
                term.press(key)
            except OSError:
                return
            time.sleep(wait)


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB), in MB per hour."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mx = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    den = sum((p[0] - mx) ** 2 for p in points)
    if den == 0:
        return 0.0
    return sum((p[0] - mx) * (p[1] - my) for p in points) / den * 3600


def at(samples: list[dict[str, float]], seconds: float) -> float | None:
    """RSS (MB) of the first sample at or after ``seconds``."""
    return next((s["rss_mb"] for s in samples if s["t"] >= seconds), None)


def report(samples: list[dict[str, float]], args: argparse.Namespace, code: int | None) -> str:
    points = [(s["t"], s["rss_mb"]) for s in samples]
    half = samples[-1]["t"] / 2 if samples else 0.0
    second_half = [(t, m) for t, m in points if t >= half]
    start = samples[0]["rss_mb"] if samples else float("nan")
    lines = [
        f"console soak: alser-tui --demo in a {COLS}x{ROWS} pty, {args.minutes:g} min,"
        f" RSS every {args.every:g} s, keys every {args.keys:g} s",
        f"  RSS start      {start:7.1f} MB  (first sample after the first frame)",
    ]
    for minutes in (10, 30, 60):
        value = at(samples, minutes * 60)
        if value is not None:
            lines.append(f"  RSS {minutes:>3} min    {value:7.1f} MB")
    if samples:
        lines += [
            f"  RSS end        {samples[-1]['rss_mb']:7.1f} MB  at {samples[-1]['t'] / 60:.1f} min",
            f"  RSS peak       {max(m for _t, m in points):7.1f} MB",
            f"  slope, whole run      {slope(points):+7.2f} MB/h",
            f"  slope, second half    {slope(second_half):+7.2f} MB/h"
            f"  (from {half / 60:.0f} min on)",
            f"  CPU share (mean)      {sum(s['cpu'] for s in samples) / len(samples):6.1%}",
            f"  drawn: {sum(s['drawn_kb'] for s in samples) / 1024:.1f} MB of terminal output;"
            f" intervals with nothing drawn: {sum(1 for s in samples if s['drawn_kb'] == 0)}",
        ]
    lines.append(f"  exit code on q: {code}")
    lines.append("samples (t s, RSS MB, CPU share, drawn KB):")
    lines += [
        f"  {s['t']:8.0f} {s['rss_mb']:7.1f} {s['cpu']:6.1%} {s['drawn_kb']:8.0f}" for s in samples
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--every", type=float, default=10.0, help="seconds between RSS samples")
    ap.add_argument("--keys", type=float, default=60.0, help="seconds between key rounds")
    ap.add_argument("--out", type=Path, help="also write the report here")
    ap.add_argument("--json", type=Path, help="write the samples as JSON lines here")
    ap.add_argument("--keep", action="store_true", help="keep the demo's folder (logs, var)")
    args = ap.parse_args()
    exe = str(Path(sys.executable).with_name("alser-tui"))
    term = Terminal([exe, "--demo", "--no-lock"])
    proc = psutil.Process(term.pid)
    t0 = time.monotonic()
    while b"parsers" not in term.tail or b"alarms" not in term.tail:  # the first frame
        if time.monotonic() - t0 > 30 or term.closed.is_set():
            print("the console did not draw its first frame", file=sys.stderr)
            term.stop()
            return 1
        time.sleep(0.1)
    samples: list[dict[str, float]] = []
    start = time.monotonic()
    next_sample = start
    user = threading.Thread(target=keys, args=(term, args.keys), name="soak-user", daemon=True)
    user.start()
    drawn = term.drawn
    proc.cpu_percent(None)
    sink = args.json.open("w") if args.json else None
    try:
        while time.monotonic() - start < args.minutes * 60 and not term.closed.is_set():
            now = time.monotonic()
            if now >= next_sample:
                sample = {
                    "t": round(now - start, 1),
                    "rss_mb": proc.memory_info().rss / 1048576,
                    "cpu": proc.cpu_percent(None) / 100,
                    "drawn_kb": (term.drawn - drawn) / 1024,
                }
                drawn = term.drawn
                samples.append(sample)
                if sink is not None:
                    sink.write(json.dumps(sample) + "\n")
                    sink.flush()
                next_sample += args.every
            time.sleep(0.2)
    finally:
        if sink is not None:
            sink.close()
        code = term.stop()
        found = re.search(rb"demo logs in ([^\s\x1b]+)", term.first)
        if found and not args.keep:
            shutil.rmtree(found[1].decode(), ignore_errors=True)  # the logs grow ~0.1 GB/h
    text = report(samples, args, code)
    sys.stdout.write(text)
    if args.out:
        args.out.write_text(text)
    return 0 if code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
