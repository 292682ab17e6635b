"""Unguarded files: what sits in the watched directories without a guard's glob covering it."""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path

from alser_tui.engine.config import load_config
from alser_tui.engine.engine import Engine
from alser_tui.engine.events import Event, Finished, Stats, UnguardedFiles
from alser_tui.engine.unguarded import UnguardedTracker
from alser_tui.headless import HeadlessPrinter

WAIT = 10.0

CONFIG = """
[storage]
dir = "var"

[engine]
poll_interval = 0.02
glob_interval = 0.1

[[guards]]
tail_glob = "logs/app.*.log"
history_glob = "logs/app.*.log.gz"
parsers = ["P"]

[[guards]]
tail_glob = "logs/*/php.log"
parsers = ["P"]

[[parsers]]
id = "P"
kind = "json"
[[parsers.fields]]
name = "x"
"""


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("")
    return path


def test_tracker_covers_tail_and_history_globs(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    touch(logs / "app.1.log")
    touch(logs / "app.1.log.gz")  # a rotated copy: covered by the history glob
    touch(logs / "orders.1.log")
    touch(logs / "web1" / "php.log")
    # Rotated members of guarded families (logrotate's counters, dates, compression).
    for name in ("web1/php.log.1", "web1/php.log.2.gz", "app.2.log.1", "app.2.log-20240101"):
        touch(logs / name)
    touch(logs / "orders.1.log.1")  # a rotated member of an unguarded family is unguarded
    (logs / "subdir").mkdir()  # directories are not files
    tail = [str(logs / "app.*.log"), str(logs / "*" / "php.log")]
    t = UnguardedTracker(tail, [*tail, str(logs / "app.*.log.gz")], interval=0)
    assert t.directories() == sorted([str(logs), str(logs / "subdir"), str(logs / "web1")])
    new = t.scan()
    assert new == [str(logs / "orders.1.log"), str(logs / "orders.1.log.1")]
    assert t.scan() == [] and t.gone == ()  # nothing new
    touch(logs / "mongo.log")
    (logs / "orders.1.log").unlink()
    assert t.scan() == [str(logs / "mongo.log")] and t.gone == (str(logs / "orders.1.log"),)
    assert t.files == (str(logs / "mongo.log"), str(logs / "orders.1.log.1"))
    touch(logs / "orders.1.log")  # back again: new again
    assert t.scan() == [str(logs / "orders.1.log")]


def test_engine_announces_unguarded_files_and_counts_them(tmp_path: Path) -> None:
    (tmp_path / "alser.toml").write_text(CONFIG)
    logs = tmp_path / "logs"
    touch(logs / "app.1.log")
    touch(logs / "stray.log")
    engine = Engine(load_config(tmp_path / "alser.toml"), stats_interval=0.02)
    events: queue.Queue[Event] = queue.Queue()
    engine.subscribe(events.put)
    engine.open()
    thread = threading.Thread(target=engine.run, daemon=True)
    thread.start()

    def wait(pred: object) -> Event:
        deadline = time.monotonic() + WAIT
        while True:
            left = deadline - time.monotonic()
            assert left > 0, "no matching event in time"
            try:
                ev = events.get(timeout=left)
            except queue.Empty:
                continue
            if pred(ev):  # type: ignore[operator]
                return ev

    try:
        first = wait(lambda e: isinstance(e, UnguardedFiles))
        assert isinstance(first, UnguardedFiles) and first.first
        assert first.new == first.files == (str(logs / "stray.log"),)
        touch(logs / "newapp.log")
        touch(logs / "app.2.log")  # covered: no notice
        nxt = wait(lambda e: isinstance(e, UnguardedFiles))
        assert isinstance(nxt, UnguardedFiles) and not nxt.first
        assert nxt.new == (str(logs / "newapp.log"),)
        st = wait(lambda e: isinstance(e, Stats) and len(e.unguarded) == 2)
        assert isinstance(st, Stats)
        line = HeadlessPrinter.progress_line(st)
        assert "files 2 (2 unguarded) rss" in line
    finally:
        engine.request_stop()
        wait(lambda e: isinstance(e, Finished))
        thread.join(WAIT)
