"""Cut a guard's history files by time, so that a replay worker can close windows alone.

A time slice is the part of every file whose lines fall in [lo, hi): the byte range from
the first line at or after ``lo`` to the first line at or after ``hi``, found by bisecting
each file on its ALS timestamps. ``lo`` and ``hi`` are multiples of every window size
concerned, so each window lies in exactly one slice, and the worker that reads a slice
sees all of that window's rows — it can count them as it parses instead of asking SQLite
afterwards (see parallel.py). Files are only mostly in time order: a line filed in the
wrong slice is still read exactly once (the parts of a file tile it), and the worker that
meets it reports its window as "foreign", which sends that window back to SQL.

Files that cannot be cut this way (gzip, unreadable, no ALS time at their start or end)
are left to the caller, which reads them in plain pieces.
"""

from __future__ import annotations

import os
from typing import BinaryIO, NamedTuple

from alser_tui.engine.lines import parse_ts
from alser_tui.engine.sources.history import GZIP_MAGIC, Piece, line_end_after

# The bytes of lines in one slice, over all files: enough rows to repay a job, few enough
# that the counts of a slice stay small (the worker holds them until the slice is done).
SLICE_BYTES = 4 << 20
PROBE = 64 << 10  # bytes read to find a line and its time around a position
SCAN_LIMIT = 1 << 20  # the bisection's last stretch is scanned line by line up to this


class TimeSlice(NamedTuple):
    lo: int | None  # None: from the beginning of time
    hi: int | None  # None: to its end
    parts: tuple[Piece, ...]

    def holds(self, ts: int) -> bool:
        return (self.lo is None or ts >= self.lo) and (self.hi is None or ts < self.hi)


def plan_slices(
    files: list[str], unit: int, slice_bytes: int | None = None
) -> tuple[list[TimeSlice], list[str]]:
    """(time slices in time order, files left for plain pieces). Slice bounds are
    multiples of ``unit``; there are about total size / ``slice_bytes`` slices."""
    slice_bytes = slice_bytes or SLICE_BYTES
    timed: list[tuple[str, int, int, int]] = []  # path, size, first ts, last ts
    rest: list[str] = []
    for path in files:
        try:
            with open(path, "rb") as f:
                if f.read(2) == GZIP_MAGIC:
                    rest.append(path)
                    continue
                size = os.fstat(f.fileno()).st_size
                first, last = _first_ts(f), _last_ts(f, size)
        except OSError:
            rest.append(path)
            continue
        if first is None or last is None:
            rest.append(path)
        else:
            timed.append((path, size, first, last))
    if not timed:
        return [], rest
    t0 = min(min(first, last) for _, _, first, last in timed)
    t1 = max(max(first, last) for _, _, first, last in timed)
    count = max(1, -(-sum(size for _, size, _, _ in timed) // slice_bytes))
    step = max(unit, -(-(t1 - t0 + 1) // (count * unit)) * unit)
    base = t0 - t0 % unit
    bounds = [b for b in range(base + step, t1 + 1, step)]
    cuts: list[tuple[str, list[int]]] = []
    for path, size, _, _ in timed:
        try:
            with open(path, "rb") as f:
                offsets = [0, *(_first_at_or_after(f, size, b) for b in bounds), size]
        except OSError:
            rest.append(path)
            continue
        for i in range(1, len(offsets)):  # disorder must not make a part run backwards
            offsets[i] = max(offsets[i], offsets[i - 1])
        cuts.append((path, offsets))
    edges: list[int | None] = [None, *bounds, None]
    slices = []
    for i in range(len(edges) - 1):
        parts = []
        for path, offsets in cuts:
            start, end = offsets[i], offsets[i + 1]
            if start < end:
                # The last part runs to the file's end (None), as plan_pieces' last piece.
                parts.append((path, start, None if i == len(edges) - 2 else end))
        if parts:
            slices.append(TimeSlice(edges[i], edges[i + 1], tuple(parts)))
    return slices, rest


def _ts_of(line: bytes) -> int | None:
    first = line.find(b",")
    second = line.find(b",", first + 1) if first > 0 else -1
    if second < 0:
        return None
    return parse_ts(line[first + 1 : second].decode("ascii", "replace"))


def _first_ts(f: BinaryIO) -> int | None:
    f.seek(0)
    for line in f.read(PROBE).split(b"\n")[:-1]:
        ts = _ts_of(line)
        if ts is not None:
            return ts
    return None


def _last_ts(f: BinaryIO, size: int) -> int | None:
    f.seek(max(0, size - PROBE))
    lines = f.read(PROBE).split(b"\n")
    if size > PROBE:
        lines = lines[1:]  # the first is likely a line cut in the middle
    for line in reversed(lines):
        ts = _ts_of(line)
        if ts is not None:
            return ts
    return None


def _first_at_or_after(f: BinaryIO, size: int, ts: int) -> int:
    """The start of the first line dated ``ts`` or later, for a file in time order (for
    one that is not, some line start: any cut is correct, a good one is only faster)."""
    lo, hi = 0, size  # lines starting before lo are earlier; hi is a line start (or EOF)
    while hi - lo > PROBE:
        start = line_end_after(f, (lo + hi) // 2, hi, PROBE)  # the next line's start
        if start is None or start >= hi:
            break
        f.seek(start)
        probe = f.read(min(PROBE, 256)).split(b"\n", 1)[0]
        at = _ts_of(probe)
        if at is None:
            break  # not an ALS line: scan what is left
        if at < ts:
            lo = start
        else:
            hi = start
    if hi - lo > SCAN_LIMIT:
        return hi
    f.seek(lo)
    data = f.read(hi - lo)
    pos = lo
    for line in data.split(b"\n")[:-1]:
        at = _ts_of(line)
        if at is not None and at >= ts:
            return pos
        pos += len(line) + 1
    return hi
