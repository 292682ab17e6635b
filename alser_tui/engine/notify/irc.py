"""IRC channel: one persistent connection, rate-limited PRIVMSGs, reconnect with back-off.

Runs entirely on the channel's worker thread: the worker calls ``maintain()`` when idle (it
answers PINGs, notices a dead link and reconnects on its own back-off) and ``send()`` for
each outbox message.
"""

from __future__ import annotations

import base64
import os
import select
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from alser_tui.engine.notify.base import DeliveryError, Sender
from alser_tui.engine.notify.config import IrcConfig
from alser_tui.engine.notify.render import NOTICE, group_line, one_line

_COLOURS = {
    "threshold": "04",
    "abnormal": "07",
    "instant": "08",
    "dropped": "06",
    "resolved": "03",
    "notice": "12",
}
# Replies that mean a JOIN cannot succeed.
_JOIN_ERRORS = {"403", "405", "471", "473", "474", "475", "477"}


@dataclass(frozen=True, slots=True)
class IrcLine:
    prefix: str
    command: str
    params: tuple[str, ...]


def parse_line(raw: str) -> IrcLine:
    prefix = ""
    if raw.startswith(":"):
        prefix, _, raw = raw[1:].partition(" ")
    head, sep, trailing = raw.partition(" :")
    parts = head.split()
    if sep:
        parts.append(trailing)
    return IrcLine(prefix, parts[0].upper() if parts else "", tuple(parts[1:]))


def split_text(text: str, limit: int, max_lines: int) -> list[str]:
    """Cut text into at most ``max_lines`` pieces of at most ``limit`` UTF-8 bytes, at spaces
    where possible; what does not fit ends in an ellipsis."""
    out: list[str] = []
    rest = text.strip()
    while rest and len(out) < max_lines:
        if len(rest.encode()) <= limit:
            out.append(rest)
            rest = ""
            break
        cut = _fit(rest, limit)
        space = rest.rfind(" ", 0, cut)
        if space > cut // 2:
            cut = space
        out.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest and out:
        last = out[-1]
        out[-1] = last[: _fit(last, limit - 3)].rstrip() + "…"
    return out


def _fit(text: str, limit: int) -> int:
    """The number of characters of ``text`` whose UTF-8 form fits in ``limit`` bytes."""
    size = 0
    for i, ch in enumerate(text):
        size += len(ch.encode())
        if size > limit:
            return i
    return len(text)


def irc_lines(doc: dict[str, Any], cfg: IrcConfig) -> list[str]:
    head = one_line(doc)
    if doc["type"] != "digest":
        kind = doc["type"] if doc["type"] in ("resolved", NOTICE) else doc["alarm"]["kind"]
        return [_colour(x, kind, cfg) for x in split_text(head, cfg.max_line, cfg.max_lines)]
    out = split_text(head, cfg.max_line, 1)
    groups = doc["groups"]
    for g in groups[: cfg.max_lines]:
        out += [_colour(x, g["kind"], cfg) for x in split_text(group_line(g), cfg.max_line, 1)]
    if len(groups) > cfg.max_lines:
        out.append(f"… and {len(groups) - cfg.max_lines} more groups")
    # Notices (an unguarded file appeared) after the alarms, one line each, as room allows.
    notices = doc.get("notices", [])
    room = max(0, cfg.max_lines - len(groups))
    for n in notices[:room]:
        out += [_colour(x, NOTICE, cfg) for x in split_text(one_line(n), cfg.max_line, 1)]
    if len(notices) > room:
        out.append(f"… and {len(notices) - room} more notices")
    return out


def _colour(line: str, kind: str, cfg: IrcConfig) -> str:
    code = _COLOURS.get(kind)
    if not cfg.colors or not code or not line.startswith("["):
        return line
    end = line.find("]") + 1
    return f"\x03{code}{line[:end]}\x0f{line[end:]}"


