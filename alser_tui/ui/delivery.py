"""The console's side of alarm delivery: acknowledgements and silences kept in delivery.db
(shared with every channel, with --no-ui and with `alser-tui silence`), the channels' states
for the status line, and a desktop notification of the console's own.

No Textual here. Everything but the constructors does SQLite or process I/O: the app runs it
on its query thread, never on the UI thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alser_tui.engine.alarms import Alarm
from alser_tui.engine.config import Config

if TYPE_CHECKING:
    from alser_tui.engine.notify.lifecycle import Silence
    from alser_tui.engine.notify.manager import Delivery

MORNING_HOUR = 9
DESKTOP_GAP = 10.0  # seconds between two desktop notifications: a burst makes one


@dataclass(frozen=True, slots=True)
class Choice:
    label: str
    seconds: float


def silence_choices(now: float) -> list[Choice]:
    """15 min, 1 h, 4 h, and until the next 09:00 (named with its day: never ambiguous)."""
    until = next_morning(now)
    today = time.localtime(now)[:3] == time.localtime(until)[:3]
    label = "until 09:00 today" if today else "until tomorrow 09:00"
    return [
        Choice("15 min", 15 * 60),
        Choice("1 h", 3600),
        Choice("4 h", 4 * 3600),
        Choice(label, until - now),
    ]


def next_morning(now: float) -> float:
    """The first 09:00 local time after ``now`` (mktime normalises day 32, DST included)."""
    t = time.localtime(now)
    for extra in (0, 1):
        at = time.mktime((t.tm_year, t.tm_mon, t.tm_mday + extra, MORNING_HOUR, 0, 0, 0, 0, -1))
        if at > now:
            return at
    return now + 86400  # unreachable: tomorrow's 09:00 is always later


def glob_literal(value: Any) -> str:
    """A silence matcher is a glob: brackets make * ? [ in a value match only themselves."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in str(value))


def group_matchers(group: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    return tuple((k, glob_literal(v)) for k, v in group.items())


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What delivery.db holds now, and each channel's state."""

    silences: tuple[Silence, ...]
    acks: frozenset[str]
    channels: tuple[str, ...]


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


class DesktopCue:
    """A desktop notification per burst of new alarms where a desktop session exists; over
    SSH it says why not and the bell and the alarm strip carry on alone."""

    def __init__(self, enabled: bool | None = None, *, channel: bool = False) -> None:
        """``enabled`` None: wherever a display is found. ``channel``: a configured desktop
        channel sends them already (then the console does not send its own)."""
        from alser_tui.engine.notify.desktop import display_missing

        self.channel = channel
        self.enabled = enabled
        self.why = "" if enabled else display_missing() if enabled is None else "off"
        self.sent = 0
        self.last = float("-inf")
        self._sender: Any = None

    @property
    def active(self) -> bool:
        return not self.channel and not self.why

    def state(self) -> str:
        if self.channel:
            return ""  # the channel's own status says it
        if self.why == "off":
            return "desktop off"
        if self.why:
            # Over SSH: the bell and the alarm strip carry on alone, and the line says why.
            return f"desktop off ({self.why.removeprefix('unavailable: ')})"
        return "desktop ok"

    def send(self, alarms: Sequence[Alarm]) -> None:
        """Runs on a worker thread (notify-py spawns a process)."""
        from alser_tui.engine.notify.base import DeliveryError
        from alser_tui.engine.notify.config import DesktopConfig
        from alser_tui.engine.notify.desktop import DesktopSender
        from alser_tui.engine.notify.lifecycle import alarm_doc
        from alser_tui.engine.notify.render import alarm_message, digest

        if not alarms or not self.active:
            return
        if self._sender is None:
            self._sender = DesktopSender(DesktopConfig(name="desktop", type="desktop"))
        messages = [alarm_message(alarm_doc(a)) for a in alarms]
        doc = messages[0] if len(messages) == 1 else digest(messages, "console")
        try:
            self._sender.send(doc, f"console-{self.sent}")
            self.sent += 1
        except DeliveryError as exc:
            self.why = str(exc)  # shown in the status line from now on
