"""The drill-down's own keys: ``/`` search with a hit count and n/N, ``f`` filter, ``enter``
on an event (its fields, the raw line, pretty JSON), ``s`` silence from there."""

from __future__ import annotations

from typing import Any

from console_support import T0, WINDOW, Root, rows_of, settle, text_of, wait_for
from textual.pilot import Pilot
from textual.widgets import Input, Static

from alser_tui.ui.app import AlserApp
from alser_tui.ui.screens.drill import DrillScreen
from alser_tui.ui.screens.event import EventScreen, pretty_json
from alser_tui.ui.screens.silence import SilencePicker
from alser_tui.ui.widgets.alarm_list import AlarmList
from alser_tui.ui.widgets.event_table import EventTable

SIZE = (160, 45)


async def drill(pilot: Pilot[Any], *keys: str) -> DrillScreen:
    """From the settled main screen: ``keys`` then enter on the selected row."""
    app = pilot.app
    await settle(pilot)
    await pilot.press(*keys, "enter")
    await wait_for(
        pilot, lambda: isinstance(app.screen, DrillScreen) and app.screen.events is not None
    )
    assert isinstance(app.screen, DrillScreen)
    return app.screen


def bar(screen: DrillScreen) -> str:
    return text_of(screen.query_one("#drill-bar", Static))


async def test_search_counts_hits_and_n_n_step_through_them(root: Root) -> None:
    app = root.app(history=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await drill(pilot)  # map.php:2828 in us, 52 lines over 08:04:00-08:04:49
        table = screen.query_one(EventTable)
        assert len(rows_of(table)) == 52 and bar(screen).startswith("/ search")
        await pilot.press("j", "j", "j")
        await pilot.press("slash")
        field = screen.query_one("#drill-input", Input)
        assert app.focused is field
        await pilot.press(*"180000024")  # lines stamped 08:04:00-08:04:09: 12 of them
        assert bar(screen) == "12 hits"  # counted while typing
        await pilot.press("enter")
        assert app.focused is table
        # The search starts where the cursor is.
        assert table.cursor_row == 3
        assert bar(screen) == "search “180000024”: hit 4 of 12 · n/N next/previous"
        hit = table.get_row(table.cursor_key)[-1]
        assert hit.spans and hit.plain[hit.spans[0].start : hit.spans[0].end] == "180000024"
        await pilot.press("N")
        assert table.cursor_row == 2 and "hit 3 of 12" in bar(screen)
        await pilot.press("N", "N", "N")  # round the start to the last hit
        assert table.cursor_row == 11 and "hit 12 of 12" in bar(screen)
        await pilot.press("n")
        assert table.cursor_row == 0 and "hit 1 of 12" in bar(screen)
        miss = table.get_row("20")[-1]  # 08:04:20: no hit, no highlight
        assert not miss.spans
        await pilot.press("slash", *"zz", "enter")
        assert bar(screen) == "search “zz”: no hits"
        assert table.cursor_row == 0  # nothing found: the cursor stays


async def test_filter_keeps_matching_lines_and_the_breadcrumb_counts_them(root: Root) -> None:
    app = root.app(history=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await drill(pilot)
        table = screen.query_one(EventTable)
        await pilot.press("f", *"180000025", "enter")  # 08:04:10-08:04:19: 10 lines
        assert len(rows_of(table)) == 10
        assert {r[0][:7] for r in rows_of(table)} == {"08:04:1"}
        crumb = screen.breadcrumb().plain
        assert "› 52 lines · filtered: 10 / 52  ·  08:04:00 ~ 08:05:00" in crumb
        assert bar(screen) == "filter “180000025”: 10 / 52"
        # A search within the filter counts what is shown.
        await pilot.press("slash", *"1800000251", "enter")
        assert "hit 1 of 1" in bar(screen) and table.cursor_row == 1
        # esc leaves the input first, then the screen.
        await pilot.press("f")
        assert screen.asking == "filter"
        await pilot.press("escape")
        assert app.screen is screen and screen.asking == "" and app.focused is table
        assert len(rows_of(table)) == 10
        # The cursor keeps its event when the filter goes.
        key = table.cursor_key
        await pilot.press("f", "ctrl+u", "enter")
        assert len(rows_of(table)) == 52 and table.cursor_key == key
        assert "filtered" not in screen.breadcrumb().plain


async def test_enter_on_a_json_event_shows_fields_raw_line_and_pretty_json(root: Root) -> None:
    app = root.app(history=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await drill(pilot, "2")  # Exceptions: de OutOfMemory
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, EventScreen))
        event = app.screen
        assert isinstance(event, EventScreen)
        assert event.breadcrumb().plain == (
            "Exceptions › area=de cls=OutOfMemory › event 1 of 1 · 08:04:30"
        )
        fields = text_of(event.query_one("#event-fields", Static)).splitlines()
        assert fields == [
            "area  de",
            f"ts    08:04:30  ({T0 + 4 * WINDOW + 30})",
            "cls   OutOfMemory",
        ]
        raw = text_of(event.query_one("#event-raw", Static))
        assert raw == f'de,{T0 + 4 * WINDOW + 30},{{"class": "OutOfMemory"}}'
        assert text_of(event.query_one("#event-json", Static)) == ('{\n  "class": "OutOfMemory"\n}')
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)
        assert screen.query_one(EventTable).cursor_row == 0


