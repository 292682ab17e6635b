"""The hot path: ALS envelope + every parser of a guard over a chunk of lines.

It holds no engine state, so the same code runs in the engine's thread or in a worker
process (see parallel.py) and returns everything it learnt as one picklable ChunkResult.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from alser_tui.engine.config import Config
from alser_tui.engine.lines import MAX_TS, MS_THRESHOLD
from alser_tui.engine.parsers import build_parser
from alser_tui.engine.parsers.base import REJECTED, Drop, Parser

# Seconds a line may be dated ahead of the clock and still count as "now": further ahead it
# is from the future (a wrong clock), and says nothing about how far a file has come.
FUTURE_SLACK = 300


@dataclass(slots=True)
class ChunkResult:
    guard: int
    lines: int = 0
    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    last_reject: dict[str, str] = field(default_factory=dict)
    drops: list[tuple[str, Drop]] = field(default_factory=list)
    malformed: int = 0
    filtered: int = 0
    last_ts: int | None = None
    # The last time not from the future (see FUTURE_SLACK): how far the chunk has come.
    mark_ts: int | None = None
    malformed_sample: str = ""
    # Lines a parser raised on (counted as rejected too) and its last error, per parser.
    crashed: dict[str, int] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    # Rows a replay worker stored in its own shard (parser -> count, lowest ts, highest ts):
    # they are not in ``rows``, which then holds only what the engine itself must see (the
    # rows of parsers that raise an alarm per event).
    stored: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    # And how many of them fall in each window (parser -> window start -> rows).
    windows: dict[str, dict[int, int]] = field(default_factory=dict)
    # A worker that read the lines itself: files it could not read, as (path, problem).
    read_errors: list[tuple[str, str]] = field(default_factory=list)
    from_piece: bool = False  # its lines were read by the worker (count them on arrival)
    # A time slice's result (sources/slices.py): the aggregates of the windows that lie in
    # it, counted as the rows were parsed ((parser, start, end) -> store.Aggregate), and
    # the windows of its rows that lie outside it (parser -> starts), whose counts it lacks.
    sliced: bool = False
    aggregates: dict[tuple[str, int, int], Any] = field(default_factory=dict)
    foreign: dict[str, set[int]] = field(default_factory=dict)

    def absorb(self, other: ChunkResult) -> None:
        """Add a later chunk's outcome to this one (a worker reading a piece of a file in
        several batches hands back one result)."""
        self.lines += other.lines
        for pid, rows in other.rows.items():
            self.rows.setdefault(pid, []).extend(rows)
        for mine, theirs in (
            (self.skipped, other.skipped),
            (self.rejected, other.rejected),
            (self.crashed, other.crashed),
        ):
            for pid, n in theirs.items():
                mine[pid] = mine.get(pid, 0) + n
        self.last_reject.update(other.last_reject)
        self.errors.update(other.errors)
        self.drops.extend(other.drops)
        self.malformed += other.malformed
        self.filtered += other.filtered
        if other.malformed_sample:
            self.malformed_sample = other.malformed_sample
        for name in ("last_ts", "mark_ts"):
            theirs_ts = getattr(other, name)
            if theirs_ts is not None:
                ours = getattr(self, name)
                setattr(self, name, theirs_ts if ours is None else max(ours, theirs_ts))
        for pid, (n, lo, hi) in other.stored.items():
            had = self.stored.get(pid)
            self.stored[pid] = (
                (n, lo, hi) if had is None else (had[0] + n, min(had[1], lo), max(had[2], hi))
            )
        for pid, counts in other.windows.items():
            mine_w = self.windows.setdefault(pid, {})
            for start, n in counts.items():
                mine_w[start] = mine_w.get(start, 0) + n
        self.read_errors.extend(other.read_errors)
        self.aggregates.update(other.aggregates)
        for pid, starts in other.foreign.items():
            self.foreign.setdefault(pid, set()).update(starts)


def active_guards(config: Config) -> list[int]:
    """Indexes (into config.guards) of the guards that feed at least one enabled parser."""
    enabled = {p.id for p in config.parsers if p.enabled}
    return [
        i
        for i, g in enumerate(config.guards)
        if g.enabled and any(pid in enabled for pid in g.parsers)
    ]


class LineProcessor:
    """Parses chunks of lines for the guards of one config (one parser object per parser)."""

    def __init__(self, config: Config, locales: frozenset[str] = frozenset()) -> None:
        self.config = config
        self.locales = locales
        enabled = {p.id: p for p in config.parsers if p.enabled}
        self.parsers: dict[str, Parser] = {
            pid: build_parser(p, config) for pid, p in enabled.items()
        }
        self.guard_parsers: dict[int, list[str]] = {
            i: [pid for pid in config.guards[i].parsers if pid in enabled]
            for i in active_guards(config)
        }

    def process(self, guard: int, lines: list[str], now: int) -> ChunkResult:
        pids = self.guard_parsers[guard]
        res = ChunkResult(guard=guard, lines=len(lines))
        outs = {pid: [] for pid in pids}
        skipped = dict.fromkeys(pids, 0)
        rejected = dict.fromkeys(pids, 0)
        slots = [(self.parsers[pid].parse_row, outs[pid], pid) for pid in pids]
        # One parser per guard is the common case: its call without the loop over slots
        # (~0.1 us a line). Anything but a row goes through _other(), as in the loop.
        single = len(slots) == 1
        parse_one, out_one, pid_one = slots[0] if slots else (None, [], "")
        keep_one = out_one.append
        locales = self.locales
        raw = self.config.guards[guard].format == "raw"
        malformed = filtered = 0
        ts = 0
        last: int | None = None  # of the last line with a sound time (ts may hold a bad one)
        mark: int | None = None
        horizon = now + FUTURE_SLACK
        last_reject: dict[str, str] = {}
        for line in lines:
            if raw:
                area, ts, msg = "-", now, line
            else:
                # split_als inlined: this loop runs once per line.
                i = line.find(",")
                j = line.find(",", i + 1) if i > 0 else -1
                if j < 0:
                    malformed += 1
                    res.malformed_sample = line
                    continue
                try:
                    ts = int(line[i + 1 : j])
                except ValueError:
                    try:
                        ts = int(float(line[i + 1 : j]))
                    except (ValueError, OverflowError):
                        malformed += 1
                        res.malformed_sample = line
                        continue
                if ts > MS_THRESHOLD:
                    ts //= 1000
                if not 0 <= ts <= MAX_TS:
                    malformed += 1
                    res.malformed_sample = line
                    continue
                area = line[:i]
                msg = line[j + 1 :]
            last = ts
            if ts <= horizon:
                mark = ts
            if locales and area not in locales:
                filtered += 1
                continue
            if single:
                try:
                    r = parse_one(area, ts, msg, line)  # type: ignore[misc]
                except Exception as exc:
                    r = self._crashed(res, pid_one, exc)
                if r.__class__ is tuple:
                    keep_one(r)
                else:
                    self._other(r, pid_one, line, out_one, skipped, rejected, last_reject)
                continue
            for parse_row, out, pid in slots:
                try:
                    r = parse_row(area, ts, msg, line)
                except Exception as exc:
                    r = self._crashed(res, pid, exc)
                if r.__class__ is tuple:
                    out.append(r)
                else:
                    self._other(r, pid, line, out, skipped, rejected, last_reject)
        for pid in pids:
            drops = self.parsers[pid].drops
            if drops:
                res.drops.extend((pid, d) for d in drops)
                drops.clear()
        res.rows = outs
        res.skipped = skipped
        res.rejected = rejected
        res.last_reject = last_reject
        res.malformed = malformed
        res.filtered = filtered
        res.last_ts = last
        res.mark_ts = mark
        return res

    @staticmethod
    def _crashed(res: ChunkResult, pid: str, exc: Exception) -> Any:
        """A parser bug on one odd line must not stop the guard (and every other parser
        with it): the line is rejected, the error kept for the console."""
        res.crashed[pid] = res.crashed.get(pid, 0) + 1
        res.errors[pid] = f"{type(exc).__name__}: {exc}"[:300]
        return REJECTED

    def _other(
        self,
        r: Any,
        pid: str,
        line: str,
        out: list[tuple[Any, ...]],
        skipped: dict[str, int],
        rejected: dict[str, int],
        last_reject: dict[str, str],
    ) -> None:
        """A parser's answer that is not one row: skipped, rejected, or several rows."""
        if r is None:
            skipped[pid] += 1
        elif r is REJECTED:
            rejected[pid] += 1
            # The parser's own words when it has some (a regex that timed out says so),
            # else the line itself.
            parser = self.parsers[pid]
            note = getattr(parser, "reject_note", "")
            if note:
                parser.reject_note = ""
            last_reject[pid] = note or line
        else:
            out.extend(r)
