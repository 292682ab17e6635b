"""Pushed logs: a guard that listens instead of tailing (``listen = "tcp://127.0.0.1:5140"``).

Schemes: ``tcp://HOST:PORT`` and ``unix:///PATH`` carry newline-delimited ALS lines (the
original collectors wrote to ``/tmp/als.sock``); ``udp://HOST:PORT`` and
``syslog+tcp://`` / ``syslog+unix://`` carry syslog (RFC 3164 or RFC 5424; on streams with
RFC 6587 octet counting or newline framing), whose app-name / tag selects the guard
(``program``) and whose message is the ALS line. An empty host binds 127.0.0.1.

Sockets live in one background thread per address (several guards may share an address:
each gets the programs it asked for). Every guard has a bounded queue: when it is full the
thread stops reading streams (TCP backpressure) and counts dropped datagrams. Lines are
bounded (longer ones are cut and counted, like the tailer does), connections are bounded
(extra ones are closed at once and counted), and every connection has its own counts,
shown as the source's ``files``.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import re
import selectors
import socket
import stat
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

from .tailer import LineSplitter

MAX_LINE_BYTES = 64 << 10
MAX_CONNECTIONS = 64
QUEUE_LINES = 100_000
RECV_BYTES = 64 << 10
KEEP_CLOSED = 16  # closed connections still listed (their counts) after they drained

SCHEMES = {
    "tcp": ("tcp", False),
    "unix": ("unix", False),
    "udp": ("udp", True),
    "syslog+udp": ("udp", True),
    "syslog+tcp": ("tcp", True),
    "syslog+unix": ("unix", True),
}


@dataclass(frozen=True, slots=True)
class Endpoint:
    url: str
    transport: str  # tcp | udp | unix
    syslog: bool
    host: str = ""
    port: int = 0
    path: str = ""

    @property
    def key(self) -> tuple[str, str, int, str]:
        return (self.transport, self.host, self.port, self.path)


def parse_listen(url: str) -> Endpoint:
    """'tcp://127.0.0.1:5140', 'udp://:5514', 'unix:///tmp/als.sock' ...; ValueError if not."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {', '.join(s + '://' for s in SCHEMES)}")
    transport, syslog = SCHEMES[scheme]
    if transport == "unix":
        path = (parts.netloc + parts.path) if parts.netloc else parts.path
        if not path.startswith("/"):
            raise ValueError("a unix socket needs an absolute path: unix:///tmp/als.sock")
        if "\0" in path or len(path.encode()) > 100:
            raise ValueError("a unix socket path must be short (under 100 bytes)")
        return Endpoint(url, transport, syslog, path=path)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("expected SCHEME://HOST:PORT and nothing after it")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("the port must be a number 0..65535") from None
    if port is None:
        raise ValueError("a port is needed (SCHEME://HOST:PORT)")
    # Loopback unless an address is given: the receiver accepts anything it is sent.
    host = parts.hostname or "127.0.0.1"
    return Endpoint(url, transport, syslog, host=host, port=port)


def spool_family(program: str, name: str) -> str:
    """The spool files' family name: the program, else the guard's name made file-safe."""
    base = program or name or "received"
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", base).strip("._") or "received"


def spool_glob(spool_dir: str, family: str) -> str:
    return str(Path(spool_dir) / f"{family}.*.log")


# --------------------------------------------------------------------------- syslog

_PRI = re.compile(rb"<([0-9]{1,3})>")
_BSD_TIME = re.compile(
    r"(?:[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2}|[0-9]{4}-[0-9]{2}-[0-9]{2}T\S+) "
)
_TAG = re.compile(r"([^\s:\[]+)(?:\[[^\]]*\])?:(?: |$)")


def parse_syslog(frame: bytes) -> tuple[str, str] | None:
    """(program, message) of an RFC 5424 or RFC 3164 frame; None when it is neither."""
    m = _PRI.match(frame)
    if not m or int(m.group(1)) > 191:
        return None
    text = frame[m.end() :].decode("utf-8", "replace")
    if text[:2] == "1 ":
        return _rfc5424(text[2:])
    return _rfc3164(text)


def _rfc5424(text: str) -> tuple[str, str] | None:
    # TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA [SP MSG]
    head = text.split(" ", 5)
    if len(head) < 6:
        return None
    app, rest = head[2], head[5]
    end = _skip_structured_data(rest)
    if end is None:
        return None
    msg = rest[end + 1 :] if rest[end : end + 1] == " " else rest[end:]
    if msg.startswith("\ufeff"):
        msg = msg[1:]
    return ("" if app == "-" else app), msg