async def test_a_plain_text_event_has_no_json_and_hostile_text_stays_text(root: Root) -> None:
    app = root.app(history=True)
    async with app.run_test(size=SIZE) as pilot:
        await drill(pilot, "G")  # the hostile message's group
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, EventScreen))
        event = app.screen
        assert not event.query("#event-json")
        raw = event.query_one("#event-raw", Static).content
        assert "␛[31mred␛[0m [bold red]x[/] ␇bell" in raw.plain and not raw.spans
        fields = event.query_one("#event-fields", Static).content
        assert "msg    ␛[31mred" in fields.plain


def test_pretty_json_finds_the_object_in_a_line_and_refuses_the_rest() -> None:
    assert pretty_json('us,1,{"a": [1, {"b": null}]}') == (
        '{\n  "a": [\n    1,\n    {\n      "b": null\n    }\n  ]\n}'
    )
    assert pretty_json("us,1,PHP Warning: x in [file]") is None
    assert pretty_json('us,1,"just a string"') is None
    assert pretty_json("[" * 100_000) is None  # too deep: not a crash


async def test_s_in_the_drill_down_silences_its_group(root: Root) -> None:
    app = root.app(history=True)
    async with app.run_test(size=SIZE) as pilot:
        await drill(pilot, "j")
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, SilencePicker))
        assert isinstance(app, AlserApp)
        await pilot.press("1")  # 15 min
        await wait_for(pilot, lambda: len(app.model.silences) == 1)
        s = app.model.silences[0]
        assert s.parser == "PhpError" and dict(s.matchers)["file"] == "db.php"
        assert s.until - s.created == 900
        assert isinstance(app.screen, DrillScreen)


