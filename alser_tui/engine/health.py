"""Source health: what would otherwise look green while nothing is guarded.

Three conditions of the live sources, judged by the engine's clock (the wall clock):

- **no source**: a file guard whose glob matches no file (its folder may not even exist), or
  a tables guard that finds no table. Shown at once (state, warning); a ``no_source`` notice
  goes to the channels once it lasted ``notice_after()`` (a minute, or the guard's
  ``silent_after`` when that is shorter), and a clearing notice when a source appears.
- **silent**: a guard whose sources delivered lines (this run, or before a restart: the last
  line's time is kept in the store) and then none for ``silent_after`` seconds: the dead
  collector or pipe of a central log server. A ``silent`` *alarm*, resolved by the next line
  from any of the guard's sources (a guard with several files is silent only when none of
  them delivers).
- **unfollowed**: matched files the followers cannot open (the open-file limit): an
  ``unfollowed`` notice per guard at once, cleared once every file is followed again.
- **skew**: a followed file whose line times run far from the clock in every one of the last
  reads that reached its end (its lines all count as late and never alarm). A ``skew``
  notice, cleared once those reads are all within the tolerance again (or the file is no
  longer followed).

What was announced is kept in the store too, so a restart re-raises what still holds (the
delivery does not repeat what it sent) and clears what ended while it was down.
"""

from __future__ import annotations

import glob
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from typing import Any

from alser_tui.engine.alarms import SILENT, Alarm
from alser_tui.engine.config import Config, GuardConfig
from alser_tui.engine.events import (
    AlarmRaised,
    AlarmResolved,
    Event,
    GuardHealth,
    SourceNotice,
    SourceProblem,
)

OK, NO_SOURCE, SILENT_STATE = "ok", "no source", "silent"
NO_SOURCE_KIND, SKEW_KIND, UNFOLLOWED_KIND = "no_source", "skew", "unfollowed"
CONFIG_KIND = "config"
RAISED, CLEARED = "raised", "cleared"
# "If it lasts": a rotation (delete + re-create) or a folder created late at boot takes
# seconds; a minute without any file is a real gap.
NO_SOURCE_NOTICE = 60.0
SAVE_EVERY = 30.0  # seconds between writes of the last-line times to the store
META_KEY = "health"


# --------------------------------------------------------------------------- words


def span(seconds: float) -> str:
    """``45 s``, ``12 min``, ``3.5 h``, ``2.0 d``."""
    s = abs(seconds)
    if s >= 86400:
        return f"{s / 86400:.1f} d"
    if s >= 3600:
        return f"{s / 3600:.1f} h"
    if s >= 60:
        return f"{int(s // 60)} min"
    return f"{int(s)} s"


def skew_text(skew: int) -> str:
    direction = "ahead of" if skew > 0 else "behind"
    return f"line times {span(skew)} {direction} the clock (is that server's clock wrong?)"


def _when(ts: float, now: float) -> str:
    fmt = "%H:%M:%S" if now - ts < 86400 else "%Y-%m-%d %H:%M"
    return time.strftime(fmt, time.localtime(ts))


