"""Wake the engine when something happens in the guards' directories.

Only a hint: the engine loop waits on ``changed`` with a timeout and polls anyway, so a
watcher that cannot start (no inotify, too many watches...) or dies costs latency, never
lines.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import threading
from collections.abc import Iterable


def is_pattern(path: str) -> bool:
    """A glob (or a plain file's path) rather than a directory to watch as a whole."""
    return glob.has_magic(path) or os.path.isfile(path)


def watch_roots(paths: Iterable[str]) -> dict[str, bool]:
    """{directory: recursive} to watch: a directory as is; for a glob, the part before the
    first wildcard: ``/logs/php.*.log`` -> /logs (flat); ``/logs/*/php.log`` -> /logs
    (recursive)."""
    roots: dict[str, bool] = {}
    for pattern in paths:
        pattern = os.path.abspath(pattern)
        if not is_pattern(pattern):
            roots[pattern] = roots.get(pattern, False)
            continue
        parts = pattern.split(os.sep)
        fixed = []
        for part in parts[:-1]:
            if glob.has_magic(part):
                break
            fixed.append(part)
        root = os.sep.join(fixed) or os.sep
        recursive = len(fixed) < len(parts) - 1
        roots[root] = roots.get(root, False) or recursive
    return roots


class DirWatcher:
    """A daemon thread running ``watchfiles.watch`` on the guards' directories.

    ``paths`` are the guards' globs (best: only changes to matching files count) or plain
    directories (any change in them counts; a path that does not exist and has no wildcard
    is taken for a directory).  ``changed`` is set whenever something relevant changes (the
    engine clears it).  ``ready`` is set once the OS watch is in place (or the thread gave
    up).  A directory that does not exist yet is skipped and looked for again every
    ``recheck`` seconds.  Any exception ends the thread quietly: it is kept in ``error`` and
    ``changed`` is set once so the engine notices and falls back to polling.
    """

    def __init__(
        self,
        paths: Iterable[str],
        *,
        debounce_ms: int = 50,
        recheck: float = 1.0,
    ) -> None:
        given = [os.path.abspath(p) for p in paths if p]
        self.patterns = [p for p in given if is_pattern(p)]
        self.dirs = {p for p in given if not is_pattern(p)}
        self.roots = watch_roots(given)
        self.debounce_ms = debounce_ms
        self.recheck = recheck
        self.changed = threading.Event()
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self.watching: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.alive:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="alser-dirwatch", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop promptly: watchfiles looks at the stop event every few tens of ms."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def matches(self, path: str) -> bool:
        """Is a change to ``path`` worth waking the engine for?"""
        if path in self.dirs or os.path.dirname(path) in self.dirs:
            return True
        return any(fnmatch.fnmatchcase(path, p) for p in self.patterns)

    # ------------------------------------------------------------------ thread

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                present = {d: r for d, r in self.roots.items() if os.path.isdir(d)}
                missing = [d for d in self.roots if d not in present]
                self.watching = sorted(present)
                if not present:
                    self.ready.set()
                    self._stop.wait(self.recheck)
                    if any(os.path.isdir(d) for d in missing):
                        self.changed.set()
                    continue
                self._watch(present, missing)
        except Exception as exc:
            self.error = exc
            self.changed.set()
        finally:
            self.ready.set()

    def _watch(self, present: dict[str, bool], missing: list[str]) -> None:
        # No watch_filter: everything is yielded and filtered here, so a busy directory full
        # of unrelated files still gives us a turn to look for the missing directories.
        import watchfiles  # here: a replay never watches, and the import costs ~25 ms

        for changes in watchfiles.watch(
            *present,
            watch_filter=None,
            debounce=self.debounce_ms,
            step=min(50, self.debounce_ms) or 1,
            stop_event=self._stop,
            rust_timeout=max(1, int(self.recheck * 1000)),
            yield_on_timeout=True,
            raise_interrupt=False,
            recursive=any(present.values()),
        ):
            self.ready.set()
            if any(self.matches(path) for _, path in changes):
                self.changed.set()
            if any(os.path.isdir(d) for d in missing):
                self.changed.set()  # its files may already be there
                return  # watch again, with the new directory
