"""A small TOML writer for the converter's output: tables of scalars and string arrays,
written in the hand-made style of conf/alser.toml (comments kept, regexes as literal strings)."""

from __future__ import annotations

import math
from typing import Any

_BARE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def key(name: str) -> str:
    return name if name and set(name) <= _BARE else string(name)


def string(text: str) -> str:
    # Literal strings read best for regexes and SQL (no doubled backslashes); they cannot
    # hold a ' or control characters, so those get a basic string with escapes.
    if "\\" in text and "'" not in text and not any(ord(c) < 32 or c == "\x7f" for c in text):
        return f"'{text}'"
    out = ['"']
    for c in text:
        if c == '"':
            out.append('\\"')
        elif c == "\\":
            out.append("\\\\")
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif ord(c) < 32 or c == "\x7f":
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        if math.isnan(v):
            return "nan"
        return repr(v)
    if isinstance(v, str):
        return string(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def table(header: str, values: dict[str, Any], comments: list[str] | None = None) -> list[str]:
    """Lines of one table: comments, the [header] (none when ''), then key = value lines."""
    lines = [f"# {c}" if c else "#" for c in comments or ()]
    if header:
        lines.append(header)
    for k, v in values.items():
        if v is None:
            continue
        lines.append(f"{key(k)} = {value(v)}")
    return lines
