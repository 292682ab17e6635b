#!/usr/bin/env python3
"""Regenerate screenshots/*.svg (and .png when rsvg-convert is installed) of the console.

The pictures come from a replay of demo history (fixed start time, fixed seed, UTC, no rates
or memory in the status line), so running this twice gives the same files.

    .venv/bin/python tools/screenshots.py [--out screenshots] [--no-png]
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

from alser_tui.demo import prepare_demo, write_history  # noqa: E402
from alser_tui.engine.config import load_config  # noqa: E402
from alser_tui.ui.app import AlserApp  # noqa: E402
from alser_tui.ui.screens.drill import DrillScreen  # noqa: E402
from alser_tui.ui.screens.help import HelpScreen  # noqa: E402
from alser_tui.ui.widgets.alarm_list import AlarmList  # noqa: E402

START = 1_800_000_000  # 2027-01-15 08:00:00 UTC, a window boundary
MINUTES = 5
SETTLE_TIMEOUT = 30.0

Steps = Callable[[Pilot[int]], Awaitable[None]]


async def _until(pilot: Pilot[int], cond: Callable[[], bool]) -> None:
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while not cond():
        if time.monotonic() > deadline:
            raise SystemExit("screenshots: the console did not settle in time")
        await pilot.pause(0.05)


async def _main(pilot: Pilot[int]) -> None:
    return None


async def _drill(pilot: Pilot[int]) -> None:
    await pilot.press("enter")
    app = pilot.app
    await _until(
        pilot, lambda: isinstance(app.screen, DrillScreen) and app.screen.events is not None
    )


async def _alarms(pilot: Pilot[int]) -> None:
    pilot.app.query_one(AlarmList).focus()
    await pilot.press("j")


async def _help(pilot: Pilot[int]) -> None:
    await pilot.press("question_mark")
    await _until(pilot, lambda: isinstance(pilot.app.screen, HelpScreen))


SHOTS: list[tuple[str, tuple[int, int], Steps]] = [
    ("main", (160, 45), _main),
    ("drill-down", (160, 45), _drill),
    ("alarm-list", (160, 45), _alarms),
    ("help", (160, 45), _help),
    ("main-80x24", (80, 24), _main),
]


async def shoot(config: Path, out: Path, name: str, size: tuple[int, int], steps: Steps) -> Path:
    app = AlserApp(load_config(config), history=True, steady=True)
    async with app.run_test(size=size) as pilot:
        await _until(pilot, lambda: app.settled)
        await steps(pilot)
        await pilot.pause(0.3)
        path = Path(app.save_screenshot(filename=f"{name}.svg", path=str(out)))
    return path


def to_png(svg: Path) -> Path | None:
    tool = shutil.which("rsvg-convert")
    if tool is None:
        return None
    png = svg.with_suffix(".png")
    subprocess.run([tool, "--zoom", "1", "-o", str(png), str(svg)], check=True)
    return png


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "screenshots"))
    ap.add_argument("--no-png", action="store_true")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="alser-shots-") as tmp:
        dest = Path(tmp)
        config = prepare_demo(dest)
        write_history(dest, start_ts=START, minutes=MINUTES, seed=1)
        for name, size, steps in SHOTS:
            svg = asyncio.run(shoot(config, out, name, size, steps))
            png = None if args.no_png else to_png(svg)
            print(f"{svg}" + (f"  {png}" if png else ""))
    if not args.no_png and shutil.which("rsvg-convert") is None:
        print("no rsvg-convert: SVG only (apt-get install librsvg2-bin for PNGs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