def skew_verdict(samples: Sequence[int] | None, tolerance: float, needed: int) -> int | bool | None:
    """A file's clock from its last ``needed`` reads at its end (line time - clock): the
    median skew when every one is beyond ``tolerance`` the same way, False when every one is
    within it, None when that is not known (too few reads, or mixed)."""
    if samples is None or len(samples) < needed:
        return None
    if min(samples) > tolerance or max(samples) < -tolerance:
        return sorted(samples)[len(samples) // 2]
    if max(abs(s) for s in samples) <= tolerance:
        return False
    return None


# --------------------------------------------------------------------------- globs


def glob_problem(pattern: str) -> str:
    """Why a (resolved) glob gives no file to read, or "" when it matches one."""
    parent = os.path.dirname(pattern) or "."
    if glob.has_magic(parent):
        if not any(os.path.isdir(d) for d in glob.glob(parent)):
            return f"no folder matches {parent}"
    elif not os.path.isdir(parent):
        if os.path.lexists(parent):
            return f"{parent} is not a folder"
        return f"folder {parent} does not exist"
    elif not os.access(parent, os.R_OK | os.X_OK):
        return f"folder {parent} cannot be read"
    if not any(os.path.isfile(p) for p in glob.glob(pattern)):
        return "matches no file"
    return ""


def source_of(g: GuardConfig) -> str:
    """The guard's source as its config names it."""
    if g.listen:
        return g.listen
    if g.tables:
        return f"{g.dsn}#{g.tables}"
    return g.tail_glob


def config_warnings(config: Config) -> list[str]:
    """--check: one line per enabled guard whose tail_glob or history_glob gives no file."""
    from alser_tui.engine.pipeline import active_guards

    out = []
    for i in active_guards(config):
        g = config.guards[i]
        problems = []
        for key in ("tail_glob", "history_glob"):
            pattern = getattr(g, key)
            if pattern and (why := glob_problem(str(config.resolve(pattern)))):
                problems.append(f"{key} {pattern!r}: {why}")
        if problems:
            out.append(f"guards[{i}] ({g.name}): " + "; ".join(problems))
    return out


# --------------------------------------------------------------------------- state


def notice_after(g: GuardConfig) -> float:
    """How long a guard is without a source before the channels hear of it."""
    if g.silent_after > 0:
        return min(g.silent_after, NO_SOURCE_NOTICE)
    return NO_SOURCE_NOTICE


def _key(g: GuardConfig) -> str:
    # Stable across restarts and reordered configs (the index is not).
    return f"{g.name}|{source_of(g)}"


class HealthMonitor:
    """Fed by the engine thread: ``delivered()`` per read that brought lines, ``check()``
    about once a second (it returns the events to emit), ``snapshot()`` for the stats.

    ``guards`` are the engine's live guards (``index``, ``config``, ``runs``, ``source``);
    ``store`` (or None) keeps the state between runs in its meta table.
    """

    def __init__(
        self,
        guards: Sequence[Any],
        *,
        store: Any,
        now: float,
        skew_tolerance: float,
        skew_samples: int,
    ) -> None:
        self.guards = list(guards)
        self.store = store
        self.skew_tolerance = skew_tolerance
        self.skew_samples = skew_samples
        self.started = now
        self._last: dict[str, float] = {}  # guard key -> last line
        self._silent: dict[str, Alarm] = {}  # raised silent alarms
        self._no_source_since: dict[str, float] = {}
        self._no_source: dict[str, SourceProblem] = {}  # announced
        self._skew: dict[str, SourceProblem] = {}  # announced, by path
        self._unfollowed: dict[str, SourceProblem] = {}  # announced, by guard source
        # Announced before a restart: raised again if it still holds, else cleared.
        self._restored: dict[str, set[str]] = {SILENT: set(), NO_SOURCE_KIND: set()}
        self._saved_last: dict[str, float] = {}
        self._saved_at = float("-inf")
        self._dirty = False
        self._snapshot: tuple[GuardHealth, ...] = ()
        self._load()

    # ------------------------------------------------------------------ persistence

    def _load(self) -> None:
        raw = None
        if self.store is not None:
            try:
                raw = self.store.meta(META_KEY)
            except sqlite3.Error:
                raw = None
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            data = {}
        if not isinstance(data, dict):
            return
        keys = {_key(g.config) for g in self.guards}
        self._last = {k: float(v) for k, v in dict(data.get("last_line", {})).items() if k in keys}
        self._saved_last = dict(self._last)
        for k, doc in dict(data.get(SILENT, {})).items():
            if k in keys:
                try:
                    self._silent[k] = Alarm(**doc)
                except TypeError:
                    continue
                self._restored[SILENT].add(k)
        self._restored[NO_SOURCE_KIND] = {k for k in data.get(NO_SOURCE_KIND, []) if k in keys}
        for path, item in dict(data.get(SKEW_KIND, {})).items():
            try:
                self._skew[path] = SourceProblem(**item)
            except TypeError:
                continue

    def save(self, now: float, *, force: bool = False) -> None:
        """Write the state when it changed (the last-line times at most every SAVE_EVERY)."""
        due = self._last != self._saved_last and now - self._saved_at >= SAVE_EVERY
        if self.store is None or not (self._dirty or due or force):
            return
        data = {
            "last_line": self._last,
            SILENT: {k: asdict(a) for k, a in self._silent.items()},
            NO_SOURCE_KIND: sorted(set(self._no_source) | self._restored[NO_SOURCE_KIND]),
            SKEW_KIND: {p: asdict(item) for p, item in self._skew.items()},
        }
        try:
            self.store.set_meta(META_KEY, json.dumps(data, default=str))
        except sqlite3.Error:
            return  # a full or locked disk: the store's own error says so; next time
        self._saved_last = dict(self._last)
        self._saved_at = now
        self._dirty = False

    # ------------------------------------------------------------------ feeding

    def delivered(self, guard: Any, now: float) -> None:
        """The guard's sources handed out lines at ``now``."""
        self._last[_key(guard.config)] = now

    def check(
        self, now: float, skew_samples: Mapping[str, Sequence[int]], *, reading: bool = True
    ) -> list[Event]:
        """Judge every guard now; the events of what began or ended. ``reading`` False: the
        engine itself reads nothing now (the store refuses a batch): no silence is judged,
        the sources are not to blame."""
        events: list[Event] = []
        snapshot = []
        raised: list[SourceProblem] = []
        back: list[SourceProblem] = []
        followed: dict[str, str] = {}  # path -> guard name
        for g in self.guards:
            cfg: GuardConfig = g.config
            key = _key(cfg)
            paths = tuple(f.path for f in g.source.files)
            for p in paths:
                followed.setdefault(p, cfg.name)
            missing = self._missing(g, paths)
            last = self._last.get(key, 0.0)
            quiet = now - last if last else 0.0
            silent = cfg.silent_after > 0 and last > 0 and quiet >= cfg.silent_after
            if not reading:
                silent = key in self._silent and key not in self._restored[SILENT]
            snapshot.append(_health(g, missing, quiet if silent else 0.0, last, paths))
            events.extend(self._judge_silent(g, key, silent, last, now))
            n = len(paths)
            now_has = f"{n} source{'s' if n != 1 else ''} now"
            item = SourceProblem(cfg.name, source_of(cfg), missing or now_has)
            restored = key in self._restored[NO_SOURCE_KIND]
            if missing:
                since = self._no_source_since.setdefault(key, now)
                lasted = now - since >= notice_after(cfg)
                if key not in self._no_source and (lasted or restored):
                    self._no_source[key] = item
                    raised.append(item)
            else:
                self._no_source_since.pop(key, None)
                if key in self._no_source or restored:
                    self._no_source.pop(key, None)
                    back.append(item)
            if restored:
                self._restored[NO_SOURCE_KIND].discard(key)
                self._dirty = True
        self._snapshot = tuple(snapshot)
        if raised:
            events.append(_notice(NO_SOURCE_KIND, RAISED, raised))
        if back:
            events.append(_notice(NO_SOURCE_KIND, CLEARED, back))
        events.extend(self._judge_skew(followed, skew_samples))
        events.extend(self._judge_unfollowed())
        if raised or back:
            self._dirty = True
        self.save(now)
        return events

    def _missing(self, g: Any, paths: tuple[str, ...]) -> str:
        """Why the guard has no source now ("" when it has one; a listener always has)."""
        cfg: GuardConfig = g.config
        if paths or cfg.listen:
            return ""
        if cfg.tables:
            err = str(getattr(g.source, "last_error", "") or "")
            return f"no table matches {cfg.tables!r}" + (f" ({err})" if err else "")
        pattern = getattr(g.source, "pattern", cfg.tail_glob)
        why = glob_problem(pattern)
        if why == "" and getattr(g.source, "compressed_files", ()):
            return "only gzip-compressed files match (not followed live)"
        return why or "no file followed yet"

    def _judge_silent(self, g: Any, key: str, silent: bool, last: float, now: float) -> list[Event]:
        alarm = self._silent.get(key)
        restored = key in self._restored[SILENT]
        if restored:
            self._restored[SILENT].discard(key)
        if silent and (alarm is None or restored):
            # (After a restart, raised again: the delivery knows whether it sent it.)
            alarm = self._silent[key] = silent_alarm(g, last, now)
            self._dirty = True
            return [AlarmRaised(alarm)]
        if not silent and alarm is not None:
            del self._silent[key]
            self._dirty = True
            return [AlarmResolved(alarm, now)]
        return []

    def _judge_skew(
        self, followed: Mapping[str, str], samples: Mapping[str, Sequence[int]]
    ) -> list[Event]:
        raised: list[SourceProblem] = []
        back: list[SourceProblem] = []
        for path, guard in followed.items():
            verdict = skew_verdict(samples.get(path), self.skew_tolerance, self.skew_samples)
            if verdict is None:
                continue
            if verdict is False:
                if path in self._skew:
                    self._skew.pop(path)
                    back.append(SourceProblem(guard, path, "line times agree with the clock"))
            elif path not in self._skew:
                item = SourceProblem(guard, path, skew_text(int(verdict)), int(verdict))
                self._skew[path] = item
                raised.append(item)
        for path in [p for p in self._skew if p not in followed]:
            # No longer followed: nothing is skewed there any more.
            was = self._skew.pop(path)
            back.append(SourceProblem(was.guard, path, "no longer followed"))
        events: list[Event] = []
        if raised:
            events.append(_notice(SKEW_KIND, RAISED, raised))
        if back:
            events.append(_notice(SKEW_KIND, CLEARED, back))
        if raised or back:
            self._dirty = True
        return events

    def _judge_unfollowed(self) -> list[Event]:
        now: dict[str, SourceProblem] = {}
        for g in self.guards:
            waiting: Mapping[str, str] = getattr(g.source, "unfollowed", None) or {}
            if waiting:
                source = source_of(g.config)
                why = next(iter(waiting.values()))
                text = f"{len(waiting):,} files not followed: {why}"
                now[source] = SourceProblem(g.config.name, source, text)
        raised = [item for key, item in now.items() if key not in self._unfollowed]
        back = [
            SourceProblem(item.guard, key, "every file followed again")
            for key, item in self._unfollowed.items()
            if key not in now
        ]
        self._unfollowed = {key: self._unfollowed.get(key, item) for key, item in now.items()}
        events: list[Event] = []
        if raised:
            events.append(_notice(UNFOLLOWED_KIND, RAISED, raised))
        if back:
            events.append(_notice(UNFOLLOWED_KIND, CLEARED, back))
        return events

    # ------------------------------------------------------------------ reading

    def snapshot(self) -> tuple[GuardHealth, ...]:
        return self._snapshot

    def warnings(self) -> list[str]:
        """For the stats, by guard (the printer keys warnings by their text up to ": ")."""
        out = []
        for h in self._snapshot:
            if h.state == NO_SOURCE:
                out.append(f"guard {h.name}: no source: {h.source}: {h.reason}")
            elif h.state == SILENT_STATE:
                out.append(f"guard {h.name}: silent: {h.reason} from {h.source}")
        return out

    def firing(self) -> Iterable[Alarm]:
        return self._silent.values()


def _health(
    g: Any, missing: str, silent_for: float, last: float, paths: tuple[str, ...]
) -> GuardHealth:
    cfg: GuardConfig = g.config
    source = source_of(cfg)
    if missing:
        state, reason = NO_SOURCE, missing
    elif silent_for:
        state, reason = SILENT_STATE, f"no line for {span(silent_for)}"
    else:
        state, reason = OK, ""
    return GuardHealth(
        g.index, cfg.name, tuple(r.config.id for r in g.runs), source, state, reason,
        silent=bool(silent_for), last_line=last, paths=paths,
    )  # fmt: skip


def silent_alarm(g: Any, last: float, now: float) -> Alarm:
    """A guard's silent alarm: as severe as the least threshold alarm its parsers can raise
    (routes that take those take it), of the guard's first parser."""
    cfg: GuardConfig = g.config
    parsers = [r.config for r in g.runs]
    severity = max(p.severity * max(p.beep_threshold, 1) for p in parsers)
    source = source_of(cfg)
    text = (
        f"{cfg.name} silent: no line for {span(now - last)} since {_when(last, now)} from {source}"
    )
    return Alarm(
        parsers[0].id, SILENT, severity, int(now - last), {"guard": cfg.name, "source": source},
        int(last), int(now), int(now), text, cfg.name,
    )  # fmt: skip


def notice_text(kind: str, state: str, n: int) -> str:
    """'1 guard has no source', '2 sources' clocks are back', ..."""
    if kind == NO_SOURCE_KIND:
        if state == RAISED:
            return "1 guard has no source" if n == 1 else f"{n} guards have no source"
        return "1 guard has its source back" if n == 1 else f"{n} guards have their sources back"
    if kind == CONFIG_KIND:  # the guard's own (guard/host.py): a reload refused, then fixed
        return "config reload refused" if state == RAISED else "the config loads again"
    if kind == UNFOLLOWED_KIND:
        if state == RAISED:
            return "files not followed: out of file descriptors"
        return "every file followed again"
    how = "off" if state == RAISED else "back"
    return f"1 source's clock is {how}" if n == 1 else f"{n} sources' clocks are {how}"


def _notice(kind: str, state: str, items: list[SourceProblem]) -> SourceNotice:
    return SourceNotice(kind, state, notice_text(kind, state, len(items)), tuple(items))
