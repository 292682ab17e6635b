"""IRC against a real server (miniircd in a subprocess): join, deliver, flood limits, long
lines, server password, TLS, server restart and reconnect; SASL against a scripted server."""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

from notify_support import T0, Certs, IrcObserver, IrcServer, alarm, make_config, wait_for

from alser_tui.engine.events import AlarmRaised
from alser_tui.engine.notify.config import IrcConfig
from alser_tui.engine.notify.irc import IrcSender, TokenBucket, irc_lines, split_text
from alser_tui.engine.notify.manager import Delivery


def irc_toml(port: int, extra: str = "") -> str:
    return (
        f'[channels.ops]\ntype = "irc"\nhost = "127.0.0.1"\nport = {port}\nnick = "alser"\n'
        f'channels = ["#ops"]\nrate = 50\nburst = 5\nretry_min = 0.1\nretry_max = 0.5\ntimeout = 5\n{extra}'
        "[delivery]\ncatch_up = false\nrealert = 0\n"
    )


def now_alarm(**kw: object) -> object:
    return alarm(start=int(time.time()) - 60, **kw)  # type: ignore[arg-type]


def test_join_and_deliver(tmp_path: Path, irc_factory: Callable[..., IrcServer]) -> None:
    server = irc_factory()
    watcher = IrcObserver(server.port, "#ops")
    d = Delivery(make_config(tmp_path, irc_toml(server.port, "colors = true\n")))
    d.start()
    # One persistent connection, made at start, before any alarm.
    wait_for(lambda: d.status()["ops"].state == "connected", what="the IRC connection")
    d(AlarmRaised(now_alarm(amount=42)))
    d(AlarmRaised(now_alarm(amount=43, file="user.php")))
    lines = [text for _, text in watcher.wait(2)]
    assert lines == [
        "\x0304[threshold sev 42]\x0f PhpError    42 us map.php",
        "\x0304[threshold sev 43]\x0f PhpError    43 us user.php",
    ]
    assert server.said("#ops", "alser")[0].endswith("PhpError    42 us map.php")
    sender = d.channels["ops"].sender
    assert isinstance(sender, IrcSender) and sender.connects == 1
    d.stop()
    watcher.close()


def test_flood_limit_paces_lines(tmp_path: Path, irc_factory: Callable[..., IrcServer]) -> None:
    server = irc_factory()
    watcher = IrcObserver(server.port, "#ops")
    toml = irc_toml(server.port).replace("rate = 50\nburst = 5", "rate = 20\nburst = 3")
    d = Delivery(make_config(tmp_path, toml))
    d.start()
    for i in range(10):
        d(AlarmRaised(now_alarm(file=f"{i}.php")))
    got = watcher.wait(10)
    assert [t.rsplit(" ", 1)[1] for _, t in got] == [f"{i}.php" for i in range(10)]
    # 3 at once, then 20 per second: 7 paced lines need at least 0.35 s.
    assert got[-1][0] - got[0][0] >= 0.3
    d.stop()
    watcher.close()


def test_token_bucket_with_a_fake_clock() -> None:
    t = [0.0]
    b = TokenBucket(rate=2, burst=3, clock=lambda: t[0])
    for _ in range(3):
        assert b.wait_time() == 0
        b.take()
    assert b.wait_time() == 0.5
    t[0] += 0.5
    assert b.wait_time() == 0
    b.take()
    t[0] += 100
    assert b.wait_time() == 0 and b.tokens == 3  # never more than the burst


def test_long_alarms_split_and_truncated_without_injection() -> None:
    cfg = IrcConfig(name="x", type="irc", targets=("#a",), max_line=60, max_lines=2)
    text = "word " * 40
    doc = {
        "type": "alarm",
        "alarm": {"kind": "instant", "severity": 1, "text": text + "\r\nQUIT :x"},
    }
    lines = irc_lines(doc, cfg)
    assert len(lines) == 2 and all(len(x.encode()) <= 60 for x in lines)
    assert lines[1].endswith("…")
    assert all("\r" not in x and "\n" not in x for x in lines)
    assert split_text("é" * 50, 21, 1) == ["é" * 9 + "…"]  # cut by bytes, on a char boundary


