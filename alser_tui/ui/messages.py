"""Textual messages that carry engine events and query results to the UI thread."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.message import Message

from alser_tui.engine.events import Event


class EngineEvent(Message):
    """An engine event, posted from the engine thread."""

    def __init__(self, event: Event, *, past: bool = False) -> None:
        super().__init__()
        self.event = event
        self.past = past  # an attached console's backlog: raised before it came


class LinkChanged(Message):
    """The guard an attached console hears said something of its own: ``what`` is
    "delivery" (acks or silences changed elsewhere) or "reloaded" (a new config)."""

    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what


class EngineOpened(Message):
    """``engine.open()`` returned: queries may start."""


class EngineFailed(Message):
    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class QueryDone(Message):
    """A query ran in the query worker; ``deliver`` applies its result on the UI thread."""

    def __init__(self, kind: str, deliver: Callable[[Any], Any], result: Any, stamp: int) -> None:
        super().__init__()
        self.kind = kind
        self.deliver = deliver
        self.result = result
        self.stamp = stamp


class DeliveryOpened(Message):
    """delivery.db is open (or could not be): what a previous run left in it."""

    def __init__(self, snapshot: Any, error: str) -> None:
        super().__init__()
        self.snapshot = snapshot  # ui.delivery.Snapshot | None
        self.error = error


class ToastPosted(Message):
    """``App.notify`` from any thread becomes a toast on the UI thread."""

    def __init__(self, text: str, severity: str, timeout: float) -> None:
        super().__init__()
        self.text = text
        self.severity = severity
        self.timeout = timeout
