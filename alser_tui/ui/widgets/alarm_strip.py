"""The always-visible alarm strip: firing and unacked counts, and the last alarm."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from alser_tui.ui.model import ConsoleModel, strip_summary
from alser_tui.ui.text import clock, css_beside, log_text, show


class AlarmStrip(Static):
    DEFAULT_CSS = css_beside(__file__)

    def show(self, model: ConsoleModel, muted: bool) -> None:
        firing = model.firing()
        unacked = model.unacked()
        missing, _silent = model.troubled_guards()
        text = Text(strip_summary(model, firing))
        if model.alarms:
            last = model.alarms[-1].alarm
            text.append(" · last: ")
            text.append_text(log_text(last.text, 90))
            text.append(f" {clock(last.ts)}")
        if muted:
            text.append(" · bell muted")
        self.set_class(bool(firing or missing), "-firing")
        self.set_class(bool(unacked) and not firing, "-unacked")
        show(self, text)
