"""The footer: the keys of the current context on one line (at most seven, see the tests).

Textual's Footer rebuilds one widget per key on every focus or screen change; measured here
that was ~30 ms of each screen switch (new widgets, their styles, their data bindings). This
draws the same line as text from the screen's active bindings, and only when they change.
"""

from __future__ import annotations

from itertools import groupby
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget

from alser_tui.ui.text import css_beside

Entry = tuple[str, str, str, bool]  # key as shown, description, key to press, enabled


class KeyBar(Widget):
    DEFAULT_CSS = css_beside(__file__)
    COMPONENT_CLASSES: ClassVar[set[str]] = {"key-bar--key", "key-bar--description"}

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[Entry] = []
        self._spans: list[tuple[int, int, str]] = []  # x from, x to, key: for clicks

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._update()

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        if self.is_attached and screen is self.screen:
            self._update()

    def _update(self) -> None:
        entries = self._entries()
        if entries != self.entries:
            self.entries = entries
            self.refresh()

    def _entries(self) -> list[Entry]:
        """One entry per action shown; a group's keys (← →) share its description."""
        seen: dict[str, tuple[Binding, bool]] = {}
        for _node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if binding.show and binding.action not in seen:
                seen[binding.action] = (binding, enabled)
        app = self.app
        out: list[Entry] = []
        for group, items in groupby(seen.values(), key=lambda item: item[0].group):
            listed = list(items)
            if group is not None and len(listed) > 1:
                keys = "".join(app.get_key_display(b) for b, _e in listed)
                out.append((keys, group.description, listed[0][0].key, True))
            else:
                out += [(app.get_key_display(b), b.description, b.key, e) for b, e in listed]
        return out

    @property
    def labels(self) -> list[str]:
        return [description for _k, description, _p, _e in self.entries]

    def render(self) -> Text:
        key_style = self.get_component_rich_style("key-bar--key")
        description_style = self.get_component_rich_style("key-bar--description")
        text = Text(" ", no_wrap=True, overflow="crop", end="")
        spans: list[tuple[int, int, str]] = []
        for shown, description, press, enabled in self.entries:
            start = text.cell_len
            dim = "" if enabled else " dim"
            text.append(shown, style=f"{key_style}{dim}")
            if description:
                text.append(" " + description, style=f"{description_style}{dim}")
            spans.append((start, text.cell_len, press))
            text.append("  ")
        self._spans = spans
        return text

    def on_click(self, event: events.Click) -> None:
        for start, end, press in self._spans:
            if start <= event.x < end:
                self.app.simulate_key(press.split(",")[0])
                return
