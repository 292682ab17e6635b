"""False greens, end to end with real processes and files: a guard without a source, a
source gone silent, a source whose clock is off. `alser-tui --check` warns, `--no-ui --json`
prints the silent alarm, its resolution and the notices, and a real SMTP server on 127.0.0.1
receives them."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import subprocess
import sys
import threading
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from health_support import Child, lines_in, spawn_writer, wait_started

HEAD = """
[storage]
dir = "var"

[engine]
poll_interval = 0.05
glob_interval = 0.2

[[parsers]]
id = "Ev"
kind = "json"
window = 5
group_by = ["area", "what"]
beep_threshold = 100
severity = 3

[[parsers.fields]]
name = "what"
"""


def guard(name: str, glob: str, silent_after: float = 1) -> str:
    return (
        f'\n[[guards]]\nname = "{name}"\ntail_glob = "{glob}"\nparsers = ["Ev"]\n'
        f"silent_after = {silent_after}\n"
    )


def setup(root: Path, *guards: str, extra: str = "") -> None:
    (root / "alser.toml").write_text(HEAD + "".join(guards) + extra)
    (root / "logs").mkdir(exist_ok=True)


def read_lines(child: Child) -> int:
    """Lines the child has read, from its latest --tick progress line."""
    with child.cond:
        ticks = [e for e in child.err if e.startswith("[") and " lines " in e]
    if not ticks:
        return 0
    m = re.search(r" lines ([\d,]+) ", ticks[-1])
    return int(m.group(1).replace(",", "")) if m else 0


def final_lines(err: list[str]) -> int:
    done = next(e for e in err if e.startswith("done ("))
    m = re.search(r" lines ([\d,]+) ", done)
    assert m is not None
    return int(m.group(1).replace(",", ""))


def kill9(proc: subprocess.Popen[bytes]) -> None:
    proc.kill()
    proc.wait(10)


# --------------------------------------------------------------------------- --check


def check(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "alser_tui", "-c", str(root / "alser.toml"), "--check", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=root,
    )


def test_check_warns_once_per_guard_without_a_source(tmp_path: Path) -> None:
    setup(
        tmp_path,
        guard("gone", "nowhere/app.*.log"),
        guard("empty", "logs/none.*.log"),
        guard("fine", "logs/app.*.log"),
        '\n[[guards]]\nname = "pushed"\nlisten = "tcp://127.0.0.1:0"\nparsers = ["Ev"]\n',
    )
    (tmp_path / "logs" / "app.1.log").touch()
    r = check(tmp_path)
    assert r.returncode == 0, r.stderr
    warnings = [x for x in r.stderr.splitlines() if ": warning: " in x]
    assert len(warnings) == 2, r.stderr
    assert "guards[0] (gone): tail_glob 'nowhere/app.*.log': folder" in warnings[0]
    assert warnings[0].endswith(f"{tmp_path / 'nowhere'} does not exist")
    assert "guards[1] (empty): tail_glob 'logs/none.*.log': matches no file" in warnings[1]
    assert r.stderr.splitlines()[-1].endswith("ok (1 parsers, 4 guards, 2 warnings)")
    strict = check(tmp_path, "--strict")
    assert strict.returncode == 1 and strict.stderr == r.stderr
    setup(tmp_path, guard("fine", "logs/app.*.log"))
    clean = check(tmp_path, "--strict")
    assert clean.returncode == 0 and ": warning: " not in clean.stderr, clean.stderr


# --------------------------------------------------------------------------- silent


def test_a_writer_that_stops_raises_silent_and_resumes_resolve_it(tmp_path: Path) -> None:
    """Two files in one guard: silent only when neither delivers; resolved on the next line,
    from the other file; silent again when that writer dies too."""
    setup(tmp_path, guard("app", "logs/app.*.log"))
    one, two = tmp_path / "logs" / "app.1.log", tmp_path / "logs" / "app.2.log"
    one.touch()
    two.touch()
    child = Child(tmp_path, "--tick", "0.1")
    writers: list[subprocess.Popen[bytes]] = []
    try:
        wait_started(tmp_path)
        writers.append(spawn_writer(one))
        # Two seconds of lines into app.1.log only: the guard delivers, nothing is silent.
        child.wait(lambda: read_lines(child) >= 40, "40 lines read")
        assert child.of("alarm", "silent") == []
        kill9(writers[0])
        written_one = lines_in(one)
        alarm = child.wait(lambda: child.of("alarm", "silent"), "the silent alarm")[0]
        assert alarm["parser"] == "Ev" and alarm["severity"] == 300
        assert alarm["group"] == {"guard": "app", "source": "logs/app.*.log"}
        assert alarm["amount"] >= 1 and alarm["ts"] - alarm["start"] >= 1
        assert alarm["text"].startswith("app silent: no line for ")
        assert child.of("resolved") == []
        # A line in the other file of the guard: resolved.
        writers.append(spawn_writer(two, period=0.2))
        resolved = child.wait(lambda: child.of("resolved", "silent"), "the resolution")[0]
        assert resolved["group"] == alarm["group"] and resolved["since"] == alarm["ts"]
        kill9(writers[1])
        written_two = lines_in(two)
        child.wait(lambda: len(child.of("alarm", "silent")) == 2, "silent again")
        child.wait(lambda: read_lines(child) == written_one + written_two, "every line read")
    finally:
        for w in writers:
            if w.poll() is None:
                kill9(w)
        rc = child.stop()
    assert rc == 0, child.err[-5:]
    assert final_lines(child.err) == written_one + written_two
    assert len(child.of("alarm", "silent")) == 2 and len(child.of("resolved", "silent")) == 1
    warned = [e for e in child.err if e.startswith("alser-tui: warning: guard app: silent")]
    assert warned, child.err[-10:]


# --------------------------------------------------------------------------- no source


def test_a_guard_without_source_is_said_and_noticed_if_it_lasts(tmp_path: Path) -> None:
    setup(tmp_path, guard("app", "logs/app.*.log"), guard("gone", "nowhere/gone.*.log"))
    (tmp_path / "logs" / "app.1.log").touch()
    child = Child(tmp_path, "--tick", "0.1")
    try:
        wait_started(tmp_path)
        # At once on stderr (a warning), on the channels once it lasted (silent_after here).
        child.wait(
            lambda: any("warning: guard gone: no source" in e for e in child.err), "the warning"
        )
        notice = child.wait(lambda: child.of("notice", "no_source"), "the notice")[0]
        assert notice["state"] == "raised" and notice["text"] == "1 guard has no source"
        (item,) = notice["items"]
        assert item["guard"] == "gone" and item["source"] == "nowhere/gone.*.log"
        assert item["text"] == f"folder {tmp_path / 'nowhere'} does not exist"
        # The folder appears, still without a file: the same condition, no second notice.
        (tmp_path / "nowhere").mkdir()
        child.wait(
            lambda: any(
                e.startswith("[") and "gone.*.log: matches no file" in e for e in child.err
            ),
            "the new reason in a progress line",
        )
        assert len(child.of("notice", "no_source")) == 1
        (tmp_path / "nowhere" / "gone.1.log").touch()
        child.wait(lambda: len(child.of("notice", "no_source")) == 2, "the clearing notice")
    finally:
        rc = child.stop()
    assert rc == 0
    _raised, cleared = child.of("notice", "no_source")
    assert cleared["state"] == "cleared" and cleared["text"] == "1 guard has its source back"
    assert [i["guard"] for i in cleared["items"]] == ["gone"]
    assert child.of("alarm", "silent") == []  # it never delivered: not silent


# --------------------------------------------------------------------------- skew


def test_a_skewed_clock_is_noticed_once_and_cleared_when_it_is_back(tmp_path: Path) -> None:
    setup(tmp_path, guard("app", "logs/app.*.log", silent_after=0))
    log = tmp_path / "logs" / "app.1.log"
    log.touch()
    child = Child(tmp_path, "--tick", "0.1")
    writers: list[subprocess.Popen[bytes]] = []
    try:
        wait_started(tmp_path)
        writers.append(spawn_writer(log, period=0.1, offset=-7200))
        notice = child.wait(lambda: child.of("notice", "skew"), "the skew notice")[0]
        assert notice["state"] == "raised"
        (item,) = notice["items"]
        assert item["guard"] == "app" and item["source"] == str(log)
        assert -7300 < item["skew"] < -7100
        assert item["text"] == "line times 2.0 h behind the clock (is that server's clock wrong?)"
        kill9(writers[0])
        writers.append(spawn_writer(log, period=0.1))
        child.wait(lambda: len(child.of("notice", "skew")) == 2, "the clearing notice")
        kill9(writers[1])
        written = lines_in(log)
        child.wait(lambda: read_lines(child) == written, "every line read")
    finally:
        for w in writers:
            if w.poll() is None:
                kill9(w)
        rc = child.stop()
    assert rc == 0
    raised, cleared = child.of("notice", "skew")
    assert raised["text"] == "1 source's clock is off"
    assert cleared["state"] == "cleared" and cleared["text"] == "1 source's clock is back"
    assert [i["source"] for i in cleared["items"]] == [str(log)]
    late = re.search(r" late ([\d,]+) ", next(e for e in child.err if e.startswith("done (")))
    assert late is not None and int(late.group(1).replace(",", "")) > 0


# --------------------------------------------------------------------------- mail


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.cond = threading.Condition()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.cond:
            self.messages.append(msg)  # type: ignore[arg-type]
            self.cond.notify_all()
        return "250 OK"

    def bodies(self) -> str:
        with self.cond:
            parts = [m.get_body(("plain",)) for m in self.messages]
        return "\n".join(p.get_content() for p in parts if p is not None)


@pytest.fixture
def mailbox() -> Any:
    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    box = _Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


MAIL = """
[delivery]
realert = 0

