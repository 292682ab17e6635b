"""A client of the guard's socket: one connection, JSON lines both ways (PROTOCOL.md).

Used by ``alser-tui status`` (one request) and by the attached console (events as they come,
requests beside them). No Textual here.
"""

from __future__ import annotations

import itertools
import json
import socket
import threading
from pathlib import Path
from typing import Any

from alser_tui.guard.wire import PROTOCOL

CONNECT_TIMEOUT = 2.0


class GuardGone(ConnectionError):
    """No guard answers, or it went away."""


class GuardClient:
    """Connects at once; ``hello`` is the guard's first message. ``messages()`` yields what
    the guard sends; ``request()`` may be called from any thread, its reply comes back
    through ``messages()`` (the reader matches it by id, see ``call``)."""

    def __init__(self, path: Path, *, timeout: float = CONNECT_TIMEOUT) -> None:
        self.path = path
        self._ids = itertools.count(1)
        self._wlock = threading.Lock()
        self._replies: dict[int, tuple[threading.Event, list[dict[str, Any]]]] = {}
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(str(path))
        except OSError as exc:
            self.sock.close()
            raise GuardGone(f"no guard answers on {path}: {exc.strerror or exc}") from exc
        self._file = self.sock.makefile("rb")
        hello = self._read()
        if hello.get("type") != "hello":
            self.close()
            raise GuardGone(f"{path}: not a guard (it said {str(hello)[:80]!r})")
        if int(hello.get("protocol", 0)) != PROTOCOL:
            self.close()
            raise GuardGone(
                f"the guard speaks protocol {hello.get('protocol')}, this alser-tui"
                f" {PROTOCOL}: run the same version (guard {hello.get('version')})"
            )
        self.hello = hello
        self.sock.settimeout(None)

    def _read(self) -> dict[str, Any]:
        try:
            raw = self._file.readline()
        except OSError as exc:
            raise GuardGone(f"the guard went away: {exc}") from exc
        if not raw:
            raise GuardGone("the guard went away")
        doc = json.loads(raw)
        if not isinstance(doc, dict):
            raise GuardGone("the guard sent something that is not a message")
        return doc

    def messages(self) -> Any:
        """Every message the guard sends, until it goes (GuardGone). Replies to ``call``
        are handed to their caller, not yielded."""
        while True:
            doc = self._read()
            if doc.get("type") == "reply" and isinstance(doc.get("id"), int):
                waiting = self._replies.pop(doc["id"], None)
                if waiting is not None:
                    waiting[1].append(doc)
                    waiting[0].set()
                    continue
            yield doc

    def send(self, op: str, **args: Any) -> int:
        rid = next(self._ids)
        line = json.dumps({"id": rid, "op": op, **args}, default=str).encode() + b"\n"
        with self._wlock:
            try:
                self.sock.sendall(line)
            except OSError as exc:
                raise GuardGone(f"the guard went away: {exc}") from exc
        return rid

    def call(self, op: str, timeout: float = 10.0, **args: Any) -> Any:
        """Send a request and wait for its reply, while another thread reads ``messages()``.
        Raises GuardGone (no reply in time, or the guard went away) or RuntimeError (the
        guard refused: its words)."""
        done = threading.Event()
        box: list[dict[str, Any]] = []
        rid = next(self._ids)
        self._replies[rid] = (done, box)
        line = json.dumps({"id": rid, "op": op, **args}, default=str).encode() + b"\n"
        with self._wlock:
            try:
                self.sock.sendall(line)
            except OSError as exc:
                self._replies.pop(rid, None)
                raise GuardGone(f"the guard went away: {exc}") from exc
        if not done.wait(timeout):
            self._replies.pop(rid, None)
            raise GuardGone(f"the guard did not answer {op} within {timeout:.0f} s")
        if not box:
            raise GuardGone("the guard went away")
        return _result(box[0])

    def ask(self, op: str, **args: Any) -> Any:
        """One request and its reply, read on this thread (nobody else reads)."""
        rid = self.send(op, **args)
        while True:
            doc = self._read()
            if doc.get("type") == "reply" and doc.get("id") == rid:
                return _result(doc)

    def close(self) -> None:
        for done, _box in self._replies.values():
            done.set()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def _result(doc: dict[str, Any]) -> Any:
    if not doc.get("ok"):
        raise RuntimeError(str(doc.get("error") or "the guard refused"))
    return doc.get("result")
