"""Crash points for the kill -9 tests: the process SIGKILLs itself at a named point.

Off unless the environment names one, as ``ALSER_CRASH_AT=NAME:N`` (the N-th time the
point is reached, 1 by default). The check when off is one truth test, so the points can
sit on hot paths. A test uses this to hit a narrow window (after one commit, before the
next) every time instead of hoping a random kill lands in it.
"""

from __future__ import annotations

import os
import signal
import threading

_SPEC = os.environ.get("ALSER_CRASH_AT", "")
_lock = threading.Lock()
_hits: dict[str, int] = {}


def _parse(spec: str) -> tuple[str, int]:
    name, _, n = spec.partition(":")
    return name.strip(), int(n) if n.strip() else 1


def crash_point(name: str) -> None:
    """Kill this process (SIGKILL: no cleanup, no flush) if the environment asks for it."""
    if not _SPEC:
        return
    wanted, nth = _parse(_SPEC)
    if name != wanted:
        return
    with _lock:
        _hits[name] = _hits.get(name, 0) + 1
        if _hits[name] == nth:
            os.kill(os.getpid(), signal.SIGKILL)
