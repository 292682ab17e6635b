#!/usr/bin/env python3
"""The console under load: key-press latency, CPU share, whether the engine keeps up, and
the time to the first frame.

    .venv/bin/python bench/bench_ui.py                 # 60 s at 20,000 lines/s
    .venv/bin/python bench/bench_ui.py --seconds 20 --rate 5000 --no-first-paint
    .venv/bin/python bench/bench_ui.py --profile    # where the UI thread's time goes
    .venv/bin/python bench/bench_ui.py --stalls     # stacks of the UI thread when it stalls

(--profile sorts by BENCH_SORT, default tottime, and prints BENCH_TOP rows, default 25.)

The app runs headless (``App.run_test``) on the demo configuration (17 parsers) in live mode
while a writer thread appends demo lines to its log files at ``--rate`` lines/s (lines are
drawn from a pool the demo's own generator made, re-stamped with the current time, so the
writer costs little of the process's CPU). Keys are sent the way a terminal sends them
(through the driver, not Pilot, which waits for the app to go idle) and the delay is taken
from the send to the first screen refresh after the widget state reflects the key:

- j / k: the top-N table's cursor row moved;
- ← / →: the table shows the older / newer window (a query on the query thread);
- enter: the drill-down is on screen with its lines (a query); escape: the main screen is
  back.

Lag = lines written - lines the engine has read, sampled every second; "keeps up" means the
lag does not grow (its trend over the run is flat, and it ends small).

First paint: ``alser-tui --demo`` in a pseudo-terminal, time from spawn to the frame that
holds the parser list and the alarm strip (median of runs).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
from textual import events  # noqa: E402

from alser_tui.demo import DemoWriter, prepare_demo  # noqa: E402
from alser_tui.engine.config import load_config  # noqa: E402
from alser_tui.ui.app import AlserApp  # noqa: E402
from alser_tui.ui.screens.drill import DrillScreen  # noqa: E402
from alser_tui.ui.widgets.group_table import GroupTable  # noqa: E402

KEY_CHARS = {"enter": "\r", "escape": "\x1b", "j": "j", "k": "k", "left": None, "right": None}
STEP_TIMEOUT = 5.0


# --------------------------------------------------------------------------- the writer


def line_pool(size: int) -> list[tuple[str, str, str]]:
    """(log file name, area, message) drawn from the demo's generator, in its own mix."""
    with tempfile.TemporaryDirectory(prefix="alser-pool-") as tmp:
        dest = Path(tmp)
        prepare_demo(dest)
        writer = DemoWriter(dest, seed=7)
        now = time.time()
        while writer.lines_written < size:
            writer.step(5.0, now=now)
        writer.stop()
        pool: list[tuple[str, str, str]] = []
        for path in sorted((dest / "logs").glob("*.log")):
            for raw in path.read_text(encoding="utf-8").split("\n"):
                parts = raw.split(",", 2)
                if len(parts) == 3 and parts[1].isdigit():  # the envelope AREA,TS,MSG
                    pool.append((path.name, parts[0], parts[2]))
    # Interleave the families as they arrive live (sorted by file name they would not).
    pool.sort(key=lambda item: hash(item[2]) & 0xFFFF)
    return pool


class Writer(threading.Thread):
    """Appends pool lines stamped with the current time at ``rate`` lines/s."""

    def __init__(self, logs: Path, pool: list[tuple[str, str, str]], rate: int) -> None:
        super().__init__(name="bench-writer", daemon=True)
        self.logs = logs
        self.pool = pool
        self.rate = rate
        self.written = 0
        self.cpu = 0.0
        self.stop_event = threading.Event()

    def run(self) -> None:
        files = {}
        tick = 0.05
        per_tick = max(1, int(self.rate * tick))
        i = 0
        start = time.monotonic()
        t0 = time.thread_time()
        try:
            while not self.stop_event.is_set():
                now = int(time.time())
                chunks: dict[str, list[str]] = {}
                for _ in range(per_tick):
                    name, area, msg = self.pool[i % len(self.pool)]
                    i += 1
                    chunks.setdefault(name, []).append(f"{area},{now},{msg}\n")
                for name, lines in chunks.items():
                    fh = files.get(name)
                    if fh is None:
                        fh = files[name] = (self.logs / name).open("a", encoding="utf-8")
                    fh.writelines(lines)
                    fh.flush()
                self.written += per_tick
                # Paced by the clock, not by sleeps adding up: the rate holds under load.
                delay = start + self.written / self.rate - time.monotonic()
                if delay > 0:
                    self.stop_event.wait(delay)
        finally:
            self.cpu = time.thread_time() - t0
            for fh in files.values():
                fh.close()


