"""Active silences: what each hushes, until when, how long is left; ``d`` lifts one."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message

from alser_tui.ui.text import clock, css_beside, log_text
from alser_tui.ui.widgets.keyed_table import Cell, KeyedTable

if TYPE_CHECKING:
    from alser_tui.engine.notify.lifecycle import Silence


def left_words(seconds: float) -> str:
    """``3h 05m``, ``12m``, ``40s``."""
    s = max(0, int(seconds))
    if s >= 3600:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m"
    return f"{s}s"


def shown_glob(pattern: str) -> str:
    """A matcher as people read it: ``[?]`` (a literal ? the console escaped) shows as ?."""
    return re.sub(r"\[([*?\[])\]", r"\1", pattern)


def match_words(s: Silence) -> str:
    """``kind=threshold file=map.php line=2828``, or ``everything``."""
    parts = [f"kind={s.kind}"] if s.kind else []
    parts += [f"{k}={shown_glob(v)}" for k, v in s.matchers]
    return " ".join(parts) or "everything"


class SilenceTable(KeyedTable):
    DEFAULT_CSS = css_beside(__file__)
    FLEX_COLUMNS: ClassVar[frozenset[str]] = frozenset({"match", "comment"})
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("d,delete", "lift", "Lift", id="lift"),
    ]

    class Lift(Message):
        def __init__(self, silence: Silence) -> None:
            super().__init__()
            self.silence = silence

    def __init__(self) -> None:
        super().__init__()
        self.silences: dict[str, Silence] = {}

    def show(self, silences: Sequence[Silence], now: float) -> None:
        self.set_columns(
            [("#", "id"), ("parser", "parser"), ("match", "match"), ("since", "since"),
             ("until", "until"), ("left", "left"), ("comment", "comment")]
        )  # fmt: skip
        self.silences = {str(s.id): s for s in silences}
        rows: list[tuple[str, list[Cell]]] = []
        for s in sorted(silences, key=lambda s: s.until):
            rows.append(
                (
                    str(s.id),
                    [
                        Text(str(s.id), justify="right"),
                        log_text(s.parser or "any parser", 24),
                        log_text(match_words(s), 200),
                        Text(clock(s.created)),
                        Text(clock(s.until)),
                        Text(left_words(s.until - now), justify="right"),
                        log_text(s.comment, 80),
                    ],
                )
            )
        self.sync(rows)

    def action_lift(self) -> None:
        key = self.cursor_key
        if key is not None and key in self.silences:
            self.post_message(self.Lift(self.silences[key]))
