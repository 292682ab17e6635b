"""Source health on a real engine (real files, real SQLite) driven step by step with a
settable clock: silent from the stored state across a restart, resolved by a line of any of
the guard's files, no-source notices only once it lasts, skew cleared with hysteresis."""

from __future__ import annotations

from pathlib import Path

import pytest

from alser_tui.engine.alarms import SILENT
from alser_tui.engine.config import ConfigError, load_config, parse_config
from alser_tui.engine.engine import SKEW_SAMPLES, Engine
from alser_tui.engine.events import AlarmRaised, AlarmResolved, Event, SourceNotice
from alser_tui.engine.health import glob_problem, notice_after, skew_verdict

T0 = 1_800_000_000

CONFIG = """
[storage]
dir = "var"

[[guards]]
name = "app"
tail_glob = "logs/app.*.log"
parsers = ["Ev"]
silent_after = 30

[[guards]]
name = "gone"
tail_glob = "nowhere/x.*.log"
parsers = ["Ev"]
silent_after = {gone_after}

[[parsers]]
id = "Ev"
kind = "json"
window = 10
beep_threshold = 50
severity = 2

[[parsers.fields]]
name = "what"
"""


class Clock:
    def __init__(self) -> None:
        self.now = float(T0)

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "alser.toml").write_text(CONFIG.format(gone_after=600))
    (tmp_path / "logs").mkdir()
    for name in ("app.1.log", "app.2.log"):
        (tmp_path / "logs" / name).touch()
    return tmp_path


def engine(root: Path, clock: Clock) -> Engine:
    e = Engine(load_config(root / "alser.toml"), clock=clock)
    e.open()
    return e


def write(root: Path, name: str, ts: int, n: int = 1) -> None:
    with (root / "logs" / name).open("a") as f:
        for i in range(n):
            f.write(f'us,{ts},{{"what": "w{i}"}}\n')


def check(e: Engine, clock: Clock) -> list[Event]:
    """A step of the engine's loop: read, then judge (what run() does once a second)."""
    e.step()
    events: list[Event] = []
    e.subscribers = [events.append]
    e.check_health()
    return events


def kinds(events: list[Event]) -> list[str]:
    out = []
    for ev in events:
        if isinstance(ev, AlarmRaised):
            out.append(f"alarm {ev.alarm.kind}")
        elif isinstance(ev, AlarmResolved):
            out.append(f"resolved {ev.alarm.kind}")
        elif isinstance(ev, SourceNotice):
            out.append(f"{ev.kind} {ev.state}")
    return out


def test_silent_only_after_a_line_and_only_when_no_file_delivers(root: Path) -> None:
    clock = Clock()
    e = engine(root, clock)
    try:
        clock.now += 100
        assert "alarm silent" not in kinds(check(e, clock))  # never delivered: not silent
        write(root, "app.1.log", int(clock.now))
        assert check(e, clock) == []
        clock.now += 20
        write(root, "app.2.log", int(clock.now))  # the other file: the guard delivers
        assert check(e, clock) == []
        clock.now += 20
        assert "alarm silent" not in kinds(check(e, clock))
        clock.now += 11  # 31 s since app.2.log's line
        (raised,) = [ev for ev in check(e, clock) if isinstance(ev, AlarmRaised)]
        a = raised.alarm
        assert (a.kind, a.parser, a.severity, a.amount) == (SILENT, "Ev", 100, 31)
        assert a.group == {"guard": "app", "source": "logs/app.*.log"}
        assert check(e, clock) == []  # raised once
        st = e.stats()
        (app,) = [g for g in st.guards if g.name == "app"]
        assert app.state == "silent" and app.silent and app.parsers == ("Ev",)
        assert app.reason == "no line for 31 s"
        assert "guard app: silent: no line for 31 s from logs/app.*.log" in st.warnings
        clock.now += 5
        write(root, "app.1.log", int(clock.now))
        (resolved,) = check(e, clock)
        assert isinstance(resolved, AlarmResolved) and resolved.alarm == a
        assert resolved.at == clock.now
    finally:
        e.close()


def test_silent_is_judged_from_the_stored_last_line_across_a_restart(root: Path) -> None:
    clock = Clock()
    e = engine(root, clock)
    write(root, "app.1.log", int(clock.now))
    check(e, clock)
    assert e.health is not None
    e.health.save(clock.now, force=True)  # (run() does this when it ends)
    e.close()
    # Down for an hour, nothing written meanwhile: silent at once on start.
    clock.now += 3600
    e = engine(root, clock)
    try:
        events = check(e, clock)
        assert kinds(events) == ["alarm silent"]
        assert isinstance(events[0], AlarmRaised) and events[0].alarm.amount == 3600
        e.health.save(clock.now, force=True)
    finally:
        e.close()
    # Lines came while down again: after the restart the alarm is resolved, not forgotten.
    write(root, "app.2.log", int(clock.now) + 5)
    clock.now += 10
    e = engine(root, clock)
    try:
        assert kinds(check(e, clock)) == ["resolved silent"]
    finally:
        e.close()


