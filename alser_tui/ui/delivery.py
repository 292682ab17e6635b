"""The console's own part of alarm delivery: the silence durations it offers, and a desktop
notification of its own (the acks, silences and channels are the link's: link/local.py
in-process, link/remote.py attached to a guard).

No Textual here. DesktopCue.send spawns a process: the app runs it on a worker thread.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from alser_tui.engine.alarms import Alarm

if TYPE_CHECKING:
    pass

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
