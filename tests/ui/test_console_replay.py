"""The console over a replayed history: what the widgets hold after each key path."""

from __future__ import annotations

from pathlib import Path

import pytest
from console_support import HOSTILE_MSG, T0, WINDOW, Root, rows_of, settle, text_of, wait_for

from alser_tui.sanitize import clean
from alser_tui.ui.screens.drill import DrillScreen
from alser_tui.ui.screens.help import HelpScreen
from alser_tui.ui.text import group_key
from alser_tui.ui.widgets.alarm_list import AlarmList
from alser_tui.ui.widgets.alarm_strip import AlarmStrip
from alser_tui.ui.widgets.event_table import EventTable
from alser_tui.ui.widgets.group_table import GroupTable
from alser_tui.ui.widgets.key_bar import KeyBar
from alser_tui.ui.widgets.parser_list import ParserList
from alser_tui.ui.widgets.scope_header import ScopeHeader
from alser_tui.ui.widgets.status_line import StatusLine
from alser_tui.ui.widgets.top_bar import TopBar

SIZE = (160, 45)
MAP = {"area": "us", "file": "map.php", "line": 2828, "msg": "Undefined index: uid"}
DB = {"area": "de", "file": "db.php", "line": 10, "msg": "Division by zero"}


def top_view(app: object) -> str:
    from textual.widgets import Label

    return str(app.main.query_one(TopBar).query_one("#top-view", Label).content)  # type: ignore[attr-defined]


async def test_replay_fills_parser_list_table_strip_and_status(root: Root) -> None:
    app = root.app(history=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        parsers = rows_of(app.query_one(ParserList))
        assert [r[:3] for r in parsers] == [["1", "PhpErr", "89"], ["2", "Exceptions", "1"]]
        assert parsers[0][4] == "▲ abnormal" and parsers[1][4] == "! instant"
        assert len(parsers[0][3]) == 5  # a trend bar per window
        groups = rows_of(app.query_one(GroupTable))
        assert [g[1] for g in groups] == ["52", "30", "5", "2"]
        assert groups[0] == ["1", "52", "▲ +420% ● over", "us", "map.php", "2828", MAP["msg"]]
        assert groups[1][2] == ""  # steady: no mark
        header = text_of(app.query_one(ScopeHeader))
        assert (
            "window 60s · group by area, file, line, msg · top 10 · 08:04:00 ~ 08:05:00"
            " · total 89 in 4 groups" in header
        )
        assert header.startswith("PhpErr · PhpError   ▲ abnormal")
        # The one rejected line, counted and shown as a sample (cleaned text).
        assert "✗ 1 rejected · last: us,1800000250,PHP garbage" in header
        strip = text_of(app.query_one(AlarmStrip))
        assert strip.startswith("● 3 firing (5 unacked) · last: PhpErr")
        assert "map.php:2828" in strip and strip.endswith("08:04:00")
        status = text_of(app.query_one(StatusLine))
        assert "parsed 262 · rejected 1 · late 0" in status and "replay done" in status
        assert "/s" in status and "MB" not in status  # steady: no rates or memory values
        assert top_view(app) == "REPLAY · end"


async def test_drill_down_shows_lines_and_escape_restores_the_cursor(root: Root) -> None:
    app = root.app(history=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.query_one(GroupTable)
        assert app.focused is table
        await pilot.press("j")
        assert table.cursor_key == group_key(DB)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DrillScreen))
        drill = app.screen
        assert isinstance(drill, DrillScreen)
        await wait_for(pilot, lambda: drill.events is not None)
        crumb = drill.breadcrumb().plain
        assert crumb == (
            "PhpErr › area=de file=db.php line=10 msg=Division by zero › 30 lines"
            "  ·  08:04:00 ~ 08:05:00"
        )
        events = rows_of(drill.query_one(EventTable))
        assert len(events) == 30
        assert events[0][:2] == ["08:04:05", "de"]
        assert (
            events[0][-1]
            == f"de,{T0 + 4 * WINDOW + 5},PHP Warning: Division by zero in /srv/lib/db.php on line 10"
        )
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main)
        assert app.focused is table
        assert table.cursor_key == group_key(DB) and table.cursor_row == 1


