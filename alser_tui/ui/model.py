"""What the console knows, built from engine events on the UI thread. No widgets here.

The app feeds every engine event to ``ConsoleModel.apply`` as it arrives (cheap: counters and
small bounded collections); widgets read the model on the refresh timer, so the redraw rate
does not depend on the event rate.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from alser_tui.engine.alarms import (
    ABNORMAL,
    CONDITION_KINDS,
    DROPPED,
    INSTANT,
    THRESHOLD,
    Alarm,
    RowMarks,
)
from alser_tui.engine.config import Config, ParserConfig
from alser_tui.engine.events import (
    AlarmRaised,
    AlarmResolved,
    Event,
    FileStats,
    Finished,
    GuardHealth,
    ShownRow,
    Stats,
    WindowClosed,
)
from alser_tui.ui.query import HISTOGRAM_WINDOWS
from alser_tui.ui.text import group_key

if TYPE_CHECKING:
    # Not before the first frame (see app.py): the store pulls in sqlite_utils, the
    # lifecycle the delivery config; both load on the first alarm or query.
    from alser_tui.engine.notify.lifecycle import Silence
    from alser_tui.engine.store import GroupRow

# Every history the console keeps is bounded, and small enough to fill within the first
# half hour of busy traffic (bench/console_soak.py: RSS flat after that).
MAX_ALARMS = 1_000  # the alarm list shows the newest 500; the strip counts these
MAX_WINDOWS = 120  # per parser: sparkline history
MARK_WINDOWS = HISTOGRAM_WINDOWS  # per parser: row marks of the windows ← can step back to
MAX_MEMORY = 2_000  # per parser: last shown amount per group, for live growth marks
REJECT_MEMORY = 30.0  # seconds (engine clock) over which the share of rejected lines counts
REJECT_SHARE = 0.01  # "rejecting" from 1% of a parser's lines: a few torn lines are normal
REJECT_MIN = 5  # and at least this many, so one torn line among the first few is not a state
RATE_SPAN = 5.0  # seconds (monotonic) of Stats snapshots a source's lines/s is measured over


class ParserState(StrEnum):
    NO_SOURCE = "no source"  # a guard feeding it has no file (engine/health.py)
    SILENT = "silent"  # a guard feeding it stopped delivering
    QUIET = "quiet"
    OVER = "over threshold"
    ABNORMAL = "abnormal"
    INSTANT = "instant"
    REJECTING = "rejecting"
    OFF = "disabled"


# Symbol and word: a state is never told by colour alone.
STATE_MARKS: dict[ParserState, str] = {
    ParserState.NO_SOURCE: "∅ no source",
    ParserState.SILENT: "◌ silent",
    ParserState.ABNORMAL: "▲ abnormal",
    ParserState.OVER: "● over",
    ParserState.INSTANT: "! instant",
    ParserState.REJECTING: "✗ rejects",
    ParserState.QUIET: "· quiet",
    ParserState.OFF: "○ off",
}


@dataclass(slots=True)
class AlarmEntry:
    seq: int
    alarm: Alarm
    acked: bool = False
    key: str = ""  # the delivery's identity (parser, kind, group): acks are per key
    silenced: int = 0  # the id of the silence that hushes it, 0: none
    resolved: bool = False  # a condition alarm (silent) the engine said ended


@dataclass(slots=True)
class ParserView:
    config: ParserConfig
    totals: deque[tuple[int, float]] = field(default_factory=lambda: deque(maxlen=MAX_WINDOWS))
    last_window: WindowClosed | None = None
    marks: OrderedDict[int, dict[str, RowMarks]] = field(default_factory=OrderedDict)
    memory: OrderedDict[str, float] = field(default_factory=OrderedDict)
    open_window: tuple[int, float] | None = None
    parsed: int = 0
    rejected: int = 0
    last_reject: str = ""  # the engine's sample: the last rejected line, or why it was
    late: int = 0
    rejecting: bool = False
    samples: deque[tuple[float, int, int]] = field(default_factory=deque)  # time, parsed, rejected
    last_instant_start: int | None = None

    def sparkline_values(self) -> list[float]:
        values = [t for _s, t in self.totals]
        if self.open_window is not None and (
            not self.totals or self.open_window[0] > self.totals[-1][0]
        ):
            values.append(self.open_window[1])
        return values


@dataclass(frozen=True, slots=True)
class MarkedRow:
    """A top-N row as the table shows it."""

    key: str
    amount: float
    group: dict[str, Any]
    threshold: bool
    abnormal: bool
    growth: float | None  # (amount - previous) / previous, when there is a previous
    silenced: bool = False
    pinned: bool = False  # not in the window's top N: shown because an alarm led here


@dataclass(frozen=True, slots=True)
class Notifiers:
    """What the status line says about alarm delivery (from the query thread)."""

    channels: tuple[str, ...] = ()  # one phrase per configured channel ("mail ok")
    store_bytes: int | None = None
    error: str = ""  # delivery could not start: acks and silences are not kept


def source_keys(files: Sequence[FileStats]) -> list[str]:
    """One row key per source: its path (a receiver's closed connection and the one that
    reuses its slot share a path: the second gets a suffix)."""
    seen: dict[str, int] = {}
    out = []
    for f in files:
        n = seen[f.path] = seen.get(f.path, 0) + 1
        out.append(f.path if n == 1 else f"{f.path}\x00{n}")
    return out


class ConsoleModel:
    def __init__(
        self,
        config: Config,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.clock = clock  # wall clock: silences run "for 1 h from now"
        # Paces the per-source rates: the engine's clock may be a test's frozen one.
        self.monotonic = monotonic
        # Lines/s of each source (by source_keys), None until two snapshots tell.
        self.source_rates: dict[str, float | None] = {}
        self._source_samples: dict[str, deque[tuple[float, int]]] = {}
        self.parsers: dict[str, ParserView] = {p.id: ParserView(p) for p in config.parsers}
        self.alarms: deque[AlarmEntry] = deque(maxlen=MAX_ALARMS)
        self.stats: Stats | None = None
        self.finished: Finished | None = None
        self.opened = False
        self.error = ""
        self.events = 0
        self._seq = 0
        self.dirty: set[str] = set()
        self.silences: list[Silence] = []
        self.acked_keys: set[str] = set()
        self.notifiers = Notifiers()
        self.guards: tuple[GuardHealth, ...] = ()  # live guards' health, from the stats

    # ------------------------------------------------------------------ feeding

    def apply(self, event: Event) -> int:
        """Fold one engine event in; returns how many new alarms it brought that deserve a
        sound (neither silenced nor acknowledged)."""
        self.events += 1
        if isinstance(event, WindowClosed):
            self._window(event)
        elif isinstance(event, AlarmRaised):
            e = self._alarm(event.alarm)
            return 0 if e.acked or e.silenced else 1
        elif isinstance(event, Stats):
            self._stats(event)
        elif isinstance(event, Finished):
            self.finished = event
            self._stats(event.stats, final=True)
        elif isinstance(event, AlarmResolved):
            self._resolved(event.alarm)
        return 0

    def _window(self, ev: WindowClosed) -> None:
        v = self.parsers.get(ev.parser)
        if v is None:
            return
        v.totals.append((ev.start, ev.total))
        v.last_window = ev
        v.marks[ev.start] = {group_key(r.group): r.marks for r in ev.rows}
        while len(v.marks) > MARK_WINDOWS:
            v.marks.popitem(last=False)
        for r in ev.rows:
            self._remember(v, r)
        if v.open_window is not None and v.open_window[0] <= ev.start:
            v.open_window = None
        self.dirty.update(("parsers", "alarms"))

    @staticmethod
    def _remember(v: ParserView, r: ShownRow) -> None:
        key = group_key(r.group)
        v.memory[key] = r.amount
        v.memory.move_to_end(key)
        while len(v.memory) > MAX_MEMORY:
            v.memory.popitem(last=False)

    def _alarm(self, alarm: Alarm) -> AlarmEntry:
        from alser_tui.engine.notify.lifecycle import alarm_doc, alarm_key

        self._seq += 1
        key = alarm_key(alarm)
        silence = self._silence_for(alarm_doc(alarm))
        entry = AlarmEntry(
            self._seq, alarm, key in self.acked_keys, key, silence.id if silence else 0
        )
        self.alarms.append(entry)
        v = self.parsers.get(alarm.parser)
        if v is not None and alarm.kind in (INSTANT, DROPPED):
            v.last_instant_start = max(v.last_instant_start or alarm.start, alarm.start)
        self.dirty.update(("alarms", "parsers"))
        return entry

    def _resolved(self, alarm: Alarm) -> None:
        from alser_tui.engine.notify.lifecycle import alarm_key

        key = alarm_key(alarm)
        for e in self.alarms:
            if e.key == key:
                e.resolved = True
        self.dirty.update(("alarms", "parsers"))

    def _stats(self, st: Stats, final: bool = False) -> None:
        self.stats = st
        if [g.state for g in st.guards] != [g.state for g in self.guards]:
            self.dirty.add("alarms")  # the strip says it too (not on every line's time)
        self.guards = st.guards
        for pid, ps in st.parsers.items():
            v = self.parsers.get(pid)
            if v is None:
                continue
            v.parsed, v.rejected, v.late = ps.parsed, ps.rejected, ps.late
            v.last_reject = ps.last_reject
            samples = v.samples
            samples.append((st.time, ps.parsed, ps.rejected))
            while len(samples) > 2 and samples[1][0] <= st.time - REJECT_MEMORY:
                samples.popleft()
            # The last REJECT_MEMORY seconds; a finished replay is judged as a whole.
            _t, parsed0, rejected0 = (0.0, 0, 0) if final else samples[0]
            parsed, rejected = ps.parsed - parsed0, ps.rejected - rejected0
            v.rejecting = rejected >= REJECT_MIN and rejected / (parsed + rejected) >= REJECT_SHARE
        self._source_rates(st.files)
        self.dirty.update(("stats", "parsers"))

    def _source_rates(self, files: Sequence[FileStats]) -> None:
        """Lines/s per source over the last RATE_SPAN seconds of snapshots."""
        now = self.monotonic()
        old = self._source_samples
        samples: dict[str, deque[tuple[float, int]]] = {}
        rates: dict[str, float | None] = {}
        for key, f in zip(source_keys(files), files, strict=True):
            q = old.get(key)
            if q is None or f.lines < q[-1][1]:
                q = deque()  # new, or another source now under that name: start over
            q.append((now, f.lines))
            while len(q) > 2 and q[1][0] <= now - RATE_SPAN:
                q.popleft()
            t0, n0 = q[0]
            rates[key] = (f.lines - n0) / (now - t0) if now > t0 else None
            samples[key] = q  # sources gone are forgotten
        self._source_samples = samples
        self.source_rates = rates

    def set_open_totals(self, totals: dict[str, tuple[int, float] | None]) -> None:
        for pid, value in totals.items():
            v = self.parsers.get(pid)
            if v is not None:
                v.open_window = value
        self.dirty.add("parsers")

    def take_dirty(self) -> set[str]:
        out, self.dirty = self.dirty, set()
        return out

    # ------------------------------------------------------------------ alarms

    def firing(self) -> list[AlarmEntry]:
        """Alarms raised by each parser's newest closed window, or after it (instants)."""
        out = []
        for e in self.alarms:
            if e.alarm.kind in CONDITION_KINDS:
                # Not a window's: it fires until the engine resolves it.
                if not e.resolved:
                    out.append(e)
                continue
            v = self.parsers.get(e.alarm.parser)
            last = v.last_window if v is not None else None
            if last is None or e.alarm.start >= last.start:
                out.append(e)
        return out

    def unacked(self) -> int:
        """Alarms still asking for attention: a silenced one was answered already."""
        return sum(1 for e in self.alarms if not e.acked and not e.silenced)

    def alarm(self, seq: int) -> AlarmEntry | None:
        for e in reversed(self.alarms):
            if e.seq == seq:
                return e
        return None

    def ack(self, seq: int) -> AlarmEntry | None:
        """Acknowledge one alarm, and with it every alarm of its key (the delivery keeps acks
        per parser, kind and group). Returns the entry, None when there was nothing to do."""
        e = self.alarm(seq)
        if e is None or e.acked:
            return None
        self.set_acked({e.key})
        return e

    def ack_all(self) -> list[AlarmEntry]:
        """Acknowledge every alarm; returns one entry per newly acknowledged key."""
        fresh: dict[str, AlarmEntry] = {}
        for e in self.alarms:
            if not e.acked:
                fresh.setdefault(e.key, e)
        self.set_acked(set(fresh))
        return list(fresh.values())

    def sync_acked(self, keys: set[str]) -> int:
        """The acknowledgements in force (delivery.db's, and those made here not stored
        yet): new alarms of other keys are unanswered, however it was before."""
        if keys == self.acked_keys:
            return 0
        self.acked_keys = set()
        return self.set_acked(keys)

    def set_acked(self, keys: set[str]) -> int:
        """These keys are acknowledged (here, or found in delivery.db)."""
        new = keys - self.acked_keys
        self.acked_keys |= keys
        n = 0
        for e in self.alarms:
            if not e.acked and e.key in keys:
                e.acked = True
                n += 1
        if n or new:
            self.dirty.add("alarms")
        return n

    # ------------------------------------------------------------------ silences

    def set_silences(self, silences: Sequence[Silence]) -> bool:
        """The active silences (delivery.db's, as the query thread last read them)."""
        fresh = sorted(silences, key=lambda s: s.id)
        if fresh == self.silences:
            return False
        self.silences = fresh
        from alser_tui.engine.notify.lifecycle import alarm_doc

        for e in self.alarms:
            s = self._silence_for(alarm_doc(e.alarm))
            e.silenced = s.id if s else 0
        self.dirty.update(("alarms", "silences"))
        return True

    def active_silences(self) -> list[Silence]:
        now = self.clock()
        return [s for s in self.silences if s.until > now]

    def _silence_for(self, doc: dict[str, Any]) -> Silence | None:
        if not self.silences:
            return None
        now = self.clock()
        return next((s for s in self.silences if s.until > now and s.matches(doc)), None)

    def group_silence(self, parser_id: str, group: dict[str, Any]) -> Silence | None:
        """The silence that hushes this group's window alarms, if any."""
        if not self.silences:
            return None
        for kind in (THRESHOLD, ABNORMAL, INSTANT):
            doc = {"parser": parser_id, "kind": kind, "group": group, "text": ""}
            s = self._silence_for(doc)
            if s is not None:
                return s
        return None

    # ------------------------------------------------------------------ parsers

    def troubled_guards(self) -> tuple[list[GuardHealth], list[GuardHealth]]:
        """(guards without a source, guards gone silent that have one)."""
        missing = [g for g in self.guards if g.state == "no source"]
        silent = [g for g in self.guards if g.state == "silent"]
        return missing, silent

    def source_state(self, parser_id: str) -> ParserState | None:
        """What the guards feeding a parser say, the worst of them; None: all well."""
        states = {g.state for g in self.guards if parser_id in g.parsers}
        if "no source" in states:
            return ParserState.NO_SOURCE
        if "silent" in states:
            return ParserState.SILENT
        return None

    def state_of(self, parser_id: str) -> ParserState:
        v = self.parsers[parser_id]
        if not v.config.enabled:
            return ParserState.OFF
        source = self.source_state(parser_id)
        if source is not None:
            # Before the alarm states: without lines, "quiet" (or an old window's marks)
            # would be a false green.
            return source
        w = v.last_window
        if w is not None and any(r.marks.abnormal for r in w.rows):
            return ParserState.ABNORMAL
        if w is not None and any(r.marks.threshold for r in w.rows):
            return ParserState.OVER
        if v.last_instant_start is not None and (w is None or v.last_instant_start >= w.start):
            return ParserState.INSTANT
        if v.rejecting:
            return ParserState.REJECTING
        return ParserState.QUIET

    def mark_rows(
        self, parser_id: str, start: int, rows: tuple[GroupRow, ...], previous: dict[str, float]
    ) -> list[MarkedRow]:
        """Threshold/abnormal marks for shown rows: the engine's own marks for a window it
        closed while we watched; otherwise the same rules against the window before."""
        v = self.parsers[parser_id]
        p = v.config
        known = v.marks.get(start)
        out = []
        for r in rows:
            key = group_key(r.group)
            m = known.get(key) if known is not None else None
            if m is not None:
                prev = m.previous
                threshold, abnormal = m.threshold, m.abnormal
            else:
                # A live window compares with the engine's memory (what it will compare with
                # at close); an older window with the window just before it.
                prev = v.memory.get(key) if start > _last_start(v) else None
                if prev is None:
                    prev = previous.get(key)
                threshold = p.beep_threshold > 0 and r.amount >= p.beep_threshold
                abnormal = bool(
                    prev
                    and prev > 0
                    and r.amount >= p.abnormal_base
                    and (r.amount - prev) / prev >= p.abnormal_percent
                )
            growth = (r.amount - prev) / prev if prev else None
            silenced = self.group_silence(parser_id, r.group) is not None
            out.append(MarkedRow(key, r.amount, r.group, threshold, abnormal, growth, silenced))
        return out


