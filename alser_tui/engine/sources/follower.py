"""Follow every file matching one guard's glob, each with its own FileTailer."""

from __future__ import annotations

import glob
import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .tailer import CHUNK_SIZE, MAX_LINE_BYTES, FileState, FileTailer

Identity = tuple[int, int]


@dataclass(frozen=True, slots=True)
class FollowedFile:
    """One followed file, for display."""

    path: str
    offset: int
    size: int
    lag: int
    lines_read: int
    overlong: int
    missing: bool


class LiveFollower:
    """The live files of one guard.

    ``saved`` are the states stored by the previous run.  Start positions: a file matching a
    saved identity resumes there; on the very first run (``first_run``) the files that already
    exist start at their end; otherwise, and for every file that appears later, from 0.

    The engine calls ``rescan()`` every ~2 s and when the watcher signals, and ``read()`` in
    its loop; everything happens on the caller's thread.
    """

    def __init__(
        self,
        pattern: str,
        saved: Mapping[tuple[int, int, str], FileState] | Iterable[FileState] = (),
        *,
        first_run: bool,
        max_line_bytes: int = MAX_LINE_BYTES,
        chunk_size: int = CHUNK_SIZE,
    ) -> None:
        self.pattern = pattern
        self.max_line_bytes = max_line_bytes
        self.chunk_size = chunk_size
        self._tailers: dict[str, FileTailer] = {}
        self._reported: dict[FileTailer, FileState] = {}  # last state handed to the caller
        # States stored by the previous run (the engine passes every guard's: most are not
        # ours, so they are looked up but never reported back).
        self._saved: dict[Identity, list[FileState]] = {}
        states = saved.values() if isinstance(saved, Mapping) else saved
        for st in states:
            self._saved.setdefault(st.identity, []).append(st)
        # Last states of files a tailer let go of (rotated away, vanished): a file with that
        # identity resumes there instead of at 0.  Without this, a file renamed to another
        # name that still matches the glob would be read again from its start.
        self._known: dict[Identity, list[FileState]] = {}
        self._fresh: set[Identity] = set()  # added since the last rescan: not pruned yet
        self._gone: set[str] = set()  # paths no longer matched: dropped once drained
        self._turn = 0
        self._scan(at_end=first_run)

    # ------------------------------------------------------------------ public

    def rescan(self) -> None:
        """Re-glob: start tailers for new files (from 0), mark vanished ones to drop once drained."""
        self._scan(at_end=False)

    def _scan(self, *, at_end: bool) -> None:
        try:
            paths = set(glob.glob(self.pattern))
        except OSError:
            return
        held = {t.identity for t in self._tailers.values() if t.is_open}
        seen: set[Identity] = set()
        for path in sorted(paths):
            if path in self._tailers:
                self._gone.discard(path)  # back again (re-created): its tailer follows it
                continue
            try:
                st = os.stat(path)
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode):
                continue
            ident = (st.st_dev, st.st_ino)
            seen.add(ident)
            if ident in held:
                # Renamed from another matched path whose tailer has not finished it yet;
                # once that tailer lets go, the next rescan resumes it from _known.
                continue
            resume = self._known.pop(ident, []) + self._saved.pop(ident, [])
            self._fresh.discard(ident)
            tailer = FileTailer(
                path,
                resume=resume,
                at_end=at_end,
                max_line_bytes=self.max_line_bytes,
                chunk_size=self.chunk_size,
            )
            if tailer.is_open:
                self._tailers[path] = tailer
                self._reported[tailer] = tailer.state
        for path in self._tailers:
            if path not in paths:
                self._gone.add(path)
        for ident in [i for i in self._known if i not in seen and i not in self._fresh]:
            del self._known[ident]
        self._fresh.clear()

    def read(self, max_lines: int) -> list[tuple[str, list[str], FileState]]:
        """Up to ``max_lines`` lines in total: (path, lines, state after them) per file.

        Round-robin in quotas, starting with a different file each call, so one file with a
        huge backlog cannot starve the others.
        """
        tailers = list(self._tailers.values())
        if not tailers or max_lines <= 0:
            return []
        self._turn = (self._turn + 1) % len(tailers)
        active = tailers[self._turn :] + tailers[: self._turn]
        got: dict[FileTailer, list[str]] = {}
        at_eof: set[FileTailer] = set()
        remaining = max_lines
        while active and remaining > 0:
            quota = max(1, remaining // len(active))
            still = []
            for tailer in active:
                if remaining <= 0:
                    break
                want = min(quota, remaining)
                lines = tailer.read(want)
                if lines:
                    got.setdefault(tailer, []).extend(lines)
                    remaining -= len(lines)
                if len(lines) < want:
                    at_eof.add(tailer)
                else:
                    still.append(tailer)
            active = still
        result: list[tuple[str, list[str], FileState]] = []
        for tailer in tailers:
            # Rotated-away files first (their final offsets), then the file now at the path.
            for old in tailer.retired:
                result.append((old.path, [], old))
                self._remember(old)
            tailer.retired.clear()
            lines = got.get(tailer)
            state = tailer.state
            # A state that moved without lines (truncation, rotation, skipped overlong rest)
            # is reported too, so that what the engine stores stays true.
            if lines or state != self._reported.get(tailer):
                result.append((tailer.path, lines or [], state))
                self._reported[tailer] = state
        for path in list(self._gone):
            tailer = self._tailers[path]
            if tailer in at_eof:
                # Drained to its end in this very call: nothing more will come from it.
                self._gone.discard(path)
                del self._tailers[path]
                self._reported.pop(tailer, None)
                if tailer.is_open:
                    self._remember(tailer.state)
                tailer.close()
        return result

    def states(self) -> list[FileState]:
        """Current positions (to store with the rows), including rotated-away files."""
        out = [t.state for t in self._tailers.values() if t.is_open]
        held = {s.identity for s in out}
        for ident, states in self._known.items():
            if ident not in held:
                out.extend(states)
        return out

    @property
    def files(self) -> list[FollowedFile]:
        out = []
        for t in self._tailers.values():
            size = t.size
            out.append(
                FollowedFile(
                    path=t.path,
                    offset=t.offset,
                    size=size,
                    lag=max(0, size - t.offset),
                    lines_read=t.lines_read,
                    overlong=t.overlong,
                    missing=t.missing,
                )
            )
        return out

    @property
    def lag_bytes(self) -> int:
        return sum(t.lag_bytes for t in self._tailers.values())

    @property
    def at_eof(self) -> bool:
        return all(t.at_eof for t in self._tailers.values())

    def close(self) -> None:
        for t in self._tailers.values():
            t.close()
        self._tailers.clear()
        self._reported.clear()

    # ------------------------------------------------------------------ internals

    def _remember(self, state: FileState) -> None:
        ident = state.identity
        bucket = self._known.setdefault(ident, [])
        bucket[:] = [s for s in bucket if s.fingerprint != state.fingerprint]
        bucket.insert(0, state)  # newest first: it is tried first
        del bucket[4:]
        self._fresh.add(ident)
