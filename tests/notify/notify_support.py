"""Helpers for the delivery tests: real servers on 127.0.0.1 (SMTP, IRC, HTTP), clocks, alarms."""

from __future__ import annotations

import email
import email.policy
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from alser_tui.engine.alarms import Alarm
from alser_tui.engine.config import Config, parse_config

T0 = 1_800_000_000  # a window boundary (60 s)


def wait_for(pred: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll ``pred`` until it is truthy (bounded): for state that has no event to wait on."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.01)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Clock:
    """A settable wall clock."""

    def __init__(self, now: float = T0 + 3600) -> None:
        self.now = float(now)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


PARSERS = """
[[parsers]]
id = "PhpError"
kind = "regex"
title = "PhpErr"
regex = '^(\\S+) (\\S+)'
group_by = ["area", "file"]
beep_threshold = 5
[[parsers.fields]]
name = "file"
group = 1
[[parsers.fields]]
name = "msg"
group = 2

[[parsers]]
id = "Error"
kind = "json"
group_by = ["area", "cls"]
instant = "Fatal {area} {cls}"
[[parsers.fields]]
name = "cls"
"""


def make_config(tmp_path: Path, delivery_toml: str, parsers: str = PARSERS) -> Config:
    import tomllib

    text = f'[storage]\ndir = "{tmp_path / "var"}"\n' + parsers + "\n" + delivery_toml
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "alser.toml").write_text(text)
    return parse_config(tomllib.loads(text), str(tmp_path / "alser.toml"))


def alarm(
    parser: str = "PhpError",
    kind: str = "threshold",
    amount: float = 9,
    start: int = T0,
    window: int = 60,
    severity: float | None = None,
    **group: Any,
) -> Alarm:
    base: dict[str, Any] = (
        {"area": "us", "file": "map.php"} if parser == "PhpError" else {"area": "us"}
    )
    group = {**base, **group}
    text = f"{parser} {amount:>5} " + " ".join(str(v) for v in group.values())
    return Alarm(
        parser, kind, amount if severity is None else severity, amount, group, start,
        start + window, start, text, parser,
    )  # fmt: skip


# --------------------------------------------------------------------------- TLS


@dataclass(frozen=True)
class Certs:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        return ctx


# --------------------------------------------------------------------------- SMTP


class Mailbox:
    """An aiosmtpd handler that keeps every accepted message."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.cond = threading.Condition()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.cond:
            self.messages.append(msg)  # type: ignore[arg-type]
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.cond.notify_all()
        return "250 OK"

    def wait(self, n: int, timeout: float = 10.0) -> list[EmailMessage]:
        with self.cond:
            ok = self.cond.wait_for(lambda: len(self.messages) >= n, timeout)
        assert ok, f"expected {n} mails, got {len(self.messages)}"
        return list(self.messages)


@dataclass
class SmtpServer:
    port: int
    mailbox: Mailbox
    kwargs: dict[str, Any]
    controller: Any = None

    def start(self) -> SmtpServer:
        from aiosmtpd.controller import Controller

        self.controller = Controller(
            self.mailbox, hostname="127.0.0.1", port=self.port, **self.kwargs
        )
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def body_text(msg: EmailMessage) -> str:
    part = msg.get_body(("plain",))
    assert part is not None
    return part.get_content()


# --------------------------------------------------------------------------- IRC


@dataclass
class IrcServer:
    """miniircd in a subprocess, with channel logs written to ``logs``."""

    port: int
    logs: Path
    args: list[str] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> IrcServer:
        self.logs.mkdir(parents=True, exist_ok=True)
        code = "import sys, miniircd; sys.argv[0] = 'miniircd'; miniircd.main()"
        # miniircd refuses to run as root unless told so (CI runs as root).
        root = ["--setuid", "root"] if os.geteuid() == 0 else []
        with open(self.logs / "server.err", "ab") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", code, "--listen", "127.0.0.1", "--ports", str(self.port),
                 "--channel-log-dir", str(self.logs), *root, *self.args],
                stdout=subprocess.DEVNULL,
                stderr=err,
            )  # fmt: skip
        wait_for(self._accepts, 10, "miniircd to listen")
        return self

    def _accepts(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            err = (self.logs / "server.err").read_text()
            raise AssertionError(f"miniircd exited {self.proc.returncode}: {err}")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(5)
            self.proc = None

    def said(self, channel: str, nick: str | None = None) -> list[str]:
        """What was said in a channel (from miniircd's channel log)."""
        path = self.logs / f"{channel.lower()}.log"
        if not path.exists():
            return []
        out = []
        for line in path.read_text().splitlines():
            # "[2026-11-25 12:00:00 UTC] <nick> text"
            _, _, rest = line.partition("] ")
            if rest.startswith("<"):
                who, _, text = rest[1:].partition("> ")
                if nick is None or who == nick:
                    out.append(text)
        return out


class IrcObserver:
    """A plain client in a channel that records PRIVMSGs with their arrival time."""

    def __init__(self, port: int, channel: str, nick: str = "watcher") -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.lines: list[tuple[float, str]] = []
        self.buf = b""
        self.cond = threading.Condition()
        self.sock.sendall(f"NICK {nick}\r\nUSER {nick} 0 * :w\r\nJOIN {channel}\r\n".encode())
        self.joined = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        assert self.joined.wait(5), "observer could not join"

    def _read(self) -> None:
        while True:
            try:
                data = self.sock.recv(4096)
            except OSError:
                return
            if not data:
                return
            self.buf += data
            while b"\r\n" in self.buf:
                raw, _, self.buf = self.buf.partition(b"\r\n")
                line = raw.decode("utf-8", "replace")
                if line.startswith("PING"):
                    self.sock.sendall(b"PONG" + raw[4:] + b"\r\n")
                elif " 366 " in line:
                    self.joined.set()
                elif " PRIVMSG " in line:
                    with self.cond:
                        self.lines.append((time.monotonic(), line.split(" :", 1)[1]))
                        self.cond.notify_all()

    def wait(self, n: int, timeout: float = 10.0) -> list[tuple[float, str]]:
        with self.cond:
            ok = self.cond.wait_for(lambda: len(self.lines) >= n, timeout)
        assert ok, f"expected {n} IRC lines, got {self.lines}"
        return list(self.lines)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


# --------------------------------------------------------------------------- HTTP


class HttpServer:
    """Records POSTs; answers with scripted statuses (and optional delays), then 200."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.script: list[tuple[int, float]] = []
        self.cond = threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with outer.cond:
                    status, delay = outer.script.pop(0) if outer.script else (200, 0.0)
                if delay:
                    time.sleep(delay)
                if status == 200:
                    with outer.cond:
                        outer.requests.append(
                            {
                                "path": self.path,
                                "headers": dict(self.headers),
                                "json": json.loads(body),
                            }
                        )
                        outer.cond.notify_all()
                payload = b"ok" if status == 200 else b"boom"
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def wait(self, n: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        with self.cond:
            ok = self.cond.wait_for(lambda: len(self.requests) >= n, timeout)
        assert ok, f"expected {n} webhook posts, got {len(self.requests)}"
        return list(self.requests)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
