"""The small interface every parser kind implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alser_tui.engine.config import Config, ParserConfig

Row = tuple[Any, ...]


class _Rejected:
    """Marks a line that does not fit the parser at all (bad JSON, no regex match, bad type)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "REJECTED"


REJECTED: Any = _Rejected()


@dataclass(frozen=True, slots=True)
class Drop:
    """A syslog-ng statistics line reported lost lines: raised as a 'dropped' alarm at once."""

    area: str
    ts: int
    program: str
    count: int


class Parser:
    """Base class. ``parse`` is the hot path: keep it allocation-light.

    parse(area, ts, msg) returns
      - a row tuple ``(area, ts, *visible field values)`` in ``config.column_names`` order,
      - a list of such tuples (a line may yield several rows: syslog-ng statistics),
      - ``None`` when a field condition skips the line (contains/ignores/filters/missing key),
      - ``REJECTED`` when the line is malformed for this parser.
    """

    def __init__(self, config: ParserConfig, app_config: Config) -> None:
        self.config = config
        self.columns: tuple[str, ...] = config.column_names
        self.drops: list[
            Drop
        ] = []  # filled by parsers that see loss reports; drained by the engine
        self.last_reject: str = ""  # a sample of the last rejected message, for the console
        # Why the last line was rejected, when the line alone would not say (a timeout);
        # the pipeline takes it as the sample instead of the line and clears it.
        self.reject_note: str = ""

    def parse(self, area: str, ts: int, msg: str) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    def parse_row(self, area: str, ts: int, msg: str, line: str) -> Any:
        """``parse``, with the raw line appended to each row as the store keeps it (the
        hot path; unrolled parsers build that row at once instead of copying it)."""
        r = self.parse(area, ts, msg)
        if r.__class__ is tuple:
            return (*r, line)
        if r is None or r is REJECTED:
            return r
        return [(*one, line) for one in r]

    def is_instant(self, row: Row) -> bool:
        """Whether this row is also an 'instant' event (shown and alarmed at once)."""
        return bool(self.config.instant)

    @property
    def instant_format(self) -> str:
        return self.config.instant
