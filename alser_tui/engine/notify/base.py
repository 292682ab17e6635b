"""The one small interface every channel implements."""

from __future__ import annotations

from typing import Any

from alser_tui.engine.notify.config import ChannelConfig


class DeliveryError(Exception):
    """A send failed. ``permanent``: retrying the same message cannot help (a 400, say)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Sender:
    """A channel's transport. Every method runs on the channel's own worker thread."""

    def __init__(self, config: ChannelConfig) -> None:
        self.config = config

    def unavailable(self) -> str:
        """Why this channel cannot work here at all ("" when it can)."""
        return ""

    def state(self) -> str:
        """An extra state word for the status line ("connected"...), or ""."""
        return ""

    def maintain(self) -> None:
        """Called when idle: keep a connection alive, answer pings."""

    def send(self, doc: dict[str, Any], ident: str) -> None:
        """Deliver one message document; raise DeliveryError or OSError on failure.

        ``ident`` is stable per outbox message (a Message-ID, an idempotency key).
        """
        raise NotImplementedError

    def close(self) -> None:
        """Release connections (the worker is stopping)."""