[channels.mail]
type = "email"
host = "127.0.0.1"
port = {port}
tls = "none"
to = ["oncall@example.org"]
send_resolved = true
sleep_start = 0.3
sleep_min = 0.3
sleep_max = 0.3
"""


def test_silent_skew_and_no_source_reach_a_real_mail_server(tmp_path: Path, mailbox: Any) -> None:
    box, port = mailbox
    setup(
        tmp_path,
        guard("app", "logs/app.*.log"),
        guard("skewed", "logs/skew.*.log", silent_after=0),
        guard("gone", "nowhere/gone.*.log"),
        extra=MAIL.format(port=port),
    )
    app, skew = tmp_path / "logs" / "app.1.log", tmp_path / "logs" / "skew.1.log"
    app.touch()
    skew.touch()
    child = Child(tmp_path)
    writers: list[subprocess.Popen[bytes]] = []

    def mailed(*needles: str) -> bool:
        text = box.bodies()
        return all(n in text for n in needles)

    try:
        wait_started(tmp_path)
        writers += [spawn_writer(app), spawn_writer(skew, period=0.1, offset=-7200)]
        child.wait(lambda: child.of("notice", "skew"), "the skew notice")
        kill9(writers[0])
        child.wait(lambda: child.of("alarm", "silent"), "the silent alarm")
        child.wait(
            lambda: (
                mailed("[silent] app silent", "notice: 1 guard has no source")
                and mailed("notice: 1 source's clock is off")
            ),
            "the three in the mail",
        )
        writers.append(spawn_writer(app, period=0.2))
        child.wait(lambda: mailed("resolved: app silent"), "the resolution in the mail")
    finally:
        for w in writers:
            if w.poll() is None:
                kill9(w)
        rc = child.stop()
    assert rc == 0
    text = box.bodies()
    assert text.count("[silent] app silent") == 1 and text.count("resolved: app silent") == 1
    assert text.count("notice: 1 guard has no source") == 1
    assert "gone: nowhere/gone.*.log: folder" in text
    assert text.count("notice: 1 source's clock is off") == 1
    assert f"{skew} (skewed): line times 2.0 h behind the clock" in text
