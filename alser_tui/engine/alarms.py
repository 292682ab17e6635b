"""Alarm rules: threshold, abnormal jump versus the group's last shown amount, instant, dropped."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from alser_tui.engine.config import ParserConfig
from alser_tui.engine.parsers.base import Drop

THRESHOLD = "threshold"
ABNORMAL = "abnormal"
INSTANT = "instant"
DROPPED = "dropped"
# A guard's sources stopped delivering (engine/health.py): raised once, firing until the
# engine resolves it (AlarmResolved), not by windows.
SILENT = "silent"
CONDITION_KINDS = (SILENT,)


@dataclass(frozen=True, slots=True)
class Alarm:
    parser: str
    kind: str
    severity: float
    amount: float
    group: dict[str, Any]
    start: int
    end: int
    ts: int
    text: str
    title: str = ""
    previous: float | None = None  # abnormal: the amount it grew from

    @property
    def growth(self) -> float | None:
        if self.previous:
            return (self.amount - self.previous) / self.previous
        return None

    @property
    def group_key(self) -> tuple[Any, ...]:
        return tuple(sorted((k, str(v)) for k, v in self.group.items()))


@dataclass(slots=True)
class RowMarks:
    """What the rules said about one shown row (the console styles rows by it)."""

    threshold: bool = False
    abnormal: bool = False
    previous: float | None = None


DROPPED_FIELDS = ("area", "program")


def alarm_fields(p: ParserConfig, kind: str = "") -> frozenset[str]:
    """The group fields an alarm of this parser (and kind, "" any) carries: what a silence
    can match besides its text. Window alarms carry the group_by fields; an instant one the
    whole row; a dropped one the area and the program that lost lines."""
    out: set[str] = set()
    if kind in ("", THRESHOLD, ABNORMAL):
        out.update(p.group_by)
    if kind in ("", INSTANT) and (p.instant or p.kind == "hostline"):
        out.update(p.column_names)
    if kind in ("", DROPPED) and p.kind == "hostline":
        out.update(DROPPED_FIELDS)
    return frozenset(out)


def format_row(fmt: str, amount: Any, group: dict[str, Any]) -> str:
    """Fill a row format ({amount} is the aggregate); a value that does not fit its spec
    (a NULL under ``{line:>5d}``, say) is shown as text instead of failing."""
    values = {**group, "amount": _num(amount)}
    return format_values(fmt, values)


def format_values(fmt: str, values: dict[str, Any]) -> str:
    try:
        return fmt.format_map(values)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        safe = {k: ("" if v is None else str(v)) for k, v in values.items()}
        try:
            return fmt.format_map(safe)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            return " ".join(safe.values())


def _num(amount: Any) -> Any:
    # Amounts from SUM over REAL columns are floats; show whole numbers without ".0".
    if isinstance(amount, float) and amount.is_integer():
        return int(amount)
    return amount


@dataclass(slots=True)
class AlarmRules:
    """One parser's rules and its bounded memory of the amounts last shown per group."""

    config: ParserConfig
    memory_size: int = 100_000
    _last: OrderedDict[tuple[Any, ...], float] = field(default_factory=OrderedDict)

    def remember(self, group: dict[str, Any], amount: float) -> None:
        key = tuple(group.values())
        last = self._last
        last[key] = amount
        last.move_to_end(key)
        # An LRU instead of the original's wipe-when-full map: old quiet groups go first.
        while len(last) > self.memory_size:
            last.popitem(last=False)

    def evaluate_window(
        self,
        start: int,
        end: int,
        rows: list[tuple[float, dict[str, Any]]],
        *,
        update: bool = True,
    ) -> tuple[list[Alarm], list[RowMarks]]:
        """Alarms for the rows shown in a closed window; updates the memory (``update``
        False: the caller remembers the rows once the window is stored, so a failed store
        can evaluate the same window again)."""
        p = self.config
        alarms: list[Alarm] = []
        marks: list[RowMarks] = []
        for amount, group in rows:
            key = tuple(group.values())
            prev = self._last.get(key)
            m = RowMarks(previous=prev)
            text = ""  # the alarm's text, formatted only when the row raises one
            if p.beep_threshold > 0 and amount >= p.beep_threshold:
                m.threshold = True
                text = f"{p.label} {format_row(p.row_format, amount, group)}"
                alarms.append(
                    Alarm(
                        p.id,
                        THRESHOLD,
                        p.severity * amount,
                        amount,
                        group,
                        start,
                        end,
                        start,
                        text,
                        p.label,
                    )
                )
            if (
                prev is not None
                and prev > 0
                and amount >= p.abnormal_base
                and (amount - prev) / prev >= p.abnormal_percent
            ):
                m.abnormal = True
                text = text or f"{p.label} {format_row(p.row_format, amount, group)}"
                sev = p.severity * amount * p.abnormal_severity_factor
                alarms.append(
                    Alarm(
                        p.id, ABNORMAL, sev, amount, group, start, end, start, text, p.label, prev
                    )
                )
            marks.append(m)
            if update:
                self.remember(group, amount)
        return alarms, marks

    def instant(self, row: dict[str, Any], fmt: str, window: int) -> Alarm:
        p = self.config
        ts = row["ts"]
        start = ts - ts % window
        text = f"{p.label} {format_values(fmt, row)}"
        return Alarm(p.id, INSTANT, p.severity, 1, row, start, start + window, ts, text, p.label)

    def dropped(self, drop: Drop, window: int) -> Alarm:
        p = self.config
        start = drop.ts - drop.ts % window
        group = {"area": drop.area, "program": drop.program}
        text = f"{p.label} {drop.area} {drop.program} dropped {drop.count}"
        return Alarm(
            p.id, DROPPED, p.severity * drop.count, drop.count, group, start, start + window,
            drop.ts, text, p.label,
        )  # fmt: skip
