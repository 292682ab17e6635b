"""Go printf formats into Python format strings over named columns, and the original's ANSI
colour names into Rich style words."""

from __future__ import annotations

import re
from collections.abc import Sequence

# %[flags][width][.precision]verb, as Go's fmt reads them (no argument indexes or '*').
_VERB = re.compile(r"%([-+# 0]*)([0-9]*)(?:\.([0-9]*))?([a-zA-Z%])")
_NUMERIC = {"d": "", "f": "f", "F": "f", "e": "e", "E": "E", "g": "g", "G": "G"}
_TEXT = {"s": "", "v": "", "t": "", "x": "x", "X": "X", "o": "o", "b": "b", "c": "c"}


def printf_to_format(fmt: str, names: Sequence[str]) -> tuple[str, list[str]]:
    """(Python format string, problems). The n-th verb takes the n-th name.

    Go pads on the left unless '-' is given, for text and numbers alike: ``%3s`` is
    ``{x:>3}``. ``%d`` keeps no type letter so a float amount (a sum) still formats.
    """
    out: list[str] = []
    problems: list[str] = []
    pos = 0
    arg = 0
    for m in _VERB.finditer(fmt):
        out.append(_literal(fmt[pos : m.start()]))
        pos = m.end()
        flags, width, prec, verb = m.groups()
        if verb == "%":
            out.append("%")
            continue
        if arg >= len(names):
            problems.append(f"{m.group()!r} has no column to show (only {len(names)})")
            continue
        name = names[arg]
        arg += 1
        if verb == "q":
            out.append("{" + name + "!r}")
            continue
        if verb not in _NUMERIC and verb not in _TEXT:
            problems.append(f"verb {m.group()!r} is not supported; shown as text")
            verb = "v"
        # Python's spec: [[fill]align][sign][width][.precision][type]
        align = ("<" if "-" in flags else "0>" if "0" in flags else ">") if width else ""
        sign = "+" if "+" in flags and verb in _NUMERIC else ""
        precision = "." + (prec or "0") if prec is not None else ""
        kind = _NUMERIC.get(verb) if verb in _NUMERIC else _TEXT[verb]
        spec = align + sign + width + precision + (kind or "")
        out.append("{" + name + (":" + spec if spec else "") + "}")
    out.append(_literal(fmt[pos:]))
    if "\n" in fmt:
        problems.append("a newline in the format (rows are one line each); kept")
    return "".join(out), problems


def _literal(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


_COLORS = ("black", "red", "green", "yellow", "blue", "magenta", "cyan", "white")
_ATTRIBUTES = {
    "bright": "bold",
    "bold": "bold",
    "dim": "dim",
    "underscore": "underline",
    "underline": "underline",
    "blink": "blink",
    "reverse": "reverse",
    "hidden": "conceal",
    "italic": "italic",
}


def color_to_style(name: str) -> str | None:
    """'FgRed' -> 'red', 'BgBlue' -> 'on blue', 'Bright' -> 'bold'; '' for Reset; None if unknown."""
    key = name.strip().lower()
    if key in ("reset", "default", ""):
        return ""
    if key in _ATTRIBUTES:
        return _ATTRIBUTES[key]
    for prefix, fmt in (("fg", "{}"), ("bg", "on {}")):
        if key.startswith(prefix):
            color = key[len(prefix) :]
            bright = color.startswith("bright") or color.startswith("hi")
            color = color.removeprefix("bright").removeprefix("hi").strip("_")
            if color in _COLORS:
                return fmt.format(("bright_" if bright else "") + color)
    if key in _COLORS:
        return key
    return None
