"""The delivery side of source health, against a real webhook on 127.0.0.1: a silent alarm
fires until the engine resolves it (windows and time do not), its resolution goes where
send_resolved; no_source and skew notices are told once (across restarts) and once more
when they clear."""

from __future__ import annotations

from pathlib import Path

from notify_support import T0, Clock, HttpServer, make_config

from alser_tui.engine.alarms import SILENT, Alarm
from alser_tui.engine.events import (
    AlarmRaised,
    AlarmResolved,
    SourceNotice,
    SourceProblem,
    WindowClosed,
)
from alser_tui.engine.notify.manager import Delivery


def hooks(url: str, realert: str = "1h") -> str:
    return (
        f'[channels.hook]\ntype = "webhook"\nurl = "{url}"\nsend_resolved = true\n'
        f'[channels.quiet]\ntype = "webhook"\nurl = "{url}"\n'
        f'[delivery]\ncatch_up = false\nrealert = "{realert}"\n'
    )


def silent(at: float, last: float) -> Alarm:
    group = {"guard": "app", "source": "logs/app.*.log"}
    text = f"app silent: no line for {int(at - last)} s"
    return Alarm(
        "PhpError", SILENT, 10, int(at - last), group, int(last), int(at), int(at), text, "app"
    )


def sent(d: Delivery) -> list[tuple[str, str]]:
    return [(m.channel, m.kind) for m in d.outbox.messages(states=("sent",))]


def test_silent_fires_until_resolved_and_the_resolution_goes_where_wanted(
    tmp_path: Path, http: HttpServer
) -> None:
    cfg = make_config(tmp_path, hooks(http.url))
    clock = Clock(T0 + 600)
    d = Delivery(cfg, clock=clock)
    d.start(threads=False)
    a = silent(clock.now, clock.now - 600)
    d.handle(AlarmRaised(a))
    assert d.pump() == 2
    # Windows of its parser close without it, hours pass: still firing, nothing resolved.
    d.handle(WindowClosed("PhpError", T0 + 600, T0 + 660, 0, 0, ()))
    clock.advance(7200)
    d.tick()
    assert [st.kind for st in d.lifecycle.firing()] == [SILENT]
    assert d.pump() == 0
    d.handle(AlarmResolved(a, clock.now))
    assert d.pump() == 1 and d.lifecycle.firing() == []
    assert sent(d) == [("hook", "alarm"), ("quiet", "alarm"), ("hook", "resolved")]
    bodies = [r["json"] for r in http.wait(3)]
    assert bodies[0]["alarm"]["kind"] == "silent" and bodies[0]["alarm"]["group"]["guard"] == "app"
    assert bodies[2]["type"] == "resolved" and bodies[2]["alarm"]["text"] == a.text
    d.stop()


def test_a_restart_that_raises_it_again_sends_nothing_new(tmp_path: Path, http: HttpServer) -> None:
    cfg = make_config(tmp_path, hooks(http.url))
    clock = Clock(T0 + 600)
    a = silent(clock.now, clock.now - 600)
    d = Delivery(cfg, clock=clock)
    d.start(threads=False)
    d.handle(AlarmRaised(a))
    assert d.pump() == 2
    d.stop()
    clock.advance(60)  # restarted within realert, still silent: raised again
    d = Delivery(cfg, clock=clock)
    d.start(threads=False)
    d.handle(AlarmRaised(silent(clock.now, clock.now - 660)))
    assert d.pump() == 0
    d.handle(AlarmResolved(a, clock.now))  # its resolution still finds it
    assert d.pump() == 1 and sent(d)[-1] == ("hook", "resolved")
    d.stop()


ITEM = SourceProblem("app", "/data/als/app.1.log", "line times 2.0 h behind the clock", -7200)
OTHER = SourceProblem("app", "/data/als/app.2.log", "line times 3.0 h ahead of the clock", 10800)


def skew(state: str, *items: SourceProblem) -> SourceNotice:
    return SourceNotice("skew", state, "-", items)


def test_notices_are_told_once_and_once_more_when_cleared(tmp_path: Path, http: HttpServer) -> None:
    cfg = make_config(tmp_path, hooks(http.url))

    def run(*events: SourceNotice) -> list[dict]:
        before = len(http.requests)
        d = Delivery(cfg, clock=Clock(T0 + 65))
        d.start(threads=False)
        for ev in events:
            d.handle(ev)
        d.pump()
        d.stop()
        return [r["json"] for r in http.requests[before:] if r["json"]["summary"]]

    first = run(skew("raised", ITEM))
    assert len(first) == 2  # both channels: a notice is not an alarm's resolution
    assert first[0]["topic"] == "skew" and first[0]["reason"] == "new"
    assert first[0]["text"] == "1 source's clock is off"
    assert first[0]["items"] == ["/data/als/app.1.log (app): line times 2.0 h behind the clock"]
    assert run(skew("raised", ITEM)) == []  # a restart raising it again: told already
    second = run(skew("raised", ITEM, OTHER))
    assert second[0]["items"] == ["/data/als/app.2.log (app): line times 3.0 h ahead of the clock"]
    assert second[0]["text"] == "1 source's clock is off"
    cleared = run(skew("cleared", ITEM, OTHER))
    assert cleared[0]["reason"] == "resolved" and cleared[0]["text"] == "2 sources' clocks are back"
    assert run(skew("cleared", ITEM)) == []  # cleared already
    gone = SourceProblem("gone", "nowhere/*.log", "folder /x/nowhere does not exist")
    ns = run(SourceNotice("no_source", "raised", "-", (gone,)))
    assert ns[0]["summary"] == (
        "[notice] 1 guard has no source: gone: nowhere/*.log: folder /x/nowhere does not exist"
    )
