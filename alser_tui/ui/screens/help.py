"""Every key on one screen, built from the bindings themselves so it cannot go stale."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from alser_tui.ui.widgets.keyed_table import KeyedTable

KEY_NAMES = {
    "escape": "esc",
    "question_mark": "?",
    "left": "←",
    "right": "→",
    "up": "↑",
    "down": "↓",
    "space": "space",
    "enter": "enter",
    "slash": "/",
    "delete": "del",
    "pagedown": "PgDn",
    "pageup": "PgUp",
}

HelpSection = tuple[str, Sequence[BindingType]]


def key_name(key: str) -> str:
    return " ".join(KEY_NAMES.get(k.strip(), k.strip()) for k in key.split(","))


def help_rows(sections: Sequence[HelpSection]) -> list[tuple[str, str, str]]:
    """(where, keys, what) for every binding, hidden ones included; digits as one row."""
    rows: list[tuple[str, str, str]] = []
    for where, bindings in sections:
        for b in bindings:
            if not isinstance(b, Binding):
                continue
            if b.id is not None and b.id.endswith("-alias"):
                continue  # another key's synonym, listed under that one
            if b.id is not None and b.id.startswith("jump-"):
                if b.id == "jump-0":
                    rows.append((where, "1 … 9, 0", "jump to the n-th parser"))
                continue
            rows.append((where, key_name(b.key), b.description or b.action))
    return rows


def merged(rows: Sequence[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """One line per key and meaning: the same key doing the same in several places names
    them all (so every key fits one screen)."""
    out: dict[tuple[str, str], list[str]] = {}
    for where, keys, what in rows:
        places = out.setdefault((keys, what), [])
        if where not in places:
            places.append(where)
    # Then keys that do the same in the same places share a line (``j ↓  Down``).
    lines: dict[tuple[str, str], list[str]] = {}
    for (keys, what), places in out.items():
        lines.setdefault((", ".join(places), what), []).append(keys)
    return [(where, " ".join(keys), what) for (where, what), keys in lines.items()]


class HelpTable(KeyedTable):
    # A narrow terminal cuts the places and meanings, never the keys.
    FLEX_COLUMNS: ClassVar[frozenset[str]] = frozenset({"where", "does"})


class HelpScreen(ModalScreen[None]):
    CSS_PATH = "help.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark", "dismiss", "Close", id="close-help"),
    ]

    def __init__(self, sections: Sequence[HelpSection], extra: Sequence[tuple[str, str, str]]):
        super().__init__()
        order = {where: i for i, (where, _b) in enumerate(sections)}
        rows = [*help_rows(sections), *extra]
        # Extra rows join their section (a stable sort keeps each section's own order).
        self.rows = sorted(rows, key=lambda r: order.get(r[0], len(order)))
        self.shown = merged(self.rows)

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Static("Keys  ·  esc or ? closes", id="help-title")
            yield HelpTable(id="help-table")

    def on_mount(self) -> None:
        table = self.query_one(HelpTable)
        table.set_columns([("where", "where"), ("key", "key"), ("does", "does")])
        table.sync(
            [
                (str(i), [Text(where), Text(keys), Text(what)])
                for i, (where, keys, what) in enumerate(self.shown)
            ]
        )
        table.focus()

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
