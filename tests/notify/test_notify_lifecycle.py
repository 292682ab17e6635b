"""Lifecycle, routing, silences, acks, realert, quiet hours, catch-up, crash isolation, CLI."""

from __future__ import annotations

import io
import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from notify_support import T0, Clock, alarm, make_config

from alser_tui import notify_cli
from alser_tui.engine.alarms import Alarm, RowMarks
from alser_tui.engine.events import (
    AlarmRaised,
    Finished,
    ParserStats,
    ShownRow,
    Stats,
    WindowClosed,
)
from alser_tui.engine.notify.base import DeliveryError, Sender
from alser_tui.engine.notify.config import BellConfig, ChannelConfig
from alser_tui.engine.notify.desktop import BellSender, DesktopSender
from alser_tui.engine.notify.manager import Delivery


class Recorder(Sender):
    """A channel that records what it is asked to send (or fails on demand)."""

    def __init__(self, config: ChannelConfig) -> None:
        super().__init__(config)
        self.sent: list[dict[str, Any]] = []
        self.fail: Exception | None = None

    def send(self, doc: dict[str, Any], ident: str) -> None:
        if self.fail is not None:
            raise self.fail
        self.sent.append(doc)

    def texts(self) -> list[str]:
        out = []
        for d in self.sent:
            if d["type"] == "digest":
                out.append(
                    f"{d['reason']}:" + ",".join(f"{g['sample']}x{g['count']}" for g in d["groups"])
                )
            else:
                out.append(f"{d['type']}:{d['alarm']['text']}")
        return out


def stats(mode: str = "live", catching_up: bool = False) -> Stats:
    return Stats(0.0, mode, 0, 0.0, 0, 0, {}, (), 0, catching_up)


def passed(upto: int, parser: str = "PhpError") -> Stats:
    """The engine's word that every window of ``parser`` ending by ``upto`` has passed."""
    return Stats(0.0, "live", 0, 0.0, 0, 0, {parser: ParserStats(passed=upto)}, (), 0, False)


def window(start: int, *alarms: Alarm, parser: str = "PhpError") -> WindowClosed:
    """A closed window whose shown rows are these alarms' groups (marked as they were)."""
    rows = tuple(
        ShownRow(
            a.amount,
            a.group,
            a.text,
            RowMarks(threshold=a.kind == "threshold", abnormal=a.kind == "abnormal"),
        )
        for a in alarms
    )
    return WindowClosed(parser, start, start + 60, 0, len(rows), rows)


def setup(
    tmp_path: Path,
    toml: str,
    names: tuple[str, ...] = ("a",),
    clock: Any = None,
    replay: bool = False,
) -> tuple[Delivery, dict[str, Recorder]]:
    chans = "".join(f'[channels.{n}]\ntype = "bell"\n' for n in names)
    cfg = make_config(tmp_path, chans + toml)
    assert cfg.delivery is not None
    recs = {n: Recorder(cfg.delivery.channel(n)) for n in names}
    # The wall clock just after the first test window closed: live resolution by time
    # (windows that closed without rows) must not kick in unless a test moves the clock.
    d = Delivery(cfg, clock=clock or Clock(T0 + 65), senders=dict(recs), replay=replay)  # type: ignore[arg-type]
    d.start(threads=False)
    return d, recs


def run(d: Delivery, *events: Any) -> None:
    for e in events:
        d.handle(AlarmRaised(e) if not isinstance(e, Stats | WindowClosed | Finished) else e)
    d.tick()
    d.pump()


def test_realert_per_parser(tmp_path: Path) -> None:
    toml = '[delivery]\nrealert = "10m"\ncatch_up = false\n[delivery.parsers.Error]\nrealert = 0\n'
    d, r = setup(tmp_path, toml)
    run(d, alarm(start=T0), alarm(start=T0 + 60), alarm(start=T0 + 60, file="other.php"))
    run(d, alarm(start=T0 + 540))  # 9 minutes after the first: still quiet
    run(d, alarm(start=T0 + 600))  # 10 minutes: sent again
    run(d, *(alarm("Error", "instant", 1, T0 + i, cls="Db", area="us") for i in range(3)))
    assert r["a"].texts() == [
        "alarm:PhpError     9 us map.php",
        "alarm:PhpError     9 us other.php",
        "alarm:PhpError     9 us map.php",
        *["alarm:Error     1 us Db"] * 3,
    ]
    assert [m["reason"] for m in r["a"].sent[:3]] == ["new", "new", "realert"]
    assert d.lifecycle.counts["realert"] == 2


