"""Unguarded files: files in the watched directories that no guard's glob covers.

The original mailed this list so that a new log family (a new app writing to the central
server) did not go unwatched. The directories are those of the live guards' tail_globs; a
file counts as covered when any running guard's tail_glob or history_glob matches it.
"""

from __future__ import annotations

import glob
import os
import time
from collections.abc import Iterable


class UnguardedTracker:
    """Scans at most every ``interval`` seconds; remembers what it reported."""

    def __init__(
        self, tail_globs: Iterable[str], all_globs: Iterable[str], interval: float
    ) -> None:
        self.tail_globs = [g for g in tail_globs if g]
        self.all_globs = [g for g in all_globs if g]
        self.interval = interval
        self.files: tuple[str, ...] = ()
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
        found = [p for p in found if p not in covered and os.path.lexists(p)]
        self.files = tuple(sorted(found))
        new = [p for p in self.files if p not in self._seen]
        # Forget what went away, so a file that comes back is new again.
        self._seen = set(self.files)
        self.scanned = True
        return new

    def due(self) -> bool:
        now = time.monotonic()
        if now < self._next:
            return False
        self._next = now + self.interval
        return True
