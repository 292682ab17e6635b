"""Snapshots of the console's screens over a replayed history (fixed files, fixed zone, a
fixed wall clock, no rates, memory or store size in the status line): regenerate with
``pytest --snapshot-update`` and look at them."""

from __future__ import annotations

from typing import Any

from console_support import T0, Root, php, settle, wait_for
from textual.pilot import Pilot

from alser_tui.ui.screens.drill import DrillScreen
from alser_tui.ui.screens.event import EventScreen
from alser_tui.ui.screens.silence import SilencePicker
from alser_tui.ui.screens.silences import SilencesScreen
from alser_tui.ui.screens.sources import SourcesScreen
from alser_tui.ui.widgets.alarm_list import AlarmList

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
