"""e/E, the command palette, toasts, the 80x24 layout, a pinned group outside the top N,
and what the console imports before its first frame."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from console_support import T0, WINDOW, Root, err, rows_of, settle, text_of, wait_for
from textual.command import CommandPalette
from textual.pilot import Pilot

from alser_tui.engine.alarms import Alarm
from alser_tui.engine.events import AlarmRaised
from alser_tui.engine.notify.db import DeliveryDB
from alser_tui.engine.notify.lifecycle import Silences
from alser_tui.ui.app import AlserApp
from alser_tui.ui.messages import EngineEvent
from alser_tui.ui.screens.silences import SilencesScreen
from alser_tui.ui.text import group_key
from alser_tui.ui.toasts import ToastBoard
from alser_tui.ui.widgets.alarm_list import AlarmList
from alser_tui.ui.widgets.group_table import GroupTable
from alser_tui.ui.widgets.keyed_table import squeeze
from alser_tui.ui.widgets.parser_list import ParserList
from alser_tui.ui.widgets.scope_header import ScopeHeader
from alser_tui.ui.widgets.status_line import StatusLine
from alser_tui.ui.widgets.toast_shelf import ToastShelf

SIZE = (160, 45)


async def selected(pilot: Pilot[Any], parser: str) -> None:
    app = pilot.app
    assert isinstance(app, AlserApp)
    await wait_for(pilot, lambda: app.main.scope is not None and app.main.scope.parser == parser)


async def test_e_and_shift_e_step_through_parsers_with_firing_alarms(root: Root) -> None:
    app = root.app(history=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.main.selected == "PhpError"
        await pilot.press("e")
        await selected(pilot, "Error")
        assert app.query_one(ParserList).cursor_row == 1
        await pilot.press("e")  # round to the first again
        await selected(pilot, "PhpError")
        await pilot.press("E")
        await selected(pilot, "Error")
        # A silenced parser's alarms do not call for it any more. In the console's own
        # delivery.db: the status refresh (once a second) reads the silences from there.
        app.model.set_silences(
            [Silences(DeliveryDB(root.path / "var" / "delivery.db")).add(
                parser="Error", duration=3600, now=app.model.clock())]
        )  # fmt: skip
        await pilot.press("e")
        await selected(pilot, "PhpError")
        await pilot.press("e")
        assert app.main.selected == "PhpError"
        assert "no other parser has firing alarms" in app.main.query_one(ToastShelf).texts[-1]


async def palette(pilot: Pilot[Any], query: str) -> None:
    app = pilot.app
    await pilot.press("ctrl+p")
    await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
    await pilot.press(*query)
    await pilot.pause(0.3)  # the palette searches in a worker
    await pilot.press("enter")
    await wait_for(pilot, lambda: not isinstance(app.screen, CommandPalette))


async def test_the_command_palette_reaches_parsers_by_name_and_every_action(root: Root) -> None:
    app = root.app(history=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        names = {c.name for c in app.palette_commands()}
        for wanted in (
            "parser: PhpErr", "parser: Exceptions", "next firing parser",
            "previous firing parser", "pause / resume", "live", "older window",
            "newer window", "raw lines of the selected group", "silence the selected group",
            "silences", "acknowledge the selected alarm", "acknowledge every alarm",
            "mute / unmute the bell", "next theme", "keys", "quit",
        ):  # fmt: skip
            assert wanted in names
        await palette(pilot, "Excep")
        await selected(pilot, "Error")
        assert text_of(app.query_one(ScopeHeader)).startswith("Exceptions · Error")
        await palette(pilot, "silences")
        await wait_for(pilot, lambda: isinstance(app.screen, SilencesScreen))
        await pilot.press("escape")
        await palette(pilot, "paus")
        assert app.main.paused


def test_toast_board_shows_two_and_merges_the_rest() -> None:
    now = [0.0]
    board = ToastBoard(clock=lambda: now[0])
    board.add("one")
    board.add("two", "warning")
    assert board.visible() == [("one", "information"), ("two", "warning")]
    for n in ("three", "four", "five", "six", "seven"):
        board.add(n, "error" if n == "four" else "information")
    assert board.visible() == [("six  (+5 more)", "error"), ("seven", "information")]
    now[0] = 10.0  # all expired
    assert board.visible() == []


async def test_toasts_at_most_two_and_never_over_the_table(root: Root) -> None:
    for size in (SIZE, (80, 24)):
        app = root.app(history=True)
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            for i in range(7):
                app.toast(f"message {i}", timeout=30)
            await pilot.pause()
            shelf = app.main.query_one(ToastShelf)
            assert shelf.texts == ["message 5  (+5 more)", "message 6"]
            shown = [t for t in shelf.query(".toast") if t.display]
            assert len(shown) == 2
            table = app.query_one(GroupTable).region
            status = app.query_one(StatusLine).region
            alarms = app.query_one(AlarmList).region
            for t in shown:
                # Over the alarm list's lower right: not the table, not the notifiers.
                assert not t.region.overlaps(table), (size, t.region, table)
                assert not t.region.overlaps(status), (size, t.region, status)
                assert alarms.contains_region(t.region), (size, t.region, alarms)


def test_squeeze_gives_the_widest_text_columns_up_first() -> None:
    # Fixed columns keep their width; the flexible ones share a common cap.
    assert squeeze([4, 7, 30, 50], [False, False, True, True], 100) == [4, 7, 30, 50]
    assert squeeze([4, 7, 30, 50], [False, False, True, True], 60) == [4, 7, 24, 25]
    assert squeeze([4, 7, 10, 50], [False, False, True, True], 60) == [4, 7, 10, 39]
    assert squeeze([4, 7, 10, 50], [False, False, True, True], 20) == [4, 7, 6, 6]


async def test_80x24_keeps_every_column_on_screen(root: Root) -> None:
    app = root.app(history=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.query_one(GroupTable)
        assert table.virtual_size.width <= table.size.width  # nothing pushed off-screen
        first = rows_of(table)[0]
        assert first[:2] == ["1", "52"]
        assert first[2].startswith("▲ +420% ● over us map.php 2828 Undef")
        assert first[2].endswith("…")  # cut with an ellipsis, not by the pane's edge
        alarms = app.query_one(AlarmList)
        assert alarms.virtual_size.width <= alarms.size.width
    app = root.app(history=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.query_one(GroupTable)
        assert table.virtual_size.width <= table.size.width
        assert rows_of(table)[0][-1] == "Undefined index: uid"  # room enough: whole


async def test_an_alarm_outside_the_top_n_opens_on_its_own_row(root: Root) -> None:
    # Six exception classes in the newest window; the table shows the top 5 only.
    base = T0 + 4 * WINDOW
    extra = [err("us", base + 40 + i, c) for i, c in enumerate("ABCDE" * 2)]
    extra += [err("us", base + 55, "Zzz")]
    with (root.path / "history" / "err.1.log").open("a", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in extra))
    app = root.app(history=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        alarms = app.query_one(AlarmList)
        alarms.focus()
        await pilot.press("g")  # the newest alarm: Zzz's instant, its own line at once
        assert "Zzz" in rows_of(alarms)[0][5]
        await pilot.press("enter")
        await wait_for(pilot, lambda: getattr(app.screen, "events", None) is not None)
        assert app.screen.breadcrumb().plain.startswith("Exceptions › area=us cls=Zzz › 1 line")
        await pilot.press("escape")
        # A window alarm on a group the top N leaves out (a tie at the cut, a late line).
        zzz = {"area": "us", "cls": "Zzz"}
        window_alarm = Alarm(
            "Error", "threshold", 1, 1, zzz, base, base + WINDOW, base, "Exceptions Zzz"
        )
        app.post_message(EngineEvent(AlarmRaised(window_alarm)))

        def shown() -> list[tuple[str, str]]:
            return [(r[3], r[4]) for r in rows_of(alarms)]

        await wait_for(pilot, lambda: ("Error", "threshold") in shown())
        alarms.focus()
        alarms.move_cursor(row=shown().index(("Error", "threshold")))
        await pilot.press("enter")
        await selected(pilot, "Error")
        table = app.query_one(GroupTable)
        await wait_for(pilot, lambda: group_key(zzz) in table.keys)
        rows = rows_of(table)
        assert [r[0] for r in rows] == ["1", "2", "3", "4", "5", "·"]
        assert rows[-1][1:] == ["1", "not in top N", "us", "Zzz"]
        assert table.cursor_key == group_key(zzz)
        # Two keys from the alarm to its line, as for any row.
        await pilot.press("enter")
        await wait_for(pilot, lambda: getattr(app.screen, "events", None) is not None)
        assert app.screen.breadcrumb().plain.startswith("Exceptions › area=us cls=Zzz › 1 line")


def test_the_console_defers_the_engine_until_after_its_first_frame() -> None:
    code = (
        "import sys, alser_tui.ui.app;"
        "print(sorted(m for m in ('alser_tui.engine.engine', 'alser_tui.engine.store',"
        " 'sqlite_utils', 'notifypy') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