def test_firing_then_resolved_after_windows(tmp_path: Path) -> None:
    cfg = make_config(
        tmp_path,
        '[channels.a]\ntype = "bell"\nsend_resolved = true\n'
        '[delivery]\nrealert = "1h"\nresolve_after = 2\ncatch_up = false\n',
    )
    rec = Recorder(cfg.delivery.channel("a"))  # type: ignore[union-attr]
    d = Delivery(cfg, clock=Clock(T0 + 65), senders={"a": rec})
    d.start(threads=False)
    a0, a1, a4 = alarm(start=T0), alarm(start=T0 + 60), alarm(start=T0 + 240)
    run(d, window(T0, a0), a0)
    run(d, window(T0 + 60, a1), a1)  # still firing: not sent again
    run(d, window(T0 + 120))  # one window without it
    assert [m["type"] for m in rec.sent] == ["alarm"]
    assert len(d.lifecycle.firing()) == 1
    run(d, window(T0 + 180))  # two windows without it: resolved
    assert [m["type"] for m in rec.sent] == ["alarm", "resolved"]
    assert rec.sent[1]["since"] == T0 + 60 and rec.sent[1]["alarm"]["start"] == T0 + 60
    assert not d.lifecycle.firing()
    # After resolution the same group fires anew at once (no realert wait).
    run(d, window(T0 + 240, a4), a4)
    assert [m["type"] for m in rec.sent] == ["alarm", "resolved", "alarm"]
    # Windows without rows are never closed: the next close counts the gap.
    run(d, window(T0 + 600))
    assert [m["type"] for m in rec.sent][-1] == "resolved"
    # A window whose rows are below the threshold does not keep it firing either.
    other = alarm(start=T0 + 660, kind="abnormal")
    run(d, window(T0 + 660, other), other)
    assert [m["type"] for m in rec.sent][-1] == "alarm"


def test_live_resolution_without_any_window(tmp_path: Path) -> None:
    clock = Clock(T0 + 70)
    cfg = make_config(
        tmp_path,
        '[channels.a]\ntype = "bell"\nsend_resolved = true\n[delivery]\ncatch_up = false\n',
    )
    rec = Recorder(cfg.delivery.channel("a"))  # type: ignore[union-attr]
    d = Delivery(cfg, clock=clock, senders={"a": rec})
    d.start(threads=False)
    run(d, alarm(start=T0))
    clock.advance(600)  # the wall clock alone resolves nothing: the engine may be behind
    run(d, passed(T0 + 60))  # the engine: windows up to T0 + 60 passed (the alarm's own)
    assert [m["type"] for m in rec.sent] == ["alarm"]
    run(d, passed(T0 + 120))  # the next window passed without rows
    assert [m["type"] for m in rec.sent] == ["alarm", "resolved"]


def test_routes_first_match_continue_and_default(tmp_path: Path) -> None:
    toml = """
[delivery]
catch_up = false
realert = 0
default_channels = ["c"]
[[routes]]
parser = "PhpError"
min_severity = 50
channels = ["a"]
continue = true
[[routes]]
parser = "PhpError"
kind = "threshold"
channels = ["b"]
[[routes]]
parser = "PhpError"
channels = ["c"]
"""
    d, r = setup(tmp_path, toml, ("a", "b", "c"))
    run(d, alarm(amount=60), alarm(amount=9, file="x"), alarm(kind="abnormal", amount=9, file="y"))
    run(d, alarm("Error", "instant", 1, cls="Db"))
    assert [len(r[n].sent) for n in "abc"] == [1, 2, 2]
    assert r["c"].texts() == ["alarm:PhpError     9 us y", "alarm:Error     1 us Db"]