async def test_log_text_with_escapes_and_markup_is_shown_literally(root: Root) -> None:
    app = root.app(history=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.query_one(GroupTable)
        await pilot.press("G")
        assert table.cursor_row == 3
        cell = table.get_row(table.cursor_key)[-1]
        assert cell.plain == clean(HOSTILE_MSG) == "␛[31mred␛[0m [bold red]x[/] ␇bell"
        assert not cell.spans  # markup was not interpreted
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DrillScreen))
        drill = app.screen
        assert isinstance(drill, DrillScreen)
        await wait_for(pilot, lambda: drill.events is not None)
        assert "msg=␛[31mred␛[0m [bold red]x[/] ␇bell › 2 lines" in drill.breadcrumb().plain
        raw = drill.query_one(EventTable).get_row("0")[-1]
        assert "\x1b" not in raw.plain and "[bold red]x[/]" in raw.plain and not raw.spans


async def test_left_right_step_windows_and_escape_returns_to_live(root: Root) -> None:
    app = root.app(history=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.query_one(GroupTable)
        await pilot.press("j")  # the db.php group: row 2 now, row 1 in the older window
        await pilot.press("left")
        await wait_for(
            pilot, lambda: app.main.scope is not None and app.main.scope.start == T0 + 180
        )
        assert [g[1] for g in rows_of(table)] == ["30", "10", "4"]
        assert table.cursor_key == group_key(DB) and table.cursor_row == 0
        assert "08:03:00 ~ 08:04:00" in text_of(app.query_one(ScopeHeader))
        assert top_view(app) == "◀ WINDOW 08:03:00 · esc: live"
        await pilot.press("left", "left", "left", "left")  # stops at the oldest window
        await wait_for(pilot, lambda: app.main.scope is not None and app.main.scope.start == T0)
        await pilot.press("right")
        await wait_for(
            pilot, lambda: app.main.scope is not None and app.main.scope.start == T0 + 60
        )
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.main.scope is not None and app.main.scope.live)
        assert app.main.scope.start == T0 + 240 and app.main.window is None
        assert table.cursor_key == group_key(DB)
        assert top_view(app) == "REPLAY · end"


async def test_alarm_list_enter_opens_parser_window_and_group(root: Root) -> None:
    app = root.app(history=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        alarms = app.query_one(AlarmList)
        await pilot.press("tab")
        assert app.focused is alarms
        rows = rows_of(alarms)
        assert [r[1:5] for r in rows] == [
            ["08:04:30", "1", "Error", "instant"],
            ["08:04:00", "104", "PhpError", "abnormal"],
            ["08:04:00", "104", "PhpError", "threshold"],
            ["08:02:03", "1", "Error", "instant"],
            ["08:00:03", "1", "Error", "instant"],
        ]
        assert all(r[0] == "●" for r in rows)
        assert rows[0][5] == "Exceptions Fatal de OutOfMemory"
        # An old instant alarm: one key to its own line.
        await pilot.press("j", "j", "j", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DrillScreen))
        drill = app.screen
        assert isinstance(drill, DrillScreen)
        await wait_for(pilot, lambda: drill.events is not None)
        assert drill.breadcrumb().plain == (
            "Exceptions › area=us cls=DbError › 1 line  ·  instant at 08:02:03"
        )
        assert drill.events is not None and [e["ts"] for e in drill.events.rows] == [T0 + 123]
        await pilot.press("escape")
        # The threshold alarm of the newest PHP window: its parser, its window, its group;
        # two keys from it to its raw lines.
        table = app.query_one(GroupTable)
        alarms.focus()
        await pilot.press("g", "j", "j", "enter")
        await wait_for(
            pilot, lambda: app.main.selected == "PhpError" and app.main.scope is not None
        )
        await wait_for(pilot, lambda: table.cursor_key == group_key(MAP))
        assert app.main.window is None and app.main.scope.live


