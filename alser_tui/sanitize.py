"""Log text is hostile: make it safe to show on a terminal."""

from __future__ import annotations

# C0 controls become their visible "control picture" (ESC -> ␛), so an escape sequence in a
# log line is shown, never executed; C1 controls and bidi overrides cannot be shown safely.
_TABLE: dict[int, str | int | None] = {c: 0x2400 + c for c in range(0x20)}
_TABLE[0x09] = " "
_TABLE[0x7F] = "␡"
_TABLE.update({c: "�" for c in range(0x80, 0xA0)})
_TABLE.update(
    {c: None for c in (0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069)}
)


def clean(text: str) -> str:
    """The text with every control character made visible and harmless."""
    return text.translate(_TABLE)
