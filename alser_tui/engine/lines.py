"""The ALS envelope: every line is ``AREA,TS,MSG`` (MSG may itself contain commas)."""

from __future__ import annotations

# Timestamps above this are milliseconds (the original's rule: ~1.28e12 is 2010 in ms,
# and year 42000 in seconds).
MS_THRESHOLD = 1_280_000_000_000
# The largest time accepted, in seconds after the milliseconds rule. A value still larger
# (10**30, a milliseconds count past year 42000) is not a time and would not even fit
# SQLite's 64-bit integers: the line is malformed.
MAX_TS = MS_THRESHOLD


def split_als(line: str) -> tuple[str, int, str] | None:
    """(area, ts in seconds, msg), or None when the line is not an ALS line."""
    first = line.find(",")
    if first <= 0:
        return None
    second = line.find(",", first + 1)
    if second < 0:
        return None
    ts = parse_ts(line[first + 1 : second])
    if ts is None:
        return None
    return line[:first].strip(), ts, line[second + 1 :]


def parse_ts(text: str) -> int | None:
    """The TS field in seconds (integer or decimal, seconds or milliseconds), or None."""
    try:
        ts = int(text)
    except ValueError:
        try:
            ts = int(float(text))
        except (ValueError, OverflowError):
            return None
    if ts > MS_THRESHOLD:
        ts //= 1000
    if not 0 <= ts <= MAX_TS:
        return None
    return ts
