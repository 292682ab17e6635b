"""JsonParser: MSG is a JSON object; each field is a dotted path into it."""

from __future__ import annotations

from typing import Any

import orjson

from alser_tui.engine.config import Config, ParserConfig
from alser_tui.engine.parsers.base import REJECTED, Parser
from alser_tui.engine.parsers.fields import CURRENCY, MONEY, compile_fields, to_text
from alser_tui.engine.parsers.unrolled import unroll_json

PathStep = tuple[str, int]  # (object key, list index or -1 when the part is not a number)

_loads = orjson.loads
_DecodeError = orjson.JSONDecodeError


def compile_path(path: str) -> tuple[PathStep, ...]:
    """'items.0.id' -> (('items', -1), ('0', 0), ('id', -1)).

    A digit part indexes a list, and is still a key where the value there is an object.
    """
    steps = []
    for part in path.split("."):
        index = int(part) if part.isascii() and part.isdigit() else -1
        steps.append((part, index))
    return tuple(steps)


def lookup(obj: Any, steps: tuple[PathStep, ...]) -> Any:
    """The value at the path, or None when a key or index is missing (JSON null too)."""
    for key, index in steps:
        t = type(obj)
        if t is dict:
            obj = obj.get(key)
            if obj is None:
                return None
        elif t is list and 0 <= index < len(obj):
            obj = obj[index]
        else:  # a scalar, or a list indexed by a word
            return None
    return obj


class JsonParser(Parser):
    """A missing key, index or a JSON null skips the line (None); bad JSON rejects it."""

    def __init__(self, config: ParserConfig, app_config: Config) -> None:
        super().__init__(config, app_config)
        compiled = compile_fields(config.fields, app_config.currency_rates)
        plan = []
        for fc, cf in zip(config.fields, compiled, strict=True):
            steps = compile_path(fc.json_path)
            # A one-part path is a plain dict.get in the loop (the common case); the rest
            # walk their steps. Exactly one of key and steps is None.
            if len(steps) == 1:
                plan.append((steps[0][0], None, cf.fn, cf.visible, cf.role))
            else:
                plan.append((None, steps, cf.fn, cf.visible, cf.role))
        self._plan = tuple(plan)
        self._plain_plan = tuple(entry[:4] for entry in plan)
        # Money needs the currency seen earlier on the line: a second, slower loop.
        self._money = any(cf.role == MONEY for cf in compiled)
        fast = unroll_json(self)
        if fast is not None:
            self.parse, self.parse_row = fast  # type: ignore[method-assign]

    def parse(self, area: str, ts: int, msg: str) -> Any:
        try:
            obj = _loads(msg)
        except _DecodeError:
            self.last_reject = msg
            return REJECTED
        if type(obj) is not dict:
            self.last_reject = msg
            return REJECTED
        if self._money:
            return self._parse_money(area, ts, msg, obj)
        get = obj.get
        row = [area, ts]
        for key, steps, fn, visible in self._plain_plan:
            v = get(key) if steps is None else lookup(obj, steps)
            if v is None:
                return None
            if fn is None:
                if type(v) is not str:
                    v = to_text(v)
            else:
                v = fn(v)
                if v is None or v is REJECTED:
                    if v is REJECTED:
                        self.last_reject = msg
                    return v
            if visible:
                row.append(v)
        return tuple(row)

    def _parse_money(self, area: str, ts: int, msg: str, obj: dict[str, Any]) -> Any:
        row = [area, ts]
        currency = None
        for key, steps, fn, visible, role in self._plan:
            v = obj.get(key) if steps is None else lookup(obj, steps)
            if v is None:
                return None
            if fn is None:
                if type(v) is not str:
                    v = to_text(v)
            else:
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
