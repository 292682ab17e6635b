"""End to end: a history replay over generated logs, delivered to real SMTP, IRC and HTTP
servers. The exact alarms the engine raised arrive on every channel (or, with catch-up, one
digest per channel that counts each of them)."""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from notify_support import HttpServer, IrcObserver, IrcServer, SmtpServer, body_text

from alser_tui.engine.alarms import Alarm
from alser_tui.engine.config import Config, load_config
from alser_tui.engine.engine import Engine
from alser_tui.engine.events import AlarmRaised, Event
from alser_tui.engine.notify.lifecycle import alarm_doc, doc_key
from alser_tui.engine.notify.manager import Delivery
from alser_tui.engine.notify.render import one_line

T0 = 1_700_000_000 - 1_700_000_000 % 600

CONFIG = """
[storage]
dir = "var"

[[guards]]
history_glob = "history/php*"
parsers = ["PhpError"]

[[guards]]
history_glob = "history/err*"
parsers = ["Error"]

[[parsers]]
id = "PhpError"
kind = "regex"
regex = '^PHP (\\w+): (\\S+) in (\\S+)$'
group_by = ["area", "file"]
beep_threshold = 8
abnormal_base = 6
abnormal_percent = 1.0
severity = 2

[[parsers.fields]]
name = "level"
group = 1
[[parsers.fields]]
name = "msg"
group = 2
[[parsers.fields]]
name = "file"
group = 3

[[parsers]]
id = "Error"
kind = "json"
group_by = ["area", "cls"]
instant = "Fatal {{area}} {{cls}}"

[[parsers.fields]]
name = "cls"
path = "error.class"
[[parsers.fields]]
name = "fatal"
path = "error.level"
filters = ["fatal"]
visible = false

[channels.mail]
type = "email"
host = "127.0.0.1"
port = {smtp}
tls = "none"
to = ["oncall@example.org"]
sleep_start = 3600
sleep_max = 3600

[channels.ops]
type = "irc"
host = "127.0.0.1"
port = {irc}
channels = ["#ops"]
rate = 200
burst = 50
max_lines = 40

[channels.hook]
type = "webhook"
url = "{url}"

[delivery]
realert = 0
catch_up = {catch_up}
"""


def _logs(root: Path) -> None:
    rng = random.Random(11)
    hist = root / "history"
    hist.mkdir()
    php, err = [], []
    for minute in range(10):
        for f in ("map.php", "user.php", "db.php"):
            for _ in range(rng.choice([0, 2, 5, 9, 14] if f == "map.php" else [0, 1, 3, 8])):
                ts = T0 + minute * 60 + rng.randint(0, 59)
                area = rng.choice(["us", "de"])
                php.append(f"{area},{ts},PHP Warning: undefined in /var/www/{f}")
        for _ in range(rng.randint(0, 2)):
            ts = T0 + minute * 60 + rng.randint(0, 59)
            doc = {"error": {"class": rng.choice(["Db", "Timeout"]), "level": "fatal"}}
            err.append(f"us,{ts},{json.dumps(doc)}")
    rng.shuffle(php)
    (hist / "php.1.log").write_text("\n".join(php) + "\n")
    (hist / "err.1.log").write_text("\n".join(err) + "\n")


def _replay(config: Config) -> list[Alarm]:
    """What `alser-tui --history --no-ui` does with delivery wired in (see the README)."""
    engine = Engine(config, history=True)
    events: list[Event] = []
    engine.subscribe(events.append)
    delivery = Delivery(config, replay=True)
    engine.subscribe(delivery)
    delivery.start()
    try:
        engine.run()
    finally:
        delivery.stop(timeout=20)
    return [e.alarm for e in events if isinstance(e, AlarmRaised)]


@pytest.fixture
def servers(
    tmp_path: Path,
    smtp: SmtpServer,
    irc_factory: Callable[..., IrcServer],
    http: HttpServer,
) -> Any:
    irc = irc_factory()
    watcher = IrcObserver(irc.port, "#ops")

    def config(catch_up: bool) -> Config:
        _logs(tmp_path)
        text = CONFIG.format(
            smtp=smtp.port, irc=irc.port, url=http.url, catch_up=str(catch_up).lower()
        )
        (tmp_path / "alser.toml").write_text(text)
        return load_config(tmp_path / "alser.toml")

    yield config, smtp, watcher, http
    watcher.close()