def test_silence_cli_applies_to_running_delivery(tmp_path: Path) -> None:
    d, r = setup(tmp_path, "[delivery]\ncatch_up = false\nrealert = 0\n", clock=time.time)
    conf = str(tmp_path / "alser.toml")
    out = io.StringIO()
    code = notify_cli.main(
        ["silence", "add", "-c", conf, "--parser", "PhpError", "--match", "file=map*", "--for", "1h",
         "--comment", "deploy"],
        out=out,
    )  # fmt: skip
    assert code == 0 and out.getvalue().startswith("silence 1: parser=PhpError file=map* until ")
    run(
        d,
        alarm(file="map.php"),
        alarm(file="user.php"),
        alarm("Error", "instant", 1, file="map.php"),
    )
    assert r["a"].texts() == ["alarm:PhpError     9 us user.php", "alarm:Error     1 us map.php"]
    assert d.lifecycle.counts["silenced"] == 1
    out = io.StringIO()
    assert notify_cli.main(["silence", "list", "-c", conf], out=out) == 0
    assert (
        "   1  parser=PhpError file=map*  until" in out.getvalue() and "# deploy" in out.getvalue()
    )
    assert notify_cli.main(["silence", "rm", "1", "-c", conf], out=io.StringIO()) == 0
    assert notify_cli.main(["silence", "rm", "1", "-c", conf], out=io.StringIO()) == 1
    run(d, alarm(file="map.php", start=T0 + 60))
    assert r["a"].texts()[-1] == "alarm:PhpError     9 us map.php"


def test_silence_from_console_expires(tmp_path: Path) -> None:
    clock = Clock()
    d, r = setup(tmp_path, "[delivery]\ncatch_up = false\nrealert = 0\n", clock=clock)
    s = d.silence(parser="PhpError", matchers=(("area", "u?"),), duration=600)
    assert [x.id for x in d.silences()] == [s.id]
    run(d, alarm())
    clock.advance(600)
    run(d, alarm(start=T0 + 60))
    assert len(r["a"].sent) == 1 and not d.silences()


def test_silence_cli_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    setup(tmp_path, "")
    conf = str(tmp_path / "alser.toml")
    assert notify_cli.main(["silence", "add", "-c", conf, "--parser", "Nope", "--for", "1h"]) == 2
    assert notify_cli.main(["silence", "add", "-c", conf, "--match", "file", "--for", "1h"]) == 2
    assert notify_cli.main(["silence", "add", "-c", conf, "--for", "soon"]) == 2
    err = capsys.readouterr().err
    assert "unknown parser 'Nope'" in err and "FIELD=VALUE" in err and "not a duration" in err


def test_silence_cli_refuses_a_field_no_alarm_carries(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    setup(tmp_path, "")
    conf = str(tmp_path / "alser.toml")

    def add(*args: str) -> int:
        return notify_cli.main(
            ["silence", "add", "-c", conf, "--for", "1h", *args], out=io.StringIO()
        )

    # A typo would make a silence that never matches: the on-call thinks it is muted.
    assert add("--match", "fiel=map.php") == 2
    assert add("--parser", "Error", "--match", "file=map.php") == 2
    assert add("--kind", "threshold", "--parser", "PhpError", "--match", "msg=x") == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "alser-tui: --match fiel=...: alarms of any parser have no field 'fiel'"
        " (did you mean 'file'?); fields: area, cls, file, text, ts",
        "alser-tui: --match file=...: alarms of parser 'Error' have no field 'file';"
        " fields: area, cls, text, ts",
        "alser-tui: --match msg=...: threshold alarms of parser 'PhpError' have no field"
        " 'msg'; fields: area, file, text",
    ]
    # Every field an alarm can carry: group fields, an instant's whole row, the text.
    assert add("--match", "file=map*", "--match", "area=us") == 0
    assert add("--parser", "Error", "--kind", "instant", "--match", "ts=1*") == 0
    assert add("--match", "text=*timeout*") == 0
    out = io.StringIO()
    assert notify_cli.main(["silence", "list", "-c", conf], out=out) == 0
    assert len(out.getvalue().splitlines()) == 3


