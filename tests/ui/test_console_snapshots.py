"""Snapshots of the console's screens over a replayed history (fixed files, fixed zone, a
fixed wall clock, no rates, memory or store size in the status line): regenerate with
``pytest --snapshot-update`` and look at them."""

from __future__ import annotations

from typing import Any

from console_support import GONE_GUARD, T0, Root, php, rows_of, settle, wait_for, with_health
from textual.pilot import Pilot

from alser_tui.ui.screens.drill import DrillScreen
from alser_tui.ui.screens.event import EventScreen
from alser_tui.ui.screens.silence import SilencePicker
from alser_tui.ui.screens.silences import SilencesScreen
from alser_tui.ui.screens.sources import SourcesScreen
from alser_tui.ui.widgets.alarm_list import AlarmList
from alser_tui.ui.widgets.parser_list import ParserList

WALL = 1_900_000_000.0


def wall() -> float:
    return WALL


async def _drill(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("j", "enter")
    app = pilot.app
    await wait_for(
        pilot, lambda: isinstance(app.screen, DrillScreen) and app.screen.events is not None
    )


async def _alarms(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    pilot.app.query_one(AlarmList).focus()
    await pilot.press("j")


async def _event(pilot: Pilot[Any]) -> None:
    """A JSON event whole (the Exceptions parser's newest row)."""
    await settle(pilot)
    app = pilot.app
    await pilot.press("2")
    await wait_for(pilot, lambda: app.main.scope is not None and app.main.scope.parser == "Error")
    await pilot.press("enter")
    await wait_for(
        pilot, lambda: isinstance(app.screen, DrillScreen) and app.screen.events is not None
    )
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, EventScreen))


async def _silences(pilot: Pilot[Any]) -> None:
    """Two silences from the console: a row for 1 h, an alarm's group for 4 h."""
    await settle(pilot)
    app = pilot.app
    for keys, choice in ((("j", "s"), "2"), (("tab", "j", "s"), "3")):
        before = len(app.model.silences)
        await pilot.press(*keys)
        await wait_for(pilot, lambda: isinstance(app.screen, SilencePicker))
        await pilot.press(choice)
        await wait_for(pilot, lambda b=before: len(app.model.silences) > b)
    app.toasts.clear()  # their timing is not the picture's business
    await pilot.press("S")
    await wait_for(pilot, lambda: isinstance(app.screen, SilencesScreen))
    await pilot.pause()


def test_main_screen(snap_compare: Any, root: Root) -> None:
    assert snap_compare(root.app(history=True), terminal_size=(160, 45), run_before=settle)


def test_drill_down(snap_compare: Any, root: Root) -> None:
    assert snap_compare(root.app(history=True), terminal_size=(160, 45), run_before=_drill)


def test_alarm_list(snap_compare: Any, root: Root) -> None:
    assert snap_compare(root.app(history=True), terminal_size=(160, 45), run_before=_alarms)


def test_main_screen_80x24(snap_compare: Any, root: Root) -> None:
    assert snap_compare(root.app(history=True), terminal_size=(80, 24), run_before=settle)


def test_event_detail(snap_compare: Any, root: Root) -> None:
    assert snap_compare(root.app(history=True), terminal_size=(160, 45), run_before=_event)


def test_silences(snap_compare: Any, root: Root) -> None:
    app = root.app(history=True, wall_clock=wall)
    assert snap_compare(app, terminal_size=(160, 45), run_before=_silences)


def _lines_read(app: Any) -> int:
    st = app.model.stats
    return st.lines if st is not None else 0


async def _sources(pilot: Pilot[Any], root: Root) -> None:
    """A live run: lines read from php.1.log, err.1.log's times 2 h behind the (frozen)
    clock in every read, a file no guard covers."""
    app = pilot.app
    await wait_for(pilot, lambda: app.model.opened)
    root.append("php.1.log", [php("us", T0 + 1, "A")] * 5)
    await wait_for(pilot, lambda: _lines_read(app) == 5)
    for i in range(5):  # one read each: the skew needs several reads that reach the end
        root.append("err.1.log", [f'us,{T0 - 7200},{{"class": "Slow{i}"}}'])
        await wait_for(pilot, lambda i=i: _lines_read(app) == 6 + i)
    (root.path / "logs" / "nginx.access.log").write_text("GET / 200\n")
    await pilot.press("o")
    await wait_for(pilot, lambda: isinstance(app.screen, SourcesScreen))
    model = app.model
    await wait_for(
        pilot, lambda: bool(model.stats and model.stats.unguarded and model.stats.warnings)
    )
    await pilot.pause(0.5)


def test_sources(snap_compare: Any, root: Root) -> None:
    """80x24, steady: no lines/s, no "3s ago"."""

    async def steps(pilot: Pilot[Any]) -> None:
        await _sources(pilot, root)

    app = root.app(clock=lambda: float(T0 + 1), stats_interval=0.05, wall_clock=wall)
    assert snap_compare(app, terminal_size=(80, 24), run_before=steps)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def _sources_down(pilot: Pilot[Any], root: Root, clock: Clock) -> None:
    """A live run: the php guard read 3 lines, then nothing for 31 s (silent); the gone
    guard's folder does not exist (no source)."""
    app = pilot.app
    await wait_for(pilot, lambda: app.model.opened)
    root.append("php.1.log", [php("us", T0 + 1, "A")] * 3)
    await wait_for(pilot, lambda: app.model.parsers["PhpError"].parsed == 3)
    clock.now += 31
    # The parser list and the alarm list repaint once a second: wait for both to say it.
    parsers, alarms = app.main.query_one(ParserList), app.main.query_one(AlarmList)
    await wait_for(pilot, lambda: [r[-1] for r in rows_of(parsers)] == ["◌sil", "∅src"])
    await wait_for(pilot, lambda: len(rows_of(alarms)) == 1)
    await pilot.pause()


def _down_app(root: Root) -> tuple[Any, Clock]:
    root.config_path.write_text(with_health(GONE_GUARD, silent_after=30), encoding="utf-8")
    clock = Clock(float(T0 + 1))
    return root.app(clock=clock, stats_interval=0.05, wall_clock=wall), clock


def test_main_screen_sources_down(snap_compare: Any, root: Root) -> None:
    """80x24: the parser states, the top bar, the strip and the status line say it."""
    app, clock = _down_app(root)

    async def steps(pilot: Pilot[Any]) -> None:
        await _sources_down(pilot, root, clock)

    assert snap_compare(app, terminal_size=(80, 24), run_before=steps)


def test_sources_down(snap_compare: Any, root: Root) -> None:
    """The Sources screen: the guard without a source first, the silent file's note."""
    app, clock = _down_app(root)

    async def steps(pilot: Pilot[Any]) -> None:
        await _sources_down(pilot, root, clock)
        await pilot.press("o")
        await wait_for(pilot, lambda: isinstance(app.screen, SourcesScreen))
        await pilot.pause(0.5)

    assert snap_compare(app, terminal_size=(100, 24), run_before=steps)
