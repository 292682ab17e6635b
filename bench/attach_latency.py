"""Latency of an attached console and of the web page: line written -> alarm on the screen
of a console attached to a guard, and in the guard's web view in a real browser, under a
steady load.

    .venv/bin/python bench/attach_latency.py                    # 20,000 lines/s, 60 s
    .venv/bin/python bench/attach_latency.py --rate 20000 --seconds 120

A writer process appends ALS lines to 10 files at --rate lines/s (in 20 ms slices) and,
every 0.5 s, one HIT line carrying the wall time it was written at. The guard
(`alser-tui --no-ui`, a child process) parses both kinds; HIT lines go to a parser with
`instant` set, so each raises an alarm the moment it is stored (no window to wait for).
The console is the real app, attached to the guard through its socket (link/remote.py),
driven headless (`App.run_test`) in this process: the time a HIT alarm is seen is when its
row is in the alarm list widget (polled every 5 ms, after the app's own 4 Hz redraw).
The web page is the guard's own (`[web] listen`), open in Debian's headless chromium driven
by Selenium from a thread: an alarm is seen there when its row is in the page's alarm list
(read every ~20 ms through the driver). Prints p50/p95/max of written -> shown for both,
how many HIT lines were written and shown, and the guard's lines/s and CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

CONFIG = """
[web]
listen = "127.0.0.1:0"

[storage]
dir = "var"
keep_windows = 5

[engine]
lateness = 2
batch_lines = 10000

[[guards]]
tail_glob = "logs/app.*.log"
parsers = ["Load", "Hit"]

[[parsers]]
id = "Load"
kind = "regex"
window = 10
regex = '^(\\w+) n=(\\d+)$'
group_by = ["area", "kind"]
abnormal_base = 1000000000

[[parsers.fields]]
name = "kind"
group = 1

[[parsers]]
id = "Hit"
kind = "regex"
window = 10
regex = '^HIT id=(\\d+) at=(\\d+)$'
group_by = ["id"]
instant = "hit {id}"

[[parsers.fields]]
name = "id"
group = 1
type = "int"
[[parsers.fields]]
name = "at"
group = 2
type = "int"
"""

WRITER = r"""
import sys, time
root, rate, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
files = [open(f"{root}/logs/app.{i}.log", "a", buffering=1 << 20) for i in range(10)]
slice_s = 0.02
per_slice = max(1, int(rate * slice_s))
t0 = time.monotonic()
n = hit = 0
next_hit = t0 + 1.0
while time.monotonic() - t0 < seconds:
    now = int(time.time())
    f = files[n % 10]
    f.write("".join(f"us,{now},Load{k % 7} n={n + k}\n" for k in range(per_slice)))
    f.flush()
    n += per_slice
    if time.monotonic() >= next_hit:
        g = files[hit % 10]
        g.write(f"us,{now},HIT id={hit} at={time.time_ns()}\n")
        g.flush()
        hit += 1
        next_hit += 0.5
    sleep = t0 + (n / rate) - time.monotonic()
    if sleep > 0:
        time.sleep(sleep)
print(n, hit)
"""


def watch_page(url: str, seen: dict[int, int], stop: threading.Event) -> None:
    """The web page in chromium: the time each HIT alarm's row is first in the list."""
    import re

    sys.path.insert(0, str(HERE.parent / "tests" / "web"))
    from browser import chromium

    driver = chromium()
    try:
        driver.get(url)
        script = (
            "return [...document.querySelectorAll('#alarms tbody td.text')].map(t => t.textContent)"
        )
        while not stop.is_set():
            texts = driver.execute_script(script)
            now = time.time_ns()
            for t in texts:
                m = re.search(r"hit (\d+)", t)
                if m and int(m.group(1)) not in seen:
                    seen[int(m.group(1))] = now
            time.sleep(0.02)
    finally:
        driver.quit()