def _skip_structured_data(s: str) -> int | None:
    """Index just after the STRUCTURED-DATA field ('-' or [id k="v" ...]...)."""
    if s.startswith("-"):
        return 1
    i = 0
    if not s.startswith("["):
        return None
    while i < len(s) and s[i] == "[":
        i += 1
        quoted = False
        while True:
            if i >= len(s):
                return None
            c = s[i]
            if quoted and c == "\\":
                i += 2
                continue
            if c == '"':
                quoted = not quoted
            elif c == "]" and not quoted:
                i += 1
                break
            i += 1
    return i


def _rfc3164(text: str) -> tuple[str, str] | None:
    # [TIMESTAMP ][HOSTNAME ]TAG[pid]: MSG -- each part optional in the wild.
    m = _BSD_TIME.match(text)
    rest = text[m.end() :] if m else text
    tag = _TAG.match(rest)
    if tag is None:
        _host, sep, after = rest.partition(" ")
        tag = _TAG.match(after) if sep else None
        if tag is None:
            return "", rest
        rest = after
    return tag.group(1), rest[tag.end() :]


# --------------------------------------------------------------------------- per source


@dataclass(frozen=True, slots=True)
class ConnectionInfo:
    """One connection (UDP: one sender) of a receiver, for display and the engine's
    watermark. Bytes are those of this guard's lines: ``size`` queued, ``offset`` read."""

    path: str
    peer: str
    offset: int
    size: int
    lag: int
    lines_read: int
    received: int  # frames/lines this connection sent to this guard
    unrouted: int  # syslog messages for another program
    garbage: int  # frames that are not syslog
    overlong: int  # lines cut to the line bound
    partial: int  # unfinished lines lost when the client went away
    dropped: int  # datagrams dropped on a full queue
    connected: float
    closed: bool
    missing: bool = False  # FollowedFile compatibility
    last_line_at: float = 0.0  # wall clock of the last read that took its lines

    kind: ClassVar[str] = "connection"

    @property
    def note(self) -> str:
        """The peer, and what went wrong with what it sent (non-zero counts only)."""
        parts = [f"from {self.peer}" if self.peer else "", "closed" if self.closed else ""]
        for count, word in (
            (self.dropped, "dropped"),
            (self.garbage, "not syslog"),
            (self.unrouted, "for other programs"),
            (self.overlong, "overlong"),
            (self.partial, "unfinished at close"),
        ):
            if count:
                parts.append(f"{count:,} {word}")
        return ", ".join(p for p in parts if p)


@dataclass(slots=True)
class _ConnStat:
    path: str
    peer: str
    connected: float
    queued: int = 0
    delivered: int = 0
    lines_read: int = 0
    received: int = 0
    unrouted: int = 0
    garbage: int = 0
    overlong: int = 0
    partial: int = 0
    dropped: int = 0
    closed: bool = False
    closed_at: float = 0.0
    last_line_at: float = 0.0


