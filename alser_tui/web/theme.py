"""The console's look for the page: the configured theme's colours as CSS variables, and each
parser's colour words (Rich style words, as the console reads them) as CSS.

The terminal's own ANSI palette (the ``ansi`` theme) has no colours a browser knows: the
page takes the ``dark`` theme's then.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from typing import Any

from alser_tui.resources import data_file

ROLES = ("primary", "secondary", "warning", "error", "success", "accent", "foreground",
         "background", "surface", "panel")  # fmt: skip
FALLBACK = {
    "primary": "#4f9fe8", "secondary": "#56b6c2", "warning": "#e5c07b", "error": "#ef596f",
    "success": "#89ca78", "accent": "#c678dd", "foreground": "#d7dae0",
    "background": "#16181d", "surface": "#1e2128", "panel": "#262a33",
}  # fmt: skip


def theme_colors(name: str) -> dict[str, str]:
    colors = dict(FALLBACK)
    for candidate in (name, "dark"):
        try:
            data = tomllib.loads(data_file("themes", f"{candidate}.toml").read_text())
        except (OSError, tomllib.TOMLDecodeError):
            continue
        if data.get("ansi"):
            continue
        for role in ROLES:
            value = data.get(role)
            if isinstance(value, str) and value.startswith("#") and len(value) in (4, 7):
                colors[role] = value
        break
    return colors


def theme_css(name: str) -> str:
    colors = theme_colors(name)
    body = "".join(f"  --{role}: {value};\n" for role, value in colors.items())
    return f":root {{\n{body}}}\n"


# The 16 ANSI colours a parser's words name ("red", "bright_blue") as a terminal with a
# dark palette shows them; Rich's own table is VGA's (#800000 red: unreadable on dark).
ANSI = ("#3b4048", "#e06c75", "#98c379", "#d19a66", "#61afef", "#c678dd", "#56b6c2", "#d7dae0",
        "#7f848e", "#ff7b86", "#b5e890", "#e5c07b", "#82c4ff", "#e29cf0", "#7fd8e3", "#ffffff")  # fmt: skip


def parser_colors(config: Any) -> dict[str, dict[str, str]]:
    """Every parser's CSS, by parser id."""
    return {p.id: parser_css(p.colors) for p in config.parsers}


def parser_css(words: Iterable[str]) -> dict[str, str]:
    """{"color": "#rrggbb", "background": …, "bold": "1"} from the console's colour words."""
    from rich.color import ColorType

    from alser_tui.ui.text import parser_style

    style = parser_style(words)
    out: dict[str, str] = {}
    for key, color in (("color", style.color), ("background", style.bgcolor)):
        if color is None or color.is_default:
            continue
        if color.type == ColorType.STANDARD and color.number is not None:
            out[key] = ANSI[color.number]
            continue
        r, g, b = color.get_truecolor()
        out[key] = f"#{r:02x}{g:02x}{b:02x}"
    if style.bold:
        out["bold"] = "1"
    return out