async def test_ack_one_then_all(root: Root) -> None:
    app = root.app(history=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        alarms = app.query_one(AlarmList)
        alarms.focus()
        await pilot.press("a")
        await wait_for(pilot, lambda: rows_of(alarms)[0][0] == "○")
        assert [r[0] for r in rows_of(alarms)][1:] == ["●"] * 4
        assert "(4 unacked)" in text_of(app.query_one(AlarmStrip))
        await pilot.press("A")
        await wait_for(pilot, lambda: "(all acked)" in text_of(app.query_one(AlarmStrip)))
        assert {r[0] for r in rows_of(alarms)} == {"○"}


async def test_digits_jump_to_parsers_and_each_keeps_its_cursor(root: Root) -> None:
    app = root.app(history=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.query_one(GroupTable)
        await pilot.press("j")
        await pilot.press("2")
        await wait_for(
            pilot, lambda: app.main.scope is not None and app.main.scope.parser == "Error"
        )
        assert app.query_one(ParserList).cursor_row == 1
        assert text_of(app.query_one(ScopeHeader)).startswith("Exceptions · Error")
        assert rows_of(table)[0][1:] == ["1", "", "de", "OutOfMemory"]
        await pilot.press("1")
        await wait_for(
            pilot, lambda: app.main.scope is not None and app.main.scope.parser == "PhpError"
        )
        assert table.cursor_key == group_key(DB)
        await pilot.press("9")  # no ninth parser: nothing happens
        assert app.main.selected == "PhpError"


async def test_help_lists_every_key(root: Root) -> None:
    app = root.app(history=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        rows = {tuple(r) for r in help_screen.rows}
        for row in [
            ("anywhere", "q", "Quit"),
            ("anywhere", "?", "Help"),
            ("anywhere", "m", "Mute bell"),
            ("anywhere", "t", "Next theme"),
            ("main screen", "space", "Pause"),
            ("main screen", "1 … 9, 0", "jump to the n-th parser"),
            ("top-N table", "enter", "Lines"),
            ("top-N table", "←", "older"),
            ("top-N table", "esc", "Live"),
            ("alarm list", "a", "Ack"),
            ("any table", "j", "Down"),
            ("any table", "G", "Last row"),
            ("raw lines", "esc", "Back"),
            ("anywhere", "ctrl+p", "command palette: every action and parser, by name"),
        ]:
            assert row in rows
        table = help_screen.query_one("#help-table")
        shown = rows_of(table)  # type: ignore[arg-type]
        assert len(shown) == len(help_screen.shown) < len(help_screen.rows)
        assert ["top-N table, alarm list, raw lines", "s", "Silence"] in shown
        # Every key on one screen: nothing to scroll at 160x45.
        assert table.virtual_size.height <= table.size.height
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main)


async def test_footer_keeps_to_seven_keys_within_80_columns(root: Root) -> None:
    app = root.app(history=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        bar = app.screen.query_one(KeyBar)
        seen = []
        for focus in (GroupTable, ParserList, AlarmList):
            app.query_one(focus).focus()
            await pilot.pause()
            await pilot.pause()
            # A group (← →) shows several keys under one label: count labels.
            labels = bar.labels
            assert 0 < len(labels) <= 7, labels
            assert "Quit" in labels and "Help" in labels
            assert bar._spans[-1][1] <= 80  # the last key ends within the screen
            seen.append(labels)
        # The keys follow the focus: the alarm list's are not the top-N table's.
        assert "Ack" in seen[2] and "Ack" not in seen[0] and "Lines" in seen[0]
        # A click on a key is that key.
        start = next(s[0] for s in bar._spans if s[2] == "question_mark")
        await pilot.click(KeyBar, offset=(start, 0))
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))


async def test_theme_cycles_and_config_theme_applies(root: Root) -> None:
    app = root.app(history=True)
    async with app.run_test(size=SIZE) as pilot:
        assert app.theme == "ansi"
        await pilot.press("t")
        assert app.theme == "dark"
        await pilot.press("t", "t")
        assert app.theme == "high-contrast"
        await pilot.press("t")
        assert app.theme == "ansi"
    app = root.app(history=True, theme="light")
    async with app.run_test(size=SIZE):
        assert app.theme == "light"
    app = root.app(history=True, theme="no-such-theme")
    async with app.run_test(size=SIZE):
        assert app.theme == "ansi"
        assert any("no-such-theme" in w for w in app.theme_warnings)


async def test_q_stops_the_engine_and_exits(root: Root) -> None:
    app = root.app(history=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await wait_for(pilot, lambda: app.return_value is not None)
    assert app.return_value == 0
    assert app.engine.store is None  # released: the store is closed


async def test_one_bell_for_a_burst_of_alarms_and_none_when_muted(
    root: Root, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = root.app(history=True)
    bells: list[int] = []
    monkeypatch.setattr(app, "bell", lambda: bells.append(1))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
    assert len(app.model.alarms) == 5 and len(bells) == 1
    app = root.app(history=True)
    app.muted = True
    monkeypatch.setattr(app, "bell", lambda: bells.append(1))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "bell muted" in text_of(app.query_one(AlarmStrip))
    assert len(bells) == 1


async def test_a_broken_engine_is_reported_not_fatal(root: Root) -> None:
    (root.path / "var").write_text("a file where the data dir should be")
    app = root.app(history=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: bool(app.model.error))
        await pilot.pause(0.3)
        assert text_of(app.query_one(StatusLine)).startswith("engine stopped: ")
        await pilot.press("q")
    assert app.return_value == 1


def test_root_fixture_writes_history(root: Root) -> None:
    assert Path(root.path / "history" / "php.1.log").stat().st_size > 0
