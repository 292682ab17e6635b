"""Notices: a new unguarded file reaches the channels through the outbox (real SMTP and HTTP
servers on 127.0.0.1), routed as kind "notice", held in quiet hours and digests, never given
a firing/resolved lifecycle, and not repeated on every restart."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from notify_support import T0, Clock, HttpServer, SmtpServer, alarm, body_text, make_config

from alser_tui.engine.config import ConfigError, load_config
from alser_tui.engine.engine import Engine
from alser_tui.engine.events import AlarmRaised, UnguardedFiles
from alser_tui.engine.notify.config import IrcConfig
from alser_tui.engine.notify.irc import irc_lines
from alser_tui.engine.notify.manager import Delivery
from alser_tui.engine.notify.render import (
    digest,
    generic_json,
    html_body,
    lines,
    one_line,
    slack_json,
    subject,
    unguarded_notice,
)

A, B, C = "/data/als/orders.log", "/data/als/mongo.log", "/data/als/web1/php.log.1"


def start(files: tuple[str, ...]) -> UnguardedFiles:
    return UnguardedFiles(files, files, first=True)


def appeared(files: tuple[str, ...], new: tuple[str, ...]) -> UnguardedFiles:
    return UnguardedFiles(files, new, first=False)


def hook_toml(url: str, extra: str = "", delivery: str = "") -> str:
    return (
        f'[channels.hook]\ntype = "webhook"\nurl = "{url}"\nretry_min = 2\nretry_max = 60\n{extra}'
        f"[delivery]\ncatch_up = false\nrealert = 0\n{delivery}"
    )


def mail_toml(port: int, extra: str = "") -> str:
    return (
        '[delivery]\nrealert = 0\ncatch_up = false\n[channels.mail]\ntype = "email"\n'
        f'host = "127.0.0.1"\nport = {port}\ntls = "none"\nfrom = "alser@example.org"\n'
        f'to = ["oncall@example.org"]\nsleep_start = 300\nsleep_min = 300\n{extra}'
    )


# --------------------------------------------------------------------------- rendering


def test_notice_renderings() -> None:
    doc = unguarded_notice([A, B], 3, T0)
    assert doc["type"] == "notice" and doc["topic"] == "unguarded" and doc["severity"] == 0
    assert doc["text"] == "2 new unguarded files (3 in all)"
    assert one_line(doc) == f"[notice] 2 new unguarded files (3 in all): {A}, {B}"
    assert lines(doc) == ["[notice] 2 new unguarded files (3 in all)", f"  {A}", f"  {B}"]
    assert subject(doc, "ALS Alarm") == "ALS Alarm - notice: 2 new unguarded files (3 in all)"
    assert f"<li><code>{A}</code></li>" in html_body(doc)
    body = generic_json(doc)
    assert body["source"] == "alser-tui" and body["items"] == [A, B] and body["total"] == 3
    assert slack_json(doc)["text"].startswith("[notice] 2 new unguarded files")
    first = unguarded_notice([A], 1, T0, at_start=True)
    assert first["reason"] == "start"
    assert first["text"] == "1 unguarded file in the watched directories"
    assert unguarded_notice([A], 4, T0, at_start=True)["text"] == (
        "1 unguarded file not reported before (4 in all)"
    )
    # Control characters in a file name never reach a terminal or an IRC line raw.
    evil = unguarded_notice(["/data/a\x1b[31mb\r\nPRIVMSG #x :hi"], 1, T0)
    assert "\x1b" not in one_line(evil) and "\n" not in one_line(evil)
    irc = irc_lines(evil, IrcConfig(name="ops", type="irc", targets=("#ops",)))
    assert all("\r" not in x and "\n" not in x for x in irc)


def test_many_files_are_bounded() -> None:
    files = [f"/data/als/f{i:04d}.log" for i in range(500)]
    doc = unguarded_notice(files, 500, T0, at_start=True)
    assert len(doc["items"]) == 200 and doc["more"] == 300
    assert one_line(doc).endswith("f0002.log and 497 more")
    body = lines(doc, max_groups=10)
    assert len(body) == 12 and body[-1] == "  ... and 490 more"
    cfg = IrcConfig(name="ops", type="irc", targets=("#ops",), max_line=100, max_lines=3)
    irc = irc_lines(doc, cfg)
    assert len(irc) == 2 and irc[-1].endswith("f0002.log and 497 more")


def test_digest_carries_notices_after_the_alarms() -> None:
    from alser_tui.engine.notify.lifecycle import alarm_doc
    from alser_tui.engine.notify.render import alarm_message

    only = digest([unguarded_notice([A], 1, T0)], "quiet")
    assert one_line(only) == "after quiet hours: 1 notice"
    assert subject(only, "P") == "P - notice: 1 new unguarded file"
    assert lines(only) == ["after quiet hours: 1 notice", "notice: 1 new unguarded file", f"  {A}"]
    mixed = digest(
        [alarm_message(alarm_doc(alarm(amount=7))), unguarded_notice([B], 2, T0)], "digest"
    )
    assert mixed["count"] == 1 and len(mixed["notices"]) == 1
    assert one_line(mixed).endswith(", 1 notice")
    assert subject(mixed, "P").startswith("P - 1 alarm, worst severity 7")
    text = lines(mixed)
    assert text[-2:] == ["notice: 1 new unguarded file (2 in all)", f"  {B}"]
    assert "<table" in html_body(mixed) and "Notice: 1 new unguarded file" in html_body(mixed)
    cfg = IrcConfig(name="ops", type="irc", targets=("#ops",))
    assert irc_lines(mixed, cfg)[-1] == f"[notice] 1 new unguarded file (2 in all): {B}"


# --------------------------------------------------------------------------- channels


def test_webhook_gets_the_notice_through_the_outbox(tmp_path: Path, http: HttpServer) -> None:
    clock = Clock(T0 + 65)
    d = Delivery(make_config(tmp_path, hook_toml(http.url)), clock=clock)
    d.start(threads=False)
    http.script = [(500, 0)]
    d.handle(start((A, B)))
    assert d.pump() == 0
    st = d.status()["hook"]
    assert st.queued == 1 and st.last_error.startswith("HTTP 500")
    clock.advance(2)
    assert d.pump() == 1
    [req] = http.wait(1)
    body = req["json"]
    assert body["type"] == "notice" and body["topic"] == "unguarded"
    assert body["reason"] == "start" and body["items"] == [A, B]
    assert body["summary"] == f"[notice] 2 unguarded files in the watched directories: {A}, {B}"
    # No lifecycle: nothing firing, nothing to resolve, no alarm counted.
    assert d.lifecycle.firing() == [] and d.counts["alarms"] == 0 and d.counts["notices"] == 1
    d.handle(appeared((A, B, C), (C,)))
    assert d.pump() == 1
    assert http.wait(2)[1]["json"]["items"] == [C]
    assert [m.kind for m in d.outbox.messages(states=("sent",))] == ["notice", "notice"]
    d.stop()


def test_restart_does_not_repeat_the_start_list(tmp_path: Path, http: HttpServer) -> None:
    cfg = make_config(tmp_path, hook_toml(http.url))

    def run(*events: UnguardedFiles) -> int:
        d = Delivery(cfg, clock=Clock(T0 + 65))
        d.start(threads=False)
        for ev in events:
            d.handle(ev)
        sent = d.pump()
        d.stop()
        return sent

    assert run(start((A, B))) == 1
    assert run(start((A, B))) == 0  # told already
    assert run(start((A, B, C))) == 1
    third = http.wait(2)[1]["json"]
    assert third["items"] == [C] and third["text"] == (
        "1 unguarded file not reported before (3 in all)"
    )
    # B went away while we were down and came back: it is news again.
    assert run(start((A, C))) == 0
    assert run(start((A, B, C))) == 1
    assert http.wait(3)[2]["json"]["items"] == [B]


def test_every_change_is_judged_against_what_was_told(tmp_path: Path, http: HttpServer) -> None:
    cfg = make_config(tmp_path, hook_toml(http.url))

    def run(*events: UnguardedFiles) -> int:
        d = Delivery(cfg, clock=Clock(T0 + 65))
        d.start(threads=False)
        for ev in events:
            d.handle(ev)
        sent = d.pump()
        d.stop()
        return sent

    assert run(start((A, B))) == 1
    assert run(start(()), appeared((A, B), (A, B))) == 1  # gone at start: news again
    # Files told of already, in an event that is not a start (its scan saw them first).
    assert run(appeared((A, B), (A, B))) == 0
    assert run(appeared((A, B, C), (C,))) == 1
    assert [r["json"]["items"] for r in http.wait(3)] == [[A, B], [A, B], [C]]


def test_routes_choose_channels_for_notices(tmp_path: Path, http: HttpServer) -> None:
    toml = (
        f'[channels.hook]\ntype = "webhook"\nurl = "{http.url}"\n'
        f'[channels.other]\ntype = "webhook"\nurl = "{http.url}"\n'
        "[delivery]\ncatch_up = false\n"
        '[[routes]]\nparser = "PhpError"\nchannels = ["other"]\n'
        '[[routes]]\nkind = "notice"\nchannels = ["hook"]\n'
    )
    d = Delivery(make_config(tmp_path, toml), clock=Clock(T0 + 65))
    d.start(threads=False)
    d.handle(start((A,)))
    assert d.pump() == 1
    assert [m.channel for m in d.outbox.messages(states=("sent",))] == ["hook"]
    d.stop()
    # Without a notice route, notices go to default_channels (none here: nothing is sent).
    toml2 = toml.replace('kind = "notice"', 'kind = "threshold"')
    d = Delivery(make_config(tmp_path / "b", toml2), clock=Clock(T0 + 65))
    d.start(threads=False)
    d.handle(start((A,)))
    assert d.pump() == 0 and d.outbox.messages(states=("pending", "sent")) == []
    d.stop()
    # Nothing was remembered either: once a route takes notices, the start list goes out.
    d = Delivery(make_config(tmp_path / "b", toml), clock=Clock(T0 + 65))
    d.start(threads=False)
    d.handle(start((A,)))
    assert d.pump() == 1
    d.stop()


def test_notices_can_be_turned_off(tmp_path: Path, http: HttpServer) -> None:
    toml = hook_toml(http.url, delivery="unguarded_notices = false\n")
    d = Delivery(make_config(tmp_path, toml), clock=Clock(T0 + 65))
    d.start(threads=False)
    d.handle(start((A,)))
    assert d.pump() == 0 and d.counts["notices"] == 0
    d.stop()


def test_a_replay_sends_no_notices(tmp_path: Path, http: HttpServer) -> None:
    d = Delivery(make_config(tmp_path, hook_toml(http.url)), clock=Clock(T0 + 65), replay=True)
    d.start(threads=False)
    d.handle(start((A,)))
    d.flush()
    assert d.pump() == 0
    d.stop()


def test_quiet_hours_hold_the_notice_for_the_morning(tmp_path: Path, http: HttpServer) -> None:
    night = time.mktime((2026, 11, 25, 23, 30, 0, 0, 0, -1))
    morning = time.mktime((2026, 11, 26, 7, 0, 0, 0, 0, -1))
    clock = Clock(night)
    toml = hook_toml(http.url, extra='quiet_hours = "22:00-07:00"\n')
    d = Delivery(make_config(tmp_path, toml), clock=clock)
    d.start(threads=False)
    d.handle(appeared((A,), (A,)))
    d.tick()
    assert d.pump() == 0 and d.status()["hook"].held == 1
    clock.now = morning
    d.tick()
    assert d.pump() == 1
    [req] = http.wait(1)
    doc = req["json"]
    assert doc["type"] == "digest" and doc["reason"] == "quiet"
    assert doc["count"] == 0 and [n["items"] for n in doc["notices"]] == [[A]]
    d.stop()


def test_mail_digest_lists_the_files(tmp_path: Path, smtp: SmtpServer) -> None:
    clock = Clock(T0 + 65)
    d = Delivery(make_config(tmp_path, mail_toml(smtp.port)), clock=clock)
    d.start(threads=False)
    d.handle(start((A, B)))
    d.tick()
    assert d.pump() == 0  # email never sends one mail per event: it waits for the digest
    clock.advance(300)
    d.tick()
    assert d.pump() == 1
    [msg] = smtp.mailbox.wait(1)
    assert msg["Subject"] == "ALS Alarm - notice: 2 unguarded files in the watched directories"
    assert body_text(msg).splitlines() == [
        "digest: 1 notice",
        "notice: 2 unguarded files in the watched directories",
        f"  {A}",
        f"  {B}",
    ]
    html = msg.get_body(("html",))
    assert html is not None and f"<li><code>{B}</code></li>" in html.get_content()
    # Alarms and a notice in the same period: one mail with both.
    d.handle(AlarmRaised(alarm(amount=9)))
    d.handle(appeared((A, B, C), (C,)))
    clock.advance(300)
    d.tick()
    assert d.pump() == 1
    second = smtp.mailbox.wait(2)[1]
    assert second["Subject"].startswith("ALS Alarm - 1 alarm, worst severity 9")
    text = body_text(second)
    assert text.splitlines()[0].endswith(", 1 notice") and f"  {C}" in text
    d.stop()


def test_severity_pool_sends_a_notice_at_the_next_interval(
    tmp_path: Path, smtp: SmtpServer
) -> None:
    clock = Clock(T0 + 65)
    extra = 'digest = "pool"\nseverity_threshold = 50\nseverity_pool_size = 1000\ninterval = 60\n'
    d = Delivery(make_config(tmp_path, mail_toml(smtp.port, extra)), clock=clock)
    d.start(threads=False)
    d.handle(AlarmRaised(alarm(amount=9)))  # under the threshold: not mailed
    d.handle(start((A,)))  # not an alarm: no threshold, and it fills the pool
    d.tick()
    assert d.pump() == 1
    [msg] = smtp.mailbox.wait(1)
    assert "notice" in msg["Subject"] and f"  {A}" in body_text(msg)
    d.stop()


def test_catch_up_digest_includes_the_notice(tmp_path: Path, http: HttpServer) -> None:
    toml = f'[channels.hook]\ntype = "webhook"\nurl = "{http.url}"\n[delivery]\nrealert = 0\n'
    d = Delivery(make_config(tmp_path, toml), clock=Clock(T0 + 3600))
    d.start(threads=False)
    d.handle(AlarmRaised(alarm(amount=9)))  # an hour old: a catch-up begins
    d.handle(start((A,)))
    assert d.pump() == 0
    d.end_catch_up()
    assert d.pump() == 1
    [req] = http.wait(1)
    doc = req["json"]
    assert doc["reason"] == "catch-up" and doc["count"] == 1
    assert [n["items"] for n in doc["notices"]] == [[A]]
    d.stop()


# --------------------------------------------------------------------------- config


def test_route_kind_notice_is_valid_and_bad_kinds_name_it(tmp_path: Path) -> None:
    ok = '[channels.h]\ntype = "webhook"\nurl = "http://127.0.0.1:9/"\n'
    cfg = make_config(tmp_path, ok + '[[routes]]\nkind = ["notice"]\nchannels = ["h"]\n')
    assert cfg.delivery is not None and cfg.delivery.routes[0].kinds == ("notice",)
    assert cfg.delivery.route("", "notice", 0) == ("h",)
    assert cfg.delivery.route("PhpError", "threshold", 5) == ()
    with pytest.raises(ConfigError) as err:
        make_config(tmp_path, ok + '[[routes]]\nkind = ["notices"]\nchannels = ["h"]\n')
    assert err.value.key == "routes[0].kind[0]" and "dropped, silent, notice" in err.value.problem
    with pytest.raises(ConfigError) as err:
        make_config(tmp_path, ok + "[delivery]\nunguarded_notices = 1\n")
    assert err.value.key == "delivery.unguarded_notices"


# --------------------------------------------------------------------------- end to end

LIVE = """
[storage]
dir = "var"

