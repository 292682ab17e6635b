"""False greens in the console, over a live engine: a guard without a source and a guard
gone silent read so in the parser list, the top bar, the alarm strip, the status line and
the Sources screen; a silent alarm fires until the next line resolves it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from console_support import GONE_GUARD, T0, Root, php, rows_of, text_of, wait_for, with_health
from textual.widgets import Label, Static

from alser_tui.ui.screens.sources import SourcesScreen
from alser_tui.ui.widgets.alarm_list import AlarmList
from alser_tui.ui.widgets.alarm_strip import AlarmStrip
from alser_tui.ui.widgets.keyed_table import KeyedTable
from alser_tui.ui.widgets.parser_list import ParserList
from alser_tui.ui.widgets.source_table import SourceTable
from alser_tui.ui.widgets.status_line import StatusLine
from alser_tui.ui.widgets.top_bar import TopBar

SIZE = (160, 45)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def configure(root: Root, extra: str = "", silent_after: int | None = None) -> None:
    root.config_path.write_text(with_health(extra, silent_after), encoding="utf-8")


def states(app: Any) -> dict[str, str]:
    """Parser title -> state word, as the parser list shows them."""
    return {row[1]: row[-1] for row in rows_of(app.main.query_one(ParserList))}


def top_view(app: Any) -> str:
    return str(app.main.query_one(TopBar).query_one("#top-view", Label).content)


def strip(app: Any) -> str:
    return text_of(app.screen.query_one(AlarmStrip))


def by_key(table: KeyedTable) -> dict[str, list[str]]:
    return dict(zip(table.keys, rows_of(table), strict=True))


async def test_a_guard_without_a_source_is_never_green(root: Root) -> None:
    configure(root, GONE_GUARD)
    app = root.app(clock=Clock(T0 + 1), stats_interval=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: states(app).get("Exceptions") == "∅ no source")
        assert states(app)["PhpErr"] == "· quiet"  # its own guard has a file
        await wait_for(pilot, lambda: top_view(app) == "LIVE · ∅ 1 guard without a source")
        assert app.main.query_one(TopBar).query_one("#top-view").has_class("-trouble")
        assert strip(app).startswith("∅ 1 guard without a source")
        assert "nothing firing" not in strip(app)
        status = app.main.query_one(StatusLine)
        assert text_of(status).startswith("∅ 1 guard without a source · 0 lines")
        assert status.has_class("-sources")
        await pilot.press("o")
        await wait_for(pilot, lambda: isinstance(app.screen, SourcesScreen))
        table = app.screen.query_one(SourceTable)
        await wait_for(pilot, lambda: "\x00guard 2" in table.keys)
        row = by_key(table)["\x00guard 2"]
        assert row[0] == "nowhere/x.*.log" and row[6] == "never"
        assert row[7] == "∅ no source: folder nowhere does not exist"
        assert table.keys[0] == "\x00guard 2"  # first: it is the one to look at
        title = text_of(app.screen.query_one("#sources-title", Static))
        assert title.endswith("· ∅ 1 guard without a source")
        # The file comes: every word goes back to normal.
        (root.path / "nowhere").mkdir()
        (root.path / "nowhere" / "x.1.log").touch()
        await wait_for(pilot, lambda: "\x00guard 2" not in table.keys)
        await pilot.press("escape")
        await wait_for(pilot, lambda: states(app)["Exceptions"] == "· quiet")
        await wait_for(pilot, lambda: top_view(app) == "LIVE")
        assert strip(app).startswith("○ nothing firing")
        assert "without a source" not in text_of(app.main.query_one(StatusLine))


async def test_a_silent_guard_fires_until_its_next_line(root: Root) -> None:
    configure(root, silent_after=30)
    clock = Clock(T0 + 1)
    app = root.app(clock=clock, stats_interval=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.model.opened)
        root.append("php.1.log", [php("us", T0 + 1, "A")] * 3)
        await wait_for(pilot, lambda: app.model.parsers["PhpError"].parsed == 3)
        clock.now += 31
        await wait_for(pilot, lambda: states(app).get("PhpErr") == "◌ silent")
        assert states(app)["Exceptions"] == "· quiet"  # never delivered: not silent
        await wait_for(pilot, lambda: strip(app).startswith("● 1 firing"))
        assert "php.*.log silent: no line for 31 s" in strip(app)
        assert top_view(app) == "LIVE · ◌ 1 silent"
        assert text_of(app.main.query_one(StatusLine)).startswith("◌ 1 silent · 3 lines")
        # The window that closes meanwhile does not end it: only a line does.
        clock.now += 60
        await pilot.pause(0.3)
        assert strip(app).startswith("● 1 firing")
        alarms = app.main.query_one(AlarmList)
        await wait_for(pilot, lambda: any("silent" in " ".join(r) for r in rows_of(alarms)))
        # Enter on it: the sources, where its file says it is silent.
        alarms.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, SourcesScreen))
        table = app.screen.query_one(SourceTable)
        php_log = str(Path(root.path / "logs" / "php.1.log").resolve())
        await wait_for(pilot, lambda: php_log in table.keys)
        assert by_key(table)[php_log][7].startswith("◌ php.*.log silent")
        await pilot.press("escape")
        root.append("php.1.log", [php("us", int(clock.now), "A")])
        await wait_for(pilot, lambda: states(app)["PhpErr"] != "◌ silent")
        await wait_for(pilot, lambda: not strip(app).startswith("● 1 firing"))
        assert top_view(app) == "LIVE"
        assert [e.resolved for e in app.model.alarms if e.alarm.kind == "silent"] == [True]


def test_the_model_takes_the_worst_guard_of_a_parser_and_fires_until_resolved() -> None:
    from alser_tui.engine.alarms import Alarm
    from alser_tui.engine.config import Config, ParserConfig
    from alser_tui.engine.events import (
        AlarmRaised,
        AlarmResolved,
        GuardHealth,
        ParserStats,
        Stats,
        WindowClosed,
    )
    from alser_tui.ui.model import ConsoleModel, ParserState

    p = ParserConfig(id="P", kind="json", window=10, beep_threshold=5)
    m = ConsoleModel(Config(path="x.toml", parsers=(p,)))

    def stats(*guards: GuardHealth) -> Stats:
        return Stats(0, "live", 0, 0.0, 0, 0, {"P": ParserStats()}, (), 0, False, guards=guards)

    ok = GuardHealth(0, "a", ("P",), "a/*.log")
    silent = GuardHealth(1, "b", ("P",), "b/*.log", "silent", "no line for 12 min", silent=True)
    gone = GuardHealth(2, "c", ("P",), "c/*.log", "no source", "matches no file")
    m.apply(stats(ok))
    assert m.state_of("P") is ParserState.QUIET
    m.apply(stats(ok, silent))
    assert m.state_of("P") is ParserState.SILENT
    m.apply(stats(ok, silent, gone))
    assert m.state_of("P") is ParserState.NO_SOURCE
    group = {"guard": "b", "source": "b/*.log"}
    a = Alarm("P", "silent", 5, 720, group, 0, 720, 720, "b silent: no line for 12 min")
    assert m.apply(AlarmRaised(a)) == 1  # it rings
    m.apply(WindowClosed("P", 720, 730, 0, 0, ()))  # a window closing does not end it
    assert [e.alarm.kind for e in m.firing()] == ["silent"]
    m.apply(AlarmResolved(a, 800))
    assert m.firing() == [] and m.unacked() == 1  # still to be seen, no longer firing