def test_every_alarm_arrives_on_every_channel(servers: Any) -> None:
    config, smtp, watcher, http = servers
    alarms = _replay(config(catch_up=False))
    kinds = Counter(a.kind for a in alarms)
    assert kinds["threshold"] and kinds["abnormal"] and kinds["instant"], kinds
    docs = [alarm_doc(a) for a in alarms]

    # Webhook: one POST per alarm, in the order the engine raised them, each exactly it.
    posts = http.wait(len(alarms))
    assert [p["json"]["alarm"] for p in posts] == json.loads(json.dumps(docs))
    assert len(http.requests) == len(alarms)

    # IRC: one line per alarm.
    lines = [t for _, t in watcher.wait(len(alarms))]
    assert lines == [one_line({"type": "alarm", "alarm": d}) for d in docs]

    # Email: never one mail per alarm; the digest counts every one of them per group.
    mails = smtp.mailbox.wait(1)
    assert len(mails) == 1
    want = Counter(doc_key(d) for d in docs)
    body = body_text(mails[0])
    assert mails[0]["Subject"].startswith(f"ALS Alarm - {len(alarms)} alarms, worst severity")
    assert len(body.strip().splitlines()) == 1 + len(want)
    for d in docs:
        assert d["text"] in body


def test_history_replay_sends_one_catch_up_digest_per_channel(servers: Any) -> None:
    config, smtp, watcher, http = servers
    alarms = _replay(config(catch_up=True))
    want = Counter(doc_key(alarm_doc(a)) for a in alarms)

    [post] = http.wait(1)
    doc = post["json"]
    assert doc["type"] == "digest" and doc["reason"] == "catch-up"
    got = Counter()
    for g in doc["groups"]:
        key = doc_key({**g, "text": g["sample"]})
        got[key] += g["count"]
    assert got == want and doc["count"] == len(alarms)

    [mail] = smtp.mailbox.wait(1)
    assert mail["Subject"].startswith(f"ALS Alarm - catch-up, {len(alarms)} alarms")

    lines = [t for _, t in watcher.wait(1 + min(len(want), 40))]
    assert lines[0].startswith(f"catch-up: {len(alarms)} alarms in {len(want)} groups")
    assert len(http.requests) == 1 and len(smtp.mailbox.messages) == 1


LIVE = """
[storage]
dir = "var"

[engine]
lateness = 2
poll_interval = 0.02
glob_interval = 0.2

[[guards]]
tail_glob = "logs/app.*.log"
parsers = ["Err"]

[[parsers]]
id = "Err"
kind = "regex"
window = 10
regex = '^(\\w+) code=(\\d+)'
group_by = ["kind"]
beep_threshold = 3

[[parsers.fields]]
name = "kind"
group = 1
[[parsers.fields]]
name = "code"
group = 2
type = "int"

[channels.hook]
type = "webhook"
url = "{url}"

[delivery]
realert = 0
catch_up_lag = 60
"""


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_live_downtime_then_one_catch_up_digest(tmp_path: Path, http: HttpServer) -> None:
    import threading

    from notify_support import wait_for

    base = 1_800_000_000
    (tmp_path / "alser.toml").write_text(LIVE.format(url=http.url))
    (tmp_path / "logs").mkdir()
    log = tmp_path / "logs" / "app.1.log"
    config = load_config(tmp_path / "alser.toml")
    clock = Clock(base + 1)

    def running() -> tuple[Engine, Delivery, threading.Thread]:
        engine = Engine(config, clock=clock, stats_interval=0.02)
        delivery = Delivery(config, clock=clock)
        delivery.catch_up_settle = 0.1
        engine.subscribe(delivery)
        delivery.start()
        engine.open()
        thread = threading.Thread(target=engine.run, daemon=True)
        thread.start()
        return engine, delivery, thread

    def stop(engine: Engine, delivery: Delivery, thread: threading.Thread) -> None:
        engine.request_stop()
        thread.join(10)
        delivery.stop(timeout=10)

    engine, delivery, thread = running()
    with log.open("a") as f:
        f.write("".join(f"us,{base + 1},A code={i}\n" for i in range(5)))
    wait_for(lambda: engine.runs["Err"].parsed >= 5, what="the lines to be parsed")
    clock.now = base + 13  # the window closes: one alarm, sent at once
    [live] = http.wait(1)
    assert live["json"]["type"] == "alarm" and live["json"]["alarm"]["group"] == {"kind": "A"}
    stop(engine, delivery, thread)

    # Down for a while; the log kept growing: ten windows, each over the threshold.
    with log.open("a") as f:
        for w in range(10):
            ts = base + 100 + 10 * w
            f.write("".join(f"us,{ts},B code={i}\n" for i in range(4)))
    clock.now = base + 1000
    engine, delivery, thread = running()
    posts = http.wait(2, timeout=15)
    doc = posts[1]["json"]
    assert doc["type"] == "digest" and doc["reason"] == "catch-up"
    assert [(g["group"], g["count"]) for g in doc["groups"]] == [({"kind": "B"}, 10)]
    assert doc["from"] == base + 110 and doc["to"] == base + 200
    stop(engine, delivery, thread)
    assert len(http.requests) == 2