# --------------------------------------------------------------------------- keys


@dataclass
class Run:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    timeouts: dict[str, int] = field(default_factory=dict)
    stages: dict[str, list[float]] = field(default_factory=dict)  # "key: stage" -> seconds
    stalls: StallWatch | None = None
    lag: list[tuple[float, int, int]] = field(default_factory=list)  # t, written, read
    cpu_share: float = 0.0
    rss_mb: float = 0.0
    writer_cpu_share: float = 0.0
    threads: dict[str, float] = field(default_factory=dict)  # name -> share of one core
    events: int = 0  # engine events the UI handled
    alarms: int = 0


class StallWatch(threading.Thread):
    """Samples the UI thread's stack whenever its event loop has not come round for a while
    (--stalls: where a slow key press spent its time)."""

    def __init__(self, limit: float = 0.15) -> None:
        super().__init__(name="bench-stalls", daemon=True)
        self.limit = limit
        self.beat = time.monotonic()
        self.main_id = threading.main_thread().ident
        self.samples: dict[str, int] = {}
        self.stop_event = threading.Event()
        self.task: asyncio.Task[None] | None = None
        self.label = ""  # the key being measured

    async def heartbeat(self) -> None:
        while not self.stop_event.is_set():
            self.beat = time.monotonic()
            await asyncio.sleep(0.005)

    def run(self) -> None:
        import traceback

        while not self.stop_event.wait(0.02):
            if time.monotonic() - self.beat < self.limit:
                continue
            frame = sys._current_frames().get(self.main_id)
            if frame is None:
                continue
            stack = traceback.extract_stack(frame)
            ours = [f for f in stack if "/alser_tui/" in f.filename or "textual" in f.filename]
            where = " < ".join(
                f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(ours[-6:])
            )
            where = f"[{self.label}] {where}"
            self.samples[where] = self.samples.get(where, 0) + 1


