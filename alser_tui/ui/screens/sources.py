"""Every live source with its position, lag, rate and last line; the unguarded files in the
watched folders; the engine's warnings and errors."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, cast

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Static

from alser_tui.ui.model import source_trouble
from alser_tui.ui.text import log_text, show
from alser_tui.ui.widgets.alarm_strip import AlarmStrip
from alser_tui.ui.widgets.key_bar import KeyBar
from alser_tui.ui.widgets.source_table import SourceTable
from alser_tui.ui.widgets.status_line import size_words
from alser_tui.ui.widgets.toast_shelf import ToastShelf
from alser_tui.ui.widgets.unguarded_table import UnguardedTable

if TYPE_CHECKING:
    from alser_tui.engine.events import Stats
    from alser_tui.ui.app import AlserApp

AGO_EVERY = 4  # ticks between repaints without new stats ("3s ago" moves on)
NOTES_MAX = 200  # characters of one warning or error shown


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


class SourcesScreen(Screen[None]):
    CSS_PATH = "sources.tcss"
    AUTO_FOCUS = "SourceTable"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="sources-back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._ticks = 0

    @property
    def alser(self) -> AlserApp:
        return cast("AlserApp", self.app)

    @property
    def base(self) -> str:
        """Paths under the config's folder are shown relative to it, as the config has them."""
        path = self.alser.config.path
        return str(Path(path).resolve().parent) if path else ""

    def compose(self) -> ComposeResult:
        yield AlarmStrip()
        yield Static(id="sources-title")
        yield SourceTable()
        yield UnguardedTable()
        yield Static(id="sources-notes")
        yield ToastShelf()
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one(SourceTable).border_title = "sources"
        self.tick({"alarms", "stats"})

    def tick(self, dirty: set[str]) -> None:
        model = self.alser.model
        self._ticks += 1
        if "alarms" in dirty or "silences" in dirty:
            self.query_one(AlarmStrip).show(model, self.alser.muted)
        if "stats" not in dirty and self._ticks % AGO_EVERY:
            return
        st = model.stats
        base = self.base
        files = st.files if st is not None else ()
        steady = self.alser.steady
        self.query_one(SourceTable).show(
            files,
            model.source_rates,
            model.clock(),
            steady=steady,
            base=base,
            guards=model.guards,
        )
        unguarded = st.unguarded if st is not None else ()
        table = self.query_one(UnguardedTable)
        table.show(unguarded, base)
        table.border_title = (
            f"unguarded: {plural(len(unguarded), 'file')} in the watched folders no guard covers"
            if unguarded
            else "unguarded files: none"
        )
        table.set_class(bool(unguarded), "-found")
        show(self.query_one("#sources-title", Static), self._title(st))
        notes = self.query_one("#sources-notes", Static)
        show(notes, self._notes(st, base), fixed=False)
        notes.border_title = self._notes_title(st)
        notes.set_class(bool(st is not None and st.errors), "-errors")

    def _title(self, st: Stats | None) -> str:
        model = self.alser.model
        if model.error:
            return "the engine stopped: see the main screen"
        if st is None:
            return "starting…" if not model.opened else "reading…"
        if st.mode != "live":
            return "replay: the history files are read once; nothing is followed live"
        behind = sum(f.lag for f in st.files if f.kind != "table")
        parts = [plural(len(st.files), "source"), f"{size_words(behind)} behind"]
        if trouble := source_trouble(model):
            parts.append(trouble)
        if st.catching_up:
            parts.append("catching up")
        return " · ".join(parts)

    @staticmethod
    def _notes(st: Stats | None, base: str) -> Text:
        """Errors (✗), then warnings (!); paths under the config's folder relative to it."""
        if st is None or not (st.errors or st.warnings):
            return Text("none", no_wrap=True)
        text = Text(no_wrap=True, overflow="ellipsis")
        prefix = base.rstrip(os.sep) + os.sep if base else ""
        for mark, items in (("✗ ", st.errors), ("! ", st.warnings)):
            for item in items:
                if text:
                    text.append("\n")
                text.append(mark)
                text.append_text(log_text(item.replace(prefix, "") if prefix else item, NOTES_MAX))
        return text

    @staticmethod
    def _notes_title(st: Stats | None) -> str:
        if st is None or not (st.errors or st.warnings):
            return "warnings"
        parts = []
        if st.errors:
            parts.append(plural(len(st.errors), "error"))
        if st.warnings:
            parts.append(plural(len(st.warnings), "warning"))
        return " · ".join(parts)

    def action_back(self) -> None:
        self.app.pop_screen()