def test_no_source_is_shown_at_once_and_noticed_once_it_lasts(root: Path) -> None:
    clock = Clock()
    e = engine(root, clock)
    try:
        check(e, clock)
        st = e.stats()
        (gone,) = [g for g in st.guards if g.name == "gone"]
        assert gone.state == "no source"
        assert gone.reason == f"folder {root / 'nowhere'} does not exist"
        assert f"guard gone: no source: nowhere/x.*.log: {gone.reason}" in e.stats().warnings
        clock.now += 59
        assert check(e, clock) == []
        clock.now += 1
        (notice,) = check(e, clock)
        assert isinstance(notice, SourceNotice) and (notice.kind, notice.state) == (
            "no_source",
            "raised",
        )
        assert [i.guard for i in notice.items] == ["gone"]
        (root / "nowhere").mkdir()
        clock.now += 5
        assert check(e, clock) == []  # still none: "matches no file" now, no second notice
        assert [g.reason for g in e.stats().guards if g.name == "gone"] == ["matches no file"]
        (root / "nowhere" / "x.1.log").touch()
        assert e.health is not None
        for g in e.guards:
            g.source.rescan()
        (cleared,) = check(e, clock)
        assert isinstance(cleared, SourceNotice) and cleared.state == "cleared"
        assert cleared.text == "1 guard has its source back"
        assert cleared.items[0].text == "1 source now"
    finally:
        e.close()


def test_skew_is_raised_when_every_read_is_off_and_cleared_when_every_read_is_back(
    root: Path,
) -> None:
    clock = Clock()
    e = engine(root, clock)
    try:
        events: list[Event] = []
        for _i in range(SKEW_SAMPLES):
            write(root, "app.1.log", int(clock.now) - 7200)
            clock.now += 1
            events += check(e, clock)
        assert kinds(events) == ["skew raised"]
        notice = events[0]
        assert isinstance(notice, SourceNotice)
        assert notice.items[0].source == str(root / "logs" / "app.1.log")
        assert notice.items[0].skew == -7201  # written a second before the read
        events = []
        for _i in range(SKEW_SAMPLES - 1):  # mixed reads: neither off nor back
            write(root, "app.1.log", int(clock.now))
            clock.now += 1
            events += check(e, clock)
        assert events == []
        write(root, "app.1.log", int(clock.now))
        (cleared,) = check(e, clock)
        assert isinstance(cleared, SourceNotice) and cleared.state == "cleared"
        assert cleared.items[0].text == "line times agree with the clock"
    finally:
        e.close()


def test_the_no_source_notice_waits_silent_after_when_shorter(root: Path) -> None:
    (root / "alser.toml").write_text(CONFIG.format(gone_after=5))
    cfg = load_config(root / "alser.toml")
    assert [notice_after(g) for g in cfg.guards] == [30, 5]
    clock = Clock()
    e = engine(root, clock)
    try:
        check(e, clock)
        clock.now += 5
        assert kinds(check(e, clock)) == ["no_source raised"]
    finally:
        e.close()


def test_silent_after_is_checked_with_its_key_path() -> None:
    parsers = [{"id": "P", "kind": "json", "fields": [{"name": "x"}]}]
    guards = [{"tail_glob": "x/*.log", "parsers": ["P"], "silent_after": -1}]
    with pytest.raises(ConfigError) as err:
        parse_config({"guards": guards, "parsers": parsers})
    assert err.value.key == "guards[0].silent_after" and "must be >= 0" in err.value.problem
    guards[0]["silent_after"] = "10m"
    with pytest.raises(ConfigError) as err:
        parse_config({"guards": guards, "parsers": parsers})
    assert err.value.key == "guards[0].silent_after"
    del guards[0]["silent_after"]
    assert parse_config({"guards": guards, "parsers": parsers}).guards[0].silent_after == 600


def test_glob_problems(tmp_path: Path) -> None:
    assert (
        glob_problem(str(tmp_path / "no" / "*.log")) == f"folder {tmp_path / 'no'} does not exist"
    )
    assert glob_problem(str(tmp_path / "*" / "*.log")) == f"no folder matches {tmp_path / '*'}"
    (tmp_path / "f").write_text("")
    assert glob_problem(str(tmp_path / "f" / "*.log")) == f"{tmp_path / 'f'} is not a folder"
    assert glob_problem(str(tmp_path / "*.log")) == "matches no file"
    (tmp_path / "a.log").write_text("")
    assert glob_problem(str(tmp_path / "*.log")) == ""


def test_skew_verdict() -> None:
    assert skew_verdict(None, 300, 5) is None
    assert skew_verdict([-7200] * 4, 300, 5) is None
    assert skew_verdict([-7200, -7100, -7300, -7200, -7250], 300, 5) == -7200
    assert skew_verdict([900] * 5, 300, 5) == 900
    assert skew_verdict([0, 2, -1, 300, -300], 300, 5) is False
    assert skew_verdict([0, 0, 0, 0, -7200], 300, 5) is None


def test_a_store_that_refuses_does_not_make_the_sources_silent(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine stops reading while its store refuses a batch (another writer holds the
    lock): that is not the collector's silence, and its lines are there once it recovers."""
    import sqlite3

    from alser_tui.engine import store

    monkeypatch.setattr(store, "WRITE_BUSY_TIMEOUT", 0.1)
    clock = Clock()
    e = engine(root, clock)
    holder = sqlite3.connect(root / "var" / "alser.db", isolation_level=None)
    try:
        write(root, "app.1.log", int(clock.now))
        assert check(e, clock) == []
        holder.execute("BEGIN IMMEDIATE")
        write(root, "app.1.log", int(clock.now))
        e.step()
        assert e._pending is not None  # refused: kept, nothing more is read
        write(root, "app.1.log", int(clock.now) + 20)  # the source goes on meanwhile
        clock.now += 40
        assert check(e, clock) == []
        assert [g.state for g in e.stats().guards if g.name == "app"] == ["ok"]
        holder.execute("ROLLBACK")
        e._retry_at = 0.0  # (the back-off's wait, skipped)
        assert check(e, clock) == []  # the line written meanwhile is read: not silent
        assert e.runs["Ev"].parsed == 3
    finally:
        holder.close()
        e.close()
