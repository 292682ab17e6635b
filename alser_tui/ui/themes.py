"""Colour themes as data: themes/*.toml become Textual themes; one is built in code.

A theme file holds Textual ``Theme`` fields (name, primary, secondary, warning, error, success,
accent, foreground, background, surface, panel, boost, dark, luminosity_spread, text_alpha,
ansi) and an optional ``[variables]`` table. A missing or broken file only warns.
"""

from __future__ import annotations

import tomllib
from dataclasses import fields
from pathlib import Path

from textual.theme import Theme

from alser_tui.resources import data_dirs

THEME_ORDER = ("ansi", "dark", "light", "high-contrast")
DEFAULT_THEME = "ansi"

# The fallback when themes/ansi.toml is missing: the terminal's own ANSI palette.
BUILTIN_ANSI = Theme(
    name="ansi",
    ansi=True,
    primary="ansi_blue",
    secondary="ansi_cyan",
    warning="ansi_yellow",
    error="ansi_red",
    success="ansi_green",
    accent="ansi_magenta",
    foreground="ansi_default",
    background="ansi_default",
    surface="ansi_default",
    panel="ansi_default",
    boost="ansi_default",
    dark=True,
    variables={
        # Textual's own styles refer to these two when a theme is ansi.
        "ansi-background": "ansi_black",
        "ansi-foreground": "ansi_white",
        "block-cursor-foreground": "ansi_black",
        "block-cursor-background": "ansi_white",
        "border-blurred": "ansi_bright_black",
        "footer-key-foreground": "ansi_cyan",
    },
)

_ALLOWED = {f.name for f in fields(Theme)}


class ThemeFileError(Exception):
    pass


def theme_dirs() -> list[Path]:
    """The copy shipped as package data, then themes/ beside a source checkout."""
    return data_dirs("themes")


def read_theme(path: Path) -> Theme:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ThemeFileError(f"{path}: {exc}") from None
    unknown = sorted(set(data) - _ALLOWED)
    if unknown:
        raise ThemeFileError(f"{path}: unknown keys {', '.join(unknown)}")
    if not isinstance(data.get("name"), str) or not isinstance(data.get("primary"), str):
        raise ThemeFileError(f"{path}: 'name' and 'primary' are required strings")
    variables = data.get("variables", {})
    if not isinstance(variables, dict) or not all(isinstance(v, str) for v in variables.values()):
        raise ThemeFileError(f"{path}: [variables] must map names to colour strings")
    try:
        theme = Theme(**data)
        # Generating the colour system parses every colour: fail here, not at first paint.
        theme.to_color_system().generate()
    except Exception as exc:  # Textual raises several types for bad colours
        raise ThemeFileError(f"{path}: {exc}") from None
    return theme


def load_themes(dirs: list[Path] | None = None) -> tuple[list[Theme], list[str]]:
    """The themes to register (built-in first, then files by name) and warnings to show."""
    themes: dict[str, Theme] = {BUILTIN_ANSI.name: BUILTIN_ANSI}
    warnings: list[str] = []
    found = False
    for d in theme_dirs() if dirs is None else dirs:
        if not d.is_dir():
            continue
        found = True
        for path in sorted(d.glob("*.toml")):
            try:
                theme = read_theme(path)
            except ThemeFileError as exc:
                warnings.append(f"theme skipped: {exc}")
                continue
            # A file may replace the built-in ansi theme; otherwise the first name wins.
            if theme.name == BUILTIN_ANSI.name or theme.name not in themes:
                themes[theme.name] = theme
        break  # the first folder that exists wins: no mixing of two copies
    if not found:
        warnings.append("no themes/ folder found: only the built-in 'ansi' theme")
    if found:
        warnings += [f"theme {n!r} missing from themes/" for n in THEME_ORDER if n not in themes]
    order = [themes[n] for n in THEME_ORDER if n in themes]
    order += [t for n, t in sorted(themes.items()) if n not in THEME_ORDER]
    return order, warnings
