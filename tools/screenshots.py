#!/usr/bin/env python3
"""Regenerate screenshots/*.svg (and .png when rsvg-convert is installed) of the console.

The pictures come from a replay of demo history (fixed start time, fixed seed, UTC, no rates
or memory in the status line), so running this twice gives the same files.

    .venv/bin/python tools/screenshots.py [--out screenshots] [--no-png] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

os.environ["TZ"] = "UTC"  # before anything formats a time
time.tzset()

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from textual.pilot import Pilot  # noqa: E402

from alser_tui.demo import DemoWriter, prepare_demo, write_history  # noqa: E402
from alser_tui.engine.config import load_config  # noqa: E402
from alser_tui.engine.engine import Engine  # noqa: E402
from alser_tui.ui.app import AlserApp  # noqa: E402
from alser_tui.ui.screens.drill import DrillScreen  # noqa: E402
from alser_tui.ui.screens.event import EventScreen  # noqa: E402
from alser_tui.ui.screens.help import HelpScreen  # noqa: E402
from alser_tui.ui.screens.silence import SilencePicker  # noqa: E402
from alser_tui.ui.screens.silences import SilencesScreen  # noqa: E402
from alser_tui.ui.screens.sources import SourcesScreen  # noqa: E402
from alser_tui.ui.widgets.alarm_list import AlarmList  # noqa: E402

START = 1_800_000_000  # 2027-01-15 08:00:00 UTC, a window boundary
MINUTES = 5
WALL = START + MINUTES * 60 + 30  # "now" for silences: their times are the same every run
LIVE_TS = START + 601  # the live shot's lines: in a window that stays open at LIVE_NOW
LIVE_NOW = LIVE_TS + 2
LIVE_SECONDS = 10  # of demo traffic in the live shot
SETTLE_TIMEOUT = 30.0

Steps = Callable[[Pilot[int]], Awaitable[None]]


async def _until(pilot: Pilot[int], cond: Callable[[], bool]) -> None:
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while not cond():
        if time.monotonic() > deadline:
            import inspect

            raise SystemExit(
                f"screenshots: the console did not settle in time: {inspect.getsource(cond)}"
                f" (screen {type(pilot.app.screen).__name__})"
            )
        await pilot.pause(0.05)


async def _main(pilot: Pilot[int]) -> None:
    return None


async def _drill(pilot: Pilot[int]) -> None:
    await pilot.press("enter")
    app = pilot.app
    await _until(
        pilot, lambda: isinstance(app.screen, DrillScreen) and app.screen.events is not None
    )


async def _search(pilot: Pilot[int]) -> None:
    """The drill-down with a filter and a search in force."""
    await _drill(pilot)
    await pilot.press("f", *"web-us-01", "enter")
    await pilot.press("slash", *"08:04:5", "enter", "n")


async def _event(pilot: Pilot[int]) -> None:
    """One JSON event whole: the application exceptions (parser 3)."""
    app = pilot.app
    await pilot.press("3")
    await _until(pilot, lambda: app.main.scope is not None and app.main.scope.parser == "Error")
    await pilot.pause(0.3)
    await _drill(pilot)
    await pilot.press("enter")
    await _until(pilot, lambda: isinstance(app.screen, EventScreen))


async def _silence(pilot: Pilot[int], keys: tuple[str, ...], choice: str) -> None:
    app = pilot.app
    before = len(app.model.silences)
    await pilot.press(*keys, "s")
    await _until(pilot, lambda: isinstance(app.screen, SilencePicker))
    await pilot.press(choice)
    await _until(pilot, lambda: len(app.model.silences) > before)


async def _silences(pilot: Pilot[int]) -> None:
    """Two silences set from the console (a group for 1 h, an alarm's group until 09:00)."""
    await _silence(pilot, ("j",), "2")
    pilot.app.query_one(AlarmList).focus()
    await _silence(pilot, ("j",), "4")
    await pilot.press("S")
    await _until(pilot, lambda: isinstance(pilot.app.screen, SilencesScreen))


async def _alarms(pilot: Pilot[int]) -> None:
    pilot.app.query_one(AlarmList).focus()
    await pilot.press("j")


async def _help(pilot: Pilot[int]) -> None:
    await pilot.press("question_mark")
    await _until(pilot, lambda: isinstance(pilot.app.screen, HelpScreen))


async def _sources(pilot: Pilot[int]) -> None:
    await pilot.press("o")
    await _until(pilot, lambda: isinstance(pilot.app.screen, SourcesScreen))


SHOTS: list[tuple[str, tuple[int, int], Steps]] = [
    ("main", (160, 45), _main),
    ("drill-down", (160, 45), _drill),
    ("drill-search", (160, 45), _search),
    ("event-detail", (160, 45), _event),
    ("alarm-list", (160, 45), _alarms),
    ("silences", (160, 45), _silences),
    ("help", (160, 45), _help),
    ("main-80x24", (80, 24), _main),
    ("drill-80x24", (80, 24), _drill),
]
# Shots of a live run (a replay follows nothing live).
LIVE_SHOTS: list[tuple[str, tuple[int, int], Steps]] = [
    ("sources", (160, 45), _sources),
]


async def shoot(config: Path, out: Path, name: str, size: tuple[int, int], steps: Steps) -> Path:
    app = AlserApp(
        load_config(config), history=True, steady=True, wall_clock=lambda: WALL, desktop=False
    )
    async with app.run_test(size=size) as pilot:
        await _until(pilot, lambda: app.settled)
        await steps(pilot)
        await pilot.pause(0.3)
        path = Path(app.save_screenshot(filename=f"{name}.svg", path=str(out)))
    return path


def write_live_traffic(config: Path, dest: Path) -> int:
    """Seconds of demo traffic in logs/, to be read from their start: an engine run first
    records the (empty) files' positions, so the next run is not a first run that would
    start at their end. Everything is written before the console reads: the same batches,
    the same picture every time. Also a file that no guard covers."""
    engine = Engine(load_config(config))
    engine.open()
    engine.close()
    writer = DemoWriter(dest, seed=1)
    written = writer.step(LIVE_SECONDS, now=LIVE_TS)
    writer.stop()
    (dest / "logs" / "nginx.access.log").write_text("GET / HTTP/1.1 200\n", encoding="utf-8")
    return written


async def shoot_live(
    config: Path, out: Path, name: str, size: tuple[int, int], steps: Steps, lines: int
) -> Path:
    app = AlserApp(
        load_config(config),
        clock=lambda: LIVE_NOW,
        steady=True,
        wall_clock=lambda: WALL,
        desktop=False,
    )
    async with app.run_test(size=size) as pilot:

        def read_all() -> bool:
            st = app.model.stats
            return st is not None and st.lines == lines and bool(st.unguarded)

        await _until(pilot, read_all)
        await steps(pilot)
        await pilot.pause(0.3)
        path = Path(app.save_screenshot(filename=f"{name}.svg", path=str(out)))
    return path


def to_png(svg: Path) -> Path | None:
    tool = shutil.which("rsvg-convert")
    if tool is None:
        return None
    png = svg.with_suffix(".png")
    # rsvg collapses the spaces Textual writes at the start of a text run (indented JSON,
    # the gap after a styled word) unless told to keep them; browsers keep them anyway.
    text = svg.read_text(encoding="utf-8").replace("<svg ", '<svg xml:space="preserve" ', 1)
    with tempfile.NamedTemporaryFile("w", suffix=".svg", encoding="utf-8") as tmp:
        tmp.write(text)
        tmp.flush()
        subprocess.run([tool, "--zoom", "1", "-o", str(png), tmp.name], check=True)
    return png


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "screenshots"))
    ap.add_argument("--no-png", action="store_true")
    ap.add_argument("--only", action="append", metavar="NAME", help="just this picture")
    args = ap.parse_args()
    names = [n for n, _s, _f in SHOTS + LIVE_SHOTS]
    unknown = [n for n in args.only or () if n not in names]
    if unknown:
        ap.error(f"unknown picture {unknown[0]!r}: one of {', '.join(names)}")
    wanted = set(args.only or names)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="alser-shots-") as tmp:
        dest = Path(tmp)
        config = prepare_demo(dest)
        write_history(dest, start_ts=START, minutes=MINUTES, seed=1)
        for name, size, steps in SHOTS:
            if name not in wanted:
                continue
            # Each picture starts from nothing stored: no silence or ack from the one before.
            for suffix in ("", "-wal", "-shm"):
                (dest / "var" / f"delivery.db{suffix}").unlink(missing_ok=True)
            svg = asyncio.run(shoot(config, out, name, size, steps))
            png = None if args.no_png else to_png(svg)
            print(f"{svg}" + (f"  {png}" if png else ""))
        live = [shot for shot in LIVE_SHOTS if shot[0] in wanted]
        lines = write_live_traffic(config, dest) if live else 0
        for name, size, steps in live:
            svg = asyncio.run(shoot_live(config, out, name, size, steps, lines))
            png = None if args.no_png else to_png(svg)
            print(f"{svg}" + (f"  {png}" if png else ""))
    if not args.no_png and shutil.which("rsvg-convert") is None:
        print("no rsvg-convert: SVG only (apt-get install librsvg2-bin for PNGs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
