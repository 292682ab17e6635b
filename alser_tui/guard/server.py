"""The guard's unix socket (``guard.sock`` in the data dir): attached consoles hear its events
live and send it acknowledgements and silences; ``alser-tui status`` asks it how it is.

The protocol is JSON lines (guard/wire.py encodes the engine's events), versioned by
``PROTOCOL``; see PROTOCOL.md beside this file. The socket is created with mode 0660: the
guard's user and group may attach (the database files need the same group to be read).

One asyncio loop on a thread of its own serves every client. The engine thread only hands
each event over (``publish``): encoded once, written to every client; a client that reads
too slowly to keep up is disconnected (it reconnects and catches up from the store) rather
than let the guard's memory grow.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alser_tui import __version__
from alser_tui.engine.events import Event
from alser_tui.guard.loop_thread import LoopThread
from alser_tui.guard.wire import PROTOCOL, WireError, decode, encode

SOCKET_NAME = "guard.sock"
SOCKET_MODE = 0o660
# A client this far behind (bytes queued to it) is dropped: it catches up on reconnecting.
MAX_BACKLOG = 16 << 20
# What an attaching console is shown of the past: the alarms of the last day, at most these.
BACKLOG_ALARMS = 500
BACKLOG_SECONDS = 86_400.0
LINE_LIMIT = 1 << 20  # the longest request line read


def socket_path(data_dir: Path) -> Path:
    return data_dir / SOCKET_NAME


def guard_listening(path: Path, timeout: float = 1.0) -> bool:
    """Does a guard answer on ``path``? (A socket file left by a killed guard does not.)"""
    if not path.exists():
        return False
    with contextlib.closing(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)) as s:
        s.settimeout(timeout)
        try:
            s.connect(str(path))
        except OSError:
            return False
    return True


def _line(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":"), default=str).encode() + b"\n"


class _Client:
    __slots__ = ("peer", "writer")

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.peer = ""


class ConsoleServer(LoopThread):
    """Started by the guard host once its engine is open; ``publish`` from the engine thread."""

    def __init__(self, host: Any, path: Path) -> None:
        super().__init__()
        self.host = host
        self.path = path
        self._server: asyncio.AbstractServer | None = None
        self._clients: set[_Client] = set()
        self.dropped = 0  # clients disconnected for reading too slowly

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Bind (replacing a socket file no guard answers on) and serve on a thread."""
        if guard_listening(self.path):
            raise OSError(f"another guard answers on {self.path}")
        self.path.unlink(missing_ok=True)
        self.start_loop("guard-socket", 10)

    async def _serve(self) -> None:
        old = os.umask(0o117)  # created 0660 from the start, never wider for a moment
        try:
            self._server = await asyncio.start_unix_server(
                self._client, path=str(self.path), limit=LINE_LIMIT
            )
        finally:
            os.umask(old)
        os.chmod(self.path, SOCKET_MODE)
        self._ready.set()
        async with self._server:
            await self._server.serve_forever()

    def stop(self) -> None:
        def shut() -> None:
            for c in list(self._clients):
                with contextlib.suppress(Exception):
                    c.writer.write(_line({"type": "bye", "reason": "the guard stops"}))
                    c.writer.close()
            if self._server is not None:
                self._server.close()

        self.stop_loop(shut)
        self.path.unlink(missing_ok=True)

    # ------------------------------------------------------------------ engine side

    def publish(self, event: Event) -> None:
        """Engine thread: encode once, hand over; never blocks."""
        if self.loop is None or not self._clients:
            return
        self.call_soon(self._fanout, _line({"type": "event", "event": encode(event)}))

    def broadcast(self, doc: dict[str, Any]) -> None:
        """Any thread: a message of the guard's own to every client."""
        self.call_soon(self._fanout, _line(doc))

    def _fanout(self, data: bytes) -> None:
        for c in list(self._clients):
            transport = c.writer.transport
            if transport.is_closing():
                continue
            if transport.get_write_buffer_size() > MAX_BACKLOG:
                self.dropped += 1
                transport.abort()  # too slow: it reconnects and catches up from the store
                continue
            c.writer.write(data)

    # ------------------------------------------------------------------ one client

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        client = _Client(writer)
        try:
            writer.write(_line(self.hello()))
            for doc in await asyncio.get_running_loop().run_in_executor(None, self._backlog):
                writer.write(_line(doc))
            self._clients.add(client)
            await writer.drain()
            while True:
                raw = await reader.readline()
                if not raw:
                    break
                reply = await self._answer(raw)
                if reply is not None:
                    writer.write(_line(reply))
                    await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            self._clients.discard(client)
            with contextlib.suppress(Exception):
                writer.close()

    def hello(self) -> dict[str, Any]:
        host = self.host
        config = host.config
        return {
            "type": "hello",
            "protocol": PROTOCOL,
            "version": __version__,
            "pid": os.getpid(),
            "started": host.started,
            "loaded_at": host.loaded_at,
            "config": str(config.path or ""),
            "data_dir": str(config.data_dir),
        }

    def _backlog(self) -> list[dict[str, Any]]:
        """What an attaching console missed (GuardHost.backlog), marked past where it is."""
        docs: list[dict[str, Any]] = []
        for event, past in self.host.backlog(BACKLOG_SECONDS, BACKLOG_ALARMS):
            doc: dict[str, Any] = {"type": "event", "event": encode(event)}
            if past:
                doc["past"] = True
            docs.append(doc)
        docs.append({"type": "caught_up"})
        return docs

    # ------------------------------------------------------------------ requests

    async def _answer(self, raw: bytes) -> dict[str, Any] | None:
        try:
            req = json.loads(raw)
            if not isinstance(req, dict):
                raise ValueError("a request is a JSON object")
        except ValueError as exc:
            return {"type": "reply", "id": None, "ok": False, "error": f"bad request: {exc}"}
        rid = req.get("id")
        op = req.get("op")
        handler: Callable[[dict[str, Any]], Any] | None = getattr(self, f"_op_{op}", None)
        if not isinstance(op, str) or handler is None:
            return {"type": "reply", "id": rid, "ok": False, "error": f"unknown op {op!r}"}
        try:
            result = await asyncio.get_running_loop().run_in_executor(None, handler, req)
        except (WireError, KeyError, TypeError, ValueError) as exc:
            return {"type": "reply", "id": rid, "ok": False, "error": f"{op}: {exc}"}
        except Exception as exc:
            return {"type": "reply", "id": rid, "ok": False, "error": f"{op}: {exc!r}"}
        return {"type": "reply", "id": rid, "ok": True, "result": encode(result)}

    def _delivery(self) -> Any:
        d = self.host.delivery
        if d is None:
            raise ValueError("this guard keeps no delivery.db (started with --dry-run?)")
        return d

    def _op_ping(self, req: dict[str, Any]) -> str:
        return "pong"

    # Windows, top-N and raw lines: a console reads them from the database itself; these
    # serve one that cannot (no read access to it) and other tools.

    def _engine(self) -> Any:
        engine = self.host.engine
        if engine is None:
            raise ValueError("the guard's engine is restarting (a config reload): ask again")
        return engine

    def _op_open_window(self, req: dict[str, Any]) -> Any:
        return self._engine().open_window(str(req["parser"]))

    def _op_window(self, req: dict[str, Any]) -> Any:
        return self._engine().window_of(str(req["parser"]), int(req["start"]))

    def _op_events(self, req: dict[str, Any]) -> Any:
        group = req.get("group")
        return self._engine().events_of(
            str(req["parser"]),
            int(req["start"]),
            int(req["end"]),
            dict(group) if group is not None else None,
            limit=min(int(req.get("limit", 10_000)), 10_000),
        )

    def _op_alarm_events(self, req: dict[str, Any]) -> Any:
        limit = min(int(req.get("limit", 10_000)), 10_000)
        return self._engine().alarm_events(decode(req["alarm"]), limit)

    def _op_open_totals(self, req: dict[str, Any]) -> Any:
        return self._engine().open_totals()

    def _op_recent_windows(self, req: dict[str, Any]) -> Any:
        return self._engine().recent_windows(str(req["parser"]), int(req.get("limit", 60)))

    def _op_sources(self, req: dict[str, Any]) -> Any:
        st = self.host.last_stats
        return {"files": st.files, "guards": st.guards} if st is not None else {}

    def _op_status(self, req: dict[str, Any]) -> dict[str, Any]:
        return self.host.status()

    def _op_delivery(self, req: dict[str, Any]) -> dict[str, Any]:
        """Acks, silences and each channel's state, as a console shows them."""
        from alser_tui.engine.notify.lifecycle import Silences

        d = self._delivery()
        return {
            "acks": sorted(d.acked()),
            "silences": [encode(s) for s in Silences(d.db).list(time.time())],
            "channels": [s.line() for s in d.status().values()],
        }

    def _op_ack(self, req: dict[str, Any]) -> int:
        alarms = [decode(a) for a in req["alarms"]]
        d = self._delivery()
        for a in alarms:
            d.ack(a)
        self.host.delivery_changed("console")
        return len(alarms)

    def _op_silence(self, req: dict[str, Any]) -> Any:
        d = self._delivery()
        matchers = tuple((str(k), str(v)) for k, v in req.get("matchers", ()))
        s = d.silence(
            parser=str(req.get("parser", "")),
            kind=str(req.get("kind", "")),
            matchers=matchers,
            duration=float(req["seconds"]),
            comment=str(req.get("comment", "")),
        )
        self.host.delivery_changed("console")
        return s

    def _op_unsilence(self, req: dict[str, Any]) -> bool:
        done = bool(self._delivery().unsilence(int(req["sid"])))
        self.host.delivery_changed("console")
        return done

    # ------------------------------------------------------------------ watching

    def delivery_changed(self, origin: str) -> None:
        """Acks or silences changed (here, in the web view): every console rereads them."""
        self.broadcast({"type": "delivery_changed", "origin": origin})

    @property
    def clients(self) -> int:
        return len(self._clients)


def register_reply_types() -> None:
    """What travels in replies beside the events: silences, aggregates."""
    from alser_tui.engine.notify.lifecycle import Silence
    from alser_tui.engine.store import Aggregate, GroupRow
    from alser_tui.guard.wire import register

    for cls in (Silence, Aggregate, GroupRow):
        register(cls)