def test_ack_until_resolved(tmp_path: Path) -> None:
    d, r = setup(tmp_path, "[delivery]\ncatch_up = false\nrealert = 0\n")
    a, a1 = alarm(), alarm(start=T0 + 60)
    d.ack(a, "on it")
    run(d, window(T0, a), a, window(T0 + 60, a1), a1)
    assert r["a"].sent == [] and d.lifecycle.counts["acknowledged"] == 2
    run(d, window(T0 + 120), window(T0 + 180))  # resolved: the ack ends with it
    a4 = alarm(start=T0 + 240)
    run(d, window(T0 + 240, a4), a4)
    assert len(r["a"].sent) == 1


def test_realert_state_survives_restart(tmp_path: Path) -> None:
    d, r = setup(tmp_path, '[delivery]\ncatch_up = false\nrealert = "1h"\n')
    a0, a1 = alarm(), alarm(start=T0 + 60)
    run(d, window(T0, a0), a0)
    d.stop()
    d, r = setup(tmp_path, '[delivery]\ncatch_up = false\nrealert = "1h"\n')
    run(d, window(T0 + 60, a1), a1)
    assert r["a"].sent == []


def test_catch_up_after_downtime_is_one_digest_per_channel(tmp_path: Path) -> None:
    clock = Clock(T0 + 7200)  # two hours after the alarms' time: we were down
    d, r = setup(tmp_path, '[delivery]\nrealert = "1h"\n', ("a", "b"), clock=clock)
    old = [alarm(start=T0 + 60 * i, file=f"f{i % 3}.php", amount=10 + i) for i in range(30)]
    run(d, stats(catching_up=True), *old)
    assert r["a"].sent == [] and d.status()["a"].held == 30
    # "Caught up" right after a lagging alarm may be a pause in the backlog: wait a little.
    run(d, stats(catching_up=False))
    assert r["a"].sent == []
    d.catch_up_settle = 0
    run(d, stats(catching_up=False))
    for name in "ab":
        assert len(r[name].sent) == 1
        doc = r[name].sent[0]
        assert doc["type"] == "digest" and doc["reason"] == "catch-up" and doc["count"] == 30
        assert sorted((g["group"]["file"], g["count"]) for g in doc["groups"]) == [
            ("f0.php", 10), ("f1.php", 10), ("f2.php", 10),
        ]  # fmt: skip
        assert doc["from"] == T0 + 60 and doc["to"] == T0 + 30 * 60
    # Back to live: a fresh alarm of a new group goes out on its own.
    run(d, alarm(start=int(clock.now) - 60, file="new.php"))
    assert r["a"].texts()[-1] == "alarm:PhpError     9 us new.php"


def test_history_replay_sends_one_catch_up_digest(tmp_path: Path) -> None:
    d, r = setup(tmp_path, "", ("a",), replay=True)
    run(d, *(alarm(start=T0 + 60 * i) for i in range(5)), stats("history", catching_up=False))
    assert r["a"].sent == []
    run(d, Finished(stats("history")))
    assert len(r["a"].sent) == 1 and r["a"].sent[0]["count"] == 5
    # A replay leaves no firing state behind for the live instance.
    assert d.db.query("SELECT COUNT(*) FROM alerts")[0][0] == 0


def test_quiet_hours_hold_then_one_digest_and_severe_breaks_through(tmp_path: Path) -> None:
    night = time.mktime((2026, 11, 25, 23, 0, 0, 0, 0, -1))
    clock = Clock(night)
    toml = '[delivery]\ncatch_up = false\nrealert = 0\nquiet_hours = "22:00-07:00"\nquiet_min_severity = 100\n'
    d, r = setup(tmp_path, toml, clock=clock)
    run(d, alarm(amount=5), alarm(amount=6, file="b"), alarm(amount=500, file="fire"))
    assert r["a"].texts() == ["alarm:PhpError   500 us fire"]
    assert d.status()["a"].state == "quiet hours"
    clock.now = time.mktime((2026, 11, 26, 7, 0, 0, 0, 0, -1))
    run(d)
    assert r["a"].texts()[1:] == ["quiet:PhpError     6 us bx1,PhpError     5 us map.phpx1"]