def _last_start(v: ParserView) -> int:
    return v.last_window.start if v.last_window is not None else -1


# How loud a parser state reads (the console's parser list and the web page alike).
ALARM_STATES = frozenset(
    {ParserState.OVER, ParserState.INSTANT, ParserState.NO_SOURCE, ParserState.SILENT}
)
WARN_STATES = frozenset({ParserState.ABNORMAL, ParserState.REJECTING})


def state_level(state: ParserState) -> str:
    """ "alarm", "warn" or "quiet"."""
    return "alarm" if state in ALARM_STATES else "warn" if state in WARN_STATES else "quiet"


def alarm_mark(e: AlarmEntry) -> str:
    """⊘ silenced, ○ acknowledged, ● asks for attention: a symbol, not only a colour."""
    return "⊘" if e.silenced else "○" if e.acked else "●"


def strip_summary(model: ConsoleModel, firing: Sequence[AlarmEntry] | None = None) -> str:
    """The alarm strip's words: '● 2 firing (3 unacked) · ⊘ 1 silence'."""
    if firing is None:
        firing = model.firing()
    missing, _silent = model.troubled_guards()
    parts = []
    if firing:
        parts.append(f"● {len(firing)} firing")
    if missing:
        # No alarm can come from a guard that reads nothing: never "nothing firing" then.
        parts.append(f"∅ {guard_words(len(missing))} without a source")
    words = " · ".join(parts) if parts else "○ nothing firing"
    unacked = model.unacked()
    words += f" ({unacked} unacked)" if unacked else " (all acked)" if model.alarms else ""
    silences = len(model.active_silences())
    if silences:
        words += f" · ⊘ {silences} silence{'s' if silences != 1 else ''}"
    return words


def guard_words(n: int) -> str:
    return f"{n} guard{'s' if n != 1 else ''}"


def source_trouble(model: ConsoleModel) -> str:
    """'1 guard without a source · 2 silent' for the top bar and the status line; ''."""
    missing, silent = model.troubled_guards()
    parts = []
    if missing:
        parts.append(f"∅ {guard_words(len(missing))} without a source")
    if silent:
        parts.append(f"◌ {len(silent)} silent")
    return " · ".join(parts)


def alarm_kind_word(kind: str) -> str:
    return {THRESHOLD: "threshold", ABNORMAL: "abnormal", INSTANT: "instant"}.get(kind, kind)
