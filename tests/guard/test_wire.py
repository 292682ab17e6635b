"""The wire format: every engine event comes back equal; nothing else is built from it."""

from __future__ import annotations

import json

import pytest

from alser_tui.engine.alarms import Alarm, RowMarks
from alser_tui.engine.events import (
    AlarmRaised,
    AlarmResolved,
    FileStats,
    Finished,
    GuardHealth,
    ParserStats,
    ShownRow,
    SourceNotice,
    SourceProblem,
    Stats,
    UnguardedFiles,
    WindowClosed,
)
from alser_tui.guard.wire import WireError, decode, encode

ALARM = Alarm(
    "Php", "threshold", 12.0, 12, {"area": "us", "line": 7, "msg": "<b>x</b>", "n": None},
    100, 160, 120, "Php 12 us", "PHP", 4.0,
)  # fmt: skip
STATS = Stats(
    time=1.5, mode="live", lines=10, lines_per_s=2.5, malformed=1, filtered=0,
    parsers={"Php": ParserStats(parsed=9, rejected=1, passed=100)},
    files=(FileStats("/l/a.log", 10, 20, 3, skew=-7200, note="x"),),
    rss=1, catching_up=False, errors=("e",), unguarded=("/l/b",), warnings=("w",),
    guards=(GuardHealth(0, "g", ("Php",), "/l/*.log", paths=("/l/a.log",)),),
)  # fmt: skip
EVENTS = [
    WindowClosed("Php", 0, 60, 3, 1, (ShownRow(3, {"area": "us"}, "3 us", RowMarks(True)),)),
    AlarmRaised(ALARM, 42),
    AlarmRaised(ALARM),
    STATS,
    Finished(STATS, "stopped"),
    UnguardedFiles(("/a", "/b"), ("/b",), True),
    AlarmResolved(ALARM, 200.5),
    SourceNotice("skew", "raised", "t", (SourceProblem("g", "/l/a.log", "off", -7200),)),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: type(e).__name__)
def test_every_event_comes_back_equal_through_json(event: object) -> None:
    assert decode(json.loads(json.dumps(encode(event)))) == event


def test_only_known_classes_are_built_and_unknown_fields_are_ignored() -> None:
    with pytest.raises(WireError):
        decode({"@": "Popen", "args": ["rm"]})
    doc = encode(AlarmRaised(ALARM, 1))
    doc["from_a_newer_guard"] = True
    assert decode(doc) == AlarmRaised(ALARM, 1)