def test_server_restart_and_reconnect(
    tmp_path: Path, irc_factory: Callable[..., IrcServer]
) -> None:
    server = irc_factory()
    watcher = IrcObserver(server.port, "#ops")
    d = Delivery(make_config(tmp_path, irc_toml(server.port)))
    d.start()
    d(AlarmRaised(now_alarm(file="before.php")))
    watcher.wait(1)
    watcher.close()
    server.stop()
    wait_for(
        lambda: d.status()["ops"].state.endswith("disconnected"), what="the drop to be noticed"
    )
    d(AlarmRaised(now_alarm(file="during.php")))
    wait_for(
        lambda: d.status()["ops"].queued == 1 and d.status()["ops"].last_error, what="a failed try"
    )
    server.start()
    watcher = IrcObserver(server.port, "#ops")
    d(AlarmRaised(now_alarm(file="after.php")))
    got = [t.rsplit(" ", 1)[1] for _, t in watcher.wait(2, timeout=15)]
    assert got == ["during.php", "after.php"]
    sender = d.channels["ops"].sender
    assert isinstance(sender, IrcSender) and sender.connects >= 2
    d.stop()
    watcher.close()


def test_server_password_from_env(
    tmp_path: Path, irc_factory: Callable[..., IrcServer], monkeypatch: object
) -> None:
    server = irc_factory("--password", "letmein")
    watcher_cfg = irc_toml(server.port, 'password_env = "ALSER_TEST_IRC_PW"\n')
    monkeypatch.setenv("ALSER_TEST_IRC_PW", "nope")  # type: ignore[attr-defined]
    d = Delivery(make_config(tmp_path, watcher_cfg))
    d.start()
    d(AlarmRaised(now_alarm()))
    wait_for(lambda: "464" in d.status()["ops"].last_error, what="the refusal")
    monkeypatch.setenv("ALSER_TEST_IRC_PW", "letmein")  # type: ignore[attr-defined]
    wait_for(lambda: d.status()["ops"].queued == 0, timeout=15, what="delivery after the fix")
    assert server.said("#ops", "alser")
    d.stop()


def test_tls(tmp_path: Path, irc_factory: Callable[..., IrcServer], certs: Certs) -> None:
    server = irc_factory("--ssl-cert-file", str(certs.cert), "--ssl-key-file", str(certs.key))
    d = Delivery(
        make_config(tmp_path, irc_toml(server.port, f'tls = true\nca_file = "{certs.cert}"\n'))
    )
    d.start()
    d(AlarmRaised(now_alarm(file="secure.php")))
    wait_for(lambda: server.said("#ops", "alser"), what="the TLS delivery")
    assert server.said("#ops", "alser")[0].endswith("secure.php")
    d.stop()


class SaslServer:
    """Just enough of an ircd for SASL PLAIN: CAP, AUTHENTICATE, 001, JOIN, PRIVMSG."""

    def __init__(self, user: str, password: str) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.expect = base64.b64encode(f"{user}\0{user}\0{password}".encode()).decode()
        self.said: list[str] = []
        self.log: list[str] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        f = conn.makefile("rwb")

        def out(line: str) -> None:
            f.write(line.encode() + b"\r\n")
            f.flush()

        for raw in f:
            line = raw.decode().rstrip("\r\n")
            self.log.append(line)
            cmd, _, rest = line.partition(" ")
            if cmd == "CAP" and rest.startswith("REQ"):
                out(":srv CAP * ACK :sasl")
            elif cmd == "AUTHENTICATE" and rest == "PLAIN":
                out("AUTHENTICATE +")
            elif cmd == "AUTHENTICATE":
                out(":srv 903 alser :SASL authentication successful" if rest == self.expect
                    else ":srv 904 alser :SASL authentication failed")  # fmt: skip
            elif cmd == "CAP" and rest == "END":
                out(":srv 001 alser :welcome")
            elif cmd == "JOIN":
                out(f":alser!a@h JOIN {rest}")
            elif cmd == "PRIVMSG":
                self.said.append(rest.split(" :", 1)[1])

    def close(self) -> None:
        self.sock.close()


def test_sasl_plain(tmp_path: Path, monkeypatch: object) -> None:
    server = SaslServer("alser", "pa55")
    monkeypatch.setenv("ALSER_TEST_SASL", "pa55")  # type: ignore[attr-defined]
    toml = irc_toml(server.port, 'sasl_user = "alser"\nsasl_password_env = "ALSER_TEST_SASL"\n')
    d = Delivery(make_config(tmp_path, toml))
    d.start()
    d(AlarmRaised(alarm(start=T0)))
    wait_for(lambda: server.said, what="the SASL delivery")
    assert server.log[:3] == ["CAP REQ :sasl", "NICK alser", "USER alser 0 * :alser-tui alarms"]
    assert "CAP END" in server.log
    d.stop()
    server.close()