async def test_keys_typed_right_after_slash_go_to_the_input_not_the_table(root: Root) -> None:
    from textual import events

    app = root.app(history=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await drill(pilot, "j")
        driver = app._driver
        assert driver is not None
        # As a terminal delivers a fast typist's keys: all at once, no idle in between.
        for key, char in (("f", "f"), ("s", "s"), ("e", "e"), ("enter", "\r")):
            event = events.Key(key, char)
            event.set_sender(app)
            driver.send_message(event)
        await wait_for(pilot, lambda: screen.table.filter == "se")
        assert app.screen is screen and not app.model.silences  # "s" did not silence
        assert bar(screen) == "filter “se”: 0 / 30"


async def test_a_click_on_the_selected_row_opens_its_lines(root: Root) -> None:
    """The mouse does what the keys do: a click selects a row, a click on the selected row
    is ``enter`` (here: the top-N row's raw lines)."""
    from alser_tui.ui.widgets.group_table import GroupTable

    app = root.app(history=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.query_one(GroupTable)
        await pilot.click(GroupTable, offset=(3, 2))  # line 0 is the header: the 2nd row
        assert table.cursor_row == 1 and not isinstance(app.screen, DrillScreen)
        await pilot.click(GroupTable, offset=(3, 2))
        await wait_for(
            pilot, lambda: isinstance(app.screen, DrillScreen) and app.screen.events is not None
        )
        screen = app.screen
        assert isinstance(screen, DrillScreen) and screen.group == table_group(table, 1)


def table_group(table: Any, row: int) -> dict[str, Any]:
    main = table.screen
    group = main._group_of(table.keys[row])
    assert group is not None
    return group


KERNEL_CONFIG = """
[storage]
dir = "var"

[engine]
lateness = 2
poll_interval = 0.02
glob_interval = 0.2

[[guards]]
tail_glob = "logs/kernel.*.log"
history_glob = "history/kernel*"
parsers = ["Kernal"]

[[parsers]]
id = "Kernal"
kind = "hostline"
title = "Kernel"
window = 60
aggregate = "sum:amount"
group_by = ["area", "program"]
where = "program <> ''"
instant = "{area:>3} {host} {data}"
row_format = "{amount:>10} {area:>3} {program}"
"""

OOM = f"us,{T0 + 5},kernel: Out of memory: Killed process 4242 (php-fpm),web-us-01"
LOST = (
    f"us,{T0 + 10},syslog-ng[900]: Log statistics; dropped='program(phperror)=37',"
    " dropped='program(mongo)=0', processed='destination(d_phperror)=500',"
    " processed='destination(d_mongo)=20',collector-us"
)
KERNEL_HISTORY = [
    OOM,
    f"us,{T0 + 5},kernel: eth0: link up,web-us-02",  # the same second, another host
    LOST,
    # The same second and area, another collector, nothing lost: not the alarm's line.
    f"us,{T0 + 10},syslog-ng[901]: Log statistics; dropped='program(phperror)=0',"
    " processed='destination(d_phperror)=300',collector-us2",
    f"de,{T0 + 70},kernel: EXT4-fs error: disk full,db-de-01",
]


async def test_enter_on_an_instant_or_dropped_alarm_opens_its_own_lines(tmp_path: Any) -> None:
    # Kernel messages carry no program and syslog-ng's rows name destinations (d_phperror),
    # not the program that lost lines: the parser's window rows hold neither alarm's line.
    (tmp_path / "alser.toml").write_text(KERNEL_CONFIG, encoding="utf-8")
    (tmp_path / "history").mkdir()
    (tmp_path / "logs").mkdir()
    (tmp_path / "history" / "kernel.1.log").write_text("\n".join(KERNEL_HISTORY) + "\n")
    (tmp_path / "logs" / "kernel.1.log").touch()
    app = Root(tmp_path).app(history=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        alarms = app.query_one(AlarmList)
        alarms.focus()
        kinds = [(r[4], r[5]) for r in rows_of(alarms)]
        assert [k for k, _ in kinds] == ["instant", "dropped", "instant", "instant"]

        async def open_alarm(row: int) -> DrillScreen:
            alarms.move_cursor(row=row)
            await pilot.press("enter")
            await wait_for(
                pilot,
                lambda: isinstance(app.screen, DrillScreen) and app.screen.events is not None,
            )
            screen = app.screen
            assert isinstance(screen, DrillScreen)
            await wait_for(pilot, lambda: len(rows_of(screen.query_one(EventTable))) >= 1)
            return screen

        screen = await open_alarm(1)
        events = screen.query_one(EventTable)
        assert [e["raw"] for e in events.events] == [LOST]
        assert screen.breadcrumb().plain == (
            "Kernel › area=us program=phperror › 1 line  ·  dropped at 08:00:10"
        )
        await pilot.press("escape")
        oom = next(i for i, (k, text) in enumerate(kinds) if "Out of memory" in text)
        screen = await open_alarm(oom)
        assert [e["raw"] for e in screen.query_one(EventTable).events] == [OOM]
        assert screen.breadcrumb().plain == (
            "Kernel › area=us program= › 1 line  ·  instant at 08:00:05"
        )
