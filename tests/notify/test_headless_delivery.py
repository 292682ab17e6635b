"""What a real `alser-tui --no-ui` does with delivery: a --history replay sends nothing
unless --deliver (and says what it would have sent); silenced and acknowledged alarms are
marked in the output and never ring the bell."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from notify_support import HttpServer, SmtpServer, wait_for

from alser_tui.engine.notify.db import DeliveryDB
from alser_tui.engine.notify.lifecycle import group_key

CONFIG = """
[storage]
dir = "var"

[engine]
lateness = 1
poll_interval = 0.02
glob_interval = 0.2

[[guards]]
tail_glob = "logs/app.*.log"
history_glob = "history/app.*.log"
parsers = ["Err"]

[[parsers]]
id = "Err"
kind = "regex"
window = 10
regex = '^(\\w+) code=(\\d+)'
group_by = ["kind"]
beep_threshold = 2

[[parsers.fields]]
name = "kind"
group = 1
[[parsers.fields]]
name = "code"
group = 2
type = "int"

[channels.mail]
type = "email"
host = "127.0.0.1"
port = {smtp}
tls = "none"
to = ["oncall@example.org"]

[channels.hook]
type = "webhook"
url = "{url}"

[delivery]
realert = 0
"""


class Lines:
    """A child's stdout read on a thread, so a test waits for a line with a timeout."""

    def __init__(self, stream: Any) -> None:
        self.lines: list[str] = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()

    def wait(self, pred: Callable[[list[str]], bool], timeout: float = 20) -> list[str]:
        with self.cond:
            ok = self.cond.wait_for(lambda: pred(self.lines), timeout)
            assert ok, f"not in the output: {self.lines}"
            return list(self.lines)


def started(root: Path, p: subprocess.Popen[Any]) -> None:
    """A first live run starts at the files' end: write only once it has looked."""
    db = root / "var" / "alser.db"

    def ready() -> bool:
        assert p.poll() is None, "alser-tui exited"
        try:
            con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
            try:
                return bool(con.execute("SELECT 1 FROM meta WHERE key = 'live_started'").fetchone())
            finally:
                con.close()
        except sqlite3.Error:
            return False

    wait_for(ready, 20, "alser-tui to start")


def lines(groups: str, start: int, windows: int) -> str:
    return "".join(
        f"us,{start + 10 * w + 1},{g} code={i}\n"
        for w in range(windows)
        for g in groups
        for i in range(3)
    )


def alser(root: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "alser_tui", "-c", str(root / "alser.toml"), *args]


def setup(root: Path, smtp: SmtpServer, http: HttpServer) -> None:
    (root / "alser.toml").write_text(CONFIG.format(smtp=smtp.port, url=http.url))
    (root / "history").mkdir()
    (root / "logs").mkdir()
    (root / "logs" / "app.1.log").touch()
    base = int(time.time()) // 10 * 10 - 3600
    (root / "history" / "app.1.log").write_text(lines("AB", base, 6))  # 12 alarms


