"""kill -9 of a real `alser-tui --no-ui` at the risky moments of delivery, then a restart:
every alarm stored in alser.db reaches a real SMTP server (aiosmtpd) and a webhook exactly
once, and a message sent again after a crash carries the same Message-ID / Idempotency-Key.

The moments are hit every time through the ALSER_CRASH_AT fault hook (alser_tui/engine/
faults.py): after the engine committed a window's alarms but before delivery wrote them
to the outbox; after the outbox commit, before any send; after a send was accepted,
before it was marked sent.
"""

from __future__ import annotations

import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from notify_support import HttpServer, SmtpServer, body_text, wait_for

CONFIG = """
[storage]
dir = "var"

[engine]
lateness = 1
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
sleep_start = 1
sleep_min = 1
sleep_max = 1
retry_min = 0.2

[channels.hook]
type = "webhook"
url = "{url}"
retry_min = 0.2

[delivery]
realert = 0
catch_up = false
"""

WINDOWS = 20
GROUP = re.compile(r"^sev\s+\S+\s+x(\d+)\s.*\[threshold\] .*\b(K\d+)\b")


def _ro(db: Path, sql: str) -> list[tuple[Any, ...]]:
    """Another process's database: read it, or nothing while it does not exist yet."""
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()
    except sqlite3.Error:
        return []


class Site:
    def __init__(self, root: Path, smtp: SmtpServer, http: HttpServer) -> None:
        self.root = root
        self.smtp = smtp
        self.http = http
        (root / "alser.toml").write_text(CONFIG.format(smtp=smtp.port, url=http.url))
        (root / "logs").mkdir()
        self.log = root / "logs" / "app.1.log"
        self.log.touch()
        self.alser_db = root / "var" / "alser.db"
        self.delivery_db = root / "var" / "delivery.db"
        self.runs = 0

    def start(self, crash_at: str = "") -> subprocess.Popen[bytes]:
        env = {k: v for k, v in os.environ.items() if k != "ALSER_CRASH_AT"}
        if crash_at:
            env["ALSER_CRASH_AT"] = crash_at
        self.runs += 1
        err = open(self.root / f"stderr.{self.runs}", "wb")
        cmd = [sys.executable, "-m", "alser_tui", "-c", str(self.root / "alser.toml"), "--no-ui"]
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env)
        err.close()
        wait_for(
            lambda: (
                p.poll() is not None
                or _ro(self.alser_db, "SELECT 1 FROM meta WHERE key = 'live_started'")
            ),
            20,
            "alser-tui to start",
        )
        return p

    def write_windows(self) -> None:
        """WINDOWS past windows, one group over the threshold in each (K0, K1, ...)."""
        base = int(time.time()) // 10 * 10 - 10 * (WINDOWS + 5)
        with self.log.open("a") as f:
            for w in range(WINDOWS):
                ts = base + 10 * w + 3
                f.write("".join(f"us,{ts},K{w} code={i}\n" for i in range(3)))

    def stored(self) -> list[str]:
        rows = _ro(self.alser_db, "SELECT grp FROM alarms ORDER BY id")
        return [re.search(r"K\d+", r[0]).group(0) for r in rows]  # type: ignore[union-attr]

    def mails(self) -> dict[str, Any]:
        """The mails received, one per Message-ID (a receiver drops a copy it has seen)."""
        return {m["Message-ID"]: m for m in self.smtp.mailbox.messages}

    def mailed(self) -> Counter[str]:
        """Alarms per group across the distinct mails (a digest line counts xN)."""
        got: Counter[str] = Counter()
        for m in self.mails().values():
            for line in body_text(m).splitlines():
                found = GROUP.match(line)
                if found:
                    got[found.group(2)] += int(found.group(1))
        return got

    def posts(self) -> dict[str, Any]:
        return {r["headers"]["Idempotency-Key"]: r for r in self.http.requests}

    def posted(self) -> Counter[str]:
        return Counter(r["json"]["alarm"]["group"]["kind"] for r in self.posts().values())

    def resent(self) -> int:
        """Copies received again under the id of one received before."""
        mails, posts = self.smtp.mailbox.messages, self.http.requests
        return len(mails) - len(self.mails()) + len(posts) - len(self.posts())

    def settled(self) -> bool:
        pending = _ro(
            self.delivery_db,
            "SELECT (SELECT COUNT(*) FROM messages WHERE state = 'pending')"
            " + (SELECT COUNT(*) FROM items)",
        )
        return bool(pending) and pending[0][0] == 0

    def stop(self, p: subprocess.Popen[bytes]) -> None:
        p.send_signal(signal.SIGTERM)
        assert p.wait(20) == 0, (self.root / f"stderr.{self.runs}").read_text()