[engine]
poll_interval = 0.02
glob_interval = 0.1

[[guards]]
tail_glob = "logs/app.*.log"
parsers = ["P"]

[[parsers]]
id = "P"
kind = "json"
[[parsers.fields]]
name = "x"

[channels.hook]
type = "webhook"
url = "{url}"

[delivery]
catch_up = false
"""


def test_live_engine_to_webhook(tmp_path: Path, http: HttpServer) -> None:
    (tmp_path / "alser.toml").write_text(LIVE.format(url=http.url))
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "app.1.log").write_text("")
    (logs / "stray.log").write_text("")
    config = load_config(tmp_path / "alser.toml")
    engine = Engine(config, stats_interval=0.05)
    delivery = Delivery(config)
    engine.subscribe(delivery)
    delivery.start()
    engine.open()
    thread = threading.Thread(target=engine.run, daemon=True)
    thread.start()
    try:
        [first] = http.wait(1)
        assert first["json"]["reason"] == "start"
        assert first["json"]["items"] == [str(logs / "stray.log")]
        (logs / "app.2.log").write_text("")  # covered: no notice
        (logs / "newapp.log").write_text("")
        second = http.wait(2)[1]["json"]
        assert second["reason"] == "new" and second["items"] == [str(logs / "newapp.log")]
        assert second["text"] == "1 new unguarded file (2 in all)"
    finally:
        engine.request_stop()
        thread.join(10)
        delivery.stop(timeout=10)
    assert len(http.requests) == 2


def test_no_false_notice_for_a_log_that_appears_or_goes_during_a_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import glob as globmod

    from alser_tui.engine import unguarded
    from alser_tui.engine.unguarded import UnguardedTracker

    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "app.1.log.gz").write_text("")
    pattern = str(logs / "app.*.log")
    tracker = UnguardedTracker([pattern], [pattern, pattern + ".gz"], interval=0)
    real_glob = globmod.glob

    def glob(pat: str) -> list[str]:
        (logs / "app.1.log.gz").unlink(missing_ok=True)  # rotated away as we look
        found = real_glob(pat)
        (logs / "app.2.log").write_text("")  # and the writer starts a new log
        return found

    monkeypatch.setattr(unguarded.glob, "glob", glob)
    assert tracker.scan() == [] and tracker.files == ()
    monkeypatch.undo()
    assert tracker.scan() == [] and (logs / "app.2.log").exists()


def _rotate(logs: Path, keep: int = 4) -> None:
    """What logrotate (compress, delaycompress) does to logs/app.1.log."""
    for n in range(keep, 1, -1):
        older = logs / f"app.1.log.{n - 1}.gz"
        if older.exists():
            older.rename(logs / f"app.1.log.{n}.gz")
    if (logs / "app.1.log.1").exists():
        (logs / "app.1.log.1").rename(logs / "app.1.log.2.gz")
    (logs / "app.1.log").rename(logs / "app.1.log.1")
    (logs / "app.1.log").write_text("")


def test_rotations_and_restarts_of_the_real_command_repeat_no_notice(
    tmp_path: Path, http: HttpServer
) -> None:
    import signal
    import subprocess
    import sys

    (tmp_path / "alser.toml").write_text(LIVE.format(url=http.url))
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "app.1.log").write_text("")
    (logs / "app.1.log.1").write_text("")  # rotated yesterday: part of a guarded family
    (logs / "stray.log").write_text("")

    def spawn() -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "alser_tui", "-c", str(tmp_path / "alser.toml"), "--no-ui"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
        )

    def stop(proc: subprocess.Popen[str]) -> None:
        proc.send_signal(signal.SIGTERM)
        try:
            assert proc.wait(15) == 0, proc.stderr.read() if proc.stderr else ""
        finally:
            proc.kill()

    def items(n: int) -> list[str]:
        return [Path(p).name for p in http.wait(n, timeout=20)[n - 1]["json"]["items"]]

    first = spawn()
    try:
        assert items(1) == ["stray.log"]
        _rotate(logs)  # while it runs
        (logs / "newapp.log").write_text("")
        assert items(2) == ["newapp.log"]
    finally:
        stop(first)
    _rotate(logs)  # while nothing runs
    second = spawn()
    try:
        (logs / "other.log").write_text("")
        # Neither the files told of before the restart nor the rotated copies.
        assert items(3) == ["other.log"]
    finally:
        stop(second)
    assert len(http.requests) == 3
    assert sorted(p.name for p in logs.iterdir()) == [
        "app.1.log", "app.1.log.1", "app.1.log.2.gz", "app.1.log.3.gz",
        "newapp.log", "other.log", "stray.log",
    ]  # fmt: skip
