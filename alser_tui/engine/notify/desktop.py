"""Desktop notifications (notify-py) and the terminal bell."""

from __future__ import annotations

import os
import sys
import time
from typing import IO, Any

from alser_tui.engine.notify.base import DeliveryError, Sender
from alser_tui.engine.notify.config import BellConfig, DesktopConfig
from alser_tui.engine.notify.render import lines, one_line


def display_missing() -> str:
    """Why no desktop notification can show here ("" when one can)."""
    if sys.platform.startswith("linux") and not any(
        os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS")
    ):
        return "unavailable: no display"
    return ""


class DesktopSender(Sender):
    config: DesktopConfig

    def __init__(self, config: DesktopConfig) -> None:
        super().__init__(config)
        self._why = display_missing()

    def unavailable(self) -> str:
        return self._why

    def send(self, doc: dict[str, Any], ident: str) -> None:
        if self._why:
            raise DeliveryError(self._why, permanent=True)
        try:
            # notify-py logs through loguru at import; keep it off our stderr.
            from loguru import logger

            logger.disable("notifypy")
            from notifypy import Notify
        except Exception as exc:  # an import that fails here must not kill the worker
            self._why = f"unavailable: {exc}"
            raise DeliveryError(self._why, permanent=True) from None
        n = Notify()
        n.application_name = self.config.app_name
        body = lines(doc, max_groups=5)
        n.title = one_line(doc)[:120]
        n.message = "\n".join(body[1:])[:1000] or body[0]
        try:
            ok = n.send(block=True)
        except Exception as exc:  # no notify-send, no session bus...: not worth retrying
            raise DeliveryError(f"desktop: {exc or type(exc).__name__}", permanent=True) from None
        if not ok:
            raise DeliveryError("the desktop notifier refused the notification", permanent=True)


class BellSender(Sender):
    """BEL on the controlling terminal: works under the console and under --no-ui."""

    config: BellConfig

    def __init__(self, config: BellConfig, tty: IO[str] | None = None) -> None:
        super().__init__(config)
        self._tty = tty
        self._own = tty is None
        self._why = ""
        self._last = float("-inf")
        if self._tty is None:
            try:
                # Kept open for the run: the bell must not cost an open() per alarm.
                self._tty = open("/dev/tty", "w")
            except OSError:
                self._why = "unavailable: no terminal"

    def unavailable(self) -> str:
        return self._why

    def send(self, doc: dict[str, Any], ident: str) -> None:
        if self._tty is None:
            raise DeliveryError(self._why, permanent=True)
        # One bell per burst: a flood of alarms must not turn into a buzz.
        now = time.monotonic()
        if now - self._last < self.config.min_interval:
            return
        self._last = now
        self._tty.write("\a")
        self._tty.flush()

    def close(self) -> None:
        if self._tty is not None and self._own:
            try:
                self._tty.close()
            except OSError:
                pass
