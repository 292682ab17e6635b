"""Follow every file matching one guard's glob, each with its own FileTailer."""

from __future__ import annotations

import fnmatch
import glob
import os
import stat
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import ClassVar

from .fdlimit import FileBudget
from .tailer import (
    CHUNK_SIZE,
    HEAD_BYTES,
    MAX_LINE_BYTES,
    OUT_OF_FILES,
    FileState,
    FileTailer,
    Identity,
    digest_length,
    fingerprint,
    head_digest,
    head_matches,
)

# Bound on the remembered states of files let go of (see ``_known``).
KNOWN_MAX = 1024
# Bytes of lines one read() hands out at most (beside its line budget): the engine's batch
# stays a few MB even when every line is a 100 KB JSON document.
BATCH_BYTES = 8 << 20
# A new file starting with the same HEAD_BYTES as a file still being read is a copy in the
# making (copytruncate copies, then cuts): it waits this long for the cut to tell how far the
# original was read, then starts at its end.
COPY_WAIT = 5.0
# How long the state of a cut (copytruncate) content is kept for its copy to show up, and
# how many are kept.
CUT_MEMORY = 300.0
CUTS_MAX = 1024


@dataclass(frozen=True, slots=True)
class FollowedFile:
    """One followed file, for display."""

    kind: ClassVar[str] = "file"

    path: str
    offset: int
    size: int
    lag: int
    lines_read: int
    overlong: int
    missing: bool
    last_line_at: float = 0.0  # wall clock; 0.0: no line read yet
    alias_of: str = ""  # another name of a file followed under that name
    out_of_files: bool = False  # cannot be opened for want of a file descriptor

    @property
    def note(self) -> str:
        if self.alias_of:
            return f"same file as {self.alias_of} (read there)"
        if self.out_of_files:
            return "not open: out of file descriptors (retrying)"
        parts = ["missing (gone from its path)"] if self.missing else []
        if self.overlong:
            parts.append(f"{self.overlong:,} overlong")
        return ", ".join(parts)


