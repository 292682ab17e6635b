"""The console over a live engine (files appended while it runs, a clock the test moves)."""

from __future__ import annotations

import pytest
from console_support import T0, Root, err, php, rows_of, text_of, wait_for

from alser_tui.ui.text import group_key
from alser_tui.ui.widgets.alarm_list import AlarmList
from alser_tui.ui.widgets.group_table import GroupTable
from alser_tui.ui.widgets.parser_list import ParserList
from alser_tui.ui.widgets.top_bar import TopBar

SIZE = (160, 45)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def key(area: str, msg: str) -> str:
    return group_key({"area": area, "file": "map.php", "line": 2828, "msg": msg})


def amounts(table: GroupTable) -> dict[str, str]:
    return {row[3] + " " + row[6]: row[1] for row in rows_of(table)}


def top_view(app: object) -> str:
    from textual.widgets import Label

    bar = app.main.query_one(TopBar)  # type: ignore[attr-defined]
    return str(bar.query_one("#top-view", Label).content)


async def test_updates_and_resorting_never_move_the_cursor(root: Root) -> None:
    clock = Clock(T0 + 1)
    app = root.app(clock=clock, stats_interval=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.model.opened)
        assert top_view(app) == "LIVE"
        table = app.query_one(GroupTable)
        root.append("php.1.log", [php("us", T0 + 1, "A")] * 5 + [php("de", T0 + 1, "B")] * 3)
        root.append("php.1.log", [php("br", T0 + 2, "C")])
        await wait_for(pilot, lambda: amounts(table) == {"us A": "5", "de B": "3", "br C": "1"})
        await pilot.press("j")
        assert table.cursor_key == key("de", "B") and table.cursor_row == 1
        # C overtakes both, A grows: rows re-sort, the cursor stays on B.
        root.append("php.1.log", [php("br", T0 + 3, "C")] * 9 + [php("us", T0 + 3, "A")] * 2)
        await wait_for(pilot, lambda: amounts(table) == {"br C": "10", "us A": "7", "de B": "3"})
        assert table.cursor_key == key("de", "B") and table.cursor_row == 2
        assert rows_of(table)[0][0] == "1" and rows_of(table)[2][0] == "3"
        parsers = rows_of(app.query_one(ParserList))
        await wait_for(pilot, lambda: rows_of(app.query_one(ParserList))[0][2] == "20")
        assert parsers[0][1] == "PhpErr"


async def test_space_pauses_the_view_while_reading_goes_on(root: Root) -> None:
    clock = Clock(T0 + 1)
    app = root.app(clock=clock, stats_interval=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.model.opened)
        table = app.query_one(GroupTable)
        root.append("php.1.log", [php("us", T0 + 1, "A")] * 3)
        # The table (a store query) and the counts (the engine's stats) arrive apart: the
        # pause counts new lines from the count it sees, so both must show the 3 lines.
        await wait_for(
            pilot,
            lambda: amounts(table) == {"us A": "3"} and app.model.parsers["PhpError"].parsed == 3,
        )
        await pilot.press("space")
        assert top_view(app) == "PAUSED · 0 new"
        root.append("php.1.log", [php("us", T0 + 2, "A")] * 4)
        await wait_for(pilot, lambda: top_view(app) == "PAUSED · 4 new")
        await pilot.pause(0.3)  # a few refresh ticks: the frozen view must not move
        assert amounts(table) == {"us A": "3"}
        await pilot.press("space")
        await wait_for(pilot, lambda: amounts(table) == {"us A": "7"})
        assert top_view(app) == "LIVE"


async def test_a_closing_window_feeds_trend_and_alarms(root: Root) -> None:
    clock = Clock(T0 + 1)
    app = root.app(clock=clock, stats_interval=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.model.opened)
        root.append("php.1.log", [php("us", T0 + 1, "A")] * 45)
        await wait_for(pilot, lambda: app.model.parsers["PhpError"].parsed == 45)
        assert not app.model.alarms
        clock.now = T0 + 63  # past the window's end and the lateness
        await wait_for(pilot, lambda: len(app.model.alarms) == 1)
        assert app.model.alarms[0].alarm.kind == "threshold"
        await wait_for(pilot, lambda: "● over" in rows_of(app.query_one(ParserList))[0][4])
        strip = app.main.query_one("AlarmStrip")
        await wait_for(pilot, lambda: text_of(strip).startswith("● 1 firing (1 unacked)"))  # type: ignore[arg-type]


