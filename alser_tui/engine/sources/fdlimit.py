"""How many files the live followers may hold open: the open-file limit, less a reserve.

A central log server easily has more files than the default soft limit (1024). Running out
of descriptors must never stop the engine (SQLite, sockets and /proc need some too) nor
leave files unread without a word: the followers stop opening files at the budget and say
which files wait and why.
"""

from __future__ import annotations

import resource
from collections.abc import Callable

# Descriptors kept for everything but the followed files: the store's connections and
# their WAL files, SQLite's temporary files, the delivery database, sockets, inotify, /proc.
RESERVE_MIN = 64
RESERVE_SHARE = 8  # and at least 1/8 of the limit
# Where the hard limit is "unlimited", the soft one goes no higher than this.
CEILING = 1 << 20


def raise_open_file_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard one (what `ulimit -n` would allow); returns
    the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = CEILING if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
            soft = want
        except (ValueError, OSError):  # a kernel cap below the hard limit: keep ours
            pass
    return CEILING if soft == resource.RLIM_INFINITY else soft


class FileBudget:
    """Shared by the followers of all guards: may one more file be held open?"""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = raise_open_file_limit() if limit is None else limit
        self.capacity = max(1, self.limit - max(RESERVE_MIN, self.limit // RESERVE_SHARE))
        self._counts: list[Callable[[], int]] = []

    def register(self, count: Callable[[], int]) -> None:
        """A follower's count of the files it holds."""
        self._counts.append(count)

    @property
    def held(self) -> int:
        return sum(count() for count in self._counts)

    def room(self) -> bool:
        return self.held < self.capacity

    @property
    def reason(self) -> str:
        return (
            f"open-file limit {self.limit:,} reached ({self.capacity:,} for log files;"
            " raise LimitNOFILE or ulimit -n)"
        )
