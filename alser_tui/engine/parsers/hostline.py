"""HostLineParser: 'DATA,...,HOST' lines, and syslog-ng's own statistics lines."""

from __future__ import annotations

import re
from typing import Any

from alser_tui.engine.config import Config, ParserConfig
from alser_tui.engine.parsers.base import REJECTED, Drop, Parser, Row

STATS_MARK = "Log statistics; "
_DROPPED = re.compile(r"dropped='program\(([^)]*)\)=([0-9]+)'")
_PROCESSED = re.compile(r"processed='destination\(([^)]*)\)=([0-9]+)'")

DEFAULT_INSTANT = "{area} {host} {data}"


def drop_evidence(program: str, count: int) -> str:
    """The text of a statistics line that reported this loss (its 'dropped' alarm's line)."""
    return f"dropped='program({program})={count}'"


class HostLineParser(Parser):
    """Rows are (area, ts, host, data, program, amount).

    An ordinary line gives (area, ts, HOST, DATA, None, None) and is always an instant
    event; HOST is the text after the last comma, without surrounding spaces. A statistics line gives one (area, ts, None, None, DESTINATION, N) row per
    destination that processed lines, and records a Drop for every program that lost some.
    """

    def __init__(self, config: ParserConfig, app_config: Config) -> None:
        super().__init__(config, app_config)
        self._instant = config.instant or DEFAULT_INSTANT

    def parse(self, area: str, ts: int, msg: str) -> Any:
        if STATS_MARK in msg:
            return self._stats(area, ts, msg)
        comma = msg.rfind(",")
        if comma < 0:
            self.last_reject = msg
            return REJECTED
        return (area, ts, msg[comma + 1 :].strip(), msg[:comma], None, None)

    def _stats(self, area: str, ts: int, msg: str) -> list[Row]:
        for m in _DROPPED.finditer(msg):
            n = int(m[2])
            if n > 0:
                self.drops.append(Drop(area, ts, m[1], n))
        rows: list[Row] = []
        for m in _PROCESSED.finditer(msg):
            n = int(m[2])
            if n > 0:
                rows.append((area, ts, None, None, m[1], n))
        return rows

    def is_instant(self, row: Row) -> bool:
        # Host lines are rare and each one matters (the original printed every one at once);
        # statistics rows (host None) only feed the window.
        return row[2] is not None

    @property
    def instant_format(self) -> str:
        return self._instant
