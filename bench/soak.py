"""Soak test: a long live run under load, with rotations, then a report.

    .venv/bin/python bench/soak.py --minutes 10             # 20,000 lines/s over 50 files
    .venv/bin/python bench/soak.py --minutes 30 --rate 20000 --files 50 --rotate 180

A writer process appends ALS lines to 50 files at the given total rate and rotates some of
them (rename + re-create) every --rotate seconds; every 60 s it writes a burst for one
group so a threshold alarm is due. `alser-tui --no-ui --json` follows the files as a child
process. At the end the writer stops, the engine gets time to close the last windows, and
the report compares lines written with rows counted (they must be equal), samples the
child's RSS over time (it must stay flat), and gives the worst window-close delay and the
alarms produced versus expected.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

WINDOW = 10
LATENESS = 5
BURST = 12_000
THRESHOLD = 10_000

CONFIG = f"""
[storage]
dir = "var"
keep_windows = 30

[engine]
lateness = {LATENESS}

[[guards]]
tail_glob = "logs/app.*.log"
parsers = ["Count"]

[[parsers]]
id = "Count"
kind = "regex"
window = {WINDOW}
regex = '^(\\w+) (.+)$'
group_by = ["area", "kind"]
limit = 0
beep_threshold = {THRESHOLD}
abnormal_base = 1000000

[[parsers.fields]]
name = "kind"
group = 1
[[parsers.fields]]
name = "rest"
group = 2
"""


def writer(root: Path, rate: int, files: int, seconds: float, rotate: float) -> None:
    """Runs in its own process; prints 'written N bursts B' at the end."""
    rng = random.Random(1)
    logs = root / "logs"
    paths = [logs / f"app.{i}.log" for i in range(files)]
    handles = [p.open("a", buffering=1 << 16) for p in paths]
    written = bursts = 0
    start = time.monotonic()
    next_rotate = start + rotate
    next_burst = start + 20
    tick = 0.05
    per_tick = max(1, int(rate * tick))
    kinds = [f"k{i}" for i in range(40)]
    while True:
        now = time.monotonic()
        if now - start >= seconds:
            break
        ts = int(time.time())
        for i in range(per_tick):
            h = handles[(written + i) % files]
            h.write(f"us,{ts},{kinds[rng.randrange(40)]} payload {written + i}\n")
        written += per_tick
        if now >= next_burst:
            h = handles[0]
            for i in range(BURST):
                h.write(f"zz,{ts},burst {i}\n")
            written += BURST
            bursts += 1
            next_burst += 60
        for h in handles:
            h.flush()
        if now >= next_rotate:
            # Rotate a fifth of the files by rename + re-create, like logrotate does.
            for k in rng.sample(range(files), max(1, files // 5)):
                handles[k].close()
                paths[k].rename(paths[k].with_suffix(f".log.{int(now)}"))
                handles[k] = paths[k].open("a", buffering=1 << 16)
            next_rotate += rotate
        delay = start + (written / rate) - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    for h in handles:
        h.close()
    print(f"written {written} bursts {bursts}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--rate", type=int, default=20_000)
    ap.add_argument("--files", type=int, default=50)
    ap.add_argument("--rotate", type=float, default=180, help="seconds between rotations")
    ap.add_argument("--writer", metavar="ROOT", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.writer:
        writer(Path(args.writer), args.rate, args.files, args.minutes * 60, args.rotate)
        return

    root = Path(tempfile.mkdtemp(prefix="alser-soak-"))
    (root / "alser.toml").write_text(CONFIG)
    (root / "logs").mkdir()
    for i in range(args.files):
        (root / "logs" / f"app.{i}.log").touch()
    child = subprocess.Popen(
        [sys.executable, "-m", "alser_tui", "-c", str(root / "alser.toml"), "--no-ui", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    proc = psutil.Process(child.pid)
    counted = 0
    thresholds = 0
    worst_delay = 0.0
    windows = 0
    lock = threading.Lock()

    def read_stdout() -> None:
        nonlocal counted, thresholds, worst_delay, windows
        assert child.stdout is not None
        for line in child.stdout:
            ev = json.loads(line)
            with lock:
                if ev["type"] == "window":
                    counted += int(ev["total"])
                    windows += 1
                    worst_delay = max(worst_delay, time.time() - ev["end"])
                elif ev["type"] == "alarm" and ev["kind"] == "threshold":
                    thresholds += 1

    reader = threading.Thread(target=read_stdout, daemon=True)
    reader.start()
    time.sleep(2)  # the child records its start positions; the writer must come after
    w = subprocess.Popen(
        [sys.executable, __file__, "--writer", str(root), "--minutes", str(args.minutes),
         "--rate", str(args.rate), "--files", str(args.files), "--rotate", str(args.rotate)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    rss: list[tuple[float, float]] = []
    t0 = time.monotonic()
    cpu0 = proc.cpu_times()
    while w.poll() is None:
        rss.append((time.monotonic() - t0, proc.memory_info().rss / 1048576))
        time.sleep(5)
    out = (w.stdout.read() if w.stdout else "").split()
    written, bursts = int(out[1]), int(out[3])
    # Let the last windows close (window + lateness + the poll), then stop cleanly.
    deadline = time.monotonic() + WINDOW + LATENESS + 30
    while time.monotonic() < deadline:
        with lock:
            if counted >= written:
                break
        time.sleep(0.5)
    time.sleep(WINDOW + LATENESS + 2)
    cpu1 = proc.cpu_times()
    child.send_signal(signal.SIGTERM)
    child.wait(30)
    reader.join(10)
    elapsed = time.monotonic() - t0
    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    rss_first = [r for t, r in rss if t >= 30][:1] or [rss[0][1]]
    print(f"soak: {args.minutes:g} min, {args.rate:,} lines/s over {args.files} files, "
          f"rotation of {max(1, args.files // 5)} files every {args.rotate:g} s")  # fmt: skip
    print(f"lines written    {written:,}")
    print(f"rows counted     {counted:,}  ({'EQUAL' if counted == written else 'DIFFERENT'})")
    print(
        f"windows closed   {windows:,}; worst close delay after the window end {worst_delay:.1f} s"
    )
    print(f"alarms           {thresholds} threshold alarms for {bursts} bursts")
    print(f"engine CPU       {cpu / elapsed:.0%} of one core on average")
    print(f"RSS              {rss_first[0]:.0f} MB after 30 s -> {rss[-1][1]:.0f} MB at the end "
          f"(max {max(r for _, r in rss):.0f} MB)")  # fmt: skip
    print(
        "RSS samples (s, MB): "
        + " ".join(f"{t:.0f}:{r:.0f}" for t, r in rss[:: max(1, len(rss) // 12)])
    )
    stderr = child.stderr.read() if child.stderr else ""
    print("engine summary:", stderr.strip().splitlines()[-2:] if stderr else "-")
    print(f"data left in {root}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
