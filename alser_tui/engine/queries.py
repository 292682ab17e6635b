"""What the console and the web view ask of a live or finished run: windows, top-N,
drill-down events. Any thread may call these (each reads on its own connection).

A mixin: the engine answers from its own store and runs; an attached console
(link/remote.py) from the guard's database, read-only, and the newest event time per parser
the guard reports.
"""

from __future__ import annotations

from typing import Any, Protocol

from alser_tui.engine.alarms import DROPPED, INSTANT, Alarm
from alser_tui.engine.config import ParserConfig
from alser_tui.engine.parsers.hostline import drop_evidence
from alser_tui.engine.store import Aggregate, Store
from alser_tui.engine.windows import window_start


class RunView(Protocol):
    """What the queries need of a parser's run."""

    config: ParserConfig
    max_ts: int | None  # the newest event time stored (its window is the open one)


class StoreQueries:
    store: Store | None
    runs: Any  # Mapping[str, RunView]

    def open_window(self, parser_id: str) -> tuple[int, int, Aggregate] | None:
        """The live aggregate of the newest window of a parser (not yet closed)."""
        run = self.runs[parser_id]
        if self.store is None or run.max_ts is None:
            return None
        size = run.config.window
        start = window_start(run.max_ts, size)
        agg = self.store.aggregate(run.config, start, start + size, con=self.store.reader())
        return start, start + size, agg

    def events_of(
        self,
        parser_id: str,
        start: int,
        end: int,
        group: dict[str, Any] | None = None,
        limit: int = 10_000,
    ) -> list[dict[str, Any]]:
        if self.store is None:
            return []
        return self.store.events_of(self.runs[parser_id].config, start, end, group, limit=limit)

    def alarm_events(self, alarm: Alarm, limit: int = 10_000) -> list[dict[str, Any]]:
        """An instant or dropped alarm's own events: the row an instant was raised for, the
        statistics line that reported a loss (its rows name the destinations, not the
        program; the parser's ``where`` may leave both out of every window)."""
        if self.store is None:
            return []
        p = self.runs[alarm.parser].config
        if alarm.kind == DROPPED:
            evidence = drop_evidence(str(alarm.group.get("program")), int(alarm.amount))
            match = {"area": alarm.group.get("area")}
            return self.store.events_at(
                p, alarm.ts, match, contains=evidence, one_per_line=True, limit=limit
            )
        if alarm.kind != INSTANT:
            raise ValueError(f"a {alarm.kind} alarm stands for a window: use events_of")
        match = {k: v for k, v in alarm.group.items() if k in p.column_names}
        return self.store.events_at(p, alarm.ts, match, limit=limit)

    def open_totals(self) -> dict[str, tuple[int, float] | None]:
        """Every parser's newest window: (start, total), or None before its first row.
        Cheap enough to poll for all parsers (a counted index range where it can be)."""
        out: dict[str, tuple[int, float] | None] = {}
        store = self.store
        for pid, run in list(self.runs.items()):
            if store is None or run.max_ts is None:
                out[pid] = None
                continue
            start = window_start(run.max_ts, run.config.window)
            total = store.window_total(run.config, start, start + run.config.window, store.reader())
            out[pid] = (start, total)
        return out

    def recent_windows(
        self, parser_id: str, limit: int = 60
    ) -> list[tuple[int, int, float, list[dict[str, Any]]]]:
        """Closed windows of a parser, oldest first: (start, end, total, rows)."""
        if self.store is None:
            return []
        return self.store.recent_windows(parser_id, limit, con=self.store.reader())

    def window_of(self, parser_id: str, start: int) -> Aggregate | None:
        """The aggregate of any window still holding its events (drill into past windows)."""
        if self.store is None:
            return None
        p = self.runs[parser_id].config
        return self.store.aggregate(p, start, start + p.window, con=self.store.reader())