class LiveFollower:
    """The live files of one guard.

    ``saved`` are the states stored by the previous run (and its cut contents).  Start
    positions: a file matching a saved identity resumes there; on the very first run
    (``first_run``) the files that already exist start at their end; otherwise, and for every
    file that appears later, from 0.  Gzip-compressed files are not followed (rotated copies
    whose lines were counted from the live file); ``compressed_files`` lists the ones the
    glob matches. A new file that is a copy of content read (it starts with the bytes a state
    says were read: copytruncate, ``cp`` in the glob, now or while stopped) starts where
    reading of that content stopped, never from 0 (see ``_copy_start``).  Contents cut from
    their inode are reported by ``read()`` as states with ``cut`` set, to be stored at once
    with the positions: a run killed before it saw the copy still knows it.  One inode is
    followed by one tailer, whatever names reach it.

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
        batch_bytes: int = BATCH_BYTES,
        budget: FileBudget | None = None,
    ) -> None:
        self.pattern = pattern
        self.max_line_bytes = max_line_bytes
        self.chunk_size = chunk_size
        self.batch_bytes = batch_bytes
        self._tailers: dict[str, FileTailer] = {}
        self._reported: dict[FileTailer, FileState] = {}  # last state handed to the caller
        # States stored by the previous run (the engine passes every guard's: most are not
        # ours, so they are looked up but never reported back).
        self._saved: dict[Identity, list[FileState]] = {}
        states = saved.values() if isinstance(saved, Mapping) else saved
        self._cuts: list[tuple[FileState, float]] = []  # contents cut from their inode, when
        self._new_cuts: list[FileState] = []  # not reported by read() yet
        now = time.monotonic()
        # Saved contents of this glob's files a copy can be recognised by (see _best_match).
        self._copyable: list[FileState] = []
        for st in states:
            ours = bool(st.head) and fnmatch.fnmatchcase(st.path, pattern)
            if st.cut:
                if ours:
                    self._cuts.append((st, now))
                continue
            self._saved.setdefault(st.identity, []).append(st)
            if ours:
                self._copyable.append(st)
        del self._cuts[:-CUTS_MAX]
        # Last states of files a tailer let go of (rotated away, vanished): a file with that
        # identity resumes there instead of at 0.  Without this, a file renamed to another
        # name that still matches the glob would be read again from its start.
        self._known: dict[Identity, list[FileState]] = {}
        # Where each known file really is (a symlink's target): a state is kept while that
        # file is still there, so a symlink swapped back to it resumes instead of re-reading.
        self._where: dict[Identity, str] = {}
        self._compressed: dict[str, Identity] = {}  # matched, gzip: never read live
        self._waiting: dict[str, float] = {}  # copies of a file still being read, since
        self._fresh: set[Identity] = set()  # added since the last rescan: not pruned yet
        self._gone: set[str] = set()  # paths no longer matched: dropped once drained
        self._turn = 0
        # Matched files not followed, and why (the open-file limit): said, never silent.
        self.unfollowed: dict[str, str] = {}
        self._budget = budget
        if budget is not None:
            budget.register(lambda: len(self._tailers))
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
        for path in [p for p in self._compressed if p not in paths]:
            del self._compressed[path]
        new: list[tuple[str, os.stat_result]] = []
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
            if self._compressed.get(path) == ident:
                continue
            new.append((path, st))

        # Files with a state of their own first: a content found gone from its inode is
        # then known before any copy of it is looked at, whatever the names' order. Then
        # the most recently written: if descriptors run short, the live files get them.
        def order(entry: tuple[str, os.stat_result]) -> tuple[bool, float]:
            ident = (entry[1].st_dev, entry[1].st_ino)
            return (ident not in self._known and ident not in self._saved, -entry[1].st_mtime)

        new.sort(key=order)
        unfollowed: dict[str, str] = {}
        for path, st in new:
            ident = (st.st_dev, st.st_ino)
            if ident in held:
                # Another name of a file followed (a rename whose old name's tailer has not
                # finished it yet, a second link): once that tailer lets go, the next rescan
                # resumes it from _known.
                continue
            if self._budget is not None and not self._budget.room():
                unfollowed[path] = self._budget.reason
                continue
            resume = self._known.pop(ident, []) + self._saved.pop(ident, [])
            if not resume and not at_end:
                copy = self._copy_start(path, st)
                if copy is None:
                    continue  # wait for the original's cut
                resume = [copy] if copy.offset else []
            self._fresh.discard(ident)
            tailer = FileTailer(
                path,
                resume=resume,
                at_end=at_end,
                max_line_bytes=self.max_line_bytes,
                chunk_size=self.chunk_size,
                known=self._lookup,
                held=self._holder,
            )
            self._harvest(tailer)
            if tailer.out_of_files:
                unfollowed[path] = "too many open files (out of descriptors)"
            elif tailer.compressed:
                tailer.close()
                self._compressed[path] = ident
            elif tailer.is_open:
                # (Not in _reported: its start is stored with the next batch, so that a
                # copy found to resume stays known once its cut is forgotten.)
                self._tailers[path] = tailer
                self._where[ident] = tailer.real_path
                held.add(ident)
        self.unfollowed = unfollowed
        for path in self._tailers:
            if path not in paths:
                self._gone.add(path)
        for path in [p for p in self._waiting if p not in paths or p in self._tailers]:
            del self._waiting[path]
        for ident in [i for i in self._known if i not in seen and i not in self._fresh]:
            if not self._still_there(ident):
                del self._known[ident]
        held = {t.identity for t in self._tailers.values() if t.is_open}
        for ident in [i for i in self._where if i not in self._known and i not in held]:
            del self._where[ident]
        self._fresh.clear()

    def read(self, max_lines: int) -> list[tuple[str, list[str], FileState]]:
        """Up to ``max_lines`` lines in total: (path, lines, state after them) per file.

        Round-robin in quotas, starting with a different file each call, so one file with a
        huge backlog cannot starve the others. About ``batch_bytes`` at most: reading goes
        at the pace the caller parses and stores, and its memory does not grow with a
        backlog however long its lines.
        """
        tailers = list(self._tailers.values())
        if not tailers or max_lines <= 0:
            return []
        self._turn = (self._turn + 1) % len(tailers)
        active = tailers[self._turn :] + tailers[: self._turn]
        got: dict[FileTailer, list[str]] = {}
        at_eof: set[FileTailer] = set()
        remaining = max_lines
        room = self.batch_bytes
        while active and remaining > 0 and room > 0:
            quota = max(1, remaining // len(active))
            share = max(1, room // len(active))
            still = []
            for tailer in active:
                if remaining <= 0 or room <= 0:
                    break
                want = min(quota, remaining)
                lines = tailer.read(want, share)
                room -= tailer.last_read_bytes
                if lines:
                    got.setdefault(tailer, []).extend(lines)
                    remaining -= len(lines)
                if len(lines) < want and tailer.at_eof:
                    at_eof.add(tailer)
                else:
                    still.append(tailer)
            active = still
        result: list[tuple[str, list[str], FileState]] = []
        for tailer in tailers:
            self._harvest(tailer)
        # Contents cut from their inode: stored with the batch that moves past the cut.
        result.extend((cut.path, [], cut) for cut in self._new_cuts)
        self._new_cuts.clear()
        for tailer in tailers:
            # Rotated-away files first (their final offsets), then the file now at the path.
            if tailer.retired:
                for old in tailer.retired:
                    result.append((old.path, [], old))
                    self._remember(old, tailer.retired_real.get(old.identity, ""))
                tailer.retired.clear()
                tailer.retired_real.clear()
                if tailer.is_open:
                    self._where[tailer.identity] = tailer.real_path
            if tailer.compressed:
                # The path now holds a gzip file (written after we opened it empty, or
                # rotated in): not a live log; let it go.
                self._compressed[tailer.path] = tailer.identity
                self._gone.discard(tailer.path)
                del self._tailers[tailer.path]
                self._reported.pop(tailer, None)
                tailer.close()
                continue
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
                    self._remember(tailer.state, tailer.real_path)
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
                    last_line_at=t.last_line_at,
                    alias_of=t.alias_of,
                    out_of_files=t.out_of_files,
                )
            )
        return out

    @property
    def compressed_files(self) -> tuple[str, ...]:
        return tuple(sorted(self._compressed))

    def lag_of(self, path: str) -> int:
        """Bytes not read yet from the file at ``path`` (0 when it is not followed)."""
        t = self._tailers.get(path)
        return t.lag_bytes if t is not None else 0

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

    def _copy_start(self, path: str, st: os.stat_result) -> FileState | None:
        """Where a new file starts: a copy of content already read resumes where reading of
        it stopped (a FileState to resume from); any other file from 0 (offset 0). None: a
        copy of a file still being read, whose cut may come any moment: not yet."""
        try:
            with open(path, "rb") as f:
                head = f.read(HEAD_BYTES)
        except OSError as exc:
            if exc.errno in OUT_OF_FILES:
                return None  # cannot tell yet: from 0 could count a copy twice
            return FileState(path, st.st_dev, st.st_ino, "", 0)
        plain = FileState(path, st.st_dev, st.st_ino, fingerprint(head)[0], 0)
        size = st.st_size

        def at(offset: int) -> FileState:
            return FileState(path, st.st_dev, st.st_ino, plain.fingerprint, min(offset, size))

        best = self._best_match(head)
        if best is not None:
            # A digest shorter than HEAD_BYTES covers all that was read of that content.
            n = digest_length(best.head)
            return at(best.offset if n >= HEAD_BYTES else min(best.offset, n))
        for t in self._tailers.values():
            mine = t.state.head
            if t.is_open and digest_length(mine) >= HEAD_BYTES and head_matches(head, mine):
                if t.offset >= size:
                    return at(size)  # read to past the copy's end in the original
                since = self._waiting.setdefault(path, time.monotonic())
                if time.monotonic() - since < COPY_WAIT:
                    return None
                return at(size)  # a plain copy (cp): its lines are read from the original
        return plain

    def _best_match(self, head: bytes) -> FileState | None:
        """The content a file starting with ``head`` is a copy of: one cut from its inode
        (newest first), let go of, or saved by the previous run and not found at its inode;
        the one whose digest covers the most bytes."""
        now = time.monotonic()
        self._cuts = [c for c in self._cuts if now - c[1] < CUT_MEMORY][-CUTS_MAX:]
        candidates = [c for c, _ in reversed(self._cuts)]
        candidates.extend(s for bucket in self._known.values() for s in bucket)
        candidates.extend(s for s in self._copyable if s.identity in self._saved)
        digests: dict[int, str] = {}  # the file's own digest per length, each made once
        best, best_n = None, 0
        for s in candidates:
            n = digest_length(s.head)
            if n <= best_n or n > len(head):
                continue
            if n not in digests:
                digests[n] = head_digest(head[:n])
            if digests[n] == s.head:
                best, best_n = s, n
        return best

    def _harvest(self, tailer: FileTailer) -> None:
        """Take the contents a tailer found cut from its inode: for copies, and to store."""
        if tailer.cut:
            now = time.monotonic()
            self._cuts.extend((c, now) for c in tailer.cut)
            del self._cuts[:-CUTS_MAX]
            self._new_cuts.extend(tailer.cut)
            tailer.cut.clear()

    def _holder(self, ident: Identity) -> str | None:
        """The path of the tailer following this file, if one does."""
        for t in self._tailers.values():
            if t.is_open and t.identity == ident:
                return t.path
        return None

    def _lookup(self, ident: Identity) -> list[FileState]:
        """States for a file a tailer switches to (a symlink swapped back to it)."""
        return self._known.pop(ident, []) + self._saved.pop(ident, [])

    def _still_there(self, ident: Identity) -> bool:
        where = self._where.get(ident)
        if not where:
            return False
        try:
            st = os.stat(where)
        except OSError:
            return False
        return (st.st_dev, st.st_ino) == ident

    def _remember(self, state: FileState, where: str = "") -> None:
        ident = state.identity
        # Re-inserted: the dict's order is the LRU order KNOWN_MAX trims by.
        bucket = [s for s in self._known.pop(ident, []) if s.fingerprint != state.fingerprint]
        bucket.insert(0, state)  # newest first: it is tried first
        del bucket[4:]
        self._known[ident] = bucket
        if where:
            self._where[ident] = where
        self._fresh.add(ident)
        while len(self._known) > KNOWN_MAX:
            oldest = next(iter(self._known))
            del self._known[oldest]
            self._where.pop(oldest, None)