class TokenBucket:
    """``burst`` lines at once, then ``rate`` per second: below the usual ircd flood limits."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float]) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.tokens = float(burst)
        self.stamp = clock()

    def wait_time(self) -> float:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1


class IrcSender(Sender):
    config: IrcConfig

    def __init__(
        self,
        config: IrcConfig,
        env: dict[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(config)
        self.env = os.environ if env is None else env
        self.clock = clock
        self.sleep = sleep
        self.sock: socket.socket | None = None
        self.buf = b""
        self.nick = config.nick
        self.bucket = TokenBucket(config.rate, config.burst, clock)
        self.joined: set[str] = set()
        self._next_connect = 0.0
        self._delay = config.retry_min
        self._last_rx = 0.0
        self._pinged = False
        self._inbox: list[IrcLine] = []
        self.connects = 0

    # ------------------------------------------------------------------ state

    def state(self) -> str:
        return "connected" if self.sock is not None else "disconnected"

    def maintain(self) -> None:
        if self.sock is None:
            if self.clock() >= self._next_connect:
                try:
                    self.connect()
                except (DeliveryError, OSError):
                    pass  # the error is kept in the back-off; send() reports it
            return
        try:
            self._drain(0)
            idle = self.clock() - self._last_rx
            # A silent link may be dead without a FIN: ask, and drop it if nobody answers.
            if idle > 120 and not self._pinged:
                self._write(f"PING :{self.nick}")
                self._pinged = True
            elif idle > 240:
                self._drop("ping timeout")
        except (DeliveryError, OSError):
            self._drop("connection lost")

    def close(self) -> None:
        if self.sock is not None:
            try:
                self._write("QUIT :alser-tui stopping")
            except OSError:
                pass
            self._drop("")

    # ------------------------------------------------------------------ connection

    def _drop(self, why: str) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = None
        self.buf = b""
        self.joined.clear()

    def _failed(self) -> None:
        self._drop("")
        self._next_connect = self.clock() + self._delay
        self._delay = min(self.config.retry_max, self._delay * 2)

    def connect(self) -> None:
        cfg = self.config
        self.connects += 1
        try:
            raw = socket.create_connection((cfg.host, cfg.irc_port), timeout=cfg.timeout)
            if cfg.tls:
                ctx = ssl.create_default_context(cafile=cfg.ca_file or None)
                if not cfg.verify:
                    ctx.check_hostname = False
                    ctx.verify_mode = ssl.CERT_NONE
                raw = ctx.wrap_socket(raw, server_hostname=cfg.host)
            self.sock = raw
            self.buf = b""
            self._inbox.clear()
            self._last_rx = self.clock()
            self._pinged = False
            self._register()
            self._join()
        except ssl.SSLError as exc:
            self._failed()
            raise DeliveryError(f"TLS: {exc.reason or exc}") from None
        except DeliveryError:
            self._failed()
            raise
        except OSError as exc:
            self._failed()
            raise DeliveryError(f"{cfg.host}:{cfg.irc_port}: {exc.strerror or exc}") from None
        self._delay = cfg.retry_min

    def _secret(self, var: str) -> str:
        value = self.env.get(var, "")
        if not value:
            raise DeliveryError(f"environment variable {var} is not set")
        return value

    def _register(self) -> None:
        cfg = self.config
        sasl = bool(cfg.sasl_user)
        if sasl:
            self._write("CAP REQ :sasl")
        if cfg.password_env:
            self._write(f"PASS {self._secret(cfg.password_env)}")
        self.nick = cfg.nick
        self._write(f"NICK {self.nick}")
        self._write(f"USER {cfg.nick} 0 * :{cfg.realname}")
        if sasl:
            self._sasl()
        tries = 0
        while True:
            msg = self._expect(lambda m: m.command in {"001", "433", "432", "464", "465"})
            if msg.command == "001":
                return
            if msg.command == "433" and tries < 5:
                # Nick in use (often our own ghost from before a reconnect).
                tries += 1
                self.nick = f"{cfg.nick[:25]}{'_' * tries}"
                self._write(f"NICK {self.nick}")
                continue
            raise DeliveryError(f"registration refused: {msg.command} {' '.join(msg.params)}")

    def _sasl(self) -> None:
        cfg = self.config
        reply = self._expect(lambda m: m.command == "CAP" and len(m.params) >= 2)
        if reply.params[1].upper() != "ACK":
            raise DeliveryError("the server does not offer SASL")
        self._write("AUTHENTICATE PLAIN")
        self._expect(lambda m: m.command == "AUTHENTICATE")
        token = f"{cfg.sasl_user}\0{cfg.sasl_user}\0{self._secret(cfg.sasl_password_env)}"
        self._write("AUTHENTICATE " + base64.b64encode(token.encode()).decode())
        done = self._expect(lambda m: m.command in {"903", "902", "904", "905", "906"})
        if done.command != "903":
            raise DeliveryError(f"SASL refused: {done.command} {' '.join(done.params[1:])}")
        self._write("CAP END")

    def _join(self) -> None:
        want = list(self.config.targets)
        self._write("JOIN " + ",".join(want))
        lower = {t.lower() for t in want}
        while not lower <= self.joined:
            msg = self._expect(
                lambda m: (
                    (m.command == "JOIN" and m.prefix.split("!")[0] == self.nick)
                    or m.command in _JOIN_ERRORS
                )
            )
            if msg.command != "JOIN":
                raise DeliveryError(f"cannot join {msg.params[1]}: {msg.params[-1]}")
            self.joined.add(msg.params[0].lower())

    # ------------------------------------------------------------------ I/O

    def _write(self, line: str) -> None:
        if self.sock is None:
            raise DeliveryError("not connected")
        self.sock.sendall(line.encode("utf-8", "replace") + b"\r\n")

    def _drain(self, timeout: float) -> list[IrcLine]:
        """Read what has arrived (waiting up to ``timeout``); answer PINGs."""
        assert self.sock is not None
        got: list[IrcLine] = []
        pending = isinstance(self.sock, ssl.SSLSocket) and self.sock.pending()
        ready = pending or select.select([self.sock], [], [], timeout)[0]
        if ready:
            data = self.sock.recv(4096)
            if not data:
                self._drop("closed by server")
                raise DeliveryError("connection closed by the server")
            self.buf += data
            self._last_rx = self.clock()
            self._pinged = False
        while b"\n" in self.buf:
            raw, _, self.buf = self.buf.partition(b"\n")
            msg = parse_line(raw.rstrip(b"\r").decode("utf-8", "replace"))
            if msg.command == "PING":
                self._write("PONG :" + (msg.params[-1] if msg.params else ""))
            elif msg.command == "ERROR":
                self._drop("error")
                raise DeliveryError(f"server closed the link: {' '.join(msg.params)}")
            got.append(msg)
        return got

    def _expect(self, pred: Callable[[IrcLine], bool]) -> IrcLine:
        """The next line matching ``pred``; lines after it stay for the next call."""
        deadline = self.clock() + self.config.timeout
        while True:
            while self._inbox:
                msg = self._inbox.pop(0)
                if pred(msg):
                    return msg
            left = deadline - self.clock()
            if left <= 0:
                raise DeliveryError("timed out waiting for the server")
            if self.sock is None:
                raise DeliveryError("not connected")
            self._inbox.extend(self._drain(min(left, 0.5)))

    # ------------------------------------------------------------------ sending

    def send(self, doc: dict[str, Any], ident: str) -> None:
        if self.sock is None:
            self.connect()
        try:
            for line in irc_lines(doc, self.config):
                for target in self.config.targets:
                    self._paced(f"PRIVMSG {target} :{line}")
        except DeliveryError:
            self._failed()
            raise
        except OSError as exc:
            self._failed()
            raise DeliveryError(f"connection lost: {exc.strerror or exc}") from None

    def _paced(self, line: str) -> None:
        while (wait := self.bucket.wait_time()) > 0:
            # Keep answering PINGs while we wait for the flood limit.
            if self.sock is not None:
                self._drain(min(wait, 0.5))
            else:
                self.sleep(wait)
        self.bucket.take()
        self._write(line)
