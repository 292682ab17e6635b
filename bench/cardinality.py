"""High cardinality: one window holding 1,000,000 distinct messages.

    .venv/bin/python bench/cardinality.py                      # 1,000,000 groups, top 10
    .venv/bin/python bench/cardinality.py --groups 200000 --limit 50

Writes one file of N lines in one 60 s window, every line a distinct message, and replays it
(`--history`: read, parse, store) in a child process, then closes that window as the live
engine does: GROUP BY in SQLite, top-N by LIMIT, alarms for the rows shown. Reports the time
to read and store, the time to close the window, the child's peak RSS while reading and
while closing (sampled every 10 ms), and the size of the abnormal-change memory afterwards
(an LRU bounded by engine.abnormal_memory; only the rows shown feed it).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

WINDOW = 60
T0 = 1_800_000_000  # a window boundary

CONFIG = """
[storage]
dir = "var"

[engine]
batch_lines = 10000
abnormal_memory = {memory}

[[guards]]
history_glob = "logs/*.log"
parsers = ["Msg"]

[[parsers]]
id = "Msg"
kind = "regex"
window = {window}
regex = '^(\\w+): (.+)$'
group_by = ["area", "level", "msg"]
limit = {limit}
beep_threshold = 2

[[parsers.fields]]
name = "level"
group = 1
[[parsers.fields]]
name = "msg"
group = 2
"""


def write_logs(root: Path, groups: int) -> int:
    logs = root / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    path = logs / "big.log"
    with path.open("w", buffering=1 << 20) as f:
        for i in range(groups):
            ts = T0 + i * WINDOW // groups  # spread over the one window
            f.write(f"us,{ts},Error: request {i:07d} failed on shard {i % 977} (code {i % 13})\n")
        # A few repeats, so the top rows (and a threshold alarm) are not a tie of ones.
        for i in range(50):
            f.write(f"us,{T0 + 30},Error: request {i % 5:07d} failed on shard {i % 5} (code 0)\n")
    return path.stat().st_size


class Sampler:
    """Peak RSS of this process, sampled in a thread (SQLite releases the GIL)."""

    def __init__(self) -> None:
        self.proc = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            self._stop.wait(0.01)

    def reset(self) -> int:
        peak, self.peak = self.peak, self.proc.memory_info().rss
        return peak

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def child(root: Path, temp_store: str) -> None:
    from alser_tui.engine.config import load_config
    from alser_tui.engine.engine import Engine

    sampler = Sampler()
    config = load_config(root / "alser.toml")
    engine = Engine(config, history=True, workers=0, keep_open=True)
    engine.open()
    assert engine.store is not None
    if temp_store:
        engine.store.con.execute(f"PRAGMA temp_store={temp_store}")
    closed: list[float] = []
    engine.subscribe(
        lambda ev: closed.append(getattr(ev, "total", 0)) if hasattr(ev, "rows") else None
    )
    rss_start = sampler.reset()
    t0 = time.perf_counter()
    while not engine.finished_reading:
        engine.step()
    t_read = time.perf_counter() - t0
    peak_read = sampler.reset()
    t1 = time.perf_counter()
    engine.close_due_windows(float("inf"))
    t_close = time.perf_counter() - t1
    peak_close = sampler.reset()
    run = engine.runs["Msg"]
    out = {
        "lines": engine.lines,
        "read_s": round(t_read, 2),
        "close_s": round(t_close, 2),
        "rss_start_mb": round(rss_start / 2**20),
        "peak_read_mb": round(peak_read / 2**20),
        "peak_close_mb": round(peak_close / 2**20),
        "maxrss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "windows": len(closed),
        "total": closed[0] if closed else None,
        "abnormal_memory": len(run.rules._last),
        "db_mb": round(os.path.getsize(engine.store.path) / 2**20),
    }
    sampler.stop()
    engine.close()
    print(json.dumps(out))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--groups", type=int, default=1_000_000)
    ap.add_argument("--limit", type=int, default=10, help="rows shown per window (top N)")
    ap.add_argument("--memory", type=int, default=100_000, help="engine.abnormal_memory")
    ap.add_argument("--temp-store", default="", help="override PRAGMA temp_store (FILE/MEMORY)")
    ap.add_argument("--child", metavar="ROOT", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(Path(args.child), args.temp_store)
        return
    root = Path(tempfile.mkdtemp(prefix="alser-card-"))
    (root / "alser.toml").write_text(
        CONFIG.format(memory=args.memory, window=WINDOW, limit=args.limit)
    )
    size = write_logs(root, args.groups)
    cmd = [sys.executable, __file__, "--child", str(root)]
    if args.temp_store:
        cmd += ["--temp-store", args.temp_store]
    r = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        sys.exit(r.stderr)
    res = json.loads(r.stdout.splitlines()[-1])
    print(
        f"cardinality: {args.groups:,} distinct messages in one {WINDOW} s window"
        f" ({size / 2**20:.0f} MB of log), limit {args.limit or '0 (all, capped)'},"
        f" temp_store {args.temp_store or 'default'}\n"
        f"read + store   {res['read_s']:>6} s   peak RSS {res['peak_read_mb']} MB"
        f" (at start {res['rss_start_mb']} MB)\n"
        f"window close   {res['close_s']:>6} s   peak RSS {res['peak_close_mb']} MB"
        f"   total {res['total']:,} in {res['windows']} window(s)\n"
        f"abnormal memory after the close: {res['abnormal_memory']} groups"
        f" (bound {args.memory:,}); database {res['db_mb']} MB; max RSS {res['maxrss_mb']} MB"
    )


if __name__ == "__main__":
    main()
