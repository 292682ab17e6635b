"""The in-process side of the link: the console runs the engine itself (no guard answers on
its data dir) and the delivery with it. ``Engine`` (engine/engine.py) is the engine; this
module holds the console's delivery: acknowledgements and silences kept in delivery.db
(shared with every channel, with --no-ui and with `alser-tui silence`) and the channels.

Everything but the constructors does SQLite or process I/O: the app runs it on its query
thread, never on the UI thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alser_tui.engine.alarms import Alarm
from alser_tui.engine.config import Config
from alser_tui.link import Snapshot

if TYPE_CHECKING:
    from alser_tui.engine.notify.lifecycle import Silence
    from alser_tui.engine.notify.manager import Delivery


def glob_literal(value: Any) -> str:
    """A silence matcher is a glob: brackets make * ? [ in a value match only themselves."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in str(value))


def group_matchers(group: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple((k, glob_literal(v)) for k, v in group.items())


class ConsoleDelivery:
    """Owns the Delivery the console subscribes to the engine (a Delivery without channels
    when none are configured: acks and silences persist all the same)."""

    def __init__(
        self,
        config: Config,
        *,
        replay: bool = False,
        data_dir: Path | None = None,
        enabled: bool = True,
        clock: Callable[[], float] = time.time,
        deliver: bool = True,
    ) -> None:
        self.config = config
        self.replay = replay
        self.deliver = deliver
        self.data_dir = data_dir
        self.enabled = enabled
        self.clock = clock
        self.delivery: Delivery | None = None
        self.error = ""

    @property
    def has_desktop_channel(self) -> bool:
        dc = self.config.delivery
        return dc is not None and any(c.type == "desktop" and c.enabled for c in dc.channels)

    def open(self) -> Snapshot | None:
        """Open delivery.db and start the channels; returns what a previous run left."""
        if not self.enabled:
            return None
        from alser_tui.engine.notify.manager import delivery_for

        try:
            self.delivery = delivery_for(
                self.config,
                replay=self.replay,
                clock=self.clock,
                always=True,
                data_dir=self.data_dir,
                deliver=self.deliver,
            )
            assert self.delivery is not None
            self.delivery.start()
        except Exception as exc:  # a broken delivery.db must not keep the console from running
            self.delivery = None
            self.error = f"{type(exc).__name__}: {exc}"
            return None
        return self.snapshot()

    def snapshot(self) -> Snapshot | None:
        d = self.delivery
        if d is None:
            return None
        from alser_tui.engine.notify.lifecycle import Silences

        # A plain read of the table: the lifecycle's own cache belongs to its dispatcher.
        silences = Silences(d.db).list(self.clock())
        channels = tuple(s.line() for s in d.status().values())
        return Snapshot(tuple(silences), frozenset(d.acked()), channels)

    def ack(self, alarms: Sequence[Alarm]) -> int:
        d = self.delivery
        if d is None:
            return 0
        for a in alarms:
            d.ack(a)
        return len(alarms)

    def silence(
        self, parser: str, group: dict[str, Any], seconds: float, comment: str = ""
    ) -> Silence | None:
        d = self.delivery
        if d is None:
            return None
        return d.silence(
            parser=parser, matchers=group_matchers(group), duration=seconds, comment=comment
        )

    def unsilence(self, sid: int) -> bool:
        d = self.delivery
        return d is not None and d.unsilence(sid)

    def stop(self) -> None:
        """Flush what is held and wait (bounded) for the channels, as --no-ui does."""
        d, self.delivery = self.delivery, None
        if d is not None:
            d.stop()
