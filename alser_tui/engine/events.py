"""Plain dataclass events the engine emits to its subscribers (headless printer, console, notifiers)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from alser_tui.engine.alarms import Alarm, RowMarks


@dataclass(frozen=True, slots=True)
class ShownRow:
    amount: float
    group: dict[str, Any]
    text: str
    marks: RowMarks


@dataclass(frozen=True, slots=True)
class WindowClosed:
    parser: str
    start: int
    end: int
    total: float
    groups: int
    rows: tuple[ShownRow, ...]


@dataclass(frozen=True, slots=True)
class AlarmRaised:
    alarm: Alarm
    # Its row in the live database's alarms table (None: not stored there, or a replay's
    # scratch database): delivery marks the alarms it handled by it.
    id: int | None = None


@dataclass(frozen=True, slots=True)
class ParserStats:
    parsed: int = 0
    skipped: int = 0
    rejected: int = 0
    late: int = 0
    last_reject: str = ""
    # Rows dated further ahead of the clock than the skew tolerance (stored, counted in
    # parsed; their window is not the open one).
    future: int = 0
    # Lines the parser raised an exception on (also in rejected), and the last error.
    crashed: int = 0
    last_error: str = ""
    # Event time up to which every window of this parser has closed or passed without
    # rows (live mode; None before the first close check). Delivery resolves by it.
    passed: int | None = None
    # The newest event time stored (not from the future): its window is the open one.
    max_ts: int | None = None


@dataclass(frozen=True, slots=True)
class FileStats:
    path: str
    offset: int
    size: int
    lines: int
    # Seconds the file's line times run ahead (+) or behind (-) the clock, when they did so
    # consistently (beyond the tolerance in the last few reads that reached its end).
    skew: int | None = None
    # Wall-clock time (time.time()) the source last handed out lines; 0.0: none yet.
    last_line: float = 0.0
    # "file"; "connection" (one client of a receiver: bytes received and read); "table"
    # (one polled table: offset, size and lag count row ids, not bytes).
    kind: str = "file"
    # A few words beside the name: a connection's peer and counts, "missing", a table's
    # bad rows (source text: show it cleaned).
    note: str = ""
    # False: matched but not followed (the open-file limit); ``note`` says why.
    followed: bool = True

    @property
    def lag(self) -> int:
        """Bytes written and not read yet."""
        return max(0, self.size - self.offset)


@dataclass(frozen=True, slots=True)
class GuardHealth:
    """One live guard's health (engine/health.py): ``state`` ok, ``no source`` or
    ``silent``, and ``reason`` in words ("folder /x does not exist", "no line for 12 min")."""

    index: int
    name: str
    parsers: tuple[str, ...]
    source: str  # tail_glob, listen URL or dsn#tables, as the config has it
    state: str = "ok"
    reason: str = ""
    silent: bool = False  # its silent alarm fires (also while it has no source)
    last_line: float = 0.0  # engine clock; 0.0: no line yet (this run or the last)
    paths: tuple[str, ...] = ()  # its sources now (files, connections, tables)


@dataclass(frozen=True, slots=True)
class Stats:
    """A snapshot of counters; emitted about once a second and at the end."""

    time: float
    mode: str
    lines: int
    lines_per_s: float
    malformed: int
    filtered: int
    parsers: dict[str, ParserStats]
    files: tuple[FileStats, ...]
    rss: int
    catching_up: bool
    current_file: str = ""
    errors: tuple[str, ...] = field(default_factory=tuple)
    # Files in the watched directories that no guard covers (live mode).
    unguarded: tuple[str, ...] = field(default_factory=tuple)
    # Not errors, worth a look: clock skew of a source, compressed files a glob matches.
    warnings: tuple[str, ...] = field(default_factory=tuple)
    # Every live guard's health (engine/health.py): no source, silent.
    guards: tuple[GuardHealth, ...] = field(default_factory=tuple)

    @property
    def parsed(self) -> int:
        return sum(p.parsed for p in self.parsers.values())

    @property
    def rejected(self) -> int:
        return sum(p.rejected for p in self.parsers.values())

    @property
    def late(self) -> int:
        return sum(p.late for p in self.parsers.values())


@dataclass(frozen=True, slots=True)
class Finished:
    """The engine stopped (end of history, or asked to stop); ``stats`` is the final snapshot."""

    stats: Stats
    reason: str = ""


@dataclass(frozen=True, slots=True)
class UnguardedFiles:
    """Files in the watched directories that no guard covers, sent at the first scan and
    when they change. ``new`` appeared since the last such event (none: some went away);
    the first one (``first``) lists every file found at start."""

    files: tuple[str, ...]
    new: tuple[str, ...]
    first: bool = False


@dataclass(frozen=True, slots=True)
class AlarmResolved:
    """A condition alarm (kind ``silent``) ended at ``at``; ``alarm`` is the one raised."""

    alarm: Alarm
    at: float


@dataclass(frozen=True, slots=True)
class SourceProblem:
    """One item of a SourceNotice: a guard's source (its glob, or a file's path) and what
    is the matter with it (source text: show it cleaned)."""

    guard: str
    source: str
    text: str
    skew: int | None = None  # skew: seconds the line times run from the clock


@dataclass(frozen=True, slots=True)
class SourceNotice:
    """Not an alarm, worth telling the channels: ``kind`` ``no_source`` (guards without a
    source for a while) or ``skew`` (files whose line times are far from the clock);
    ``state`` ``raised`` (began) or ``cleared`` (ended)."""

    kind: str
    state: str
    text: str
    items: tuple[SourceProblem, ...]


Event = (
    WindowClosed | AlarmRaised | Stats | Finished | UnguardedFiles | AlarmResolved | SourceNotice
)