class ReceiverSource:
    """The engine's source for a guard with ``listen`` (same interface as LiveFollower)."""

    done = False

    def __init__(
        self,
        listen: str,
        *,
        program: str = "",
        spool_dir: str = "",
        family: str = "",
        max_line_bytes: int = MAX_LINE_BYTES,
        max_connections: int = MAX_CONNECTIONS,
        queue_lines: int = QUEUE_LINES,
    ) -> None:
        self.endpoint = parse_listen(listen)
        self.program = program
        self.queue_lines = max(1, queue_lines)
        self._lock = threading.Condition()  # an RLock: wait_until's pred may read files
        self._queue: deque[list[Any]] = deque()  # [conn id, lines, bytes]
        self._queued_lines = 0
        self._stats: dict[int, _ConnStat] = {}
        self._closed = False
        self.last_error = ""  # the spool's last trouble (the guard keeps receiving)
        self._spool = _Spool(spool_dir, spool_family(program, family)) if spool_dir else None
        self._listener = _attach(self.endpoint, self, max_line_bytes, max_connections)

    @property
    def address(self) -> Any:
        """Where it really listens (the port chosen for ':0')."""
        return self._listener.address

    # ------------------------------------------------------------------ listener side

    def wants(self, program: str) -> bool:
        return not self.program or program == self.program

    def offer(
        self,
        conn: int,
        path: str,
        peer: str,
        lines: list[str],
        nbytes: int,
        *,
        block: bool,
        stop: threading.Event,
    ) -> bool:
        """Queue lines from a connection; blocks while the queue is full (streams) or
        drops them (datagrams). False when dropped."""
        with self._lock:
            st = self._stat(conn, path, peer)
            st.received += len(lines)
            while self._queued_lines >= self.queue_lines and not self._closed:
                if not block or stop.is_set():
                    st.dropped += len(lines)
                    return False
                self._lock.wait(0.2)
            if self._closed:
                return False
            self._queue.append([conn, lines, nbytes])
            self._queued_lines += len(lines)
            st.queued += nbytes
            self._lock.notify_all()
        if self._spool is not None:
            # Only this (listener) thread writes the spool: no lock needed, none held.
            problem = self._spool.write(lines)
            if problem:
                self.last_error = problem
        return True

    def count(self, conn: int, path: str, peer: str, what: str, n: int = 1) -> None:
        with self._lock:
            st = self._stat(conn, path, peer)
            setattr(st, what, getattr(st, what) + n)
            self._lock.notify_all()

    def closed_conn(self, conn: int) -> None:
        with self._lock:
            st = self._stats.get(conn)
            if st is not None:
                st.closed = True
                st.closed_at = time.time()
                self._lock.notify_all()

    def _stat(self, conn: int, path: str, peer: str) -> _ConnStat:
        st = self._stats.get(conn)
        if st is None:
            st = self._stats[conn] = _ConnStat(path, peer, time.time())
        return st

    # ------------------------------------------------------------------ engine side

    def read(self, max_lines: int) -> list[tuple[str, list[str]]]:
        """Up to ``max_lines`` queued lines, as (connection path, lines), oldest first."""
        out: list[tuple[str, list[str]]] = []
        with self._lock:
            left = max_lines
            now = time.time() if self._queue else 0.0  # once per read, never per line
            while left > 0 and self._queue:
                item = self._queue[0]
                conn, lines, nbytes = item
                if len(lines) <= left:
                    self._queue.popleft()
                    took, took_bytes = lines, nbytes
                else:
                    # Split the item; bytes are shared out so that the sums stay exact.
                    took, item[1] = lines[:left], lines[left:]
                    took_bytes = nbytes * left // len(lines)
                    item[2] = nbytes - took_bytes
                st = self._stats[conn]
                st.delivered += took_bytes
                st.lines_read += len(took)
                st.last_line_at = now
                left -= len(took)
                self._queued_lines -= len(took)
                if out and out[-1][0] == st.path:
                    out[-1][1].extend(took)
                else:
                    out.append((st.path, list(took)))
            if out:
                self._lock.notify_all()
        return out

    @property
    def files(self) -> list[ConnectionInfo]:
        with self._lock:
            return [
                ConnectionInfo(
                    path=s.path,
                    peer=s.peer,
                    offset=s.delivered,
                    size=s.queued,
                    lag=s.queued - s.delivered,
                    lines_read=s.lines_read,
                    received=s.received,
                    unrouted=s.unrouted,
                    garbage=s.garbage,
                    overlong=s.overlong,
                    partial=s.partial,
                    dropped=s.dropped,
                    connected=s.connected,
                    closed=s.closed,
                    last_line_at=s.last_line_at,
                )
                for s in self._stats.values()
            ]

    @property
    def queued_lines(self) -> int:
        return self._queued_lines

    def wait_until(self, pred: Callable[[], bool], timeout: float) -> bool:
        """Block until ``pred()`` holds, re-checked whenever lines or counts change."""
        with self._lock:
            return self._lock.wait_for(pred, timeout)

    def wait(self, timeout: float) -> bool:
        """Block until lines are queued (or ``timeout``); True when some are."""
        with self._lock:
            return self._lock.wait_for(
                lambda: self._queued_lines > 0 or self._closed, timeout
            ) and (self._queued_lines > 0)

    def rescan(self) -> None:
        """Forget drained closed connections beyond the last few (their counts stay shown)."""
        with self._lock:
            gone = sorted(
                (s.closed_at, c)
                for c, s in self._stats.items()
                if s.closed and s.queued == s.delivered
            )
            for _, c in gone[: max(0, len(gone) - KEEP_CLOSED)]:
                del self._stats[c]

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._lock.notify_all()
        _detach(self._listener, self)
        if self._spool is not None:
            self._spool.close()