async def watch(root: Path, seconds: float, rate: int, url: str) -> dict[str, object]:
    from alser_tui.engine.config import load_config
    from alser_tui.guard.client import GuardClient
    from alser_tui.guard.server import socket_path
    from alser_tui.ui.app import AlserApp
    from alser_tui.ui.widgets.alarm_list import AlarmList

    config = load_config(root / "alser.toml")
    app = AlserApp(config, guard=GuardClient(socket_path(config.data_dir)), desktop=False)
    shown: dict[int, float] = {}
    written: dict[int, int] = {}
    heard: dict[int, int] = {}  # the same alarms as a bare socket client gets them
    at: dict[int, int] = {}  # HIT id -> the time its line was written
    on_page: dict[int, int] = {}

    def listen() -> None:
        from alser_tui.guard.client import GuardGone

        client = GuardClient(socket_path(config.data_dir))
        with contextlib.suppress(GuardGone):  # the guard stops at the end
            listen_on(client)

    def listen_on(client: GuardClient) -> None:
        for m in client.messages():
            ev = m.get("event") or {}
            if (
                ev.get("@") == "AlarmRaised"
                and ev["alarm"]["parser"] == "Hit"
                and not m.get("past")
            ):
                hid = int(ev["alarm"]["group"]["id"])
                at[hid] = int(ev["alarm"]["group"]["at"])
                heard[hid] = time.time_ns() - at[hid]

    threading.Thread(target=listen, daemon=True).start()
    stop = threading.Event()
    page = threading.Thread(target=watch_page, args=(url, on_page, stop), daemon=True)
    page.start()
    async with app.run_test(size=(160, 50)) as pilot:
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(root), str(rate), str(seconds)],
            stdout=subprocess.PIPE,
            text=True,
        )
        table = app.main.query_one(AlarmList)
        while writer.poll() is None or time.monotonic() < getattr(watch, "until", 1e18):
            if writer.poll() is not None and not hasattr(watch, "until"):
                watch.until = time.monotonic() + 5  # type: ignore[attr-defined]
            now_ns = time.time_ns()
            for key in table.keys:
                e = app.model.alarm(int(key))
                if e is None or e.alarm.parser != "Hit":
                    continue
                hid = int(e.alarm.group["id"])
                if hid not in shown:
                    shown[hid] = now_ns
                    written[hid] = int(e.alarm.group["at"])
            await pilot.pause(0.005)
        out = writer.communicate()[0].split()
    stop.set()
    page.join(30)
    lat = sorted((shown[h] - written[h]) / 1e6 for h in shown)
    web = sorted((on_page[h] - at[h]) / 1e6 for h in on_page if h in at)
    sock = sorted(v / 1e6 for v in heard.values())
    return {
        "lines": int(out[0]),
        "hits": int(out[1]),
        "shown": len(shown),
        "p50": statistics.median(lat) if lat else float("nan"),
        "p95": lat[int(len(lat) * 0.95) - 1] if lat else float("nan"),
        "max": lat[-1] if lat else float("nan"),
        "socket_p50": statistics.median(sock) if sock else float("nan"),
        "socket_p95": sock[int(len(sock) * 0.95) - 1] if sock else float("nan"),
        "web_shown": len(web),
        "web_p50": statistics.median(web) if web else float("nan"),
        "web_p95": web[int(len(web) * 0.95) - 1] if web else float("nan"),
        "web_max": web[-1] if web else float("nan"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rate", type=int, default=20_000)
    ap.add_argument("--seconds", type=float, default=60)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="alser-latency-") as tmp:
        root = Path(tmp)
        (root / "alser.toml").write_text(CONFIG)
        (root / "logs").mkdir()
        for i in range(10):
            (root / "logs" / f"app.{i}.log").touch()
        cmd = [sys.executable, "-m", "alser_tui", "-c", str(root / "alser.toml"), "--no-ui"]
        err = (root / "guard.err").open("wb")
        guard = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        sock = root / "var" / "guard.sock"
        deadline = time.monotonic() + 30
        url = None
        while not sock.exists() or url is None:
            if time.monotonic() > deadline:
                raise SystemExit("the guard did not start: " + (root / "guard.err").read_text())
            m = re.search(r"web view on (http://\S+/)", (root / "guard.err").read_text())
            url = m.group(1) if m else None
            time.sleep(0.05)
        proc = psutil.Process(guard.pid)
        cpu0 = proc.cpu_times()
        t0 = time.monotonic()
        try:
            res = asyncio.run(watch(root, args.seconds, args.rate, url))
        finally:
            cpu1 = proc.cpu_times()
            wall = time.monotonic() - t0
            guard.send_signal(signal.SIGTERM)
            guard.wait(30)
        cpu = (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / wall
        print(
            f"attached console: {args.rate:,} lines/s for {args.seconds:.0f} s on"
            f" {os.cpu_count()} cores; {res['lines']:,} lines, {res['hits']} HIT lines,"
            f" {res['shown']} shown"
        )
        print(
            f"line written -> alarm in the console: p50 {res['p50']:.0f} ms, p95"
            f" {res['p95']:.0f} ms, max {res['max']:.0f} ms; guard CPU {cpu:.0%} of a core"
        )
        print(
            f"line written -> alarm on the guard's socket: p50 {res['socket_p50']:.0f} ms,"
            f" p95 {res['socket_p95']:.0f} ms"
        )
        print(
            f"line written -> alarm in the web page (chromium): p50 {res['web_p50']:.0f} ms,"
            f" p95 {res['web_p95']:.0f} ms, max {res['web_max']:.0f} ms; {res['web_shown']} shown"
        )


if __name__ == "__main__":
    main()
