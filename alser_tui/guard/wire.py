"""The guard's wire format: engine events and query results as JSON values, and back.

A dataclass travels as an object with its class name under ``"@"`` and its fields; tuples
as arrays (and arrays come back as tuples: every sequence field of the events is a tuple);
plain dicts (a group's values, parser stats by id) as objects. Only the classes listed here
are ever built from the wire, so a peer cannot make this side construct anything else.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from alser_tui.engine import events
from alser_tui.engine.alarms import Alarm, RowMarks

# Bumped on any change a peer of the previous version could not read.
PROTOCOL = 1
TAG = "@"

_CLASSES: dict[str, type] = {
    cls.__name__: cls
    for cls in (
        Alarm,
        RowMarks,
        events.ShownRow,
        events.WindowClosed,
        events.AlarmRaised,
        events.ParserStats,
        events.FileStats,
        events.GuardHealth,
        events.Stats,
        events.Finished,
        events.UnguardedFiles,
        events.AlarmResolved,
        events.SourceProblem,
        events.SourceNotice,
    )
}


class WireError(ValueError):
    """A value that does not decode into what this side knows."""


def register(cls: type) -> type:
    """Let another dataclass travel (query results of the guard's own)."""
    _CLASSES[cls.__name__] = cls
    return cls


def encode(value: Any) -> Any:
    """A JSON-ready value (dataclasses tagged, tuples as lists)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {TAG: type(value).__name__}
        for f in dataclasses.fields(value):
            out[f.name] = encode(getattr(value, f.name))
        return out
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, (frozenset, set)):
        return [encode(v) for v in sorted(value, key=str)]
    return value


def decode(value: Any) -> Any:
    """The value :func:`encode` was given (sets come back as tuples)."""
    if isinstance(value, list):
        return tuple(decode(v) for v in value)
    if isinstance(value, dict):
        name = value.get(TAG)
        if name is None:
            return {k: decode(v) for k, v in value.items()}
        cls = _CLASSES.get(name) if isinstance(name, str) else None
        if cls is None:
            raise WireError(f"unknown type {name!r}")
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: decode(v) for k, v in value.items() if k in names}
        try:
            return cls(**kwargs)
        except TypeError as exc:
            raise WireError(f"{name}: {exc}") from exc
    return value
