"""The original's config syntax ("ljson"): JSON with ``//`` comments, bare keys, optional
commas between entries, trailing commas, and the outer braces optional.

Strings are JSON strings (same escapes); numbers, true, false and null as in JSON.
"""

from __future__ import annotations

import json
import re
from typing import Any


class LegacySyntaxError(ValueError):
    """A syntax error at a line and column (1-based)."""

    def __init__(self, message: str, line: int, col: int) -> None:
        self.message = message
        self.line = line
        self.col = col
        super().__init__(f"line {line}, column {col}: {message}")


_BARE_KEY = re.compile(r"[A-Za-z_$][A-Za-z0-9_$.\-]*")
# JSON strings: no raw control characters, escapes checked by json.loads afterwards.
_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\.)*"')
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_WORDS = {"true": True, "false": False, "null": None}


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.duplicates: list[str] = []
        self._entry_end = 0  # where the last entry ended: is there a newline after it?

    # ------------------------------------------------------------------ positions

    def where(self, pos: int | None = None) -> tuple[int, int]:
        p = self.pos if pos is None else pos
        line = self.text.count("\n", 0, p) + 1
        col = p - (self.text.rfind("\n", 0, p) + 1) + 1
        return line, col

    def fail(self, message: str, pos: int | None = None) -> LegacySyntaxError:
        return LegacySyntaxError(message, *self.where(pos))

    def skip(self) -> None:
        """Whitespace and // comments (to the end of the line)."""
        text = self.text
        n = len(text)
        while self.pos < n:
            ch = text[self.pos]
            if ch in " \t\r\n\ufeff":
                self.pos += 1
            elif text.startswith("//", self.pos):
                end = text.find("\n", self.pos)
                self.pos = n if end < 0 else end + 1
            else:
                return

    def peek(self) -> str:
        self.skip()
        return self.text[self.pos : self.pos + 1]

    # ------------------------------------------------------------------ grammar

    def document(self) -> dict[str, Any]:
        if self.peek() == "{":
            doc = self.value()
        else:
            # Outer braces left out: the file is the body of an object.
            doc = self.members(end="")
        if self.peek():
            raise self.fail(f"unexpected {self.peek()!r} after the end of the document")
        if not isinstance(doc, dict):
            raise self.fail("the document must be an object", 0)
        return doc

    def value(self) -> Any:
        ch = self.peek()
        if ch == "{":
            self.pos += 1
            obj = self.members(end="}")
            self.pos += 1
            return obj
        if ch == "[":
            self.pos += 1
            return self.items()
        if ch == '"':
            return self.string()
        if not ch:
            raise self.fail("unexpected end of file, expected a value")
        m = _NUMBER.match(self.text, self.pos)
        if m:
            self.pos = m.end()
            return json.loads(m.group())
        m = _BARE_KEY.match(self.text, self.pos)
        if m and m.group() in _WORDS:
            self.pos = m.end()
            return _WORDS[m.group()]
        word = m.group() if m else ch
        raise self.fail(
            f"expected a value (string, number, true, false, null, {{ or [), got {word!r}"
        )

    def string(self) -> str:
        m = _STRING.match(self.text, self.pos)
        if not m:
            raise self.fail("unterminated string (or a raw newline/control character in it)")
        try:
            value = json.loads(m.group())
        except json.JSONDecodeError as exc:
            raise self.fail(f"bad escape in string: {exc.msg}", self.pos + exc.pos) from None
        self.pos = m.end()
        return value

    def key(self) -> str:
        if self.peek() == '"':
            return self.string()
        m = _BARE_KEY.match(self.text, self.pos)
        if not m:
            raise self.fail(f"expected a key, got {self.text[self.pos : self.pos + 1]!r}")
        self.pos = m.end()
        return m.group()

    def separator(self, end: str) -> None:
        """After an entry: an optional comma (a newline is enough), or the closing bracket."""
        ch = self.peek()
        if ch == ",":
            self.pos += 1
            if self.peek() == ",":
                raise self.fail("empty entry (two commas)")
        elif ch and ch != end and "\n" not in self.text[self._entry_end : self.pos]:
            # Entries on one line need a comma; on separate lines a newline is enough.
            raise self.fail(f"expected ',' between entries on one line, got {ch!r}")

    def members(self, end: str) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        while True:
            ch = self.peek()
            if ch == end:  # "" (end of file) only when the outer braces were left out
                if not ch and end:
                    raise self.fail(f"unexpected end of file, expected {end!r}")
                return obj
            if not ch:
                raise self.fail(f"unexpected end of file, expected {end!r}")
            if ch == ",":
                raise self.fail("unexpected ','")
            key_pos = self.pos
            name = self.key()
            if self.peek() != ":":
                raise self.fail(f"expected ':' after key {name!r}")
            self.pos += 1
            if name in obj:
                line, _ = self.where(key_pos)
                self.duplicates.append(f"line {line}: key {name!r} given twice (the last wins)")
            obj[name] = self.value()
            self._entry_end = self.pos
            self.separator(end)

    def items(self) -> list[Any]:
        out: list[Any] = []
        while True:
            ch = self.peek()
            if ch == "]":
                self.pos += 1
                return out
            if not ch:
                raise self.fail("unexpected end of file, expected ']'")
            if ch == ",":
                raise self.fail("unexpected ','")
            out.append(self.value())
            self._entry_end = self.pos
            self.separator("]")


def loads(text: str, warnings: list[str] | None = None) -> dict[str, Any]:
    """Parse an ljson document; duplicate keys are reported into ``warnings``."""
    r = _Reader(text)
    doc = r.document()
    if warnings is not None:
        warnings.extend(r.duplicates)
    return doc