class _Spool:
    """Received lines appended to SPOOL_DIR/FAMILY.YYYYMMDD.log (UTC day of receipt), the
    central-logfile layout a history_glob can replay."""

    def __init__(self, directory: str, family: str) -> None:
        self.dir = Path(directory)
        self.family = family
        self._day = ""
        self._file: Any = None
        self._lock = threading.Lock()  # the listener writes, the engine's close() closes
        self._closed = False

    def write(self, lines: list[str]) -> str:
        """Append lines; returns the problem, or "" when they were written."""
        with self._lock:
            if self._closed:
                return ""
            day = time.strftime("%Y%m%d", time.gmtime())
            try:
                if day != self._day:
                    self._close_file()
                    self.dir.mkdir(parents=True, exist_ok=True)
                    path = self.dir / f"{self.family}.{day}.log"
                    self._file = open(path, "a", encoding="utf-8")
                    self._day = day
                self._file.write("".join(line + "\n" for line in lines))
                self._file.flush()
            except OSError as exc:
                return f"spool {self.dir}: {exc.strerror or exc}"
            return ""

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._close_file()

    def _close_file(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            self._day = ""


# --------------------------------------------------------------------------- listeners

_REGISTRY: dict[Any, _Listener] = {}
_REGISTRY_LOCK = threading.Lock()
_CONN_IDS = itertools.count(1)


def _attach(ep: Endpoint, source: ReceiverSource, max_line: int, max_conn: int) -> _Listener:
    # Port 0 means "any free port": never shared.
    key: Any = ep.key if ep.transport == "unix" or ep.port else (ep.key, id(source))
    with _REGISTRY_LOCK:
        lst = _REGISTRY.get(key)
        if lst is not None and lst.endpoint.syslog != ep.syslog:
            raise OSError(errno.EADDRINUSE, f"{ep.url}: already used with another protocol")
        if lst is None:
            lst = _Listener(ep, key, max_line, max_conn)
            _REGISTRY[key] = lst
        lst.add(source)
        return lst


def _detach(lst: _Listener, source: ReceiverSource) -> None:
    with _REGISTRY_LOCK:
        if lst.remove(source):
            _REGISTRY.pop(lst.key, None)
    if not lst.sources:
        lst.stop()


class _Conn:
    __slots__ = ("buf", "id", "path", "peer", "skip", "skip_line", "slot", "sock", "splitter")

    def __init__(
        self, sock: socket.socket | None, cid: int, slot: int, path: str, peer: str, max_line: int
    ) -> None:
        self.sock = sock
        self.id = cid
        self.slot = slot
        self.path = path
        self.peer = peer
        self.splitter = LineSplitter(max_line)
        self.buf = b""  # syslog framing
        self.skip = 0  # syslog: bytes of an oversized octet-counted frame still to skip
        self.skip_line = False  # syslog: inside the rest of an oversized newline frame


class _Listener:
    """One bound address and its thread; dispatches lines to the sources attached to it."""

    def __init__(self, ep: Endpoint, key: Any, max_line: int, max_conn: int) -> None:
        self.endpoint = ep
        self.key = key
        self.max_line = max_line
        self.max_conn = max_conn
        self.sources: list[ReceiverSource] = []
        self.refused = 0
        self._stop = threading.Event()
        self._conns: dict[socket.socket, _Conn] = {}
        self._peers: dict[str, _Conn] = {}  # udp senders, least recently seen first
        self._sock = self._bind(ep)
        self.address = self._sock.getsockname()
        self._wake_r, self._wake_w = socket.socketpair()
        self._thread = threading.Thread(target=self._run, name=f"receiver {ep.url}", daemon=True)
        self._thread.start()

    def _bind(self, ep: Endpoint) -> socket.socket:
        if ep.transport == "unix":
            _clear_stale_socket(ep.path)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.bind(ep.path)
            sock.listen(64)
            return sock
        kind = socket.SOCK_DGRAM if ep.transport == "udp" else socket.SOCK_STREAM
        family, _, _, _, addr = socket.getaddrinfo(ep.host, ep.port, type=kind)[0]
        sock = socket.socket(family, kind)
        try:
            if kind == socket.SOCK_STREAM:
                # A restart may rebind at once despite TIME_WAIT. (Not for UDP, where Linux
                # would let a second instance share the port and split the traffic.)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(addr)
            if kind == socket.SOCK_STREAM:
                sock.listen(64)
        except OSError:
            sock.close()
            raise
        return sock

    def add(self, source: ReceiverSource) -> None:
        self.sources = [*self.sources, source]

    def remove(self, source: ReceiverSource) -> bool:
        """Detach a source; True when none is left."""
        self.sources = [s for s in self.sources if s is not source]
        return not self.sources

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")
        if self._thread is not threading.current_thread():
            self._thread.join(5)

    # ------------------------------------------------------------------ the thread

    def _run(self) -> None:
        sel = selectors.DefaultSelector()
        sel.register(self._sock, selectors.EVENT_READ, "server")
        sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        try:
            while not self._stop.is_set():
                for key, _ in sel.select(0.5):
                    if key.data == "wake":
                        return
                    if key.data == "server":
                        if self.endpoint.transport == "udp":
                            self._datagram()
                        else:
                            self._accept(sel)
                    else:
                        self._receive(sel, key.fileobj)  # type: ignore[arg-type]
        finally:
            for conn in list(self._conns.values()):
                self._close(sel, conn, eof=False)
            sel.close()
            self._sock.close()
            self._wake_r.close()
            self._wake_w.close()
            if self.endpoint.transport == "unix":
                with contextlib.suppress(OSError):
                    os.unlink(self.endpoint.path)

    def _slot(self) -> int:
        used = {c.slot for c in self._conns.values()} | {c.slot for c in self._peers.values()}
        return next(i for i in itertools.count(1) if i not in used)

    def _new_conn(self, sock: socket.socket | None, peer: str) -> _Conn:
        slot = self._slot()
        # Paths reuse slot numbers, so what the engine keys by path stays bounded.
        path = f"{self.endpoint.url}#{slot}"
        return _Conn(sock, next(_CONN_IDS), slot, path, peer, self.max_line)

    def _accept(self, sel: selectors.BaseSelector) -> None:
        try:
            sock, addr = self._sock.accept()
        except OSError:
            return
        if len(self._conns) >= self.max_conn:
            self.refused += 1
            sock.close()
            return
        peer = f"{addr[0]}:{addr[1]}" if isinstance(addr, tuple) else "local"
        conn = self._new_conn(sock, peer)
        self._conns[sock] = conn
        sel.register(sock, selectors.EVENT_READ, "conn")
        self._count_all(conn, "received", 0)  # listed from the start, not from its first line

    def _receive(self, sel: selectors.BaseSelector, sock: socket.socket) -> None:
        conn = self._conns[sock]
        try:
            data = sock.recv(RECV_BYTES)
        except (ConnectionResetError, OSError):
            data = b""
        if not data:
            self._close(sel, conn, eof=True)
            return
        if self.endpoint.syslog:
            frames = self._syslog_frames(conn, data)
            self._dispatch_syslog(conn, frames, block=True)
        else:
            conn.splitter.feed(data)
            lines: list[str] = []
            overlong = conn.splitter.overlong
            nbytes = conn.splitter.take(1 << 30, lines)
            if conn.splitter.overlong != overlong:
                self._count_all(conn, "overlong", conn.splitter.overlong - overlong)
            lines = [line for line in lines if line]
            if lines:
                for src in self.sources:
                    src.offer(
                        conn.id, conn.path, conn.peer, lines, nbytes, block=True, stop=self._stop
                    )

    def _close(self, sel: selectors.BaseSelector, conn: _Conn, *, eof: bool) -> None:
        sock = conn.sock
        assert sock is not None
        if eof and (conn.splitter.buffered or conn.buf):
            # The client went away in the middle of a line: that fragment is not a line.
            self._count_all(conn, "partial", 1)
        with contextlib.suppress(KeyError, ValueError):
            sel.unregister(sock)
        sock.close()
        self._conns.pop(sock, None)
        for src in self.sources:
            src.closed_conn(conn.id)

    def _count_all(self, conn: _Conn, what: str, n: int) -> None:
        for src in self.sources:
            src.count(conn.id, conn.path, conn.peer, what, n)

    def _datagram(self) -> None:
        try:
            data, addr = self._sock.recvfrom(RECV_BYTES)
        except OSError:
            return
        peer = f"{addr[0]}:{addr[1]}" if isinstance(addr, tuple) else "local"
        conn = self._peers.pop(peer, None)
        if conn is None:
            if len(self._peers) >= self.max_conn:
                # Forget the least recently seen sender (its counts stay with the sources).
                old = self._peers.pop(next(iter(self._peers)))
                for src in self.sources:
                    src.closed_conn(old.id)
            conn = self._new_conn(None, peer)
        self._peers[peer] = conn  # most recently seen last
        frame = data.rstrip(b"\r\n\0")
        if len(frame) > self.max_line:
            frame = frame[: self.max_line]
            self._count_all(conn, "overlong", 1)
        if frame:
            self._dispatch_syslog(conn, [frame], block=False)

    # ------------------------------------------------------------------ syslog framing

    def _syslog_frames(self, conn: _Conn, data: bytes) -> list[bytes]:
        """Complete frames from a stream: RFC 6587 octet counting ('LEN <PRI>...') or
        newline framing ('<PRI>...\\n'), chosen per frame by its first byte."""
        buf = conn.buf + data
        frames: list[bytes] = []
        limit = self.max_line
        while buf:
            if conn.skip_line:
                nl = buf.find(b"\n")
                buf = b"" if nl < 0 else buf[nl + 1 :]
                conn.skip_line = nl < 0
                continue
            if conn.skip:
                n = min(conn.skip, len(buf))
                conn.skip -= n
                buf = buf[n:]
                continue
            first = buf[:1]
            if first in (b"\n", b"\r", b"\0", b" "):
                buf = buf[1:]
                continue
            if first.isdigit():
                sp = buf.find(b" ", 0, 12)
                if sp < 0:
                    if len(buf) < 12:
                        break  # the length may still be arriving
                    buf = self._garbage_line(conn, buf)
                    continue
                if not buf[:sp].isdigit():
                    buf = self._garbage_line(conn, buf)
                    continue
                size = int(buf[:sp])
                body = buf[sp + 1 :]
                if size > limit:
                    # Cut to the bound; the rest of the frame is skipped as it arrives.
                    if len(body) < limit:
                        break
                    frames.append(body[:limit])
                    self._count_all(conn, "overlong", 1)
                    conn.skip = size - limit
                    buf = body[limit:]
                    continue
                if len(body) < size:
                    break
                frames.append(body[:size].rstrip(b"\r\n"))
                buf = body[size:]
                continue
            nl = buf.find(b"\n")
            if nl < 0:
                if len(buf) > limit:
                    # Cut to the bound; the rest of the line is skipped up to its newline.
                    frames.append(buf[:limit])
                    self._count_all(conn, "overlong", 1)
                    conn.skip_line = True
                    buf = b""
                break
            frame = buf[:nl].rstrip(b"\r")
            if len(frame) > limit:
                frame = frame[:limit]
                self._count_all(conn, "overlong", 1)
            frames.append(frame)
            buf = buf[nl + 1 :]
        conn.buf = buf
        return frames

    def _garbage_line(self, conn: _Conn, buf: bytes) -> bytes:
        """Count a frame that is not syslog and skip it up to its newline."""
        self._count_all(conn, "garbage", 1)
        nl = buf.find(b"\n")
        if nl < 0:
            conn.skip_line = True  # the newline is still to come
            return b""
        return buf[nl + 1 :]

    def _dispatch_syslog(self, conn: _Conn, frames: list[bytes], *, block: bool) -> None:
        by_program: dict[str, list[str]] = {}
        nbytes: dict[str, int] = {}
        for frame in frames:
            parsed = parse_syslog(frame)
            if parsed is None:
                self._count_all(conn, "garbage", 1)
                continue
            program, msg = parsed
            lines = [part for part in msg.replace("\r\n", "\n").split("\n") if part]
            if lines:
                by_program.setdefault(program, []).extend(lines)
                nbytes[program] = nbytes.get(program, 0) + len(frame) + 1
        for src in self.sources:
            got: list[str] = []
            size = 0
            for program, lines in by_program.items():
                if src.wants(program):
                    got.extend(lines)
                    size += nbytes[program]
                else:
                    src.count(conn.id, conn.path, conn.peer, "unrouted", len(lines))
            if got:
                src.offer(conn.id, conn.path, conn.peer, got, size, block=block, stop=self._stop)


def _clear_stale_socket(path: str) -> None:
    """Remove a socket file left by a dead process; refuse a live one or a non-socket."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        raise OSError(errno.EEXIST, f"{path} exists and is not a socket")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except OSError:
        os.unlink(path)  # nobody listens: stale
        return
    finally:
        probe.close()
    raise OSError(errno.EADDRINUSE, f"{path}: another process listens there")
