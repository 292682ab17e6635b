"""Where lines come from: live files (tail -F), history files (plain or gzip), and a
directory watcher that wakes the engine.  Plain synchronous Python, used from the engine's
thread."""

from .follower import FollowedFile, LiveFollower
from .history import HistoryReader, open_history_file
from .tailer import CHUNK_SIZE, MAX_LINE_BYTES, FileState, FileTailer, LineSplitter
from .watcher import DirWatcher, watch_roots

__all__ = [
    "CHUNK_SIZE",
    "MAX_LINE_BYTES",
    "DirWatcher",
    "FileState",
    "FileTailer",
    "FollowedFile",
    "HistoryReader",
    "LineSplitter",
    "LiveFollower",
    "open_history_file",
    "watch_roots",
]