def test_a_crashing_channel_never_stops_the_others(tmp_path: Path) -> None:
    d, r = setup(tmp_path, "[delivery]\ncatch_up = false\nrealert = 0\n", ("a", "b"))
    r["a"].fail = RuntimeError("bug in a channel")
    run(d, alarm())
    assert len(r["b"].sent) == 1
    st = d.status()["a"]
    assert st.queued == 1 and "internal error: RuntimeError('bug in a channel')" in st.last_error
    r["b"].fail = DeliveryError("HTTP 400 Bad Request", permanent=True)
    run(d, alarm(file="x"))
    assert d.status()["b"].failed == 1 and d.status()["b"].queued == 0
    # max_attempts: a message is marked failed (visible), never dropped silently.
    out = io.StringIO()
    assert notify_cli.main(["outbox", "-c", str(tmp_path / "alser.toml")], out=out) == 0
    text = out.getvalue()
    assert "a: 2 pending, 0 failed" in text and "b: 0 pending, 1 failed" in text
    assert "last error: HTTP 400 Bad Request" in text
    mid = d.outbox.messages("b", ("failed",))[0].id
    assert (
        notify_cli.main(
            ["outbox", "-c", str(tmp_path / "alser.toml"), "--retry", str(mid)], out=out
        )
        == 0
    )
    r["b"].fail = None
    d.pump()
    assert r["b"].texts()[-1] == "alarm:PhpError     9 us x"


def test_threads_hand_off_and_stop_flushes(tmp_path: Path) -> None:
    cfg = make_config(
        tmp_path, '[channels.a]\ntype = "bell"\n[delivery]\ncatch_up = false\nrealert = 0\n'
    )
    rec = Recorder(cfg.delivery.channel("a"))  # type: ignore[union-attr]
    d = Delivery(cfg, senders={"a": rec})
    d.start()
    for i in range(20):
        d(AlarmRaised(alarm(file=f"{i}.php", start=int(time.time()) - 60)))
    d.stop(timeout=5)
    assert len(rec.sent) == 20


def test_desktop_without_display_reports_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS"):
        monkeypatch.delenv(var, raising=False)
    cfg = make_config(tmp_path, '[channels.desk]\ntype = "desktop"\n[delivery]\ncatch_up = false\n')
    d = Delivery(cfg, clock=Clock())
    d.start(threads=False)
    assert isinstance(d.channels["desk"].sender, DesktopSender)
    run(d, alarm())
    st = d.status()["desk"]
    assert st.state == "unavailable: no display" and st.queued == 0
    assert d.outbox.messages("desk", ("skipped",))[0].last_error == "unavailable: no display"


def test_bell_rings_once_per_burst(tmp_path: Path) -> None:
    cfg = make_config(
        tmp_path, '[channels.b]\ntype = "bell"\n[delivery]\ncatch_up = false\nrealert = 0\n'
    )
    tty = io.StringIO()
    bc = cfg.delivery.channel("b")  # type: ignore[union-attr]
    assert isinstance(bc, BellConfig)
    d = Delivery(cfg, clock=Clock(), senders={"b": BellSender(bc, tty=tty)})
    d.start(threads=False)
    run(d, *(alarm(file=f"{i}") for i in range(5)))
    assert tty.getvalue() == "\a"


def test_exec_gets_json_on_stdin_and_failures_retry(tmp_path: Path) -> None:
    out = tmp_path / "got.jsonl"
    flag = tmp_path / "fail"
    script = (
        "import sys, os, pathlib\n"
        f"if pathlib.Path({str(flag)!r}).exists(): sys.stderr.write('pager down\\n'); sys.exit(3)\n"
        f"open({str(out)!r}, 'a').write(sys.stdin.read())\n"
    )
    toml = (
        f'[channels.page]\ntype = "exec"\ncommand = ["{sys.executable}", "-c", {json.dumps(script)}]\n'
        "retry_min = 1\n[delivery]\ncatch_up = false\nrealert = 0\n"
    )
    clock = Clock()
    d = Delivery(make_config(tmp_path, toml), clock=clock)
    d.start(threads=False)
    flag.touch()
    run(d, alarm())
    assert d.status()["page"].last_error.endswith("exited 3: pager down")
    flag.unlink()
    clock.advance(1)
    d.pump()
    doc = json.loads(out.read_text())
    assert doc["type"] == "alarm" and doc["alarm"]["group"] == {"area": "us", "file": "map.php"}
