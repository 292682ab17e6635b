"""The status line: input rate, parsed / rejected / late counts, files followed, memory."""

from __future__ import annotations

import os

from rich.text import Text
from textual.widgets import Static

from alser_tui.ui.model import ConsoleModel
from alser_tui.ui.text import compact, css_beside, log_text


class StatusLine(Static):
    DEFAULT_CSS = css_beside(__file__)

    def show(self, model: ConsoleModel, *, steady: bool = False) -> None:
        """``steady`` hides what varies from run to run (rates, memory) for snapshots."""
        text = Text()
        if model.error:
            text.append("engine stopped: ", style="bold")
            text.append_text(log_text(model.error, 120))
            self.set_class(True, "-error")
            self.update(text)
            return
        self.set_class(False, "-error")
        st = model.stats
        if not model.opened:
            self.update("starting…")
            return
        if st is None:
            self.update("reading…")
            return
        rate = "–" if steady else compact(st.lines_per_s)
        if st.catching_up and model.finished is None:
            name = os.path.basename(st.current_file) or "…"
            text.append("reading ")
            text.append_text(log_text(name, 40))
            text.append(f" {st.lines:,} lines @ {rate}/s · ")
        else:
            text.append(f"{st.lines:,} lines · {rate}/s · ")
        text.append(f"parsed {st.parsed:,} · rejected {st.rejected:,} · late {st.late:,}")
        if st.malformed:
            text.append(f" · malformed {st.malformed:,}")
        if st.mode == "live":
            text.append(f" · {len(st.files)} files followed")
        else:
            text.append(" · replay" + (" done" if model.finished is not None else ""))
        if not steady:
            text.append(f" · {st.rss / 1048576:.0f} MB")
        self.update(text)
