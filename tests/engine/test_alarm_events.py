"""An instant or dropped alarm's own lines (Engine.alarm_events): a replayed hostline parser
whose ``where`` keeps kernel messages out of its windows, program names that look like SQL
patterns, and a window alarm that has no line of its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from alser_tui.engine.alarms import DROPPED, INSTANT, Alarm
from alser_tui.engine.config import load_config
from alser_tui.engine.engine import Engine
from alser_tui.engine.events import AlarmRaised

T0 = 1_800_000_000

CONFIG = """
[storage]
dir = "var"

[[guards]]
history_glob = "history/kernel*"
parsers = ["Kernal"]

[[parsers]]
id = "Kernal"
kind = "hostline"
window = 60
aggregate = "sum:amount"
group_by = ["area", "program"]
where = "program <> ''"
"""


def stats(area: str, ts: int, lost: dict[str, int], collector: str) -> str:
    parts = [f"dropped='program({p})={n}'" for p, n in lost.items()]
    parts += [f"processed='destination(d_{p})=100'" for p in lost]
    return f"{area},{ts},syslog-ng[9]: Log statistics; {', '.join(parts)},{collector}"


LINES = [
    f"us,{T0 + 1},kernel: Out of memory,web-1",
    f"us,{T0 + 1},kernel: Out of memory,web-1",  # the same line twice: two events
    f"us,{T0 + 1},kernel: link up,web-2",
    stats("us", T0 + 5, {"a_%": 7, "ab%": 0}, "c1"),  # LIKE would take 'ab%' for 'a_%'
    stats("us", T0 + 5, {"a_%": 0, "ab%": 3}, "c2"),
    stats("de", T0 + 5, {"a_%": 7}, "c3"),  # the same loss in another area
]


@pytest.fixture
def replayed(tmp_path: Path) -> Iterator[tuple[Engine, list[Alarm]]]:
    (tmp_path / "alser.toml").write_text(CONFIG)
    (tmp_path / "history").mkdir()
    (tmp_path / "history" / "kernel.1.log").write_text("\n".join(LINES) + "\n")
    engine = Engine(load_config(tmp_path / "alser.toml"), history=True, keep_open=True)
    alarms: list[Alarm] = []
    engine.subscribe(lambda ev: alarms.append(ev.alarm) if isinstance(ev, AlarmRaised) else None)
    engine.run()
    yield engine, alarms
    engine.close()


def test_an_alarm_opens_its_own_lines(replayed: tuple[Engine, list[Alarm]]) -> None:
    engine, alarms = replayed
    # The where leaves the kernel messages out of every window's rows.
    assert engine.events_of("Kernal", T0, T0 + 60, {"area": "us", "program": None}) == []
    own = {(a.kind, a.text): [e["raw"] for e in engine.alarm_events(a)] for a in alarms}
    assert own == {
        (INSTANT, "Kernal us web-1 kernel: Out of memory"): [LINES[0], LINES[1]],
        (INSTANT, "Kernal us web-2 kernel: link up"): [LINES[2]],
        (DROPPED, "Kernal us a_% dropped 7"): [LINES[3]],
        (DROPPED, "Kernal us ab% dropped 3"): [LINES[4]],
        (DROPPED, "Kernal de a_% dropped 7"): [LINES[5]],
    }


def test_a_window_alarm_has_no_line_of_its_own(replayed: tuple[Engine, list[Alarm]]) -> None:
    engine, _alarms = replayed
    window = Alarm("Kernal", "threshold", 1, 200, {"area": "us"}, T0, T0 + 60, T0, "x")
    with pytest.raises(ValueError, match="use events_of"):
        engine.alarm_events(window)
