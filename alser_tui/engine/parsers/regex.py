"""RegexParser: the config's regex searched in MSG; each field takes one group."""

from __future__ import annotations

import re
from operator import itemgetter
from typing import Any

from alser_tui.engine.config import Config, ParserConfig
from alser_tui.engine.parsers.base import REJECTED, Parser
from alser_tui.engine.parsers.bounded import BoundedSearch
from alser_tui.engine.parsers.fields import CURRENCY, MONEY, compile_fields
from alser_tui.engine.parsers.splitplan import compile_split_plan
from alser_tui.engine.parsers.unrolled import unroll_regex


class RegexParser(Parser):
    """Unanchored search (the original used Go's FindStringSubmatch, which is a search).

    No match rejects the line. A group that took no part in the match gives "" (as in Go),
    not a missing value. The cost per line is bounded (see bounded.py): a line the regex
    could backtrack on for long is searched with ``regex_timeout``, and a search that runs
    out of time rejects the line (``timeouts`` counts them).
    """

    def __init__(self, config: ParserConfig, app_config: Config) -> None:
        super().__init__(config, app_config)
        regex = re.compile(config.regex)
        bounded = BoundedSearch(config.regex, config.regex_timeout)
        self.bounded = bounded
        self.timeouts = 0
        self._search = bounded.search  # re's
        # re on lines up to this length; longer ones: the guarded (timed) search.
        self._safe_len = bounded.safe_len
        self._guarded = bounded.guarded
        # Literals between (.+)/(.+?) groups: str methods find the same groups, faster
        # (and in linear time; when their first attempt fails, the bounded search decides).
        self._split = compile_split_plan(config.regex, bounded.groups)
        compiled = compile_fields(config.fields, app_config.currency_rates)
        # m.groups("") is indexed from 0: group N is at N - 1.
        self._plan = tuple(
            (fc.group - 1, cf.fn, cf.visible, cf.role)
            for fc, cf in zip(config.fields, compiled, strict=True)
        )
        self._plain_plan = tuple(entry[:3] for entry in self._plan)
        # Money needs the currency seen earlier on the line: a second, slower loop.
        self._money = any(cf.role == MONEY for cf in compiled)
        # When every field is a visible string with no option the row is just the groups
        # (or a C-level itemgetter pick of them): no Python call per field.
        self._whole = False
        self._pick: Any = None
        if all(cf.fn is None and cf.visible for cf in compiled):
            idx = [fc.group - 1 for fc in config.fields]
            if idx == list(range(regex.groups)):
                self._whole = True
            elif len(idx) == 1:
                self._pick = itemgetter(slice(idx[0], idx[0] + 1))
            else:
                self._pick = itemgetter(*idx)
        fast = unroll_regex(self)
        if fast is not None:
            self.parse, self.parse_row = fast  # type: ignore[method-assign]

    def parse(self, area: str, ts: int, msg: str) -> Any:
        split = self._split
        try:
            if split is not None:
                groups = split(msg)
                if groups is None:
                    self.last_reject = msg
                    return REJECTED
            else:
                # One length test per line keeps the guarded search off the hot path.
                if len(msg) <= self._safe_len:
                    m = self._search(msg)
                else:
                    m = self._guarded(msg)  # type: ignore[misc]
                if m is None:
                    self.last_reject = msg
                    return REJECTED
                groups = m.groups("")
        except TimeoutError:
            return self._timed_out(msg)
        # Tuple concatenation is ~40 ns faster per line than (area, ts, *groups).
        if self._whole:
            return (area, ts) + groups  # noqa: RUF005
        pick = self._pick
        if pick is not None:
            return (area, ts) + pick(groups)  # noqa: RUF005
        if self._money:
            return self._parse_money(area, ts, msg, groups)
        row = [area, ts]
        for idx, fn, visible in self._plain_plan:
            v = groups[idx]
            if fn is not None:
                v = fn(v)
                if v is None or v is REJECTED:
                    if v is REJECTED:
                        self.last_reject = msg
                    return v
            if visible:
                row.append(v)
        return tuple(row)

    def _timed_out(self, msg: str) -> Any:
        self.timeouts += 1
        self.last_reject = self.reject_note = (
            f"regex timed out after {self.config.regex_timeout * 1000:g} ms"
            f" on a {len(msg):,}-character message: {msg[:200]}"
        )
        return REJECTED

    def _parse_money(self, area: str, ts: int, msg: str, groups: tuple[str, ...]) -> Any:
        row = [area, ts]
        currency = None
        for idx, fn, visible, role in self._plan:
            v = groups[idx]
            if fn is not None:
                v = fn(v, currency) if role == MONEY else fn(v)
                if v is None or v is REJECTED:
                    if v is REJECTED:
                        self.last_reject = msg
                    return v
            if role == CURRENCY:
                currency = v
            if visible:
                row.append(v)
        return tuple(row)
