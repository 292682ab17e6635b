"""Formatting helpers shared by the widgets: times, amounts, sparklines, safe log text."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from rich.cells import cell_len
from rich.errors import StyleSyntaxError
from rich.style import Style
from rich.text import Text

from alser_tui.sanitize import clean

BARS = "▁▂▃▄▅▆▇█"


def css_beside(module_file: str) -> str:
    """The .tcss file next to a widget module (widgets have DEFAULT_CSS, not CSS_PATH)."""
    return Path(module_file).with_suffix(".tcss").read_text(encoding="utf-8")


def clock(ts: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ts))


def span(start: float, end: float) -> str:
    return f"{clock(start)} ~ {clock(end)}"


def amount(value: float | None) -> str:
    """Whole amounts with thousands separators; sums of money or ms keep two decimals."""
    if value is None:
        return "–"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    return f"{int(value):,}"


def compact(value: float) -> str:
    """A short count for narrow places: 950, 12.3k, 4.1M."""
    value = float(value)
    for unit, size in (("M", 1e6), ("k", 1e3)):
        if abs(value) >= size:
            return f"{value / size:.1f}{unit}"
    return f"{value:.0f}"


def bar_levels(values: Sequence[float]) -> list[int]:
    """Bar heights 0-7 scaled between the values' own minimum and maximum, so that a steady
    stream with one burst shows the burst (flat series sit at mid height)."""
    if not values:
        return []
    lo, hi = min(values), max(values)
    last = len(BARS) - 1
    if hi <= lo:
        return [last // 2 if hi > 0 else 0] * len(values)
    return [round((v - lo) / (hi - lo) * last) for v in values]


def sparkline(values: Sequence[float], width: int) -> str:
    """The last ``width`` values as block characters."""
    return "".join(BARS[level] for level in bar_levels(list(values)[-width:]))


def log_text(value: Any, maxlen: int = 0, style: str | Style = "") -> Text:
    """Log-derived text for a widget: control characters made visible, never read as markup."""
    s = clean("" if value is None else str(value))
    if maxlen and len(s) > maxlen:
        s = s[: maxlen - 1] + "…"
    return Text(s, style=style, no_wrap=True, overflow="ellipsis")


def parser_style(colors: Iterable[str]) -> Style:
    """A parser's configured colour words as a Rich style; an unknown word is ignored."""
    style = Style()
    for word in colors:
        try:
            style += Style.parse(word)
        except StyleSyntaxError:
            continue
    return style


def group_key(group: dict[str, Any]) -> str:
    """A stable row key for a group (repr keeps None apart from "None", 1 from "1")."""
    return repr(tuple(group.items()))


def group_words(group: dict[str, Any], maxlen: int = 40) -> str:
    """``area=us file=map.php line=2828`` for breadcrumbs (cleaned, long values cut)."""
    parts = []
    for k, v in group.items():
        s = clean("" if v is None else str(v))
        if len(s) > maxlen:
            s = s[: maxlen - 1] + "…"
        parts.append(f"{k}={s}")
    return " ".join(parts)


def show(widget: Any, content: str | Text, *, fixed: bool = True) -> bool:
    """Put ``content`` in a Static only when it changed. A ``fixed`` widget's size does not
    depend on its text, so no layout pass is asked for: a layout pass repaints the whole
    screen, and these lines change several times a second. Returns whether it changed."""
    text = content if isinstance(content, Text) else Text(content)
    signature = (text.plain, str(text.style), tuple(text.spans))
    last = getattr(widget, "_alser_shown", None)
    if last == signature:
        return False
    resized = not fixed and (last is None or cell_len(last[0]) != text.cell_len)
    widget._alser_shown = signature
    widget.update(content, layout=resized)
    return True
