"""The link between the console and what guards the logs: all the console uses of it.

Two implementations, chosen at start (cli.py):

- in-process (``link/local.py``): no guard answers on the data dir, so the console runs the
  engine itself (``alser_tui.engine.engine.Engine``) and the delivery with it, as before;
- attached (``link/remote.py``): a guard (``alser-tui --no-ui``) runs on the data dir; the
  console hears its events over its socket, reads windows and raw lines from its database
  (read-only) and sends it acks and silences. Quitting the console leaves the guard alone.

The app holds an ``EngineLink`` and a ``DeliveryLink``; nothing below ``alser_tui.ui``
talks to anything else. No Textual here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from alser_tui.engine.alarms import Alarm
    from alser_tui.engine.events import Event
    from alser_tui.engine.notify.lifecycle import Silence
    from alser_tui.engine.store import Aggregate


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What delivery.db holds now, and each channel's state."""

    silences: tuple[Silence, ...]
    acks: frozenset[str]
    channels: tuple[str, ...]


class EngineLink(Protocol):
    """Events to subscribers from ``run()``'s thread; queries from any thread."""

    runs: Any  # parser id -> run with .config and .max_ts
    store: Any  # .path: the database (its size is shown)

    def subscribe(self, fn: Callable[[Event], None]) -> None: ...
    def open(self) -> None: ...
    def run(self) -> Any: ...
    def request_stop(self) -> None: ...
    def close(self) -> None: ...
    def open_window(self, parser_id: str) -> tuple[int, int, Aggregate] | None: ...
    def window_of(self, parser_id: str, start: int) -> Aggregate | None: ...
    def events_of(
        self,
        parser_id: str,
        start: int,
        end: int,
        group: dict[str, Any] | None = None,
        limit: int = 10_000,
    ) -> list[dict[str, Any]]: ...
    def alarm_events(self, alarm: Alarm, limit: int = 10_000) -> list[dict[str, Any]]: ...
    def open_totals(self) -> dict[str, tuple[int, float] | None]: ...
    def recent_windows(
        self, parser_id: str, limit: int = 60
    ) -> list[tuple[int, int, float, list[dict[str, Any]]]]: ...


class DeliveryLink(Protocol):
    """Acks, silences and the channels' states (I/O: called on the query thread)."""

    delivery: Any  # what to subscribe to the engine (in-process), or None
    error: str

    @property
    def has_desktop_channel(self) -> bool: ...
    def open(self) -> Snapshot | None: ...
    def snapshot(self) -> Snapshot | None: ...
    def ack(self, alarms: Sequence[Alarm]) -> int: ...
    def silence(
        self, parser: str, group: dict[str, Any], seconds: float, comment: str = ""
    ) -> Silence | None: ...
    def unsilence(self, sid: int) -> bool: ...
    def stop(self) -> None: ...