async def test_the_alarm_cursor_stays_on_the_alarm_the_user_reads(root: Root) -> None:
    clock = Clock(T0 + 1)
    app = root.app(clock=clock, stats_interval=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.model.opened)
        alarms = app.query_one(AlarmList)
        root.append("err.1.log", [err("us", T0 + 1, "DbError")])
        await wait_for(pilot, lambda: alarms.row_count == 1)
        # Unread and unfocused, the list shows the newest under its cursor.
        root.append("err.1.log", [err("br", T0 + 2, "Timeout")])
        await wait_for(pilot, lambda: alarms.row_count == 2)
        assert rows_of(alarms)[alarms.cursor_row][5].endswith("br Timeout")
        await pilot.press("tab")
        assert app.focused is alarms
        # The on-call reads the top alarm; another one arrives before the key.
        root.append("err.1.log", [err("de", T0 + 3, "OutOfMemory")])
        await wait_for(pilot, lambda: alarms.row_count == 3)
        assert rows_of(alarms)[0][5].endswith("de OutOfMemory")
        assert rows_of(alarms)[alarms.cursor_row][5].endswith("br Timeout")
        await pilot.press("a")
        await wait_for(pilot, lambda: rows_of(alarms)[1][0] == "○")
        assert [r[0] for r in rows_of(alarms)] == ["●", "○", "●"]
        # A row the user moved to stays chosen too, the top one included.
        await pilot.press("g")
        root.append("err.1.log", [err("us", T0 + 4, "Deadlock")])
        await wait_for(pilot, lambda: alarms.row_count == 4)
        assert rows_of(alarms)[alarms.cursor_row][5].endswith("de OutOfMemory")
        assert alarms.cursor_row == 1


async def test_an_acknowledgement_ends_when_its_alarm_resolves(root: Root) -> None:
    clock = Clock(T0 + 1)
    app = root.app(clock=clock, stats_interval=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.model.opened and app.delivery_ready)
        delivery = app.delivery.delivery
        assert delivery is not None
        alarms = app.query_one(AlarmList)
        root.append("php.1.log", [php("us", T0 + 1, "A")] * 45)
        await wait_for(pilot, lambda: app.model.parsers["PhpError"].parsed == 45)
        clock.now = T0 + 63
        await wait_for(pilot, lambda: alarms.row_count == 1)
        alarms.focus()
        await pilot.press("a")
        key = app.model.alarms[0].key
        await wait_for(pilot, lambda: key in delivery.acked())
        # A window without the group: it resolves, and its acknowledgement ends with it.
        root.append("php.1.log", [php("de", T0 + 61, "B")])
        await wait_for(pilot, lambda: app.model.parsers["PhpError"].parsed == 46)
        clock.now = T0 + 123
        await wait_for(pilot, lambda: key not in delivery.acked())
        await wait_for(pilot, lambda: key not in app.model.acked_keys)
        # The group fires again: the channels send it, the console shows it unanswered.
        root.append("php.1.log", [php("us", T0 + 125, "A")] * 45)
        await wait_for(pilot, lambda: app.model.parsers["PhpError"].parsed == 91)
        clock.now = T0 + 183
        await wait_for(pilot, lambda: alarms.row_count == 2)
        assert [r[0] for r in rows_of(alarms)] == ["●", "○"]
        strip = app.main.query_one("AlarmStrip")
        await wait_for(pilot, lambda: "(1 unacked)" in text_of(strip))  # type: ignore[arg-type]


async def test_a_followed_drill_down_pages_in_and_reads_only_what_is_new(
    root: Root, monkeypatch: pytest.MonkeyPatch
) -> None:
    import alser_tui.ui.screens.drill as drill_module
    import alser_tui.ui.widgets.event_table as table_module
    from alser_tui.ui.screens.drill import DrillScreen
    from alser_tui.ui.widgets.event_table import EventTable

    monkeypatch.setattr(drill_module, "FIRST_PAGE", 5)  # a first page, then the rest
    monkeypatch.setattr(table_module, "FEED_CHUNK", 4)  # shown a few rows at a time
    clock = Clock(T0 + 1)
    app = root.app(clock=clock, stats_interval=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.model.opened)
        table = app.query_one(GroupTable)
        root.append("php.1.log", [php("us", T0 + 1 + i % 3, f"A {i % 2}") for i in range(24)])
        await wait_for(pilot, lambda: amounts(table) == {"us A 0": "12", "us A 1": "12"})
        fetched: list[object] = []
        real = drill_module.fetch_events
        monkeypatch.setattr(
            drill_module,
            "fetch_events",
            lambda *a, **kw: fetched.append(kw) or real(*a, **kw),
        )
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DrillScreen))
        drill = app.screen
        assert isinstance(drill, DrillScreen)
        events = drill.query_one(EventTable)
        await wait_for(pilot, lambda: len(rows_of(events)) == 12)
        assert fetched[0] == {"limit": 5} and fetched[1] == {"limit": 10_000}
        assert drill.breadcrumb().plain.endswith("› 12 lines  ·  08:00:00 ~ 08:01:00 · following")
        # Following: new lines of the group arrive, only they are read.
        root.append("php.1.log", [php("us", T0 + 5, "A 0")] * 3 + [php("us", T0 + 5, "A 1")])
        await wait_for(pilot, lambda: len(rows_of(events)) == 15, timeout=10)
        assert "› 15 lines" in drill.breadcrumb().plain
        assert any(kw.get("after") == (T0 + 3, 4) for kw in fetched[2:])  # type: ignore[union-attr]
        assert [r[0] for r in rows_of(events)][-3:] == ["08:00:05"] * 3