@pytest.mark.parametrize(
    "crash_at",
    [
        "before-outbox:1",  # the alarms are in alser.db, none in the outbox yet
        "before-outbox:8",  # the first seven are in the outbox (some sent), the rest not
        "after-outbox:5",  # the fifth alarm's outbox rows committed, nothing more
        "after-send.mail:1",  # a mail accepted by the server, not yet marked sent
        "after-send.hook:2",  # a webhook POST answered 200, not yet marked sent
    ],
)
def test_kill_9_during_delivery_loses_and_doubles_no_alarm(
    tmp_path: Path, smtp: SmtpServer, http: HttpServer, crash_at: str
) -> None:
    site = Site(tmp_path, smtp, http)
    p = site.start(crash_at)
    site.write_windows()
    assert p.wait(20) == -signal.SIGKILL, (tmp_path / "stderr.1").read_text()
    stored_at_crash = len(site.stored())

    p = site.start()
    want = Counter(f"K{w}" for w in range(WINDOWS))
    try:
        wait_for(
            lambda: site.mailed() == want and site.posted() == want and site.settled(),
            15,
            "every alarm on both channels",
        )
    except AssertionError:
        pass  # the figures below say what is missing
    site.stop(p)

    stored = Counter(site.stored())
    mailed, posted = site.mailed(), site.posted()
    figures = (
        f"{crash_at}: raised {sum(stored.values())} (stored at the crash {stored_at_crash}),"
        f" mailed {len(mailed)} distinct / {sum(mailed.values())},"
        f" posted {len(posted)} distinct / {sum(posted.values())},"
        f" lost mail {len(want - mailed)} hook {len(want - posted)},"
        f" doubled mail {sum((mailed - want).values())} hook {sum((posted - want).values())},"
        f" resent under the same id {site.resent()}"
    )
    print(figures)
    assert stored == want, figures
    assert mailed == want and posted == want, figures

    # A message sent again after the crash is the same message to its receiver: same id,
    # same content. A crash between a send and its "sent" mark repeats it (any kill may
    # land there while a channel is sending; the after-send points always do).
    assert site.resent() >= (1 if crash_at.startswith("after-send") else 0), figures
    assert all(re.fullmatch(r"<alser\.[\w.-]+@localhost>", i) for i in site.mails()), figures
    for mid, m in site.mails().items():
        copies = [c for c in smtp.mailbox.messages if c["Message-ID"] == mid]
        assert all(body_text(c) == body_text(m) for c in copies)
    for key, r in site.posts().items():
        assert all(
            c["json"] == r["json"] for c in http.requests if c["headers"]["Idempotency-Key"] == key
        )


def test_databases_from_before_the_mark_open_and_their_alarms_are_not_sent_again(
    tmp_path: Path, smtp: SmtpServer, http: HttpServer
) -> None:
    """An alser.db of the previous version (alarms without title/previous, no store_id)
    and no mark in delivery.db: its alarms were the old run's business, not news."""
    site = Site(tmp_path, smtp, http)
    site.alser_db.parent.mkdir()
    con = sqlite3.connect(site.alser_db)
    con.executescript(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);"
        "CREATE TABLE alarms (id INTEGER PRIMARY KEY, parser TEXT, kind TEXT, severity FLOAT,"
        " amount FLOAT, grp TEXT, start INTEGER, end INTEGER, ts INTEGER, text TEXT,"
        " created FLOAT, acked INTEGER);"
    )
    con.executemany(
        # (Stored just now: older ones would be [storage] keep_days's to forget.)
        "INSERT INTO alarms VALUES (NULL, 'Err', 'threshold', 3, 3, ?, 0, 10, 0, 'old', ?, 0)",
        [(f'{{"kind": "K{100 + i}"}}', time.time()) for i in range(3)],
    )
    con.commit()
    con.close()
    p = site.start()
    site.write_windows()
    want = Counter(f"K{w}" for w in range(WINDOWS))
    wait_for(lambda: site.posted() == want and site.mailed() == want and site.settled(), 15)
    site.stop(p)
    assert site.posted() == want and site.mailed() == want
    assert len(site.stored()) == 3 + WINDOWS
    titles = _ro(site.alser_db, "SELECT title FROM alarms WHERE id > 3")
    assert titles == [("Err",)] * WINDOWS


def test_kill_9_at_random_moments_of_a_stream(
    tmp_path: Path, smtp: SmtpServer, http: HttpServer
) -> None:
    """No fault hook: three kill -9 at (seeded) random moments while windows close and
    channels send, each followed by a restart."""
    rng = random.Random(7)
    site = Site(tmp_path, smtp, http)
    base = int(time.time()) // 10 * 10 - 10 * 100
    for batch in range(3):
        p = site.start()
        with site.log.open("a") as f:
            for w in range(batch * 10, batch * 10 + 10):
                ts = base + 10 * w + 3
                f.write("".join(f"us,{ts},K{w} code={i}\n" for i in range(3)))
        time.sleep(rng.uniform(0.0, 0.4))  # the random moment itself, not a wait
        p.kill()
        p.wait(10)
    p = site.start()
    want = Counter(f"K{w}" for w in range(30))
    wait_for(lambda: site.posted() == want and site.mailed() == want and site.settled(), 20)
    site.stop(p)
    assert Counter(site.stored()) == want
    assert site.posted() == want and site.mailed() == want
