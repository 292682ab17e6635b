"""Snapshots of the console's screens over a replayed history (fixed files, fixed zone,
no rates or memory in the status line): regenerate with ``pytest --snapshot-update``."""

from __future__ import annotations

from typing import Any

from console_support import Root, settle, wait_for
from textual.pilot import Pilot

from alser_tui.ui.screens.drill import DrillScreen
from alser_tui.ui.widgets.alarm_list import AlarmList


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


def test_main_screen(snap_compare: Any, root: Root) -> None:
    assert snap_compare(root.app(history=True), terminal_size=(160, 45), run_before=settle)


def test_drill_down(snap_compare: Any, root: Root) -> None:
    assert snap_compare(root.app(history=True), terminal_size=(160, 45), run_before=_drill)


def test_alarm_list(snap_compare: Any, root: Root) -> None:
    assert snap_compare(root.app(history=True), terminal_size=(160, 45), run_before=_alarms)


def test_main_screen_80x24(snap_compare: Any, root: Root) -> None:
    assert snap_compare(root.app(history=True), terminal_size=(80, 24), run_before=settle)
