"""Acknowledgements and silences: kept in delivery.db, shared with the channels, restored and
announced at start; silenced groups neither beep nor count; the status line's notifiers."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest
from console_support import Root, rows_of, settle, text_of, wait_for
from textual.pilot import Pilot

from alser_tui.engine.notify.db import DeliveryDB
from alser_tui.engine.notify.lifecycle import Silences
from alser_tui.ui.app import AlserApp
from alser_tui.ui.delivery import next_morning, silence_choices
from alser_tui.ui.screens.silence import SilencePicker
from alser_tui.ui.screens.silences import SilencesScreen
from alser_tui.ui.text import group_key
from alser_tui.ui.widgets.alarm_list import AlarmList
from alser_tui.ui.widgets.alarm_strip import AlarmStrip
from alser_tui.ui.widgets.group_table import GroupTable
from alser_tui.ui.widgets.silence_table import SilenceTable
from alser_tui.ui.widgets.status_line import StatusLine
from alser_tui.ui.widgets.toast_shelf import ToastShelf

SIZE = (160, 45)
NOW = 1_900_000_000.0  # the wall clock of these tests (silences run from it)
DB = {"area": "de", "file": "db.php", "line": 10, "msg": "Division by zero"}


def wall() -> float:
    return NOW


def stored_silences(root: Root) -> list[Any]:
    db = DeliveryDB(root.path / "var" / "delivery.db")
    try:
        return Silences(db).list(NOW)
    finally:
        db.close()


def stored_acks(root: Root) -> set[str]:
    db = DeliveryDB(root.path / "var" / "delivery.db")
    try:
        return {r["key"] for r in db.query("SELECT key FROM acks")}
    finally:
        db.close()


def toasts(app: AlserApp) -> str:
    return " | ".join(app.screen.query_one(ToastShelf).texts)


async def silence(pilot: Pilot[Any], choice: str) -> None:
    app = pilot.app
    assert isinstance(app, AlserApp)
    before = len(app.model.silences)
    await pilot.press("s")
    await wait_for(pilot, lambda: isinstance(app.screen, SilencePicker))
    await pilot.press(choice)
    await wait_for(pilot, lambda: len(app.model.silences) > before)


def test_silence_choices_name_the_morning_they_end() -> None:
    import time

    t = time.mktime((2030, 1, 15, 22, 30, 0, 0, 0, -1))
    choices = silence_choices(t)
    assert [c.label for c in choices] == ["15 min", "1 h", "4 h", "until tomorrow 09:00"]
    assert [c.seconds for c in choices[:3]] == [900, 3600, 14400]
    assert choices[3].seconds == 10.5 * 3600
    early = time.mktime((2030, 1, 16, 2, 0, 0, 0, 0, -1))
    assert silence_choices(early)[3].label == "until 09:00 today"
    assert next_morning(early) - early == 7 * 3600


async def test_s_silences_the_group_in_delivery_db_and_the_silences_screen_lifts_it(
    root: Root,
) -> None:
    app = root.app(history=True, wall_clock=wall)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = app.query_one(GroupTable)
        await pilot.press("j")
        assert table.cursor_key == group_key(DB)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, SilencePicker))
        picker = app.screen
        assert isinstance(picker, SilencePicker)
        assert "PhpErr › area=de file=db.php line=10 msg=Division by zero" in picker.what.plain
        await pilot.press("escape")  # cancelled: nothing stored
        await wait_for(pilot, lambda: app.screen is app.main)
        assert app.model.silences == [] and stored_silences(root) == []
        await silence(pilot, "2")  # 1 h
        [s] = stored_silences(root)
        assert (s.parser, s.kind, s.until - s.created) == ("PhpError", "", 3600)
        assert dict(s.matchers) == {
            "area": "de",
            "file": "db.php",
            "line": "10",
            "msg": "Division by zero",
        }
        await wait_for(pilot, lambda: "⊘ silenced" in rows_of(table)[1][2])
        assert table.cursor_key == group_key(DB)
        await wait_for(pilot, lambda: "⊘ 1 silence" in text_of(app.query_one(AlarmStrip)))
        assert "⊘ silenced PhpError area=de file=db.php" in toasts(app)
        await pilot.press("S")
        await wait_for(pilot, lambda: isinstance(app.screen, SilencesScreen))
        listed = app.screen.query_one(SilenceTable)
        await wait_for(pilot, lambda: len(rows_of(listed)) == 1)
        assert rows_of(listed)[0][1:] == [
            "PhpError",
            "area=de file=db.php line=10 msg=Division by zero",
            "17:46:40",
            "18:46:40",
            "1h 00m",
            "",
        ]
        await pilot.press("d")
        await wait_for(pilot, lambda: rows_of(listed) == [])
        assert stored_silences(root) == []
        assert "silence #1 lifted" in toasts(app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main)
        await wait_for(pilot, lambda: "⊘" not in rows_of(table)[1][2])


async def test_silenced_groups_neither_beep_nor_ask_for_attention(
    root: Root, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Set before the start, as `alser-tui silence add` would: every alarm of both parsers.
    db = DeliveryDB(root.path / "var" / "delivery.db")
    silences = Silences(db)
    silences.add(parser="PhpError", matchers=(("file", "map.php"),), duration=3600, now=NOW)
    silences.add(parser="Error", duration=3600, now=NOW)
    db.close()
    app = root.app(history=True, wall_clock=wall)
    bells: list[int] = []
    monkeypatch.setattr(app, "bell", lambda: bells.append(1))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert len(app.model.alarms) == 5 and bells == []
        alarms = rows_of(app.query_one(AlarmList))
        assert {r[0] for r in alarms} == {"⊘"}
        strip = text_of(app.query_one(AlarmStrip))
        assert "(all acked)" in strip and "⊘ 2 silences" in strip
        # Restored state is announced, not applied silently.
        assert "restored from delivery.db: 2 silences (S lists them)" in toasts(app)
        # The map.php row says why it is quiet; db.php is not silenced.
        marks = {r[4]: r[2] for r in rows_of(app.query_one(GroupTable))}
        assert marks["map.php"] == "▲ +420% ● over ⊘ silenced" and marks["db.php"] == ""


async def test_acks_persist_across_a_restart_and_are_announced(root: Root) -> None:
    app = root.app(history=True, wall_clock=wall)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        alarms = app.query_one(AlarmList)
        alarms.focus()
        await pilot.press("j", "j")  # the threshold alarm of map.php
        assert rows_of(alarms)[2][1:5] == ["08:04:00", "104", "PhpError", "threshold"]
        await pilot.press("a")
        await wait_for(pilot, lambda: len(stored_acks(root)) == 1)
        [key] = stored_acks(root)
        assert key.startswith("PhpError|threshold|") and "map.php" in key
        assert [r[0] for r in rows_of(alarms)] == ["●", "●", "○", "●", "●"]
        await pilot.press("q")
    app = root.app(history=True, wall_clock=wall)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        alarms = app.query_one(AlarmList)
        # The replay raised it again: it comes back acknowledged, and the screen says so.
        await wait_for(pilot, lambda: [r[0] for r in rows_of(alarms)][2] == "○")
        assert [r[0] for r in rows_of(alarms)] == ["●", "●", "○", "●", "●"]
        assert "restored from delivery.db: 1 acknowledgement" in toasts(app)
        assert "(4 unacked)" in text_of(app.query_one(AlarmStrip))
        alarms.focus()
        await pilot.press("A")
        # Acks are per parser, kind and group: the two DbError instants share one.
        await wait_for(pilot, lambda: len(stored_acks(root)) == 4)
        assert "acknowledged every alarm (5)" in toasts(app)


async def test_status_line_shows_store_bell_desktop_and_each_channel(root: Root) -> None:
    script = "import sys; sys.stdin.read()"
    with root.config_path.open("a", encoding="utf-8") as f:
        f.write(
            f'\n[channels.hook]\ntype = "exec"\ncommand = ["{sys.executable}", "-c",'
            f" {json.dumps(script)}]\n"
        )
    app = root.app(history=True, steady=False, wall_clock=wall)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        status = app.query_one(StatusLine)
        await wait_for(pilot, lambda: "hook" in text_of(status) and "store" in text_of(status))
        text = text_of(status)
        assert "store " in text and ("kB" in text or "MB" in text)
        assert "bell · desktop off (no display) · hook " in text
        await pilot.press("m")
        await wait_for(pilot, lambda: "bell muted" in text_of(status))
        assert "bell muted" in text_of(app.query_one(AlarmStrip))


async def test_desktop_notification_one_per_burst_never_for_silenced(
    root: Root,
) -> None:
    db = DeliveryDB(root.path / "var" / "delivery.db")
    Silences(db).add(parser="Error", duration=3600, now=NOW)
    db.close()
    sent: list[dict[str, Any]] = []

    class FakeSender:
        def send(self, doc: dict[str, Any], ident: str) -> None:
            sent.append(doc)

    app = root.app(history=True, wall_clock=wall, desktop=True)
    app.desktop._sender = FakeSender()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await wait_for(pilot, lambda: len(sent) == 1)
        await pilot.pause(0.3)
        assert len(sent) == 1
        doc = sent[0]
        # The two PHP alarms of the newest window; the three Error instants are silenced.
        assert doc["type"] == "digest" and doc["count"] == 2
        assert {g["kind"] for g in doc["groups"]} == {"threshold", "abnormal"}
        assert "desktop ok" in text_of(app.query_one(StatusLine))
