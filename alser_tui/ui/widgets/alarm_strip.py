"""The always-visible alarm strip: firing and unacked counts, and the last alarm."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from alser_tui.ui.model import ConsoleModel, guard_words
from alser_tui.ui.text import clock, css_beside, log_text, show


class AlarmStrip(Static):
    DEFAULT_CSS = css_beside(__file__)

    def show(self, model: ConsoleModel, muted: bool) -> None:
        firing = model.firing()
        unacked = model.unacked()
        missing, _silent = model.troubled_guards()
        text = Text()
        if firing:
            text.append(f"● {len(firing)} firing")
        if missing:
            # No alarm can come from a guard that reads nothing: never "nothing firing" then.
            text.append(" · " if firing else "")
            text.append(f"∅ {guard_words(len(missing))} without a source")
        if not firing and not missing:
            text.append("○ nothing firing")
        text.append(f" ({unacked} unacked)" if unacked else " (all acked)" if model.alarms else "")
        silences = len(model.active_silences())
        if silences:
            text.append(f" · ⊘ {silences} silence{'s' if silences != 1 else ''}")
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
