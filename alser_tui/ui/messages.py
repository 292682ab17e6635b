"""Textual messages that carry engine events and query results to the UI thread."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.message import Message

from alser_tui.engine.events import Event


class EngineEvent(Message):
    """An engine event, posted from the engine thread."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


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
