"""Email against a real aiosmtpd server: digest timing, severity pool, quiet hours, TLS, AUTH,
server down then up, restart without resending. The clock is injected; nothing sleeps."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from notify_support import T0, Certs, Clock, SmtpServer, alarm, body_text, make_config

from alser_tui.engine.events import AlarmRaised
from alser_tui.engine.notify.manager import Delivery


def toml_value(v: object) -> str:
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return str(v)


def email_toml(port: int, **extra: object) -> str:
    keys: dict[str, object] = {
        "type": "email",
        "host": "127.0.0.1",
        "port": port,
        "tls": "none",
        "from": "alser@example.org",
        "to": ["oncall@example.org", "lead@example.org"],
        **extra,
    }
    body = "\n".join(f"{k} = {toml_value(v)}" for k, v in keys.items())
    return f"[delivery]\nrealert = 0\ncatch_up = false\n[channels.mail]\n{body}\n"


def feed(d: Delivery, *alarms: object) -> None:
    for a in alarms:
        d.handle(AlarmRaised(a))  # type: ignore[arg-type]


def test_adaptive_period_digest_timing_and_backoff(tmp_path: Path, smtp: SmtpServer) -> None:
    clock = Clock(T0 + 120)
    cfg = make_config(
        tmp_path,
        email_toml(
            smtp.port, sleep_start=300, sleep_step=60, sleep_min=120, sleep_max=600,
            line_threshold=2, backoff_threshold=4,
        ),
    )  # fmt: skip
    d = Delivery(cfg, clock=clock)
    d.start(threads=False)
    feed(d, alarm(file="a.php"))
    clock.advance(299)
    d.tick()
    assert d.outbox.held("mail", "digest").count == 1 and not d.outbox.messages()
    # At the end of the period one alarm is below line_threshold: it waits, the period grows.
    clock.advance(1)
    d.tick()
    assert not d.outbox.messages() and d.channels["mail"].digest.period == 360  # type: ignore[union-attr]
    feed(d, alarm(file="b.php", amount=20))
    clock.advance(359)
    d.tick()
    assert not d.outbox.messages()
    clock.advance(1)
    d.tick()
    assert d.pump() == 1
    first = smtp.mailbox.wait(1)[0]
    assert first["Subject"] == "ALS Alarm - 2 alarms, worst severity 20 (PhpError threshold)"
    assert smtp.mailbox.envelopes[0] == (
        "alser@example.org",
        ["oncall@example.org", "lead@example.org"],
    )
    text = body_text(first)
    # One line per group, worst first.
    assert text.index("b.php") < text.index("a.php")
    html = first.get_body(("html",))
    assert html is not None and "<table" in html.get_content()
    # A busy period (>= backoff_threshold alarms) shortens the next one by sleep_step.
    feed(d, *(alarm(file=f"f{i}.php", amount=10 + i) for i in range(5)))
    clock.advance(360)
    d.tick()
    assert d.pump() == 1
    assert d.channels["mail"].digest.period == 300  # type: ignore[union-attr]
    mails = smtp.mailbox.wait(2)
    assert mails[1]["Subject"].startswith("ALS Alarm - 5 alarms, worst severity 14")
    body = body_text(mails[1]).splitlines()
    assert [line.split("[threshold] ")[1].split()[-1] for line in body[1:]] == [
        "f4.php", "f3.php", "f2.php", "f1.php", "f0.php",
    ]  # fmt: skip
    d.stop()


def test_one_line_per_group_with_count_first_last(tmp_path: Path, smtp: SmtpServer) -> None:
    clock = Clock()
    cfg = make_config(tmp_path, email_toml(smtp.port, sleep_start=60, sleep_min=60))
    d = Delivery(cfg, clock=clock)
    d.start(threads=False)
    feed(d, *(alarm(start=T0 + 60 * i, amount=5 + i) for i in range(3)))
    clock.advance(60)
    d.tick()
    d.pump()
    text = body_text(smtp.mailbox.wait(1)[0])
    lines = text.strip().splitlines()
    assert len(lines) == 2, text
    assert "x3" in lines[1] and "sev      7" in lines[1]
    first, last = (
        time.strftime("%H:%M:%S", time.localtime(T0 + 60)),
        time.strftime("%H:%M:%S", time.localtime(T0 + 180)),
    )
    assert first in lines[1] and last in lines[1]
    assert lines[1].endswith("PhpError     7 us map.php")  # the latest as the sample
    d.stop()


def test_severity_pool_interval_and_threshold(tmp_path: Path, smtp: SmtpServer) -> None:
    clock = Clock()
    cfg = make_config(
        tmp_path,
        email_toml(
            smtp.port, digest="pool", severity_threshold=5, severity_pool_size=100,
            interval=600, pool_max_wait=0,
        ),
    )  # fmt: skip
    d = Delivery(cfg, clock=clock)
    d.start(threads=False)
    feed(
        d,
        alarm(file="low.php", amount=3),
        alarm(file="a.php", amount=40),
        alarm(file="b.php", amount=40),
    )
    d.tick()
    assert d.pump() == 0  # 80 < 100
    assert d.channels["mail"].below_threshold == 1
    feed(d, alarm(file="c.php", amount=30))
    d.tick()
    assert d.pump() == 1
    mail = smtp.mailbox.wait(1)[0]
    assert "3 alarms" in mail["Subject"] and "low.php" not in body_text(mail)
    # A full pool waits for the minimum interval after the last mail.
    feed(d, alarm(file="d.php", amount=500))
    clock.advance(599)
    d.tick()
    assert d.pump() == 0
    clock.advance(1)
    d.tick()
    assert d.pump() == 1
    assert "worst severity 500" in smtp.mailbox.wait(2)[1]["Subject"]
    d.stop()


def test_suppress_hours_hold_mail_until_morning(tmp_path: Path, smtp: SmtpServer) -> None:
    night = time.mktime((2026, 11, 25, 23, 30, 0, 0, 0, -1))
    morning = time.mktime((2026, 11, 26, 7, 0, 0, 0, 0, -1))
    clock = Clock(night)
    cfg = make_config(
        tmp_path,
        email_toml(
            smtp.port, digest="pool", severity_pool_size=10, interval=0,
            suppress_hours=[23, 0, 1, 2, 3, 4, 5, 6],
        ),
    )  # fmt: skip
    d = Delivery(cfg, clock=clock)
    d.start(threads=False)
    feed(d, alarm(amount=50, start=int(night) - 60))
    for _ in range(8):
        clock.advance(3600 - 1)
        if clock.now < morning:
            d.tick()
            assert d.pump() == 0
            assert d.status()["mail"].state == "quiet hours"
    clock.now = morning
    d.tick()
    assert d.pump() == 1
    assert smtp.mailbox.wait(1)
    d.stop()


def _auth(user: str, password: str) -> Callable[..., object]:
    from aiosmtpd.smtp import AuthResult

    def check(
        server: object, session: object, envelope: object, mechanism: str, data: object
    ) -> AuthResult:
        login, pw = data.login, data.password  # type: ignore[attr-defined]
        ok = login in (user, user.encode()) and pw in (password, password.encode())
        # handled=False: the server itself answers 535 to a refusal.
        return AuthResult(success=ok, handled=False)

    return check


def test_starttls_and_auth(
    tmp_path: Path,
    smtp_factory: Callable[..., SmtpServer],
    certs: Certs,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = smtp_factory(
        tls_context=certs.server_context(),
        require_starttls=True,
        auth_required=True,
        authenticator=_auth("alser", "s3cret"),
    )
    monkeypatch.setenv("ALSER_TEST_SMTP_PW", "wrong")
    clock = Clock()
    cfg = make_config(
        tmp_path,
        email_toml(
            server.port, tls="starttls", ca_file=str(certs.cert), user="alser",
            password_env="ALSER_TEST_SMTP_PW", sleep_start=60, sleep_min=60, retry_min=10, timeout=5,
        ),
    )  # fmt: skip
    d = Delivery(cfg, clock=clock)
    d.start(threads=False)
    feed(d, alarm())
    d.flush()
    assert d.pump() == 0
    st = d.status()["mail"]
    assert st.queued == 1 and "authentication refused: 535" in st.last_error
    assert st.state == "retrying in 10s"
    monkeypatch.setenv("ALSER_TEST_SMTP_PW", "s3cret")
    clock.advance(10)
    assert d.pump() == 1
    assert len(server.mailbox.wait(1)) == 1
    assert d.status()["mail"].queued == 0
    d.stop()


def test_implicit_tls_and_certificate_check(
    tmp_path: Path, smtp_factory: Callable[..., SmtpServer], certs: Certs
) -> None:
    server = smtp_factory(ssl_context=certs.server_context())
    clock = Clock()
    good = make_config(tmp_path / "a", email_toml(server.port, tls="tls", ca_file=str(certs.cert)))
    d = Delivery(good, clock=clock)
    d.start(threads=False)
    feed(d, alarm())
    d.flush()
    assert d.pump() == 1 and server.mailbox.wait(1)
    d.stop()
    # Without the CA the self-signed certificate is refused, and the mail stays queued.
    bad = make_config(tmp_path / "b", email_toml(server.port, tls="tls"))
    d = Delivery(bad, clock=clock)
    d.start(threads=False)
    feed(d, alarm())
    d.flush()
    assert d.pump() == 0
    assert "CERTIFICATE_VERIFY_FAILED" in d.status()["mail"].last_error
    d.stop()


def test_server_down_then_up_nothing_lost_nothing_doubled(
    tmp_path: Path, smtp_factory: Callable[..., SmtpServer]
) -> None:
    server = smtp_factory(start=False)
    clock = Clock()
    cfg = make_config(tmp_path, email_toml(server.port, retry_min=5, retry_max=40))
    d = Delivery(cfg, clock=clock)
    d.start(threads=False)
    for i in range(3):
        feed(d, alarm(file=f"{i}.php"))
        d.flush()  # three digests
    delays = []
    for _ in range(5):
        assert d.pump() == 0
        head = d.outbox.head("mail")
        assert head is not None
        delays.append(head.next_try - clock.now)
        clock.now = head.next_try
    # Exponential back-off, capped.
    assert delays == [5, 10, 20, 40, 40]
    st = d.status()["mail"]
    assert st.queued == 3 and "Connection refused" in st.last_error
    server.start()
    assert d.pump() == 3
    assert d.pump() == 0
    mails = server.mailbox.wait(3)
    assert sorted(body_text(m).split()[-1] for m in mails) == ["0.php", "1.php", "2.php"]
    assert len(set(m["Message-ID"] for m in mails)) == 3
    d.stop()


def test_restart_sends_pending_once(
    tmp_path: Path, smtp_factory: Callable[..., SmtpServer]
) -> None:
    server = smtp_factory(start=False)
    cfg = make_config(tmp_path, email_toml(server.port, retry_min=3600, retry_max=3600))
    d = Delivery(cfg)
    d.start()
    d(AlarmRaised(alarm()))
    d.stop(timeout=2)  # flushes the digest; the server is down, so it stays pending
    server.start()
    for _ in range(2):  # two restarts: the first sends it, the second has nothing to send
        d = Delivery(cfg)
        d.start()
        d.stop(timeout=5)
    assert len(server.mailbox.wait(1)) == 1
    time.sleep(0.2)  # nothing more may arrive
    assert len(server.mailbox.messages) == 1


def test_sendmail_transport(tmp_path: Path) -> None:
    out = tmp_path / "sent.eml"
    script = f"import sys; open({str(out)!r}, 'ab').write(sys.stdin.buffer.read())"
    toml = email_toml(1, transport="sendmail", sendmail=[sys.executable, "-c", script])
    cfg = make_config(tmp_path, toml)
    d = Delivery(cfg, clock=Clock())
    d.start(threads=False)
    feed(d, alarm())
    d.flush()
    assert d.pump() == 1
    raw = out.read_text()
    assert (
        "Subject: ALS Alarm - 1 alarm, worst severity 9" in raw and "To: oncall@example.org" in raw
    )
    d.stop()