def thread_cpu(proc: psutil.Process) -> dict[str, float]:
    """CPU seconds per thread, by name (the UI is MainThread; several unnamed SQLite or
    watcher threads are summed as "other")."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    out: dict[str, float] = {}
    for t in proc.threads():
        name = names.get(t.id, "other")
        out[name] = out.get(name, 0.0) + t.user_time + t.system_time
    return out


async def refreshed(app: AlserApp) -> None:
    """Until the screen has been painted once more."""
    done = asyncio.Event()
    app.call_after_refresh(done.set)
    await done.wait()


async def press(
    app: AlserApp,
    key: str,
    reflected: Callable[[], bool],
    run: Run,
    stages: dict[str, Callable[[], bool]] | None = None,
) -> None:
    """Send a key; ``stages``: named conditions whose first time true is recorded too
    (where a slow key spends its time: e.g. the screen switched, the lines arrived)."""
    if run.stalls is not None:
        run.stalls.label = key
    driver = app._driver
    assert driver is not None
    t0 = time.perf_counter()
    event = events.Key(key, KEY_CHARS.get(key))
    event.set_sender(app)
    driver.send_message(event)
    deadline = t0 + STEP_TIMEOUT
    pending = dict(stages or {})
    while True:
        for name, cond in list(pending.items()):
            if cond():
                run.stages.setdefault(f"{key}: {name}", []).append(time.perf_counter() - t0)
                del pending[name]
        if reflected():
            break
        if time.perf_counter() > deadline:
            run.timeouts[key] = run.timeouts.get(key, 0) + 1
            return
        await asyncio.sleep(0.001)
    await refreshed(app)
    run.latencies.setdefault(key, []).append(time.perf_counter() - t0)


async def drive(
    app: AlserApp,
    writer: Writer,
    seconds: float,
    warmup: float,
    run: Run,
    profile: bool = False,
    stalls: StallWatch | None = None,
) -> None:
    async with app.run_test(size=(160, 45)) as pilot:
        while not app.model.opened:
            await asyncio.sleep(0.05)
        writer.start()  # after the engine opened the files at their ends: it reads it all
        if stalls is not None:
            self_beat = asyncio.create_task(stalls.heartbeat())
            stalls.task = self_beat  # kept: a task nobody holds may be collected
            stalls.start()
        await asyncio.sleep(warmup)
        main = app.main
        table = app.query_one(GroupTable)
        table.focus()
        proc = psutil.Process()
        cpu0 = sum(proc.cpu_times()[:2])
        threads0 = thread_cpu(proc)
        events0, alarms0 = app.model.events, app.model._seq
        profiler = None
        if profile:
            import cProfile

            profiler = cProfile.Profile()  # the UI thread only: where its time goes
            profiler.enable()
        wcpu0 = writer.cpu
        t_start = time.monotonic()
        next_sample = t_start
        engine = app.engine
        assert engine is not None

        def sample() -> None:
            run.lag.append((time.monotonic() - t_start, writer.written, engine.lines))

        while time.monotonic() - t_start < seconds:
            if time.monotonic() >= next_sample:
                sample()
                next_sample += 1.0
            # Down and up the table: the cursor row moves at once.
            for key in ("j", "j", "k", "k"):
                row = table.cursor_row
                if table.row_count < 3 or (key == "j" and row >= table.row_count - 1):
                    continue
                if key == "k" and row == 0:
                    continue
                await press(app, key, lambda r=row: table.cursor_row != r, run)
                await asyncio.sleep(0.1)
            # An older window and back: the table re-scopes (a query under load).
            scope = main.scope
            if scope is not None and len(scope.windows) > 1:
                before = scope.start
                await press(
                    app,
                    "left",
                    lambda b=before: main.scope is not None and main.scope.start != b,
                    run,
                )
                await asyncio.sleep(0.1)
                older = main.scope.start if main.scope is not None else None
                await press(
                    app,
                    "right",
                    lambda o=older: main.scope is not None and main.scope.start != o,
                    run,
                )
                await asyncio.sleep(0.1)
            # Into the raw lines and out again.
            if table.row_count:
                await press(
                    app,
                    "enter",
                    lambda: isinstance(app.screen, DrillScreen) and app.screen.events is not None,
                    run,
                    {
                        "drill screen on top": lambda: isinstance(app.screen, DrillScreen),
                        "lines held": lambda: (
                            isinstance(app.screen, DrillScreen) and app.screen.events is not None
                        ),
                    },
                )
                await asyncio.sleep(0.2)
                if isinstance(app.screen, DrillScreen):
                    await press(app, "escape", lambda: app.screen is main, run)
            await asyncio.sleep(0.2)
        sample()
        run.events = app.model.events - events0
        run.alarms = app.model._seq - alarms0
        if profiler is not None:
            import pstats

            profiler.disable()
            pstats.Stats(profiler).sort_stats(os.environ.get("BENCH_SORT", "tottime")).print_stats(
                int(os.environ.get("BENCH_TOP", "25"))
            )
        wall = time.monotonic() - t_start
        run.cpu_share = (sum(proc.cpu_times()[:2]) - cpu0) / wall
        for name, cpu in thread_cpu(proc).items():
            run.threads[name] = (cpu - threads0.get(name, 0.0)) / wall
        run.rss_mb = proc.memory_info().rss / 1048576
        writer.stop_event.set()
        writer.join()
        run.writer_cpu_share = (writer.cpu - wcpu0) / wall
        await pilot.press("q")


# --------------------------------------------------------------------------- first paint


def first_paint(runs: int) -> list[float]:
    """Seconds from spawning ``alser-tui --demo`` in a pty to its first full frame."""
    import fcntl
    import pty
    import select
    import signal
    import struct
    import termios

    exe = str(Path(sys.executable).with_name("alser-tui"))
    out: list[float] = []
    for _ in range(runs):
        t0 = time.monotonic()
        pid, fd = pty.fork()
        if pid == 0:  # the child: the console on the demo, as a user starts it
            os.environ["TERM"] = "xterm-256color"
            os.execv(exe, [exe, "--demo", "--no-lock"])
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 45, 160, 0, 0))
        seen = b""
        painted = None
        while time.monotonic() - t0 < 10 and painted is None:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if not ready:
                continue
            try:
                seen += os.read(fd, 1 << 16)
            except OSError:
                break
            if b"parsers" in seen and b"alarms" in seen:
                painted = time.monotonic() - t0
        os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)
        os.close(fd)
        if painted is not None:
            out.append(painted)
    return out


# --------------------------------------------------------------------------- report


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def trend(points: list[tuple[float, int]]) -> float:
    """Least-squares slope (units per second)."""
    if len(points) < 2:
        return 0.0
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0


def report(run: Run, rate: int, paint: list[float]) -> None:
    every = [v for vs in run.latencies.values() for v in vs]
    print(f"\nkey press -> updated screen, {len(every)} presses at {rate:,} lines/s")
    print(f"{'key':<8} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for key, vs in sorted(run.latencies.items()):
        print(
            f"{key:<8} {len(vs):>4} {pct(vs, 0.5) * 1000:>8.1f} {pct(vs, 0.95) * 1000:>8.1f}"
            f" {max(vs) * 1000:>8.1f}"
        )
    if every:
        print(
            f"{'all':<8} {len(every):>4} {pct(every, 0.5) * 1000:>8.1f}"
            f" {pct(every, 0.95) * 1000:>8.1f} {max(every) * 1000:>8.1f}"
            f"   (target p95 < 100 ms: {'met' if pct(every, 0.95) < 0.1 else 'NOT met'})"
        )
    for name, vs in sorted(run.stages.items()):
        print(
            f"  {name:<28} p50 {pct(vs, 0.5) * 1000:6.1f} ms"
            f"   p95 {pct(vs, 0.95) * 1000:6.1f} ms   n {len(vs)}"
        )
    if run.timeouts:
        print(f"keys with no visible effect within {STEP_TIMEOUT:.0f} s: {run.timeouts}")
    print(
        f"process CPU {run.cpu_share:.0%} of one core (the writer thread's share:"
        f" {run.writer_cpu_share:.0%}), RSS {run.rss_mb:.0f} MB"
    )
    print(f"engine events handled by the UI: {run.events:,} ({run.alarms:,} alarms)")
    busy = sorted(run.threads.items(), key=lambda kv: -kv[1])
    print("per thread: " + ", ".join(f"{n} {v:.0%}" for n, v in busy if v >= 0.005))
    lags = [(t, w - r) for t, w, r in run.lag]
    if lags:
        t_end, w_end, r_end = run.lag[-1]
        t_0, w_0, r_0 = run.lag[0]
        slope = trend(lags)
        half = lags[len(lags) // 2 :]
        # Keeping up: under a second of lines behind at the end, never two in the last half.
        keeps = lags[-1][1] < rate and max(v for _t, v in half) < 2 * rate
        print(
            f"engine: wrote {w_end - w_0:,} read {r_end - r_0:,} in {t_end - t_0:.0f} s"
            f" ({(r_end - r_0) / max(t_end - t_0, 1e-9):,.0f} lines/s read);"
            f" lag start {lags[0][1]:,} end {lags[-1][1]:,} max {max(v for _t, v in lags):,}"
            f" lines; trend {slope:+,.0f} lines/s -> {'keeps up' if keeps else 'FALLS BEHIND'}"
        )
    if paint:
        print(
            f"first paint (alser-tui --demo in a pty, {len(paint)} runs): median"
            f" {statistics.median(paint) * 1000:.0f} ms, max {max(paint) * 1000:.0f} ms"
            f"   (target < 500 ms)"
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="measured time (default 60)")
    ap.add_argument("--rate", type=int, default=20_000, help="lines/s written (default 20000)")
    ap.add_argument("--warmup", type=float, default=5.0, help="seconds before measuring")
    ap.add_argument("--paint-runs", type=int, default=5, help="first-paint runs (default 5)")
    ap.add_argument("--no-first-paint", action="store_true")
    ap.add_argument("--profile", action="store_true", help="profile the UI thread")
    ap.add_argument("--stalls", action="store_true", help="where the UI thread stalls")
    args = ap.parse_args()

    paint = [] if args.no_first_paint else first_paint(args.paint_runs)
    pool = line_pool(200_000)
    with tempfile.TemporaryDirectory(prefix="alser-bench-ui-") as tmp:
        dest = Path(tmp)
        config = load_config(prepare_demo(dest))
        logs = dest / "logs"
        logs.mkdir(exist_ok=True)
        for name in {name for name, _a, _m in pool}:
            (logs / name).touch()  # followed from the start: the engine starts at their ends
        app = AlserApp(config, desktop=False)
        writer = Writer(logs, pool, args.rate)
        run = Run()
        stalls = run.stalls = StallWatch(0.05) if args.stalls else None
        asyncio.run(drive(app, writer, args.seconds, args.warmup, run, args.profile, stalls))
        if stalls is not None:
            stalls.stop_event.set()
            for where, n in sorted(stalls.samples.items(), key=lambda kv: -kv[1])[:15]:
                print(f"{n * 20:>6} ms  {where}")
    report(run, args.rate, paint)
    return 0


if __name__ == "__main__":
    sys.exit(main())
