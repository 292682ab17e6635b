"""The status line: input rate, parsed / rejected / late counts, files followed on the left;
store size and the state of every way an alarm reaches someone on the right."""

from __future__ import annotations

import os

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label

from alser_tui.ui.model import ConsoleModel, source_trouble
from alser_tui.ui.text import compact, css_beside, log_text, show


def size_words(n: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}" if n < 10 * size else f"{n // size:,} {unit}"
    return f"{n} B"


class StatusLine(Horizontal):
    DEFAULT_CSS = css_beside(__file__)

    def compose(self) -> ComposeResult:
        yield Label("starting…", id="status-reading")
        yield Label("", id="status-notifiers")

    @property
    def plain(self) -> str:
        """Both parts as one line of text (tests)."""
        left = self.query_one("#status-reading", Label).content
        right = self.query_one("#status-notifiers", Label).content
        return " · ".join(str(getattr(x, "plain", x)) for x in (left, right) if str(x))

    def show(
        self,
        model: ConsoleModel,
        *,
        steady: bool = False,
        muted: bool = False,
        desktop: str = "",
        link: str = "",
    ) -> None:
        """``steady`` hides what varies from run to run (rates, memory, store size).
        ``link``: the guard an attached console hears ("attached to guard pid N · up 3d")."""
        show(self.query_one("#status-reading", Label), self._reading(model, steady))
        notify = self.query_one("#status-notifiers", Label)
        show(notify, self._notifiers(model, steady, muted, desktop, link), fixed=False)
        trouble = (
            bool(model.notifiers.error)
            or "reconnecting" in link
            or any(
                ("retry" in c or "unavailable" in c or "failed" in c)
                for c in model.notifiers.channels
            )
        )
        notify.set_class(trouble, "-trouble")

    def _reading(self, model: ConsoleModel, steady: bool) -> Text:
        text = Text()
        self.set_class(bool(model.error), "-error")
        st = model.stats
        live = st is not None and st.mode == "live" and model.opened and not model.error
        trouble = source_trouble(model) if live else ""
        self.set_class(bool(trouble), "-sources")
        if model.error:
            text.append("engine stopped: ", style="bold")
            text.append_text(log_text(model.error, 120))
            return text
        if not model.opened:
            return Text("starting…")
        if st is None:
            return Text("reading…")
        rate = "–" if steady else compact(st.lines_per_s)
        if trouble:
            # First: the counters give way at 80 columns, this must not.
            text.append(f"{trouble} · ", style="bold")
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
            followed = sum(f.followed for f in st.files)
            text.append(f" · {followed} files followed")
            if followed < len(st.files):
                text.append(f" · {len(st.files) - followed:,} not followed (see o)", style="bold")
        else:
            text.append(" · replay" + (" done" if model.finished is not None else ""))
        if not steady:
            text.append(f" · {st.rss / 1048576:.0f} MB")
        return text

    def _notifiers(
        self, model: ConsoleModel, steady: bool, muted: bool, desktop: str, link: str
    ) -> Text:
        n = model.notifiers
        parts: list[str] = [link] if link else []
        if n.store_bytes is not None:
            parts.append("store –" if steady else f"store {size_words(n.store_bytes)}")
        parts.append("bell muted" if muted else "bell")
        if desktop:
            parts.append(desktop)
        text = Text(" · ".join(parts))
        for line in n.channels:
            text.append(" · ")
            text.append_text(log_text(line, 80))
        if n.error:
            text.append(" · acks and silences not kept: ")
            text.append_text(log_text(n.error, 60))
        return text
