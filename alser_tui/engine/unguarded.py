"""Unguarded files: files in the watched directories that no guard's glob covers.

The original mailed this list so that a new log family (a new app writing to the central
server) did not go unwatched. The directories are those of the live guards' tail_globs; a
file counts as covered when any running guard's tail_glob or history_glob matches it, or
when it is a rotated member of such a file (``app.1.log.1``, ``app.1.log.2.gz``,
``app.1.log-20240101``): logrotate's copies of a guarded family are not a new family.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import re
import time
from collections.abc import Iterable

# What logrotate and friends append to a log's name: a counter or a date (dateext), then
# maybe a compressor's extension; or the extension alone.
_COMPRESSED = r"\.(?:gz|bz2|xz|zst|lz4|lzma|Z|zip)"
_ROTATED = re.compile(
    rf"(?:[.-](?:\d{{1,6}}|\d{{4}}-?\d\d-?\d\d(?:[-_T]?\d{{2,6}})?))+(?:{_COMPRESSED})?$"
    rf"|{_COMPRESSED}$"
)


def rotated_base(path: str) -> str | None:
    """The log a rotated copy was made from (``app.1.log.2.gz`` -> ``app.1.log``), or None."""
    m = _ROTATED.search(os.path.basename(path))
    if m is None or m.start() == 0:
        return None
    return path[: len(path) - (m.end() - m.start())]


def _matches(path: str, pattern: str) -> bool:
    """Glob semantics for one path: each directory level on its own (``*`` never spans a
    ``/``), dot-files only for a pattern that names the dot."""
    parts, pats = path.split(os.sep), pattern.split(os.sep)
    if len(parts) != len(pats):
        return False
    for part, pat in zip(parts, pats, strict=True):
        if part.startswith(".") and not pat.startswith("."):
            return False
        if not fnmatch.fnmatchcase(part, pat):
            return False
    return True


class UnguardedTracker:
    """Scans at most every ``interval`` seconds; remembers what it reported."""

    def __init__(
        self, tail_globs: Iterable[str], all_globs: Iterable[str], interval: float
    ) -> None:
        self.tail_globs = [g for g in tail_globs if g]
        self.all_globs = [g for g in all_globs if g]
        self.interval = interval
        self.files: tuple[str, ...] = ()
        self.gone: tuple[str, ...] = ()  # files of the previous scan that went away
        self.scanned = False
        self._seen: set[str] = set()
        self._next = 0.0

    def directories(self) -> list[str]:
        dirs: set[str] = set()
        for pattern in self.tail_globs:
            parent = os.path.dirname(pattern) or "."
            # A wildcard in the directory part watches every directory it matches.
            found = glob.glob(parent) if glob.has_magic(parent) else [parent]
            dirs.update(d for d in found if os.path.isdir(d))
        return sorted(dirs)

    def scan(self) -> list[str]:
        """Rescan now; returns the unguarded files not seen by an earlier scan."""
        found: list[str] = []
        for d in self.directories():
            try:
                entries = list(os.scandir(d))
            except OSError:
                continue
            for e in entries:
                try:
                    regular = e.is_file()
                except OSError:
                    continue
                if regular:
                    found.append(os.path.normpath(e.path))
        # The globs after the directories: a log created in between is in both lists, so one
        # that appears while we scan is never reported as unguarded (a false notice on the
        # channels). A covered file that went away in between no longer matches a glob; the
        # existence check drops it.
        covered: set[str] = set()
        for pattern in self.all_globs:
            covered.update(os.path.normpath(p) for p in glob.glob(pattern))
        found = [
            p
            for p in found
            if p not in covered and not self.rotated_member(p) and os.path.lexists(p)
        ]
        self.files = tuple(sorted(found))
        new = [p for p in self.files if p not in self._seen]
        self.gone = tuple(sorted(self._seen.difference(self.files)))
        # Forget what went away, so a file that comes back is new again.
        self._seen = set(self.files)
        self.scanned = True
        return new

    def rotated_member(self, path: str) -> bool:
        """A rotated copy of a file some guard's glob covers (whether or not it exists now)."""
        base = rotated_base(path)
        while base is not None:
            if any(_matches(base, os.path.normpath(g)) for g in self.all_globs):
                return True
            base = rotated_base(base)  # app.1.log.1.gz: .gz first, then .1
        return False

    def due(self) -> bool:
        now = time.monotonic()
        if now < self._next:
            return False
        self._next = now + self.interval
        return True