def test_history_delivers_nothing_and_says_what_it_would_have_sent(
    tmp_path: Path, smtp: SmtpServer, http: HttpServer
) -> None:
    setup(tmp_path, smtp, http)
    done = subprocess.run(
        alser(tmp_path, "--no-ui", "--history", "--json"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    alarms = [r for r in records if r["type"] == "alarm"]
    assert len(alarms) == 12
    [report] = [r for r in records if r["type"] == "would_send"]
    assert records[-1] is report
    # A replay is a catch-up: one digest per channel, counting every alarm.
    for name, kind in (("mail", "email"), ("hook", "webhook")):
        r = report["channels"][name]
        assert (r["type"], r["messages"], r["alarms"]) == (kind, 1, 12), report
        assert r["summaries"][0].startswith("catch-up: 12 alarms in 2 groups")
    assert "the replay delivered nothing (--deliver sends it)" in done.stderr
    assert "  mail (email): 1 message (12 alarms)" in done.stderr
    assert "  hook (webhook): 1 message (12 alarms)" in done.stderr
    # Nothing reached a server, and nothing is left for a live run to send later.
    assert not smtp.mailbox.messages and not http.requests
    db = DeliveryDB(tmp_path / "var" / "delivery.db")
    assert db.query("SELECT COUNT(*) n FROM messages")[0]["n"] == 0
    assert db.query("SELECT COUNT(*) n FROM items")[0]["n"] == 0

    # Text output says the same on stderr.
    done = subprocess.run(
        alser(tmp_path, "--no-ui", "--history"), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and "  hook (webhook): 1 message (12 alarms)" in done.stderr
    assert not smtp.mailbox.messages and not http.requests


def test_history_with_deliver_sends(tmp_path: Path, smtp: SmtpServer, http: HttpServer) -> None:
    setup(tmp_path, smtp, http)
    done = subprocess.run(
        alser(tmp_path, "--no-ui", "--history", "--deliver"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    [post] = http.wait(1)
    assert post["json"]["type"] == "digest" and post["json"]["count"] == 12
    [mail] = smtp.mailbox.wait(1)
    assert mail["Subject"].startswith("ALS Alarm - catch-up, 12 alarms")
    assert "would have sent" not in done.stderr


def _mute(root: Path) -> None:
    """A (kind=A) and B acknowledged, the way the console and `silence add` store them."""
    done = subprocess.run(
        [sys.executable, "-m", "alser_tui", "silence", "add", "-c", str(root / "alser.toml"),
         "--parser", "Err", "--match", "kind=A", "--for", "1h"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    _ack(root)


def _ack(root: Path) -> None:
    db = DeliveryDB(root / "var" / "delivery.db")
    db.execute(
        "INSERT INTO acks (key, created) VALUES (?, ?)",
        (group_key("Err", "threshold", {"kind": "B"}), time.time()),
    )
    db.close()


def test_no_ui_json_marks_silenced_and_acknowledged_alarms(
    tmp_path: Path, smtp: SmtpServer, http: HttpServer
) -> None:
    setup(tmp_path, smtp, http)
    _mute(tmp_path)
    p = subprocess.Popen(
        alser(tmp_path, "--no-ui", "--json"),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        started(tmp_path, p)
        base = int(time.time()) // 10 * 10 - 100
        with (tmp_path / "logs" / "app.1.log").open("a") as f:
            f.write(lines("ABC", base, 1))
        out = Lines(p.stdout)
        alarms = out.wait(lambda ls: len([x for x in ls if '"type":"alarm"' in x]) >= 3)
        got = {r["group"]["kind"]: r for r in map(json.loads, alarms) if r["type"] == "alarm"}
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(20)
    assert (got["A"]["silenced"], got["A"]["acked"]) == (True, False)
    assert (got["B"]["silenced"], got["B"]["acked"]) == (False, True)
    assert (got["C"]["silenced"], got["C"]["acked"]) == (False, False)
    # And the channels heard of C only.
    assert [r["json"]["alarm"]["group"] for r in http.wait(1)] == [{"kind": "C"}]


ANSI = re.compile(rb"\x1b\[[0-9;]*m")
DIM = re.compile(rb"\x1b\[(?:[0-9;]*;)?2(?:;[0-9;]*)?m")


def _read_pty(fd: int, until: bytes, timeout: float = 20) -> bytes:
    out = b""
    deadline = time.monotonic() + timeout
    while until not in out:
        left = deadline - time.monotonic()
        assert left > 0, f"no {until!r} in {out!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            out += os.read(fd, 65536)
    return out


def test_no_ui_text_dims_muted_alarms_and_never_beeps_for_them(
    tmp_path: Path, smtp: SmtpServer, http: HttpServer
) -> None:
    setup(tmp_path, smtp, http)
    _mute(tmp_path)
    log = tmp_path / "logs" / "app.1.log"
    base = int(time.time()) // 10 * 10 - 100

    # A terminal: styles and the bell are on.
    master, slave = pty.openpty()
    p = subprocess.Popen(
        alser(tmp_path, "--no-ui"), stdout=slave, stderr=subprocess.DEVNULL, close_fds=True
    )
    os.close(slave)
    try:
        started(tmp_path, p)
        with log.open("a") as f:
            f.write(lines("AB", base, 1))
        muted = _read_pty(master, b"(acknowledged)")
        assert b"\a" not in muted
        [line] = [x for x in muted.split(b"\n") if b"(silenced)" in x]
        assert DIM.search(line), line  # dim
        assert re.search(rb"\] Err +3 A \(silenced\)$", ANSI.sub(b"", line).rstrip()), line
        with log.open("a") as f:
            f.write(lines("C", base + 10, 1))
        loud = _read_pty(master, b"\a")
        assert b"Err     3 C" in loud and b"(silenced)" not in loud
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(20)
        os.close(master)

    # A pipe: no escape codes, the words say it. (B resolved meanwhile, C's window had
    # none: its acknowledgement ended with it, so it is given again.)
    _ack(tmp_path)
    p = subprocess.Popen(alser(tmp_path, "--no-ui"), stdout=subprocess.PIPE, text=True)
    try:
        with log.open("a") as f:
            f.write(lines("AB", base + 20, 1))
        seen = Lines(p.stdout).wait(lambda ls: any("(acknowledged)" in x for x in ls))
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(20)
    text = "".join(seen)
    assert "\x1b" not in text and "\a" not in text
    assert re.search(r"\] Err +3 A \(silenced\)$", text, re.M), text
    assert re.search(r"\] Err +3 B \(acknowledged\)$", text, re.M), text
