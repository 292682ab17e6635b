"""What each live source tells the console about itself (FileStats): when it last handed out
lines, what kind of source it is, and a note (a connection's peer and counts, bad rows)."""

from __future__ import annotations

import socket
import sqlite3
import time
import zlib
from pathlib import Path

from alser_tui.engine.config import load_config
from alser_tui.engine.engine import Engine
from alser_tui.engine.events import FileStats
from alser_tui.engine.ingest import Dsn
from alser_tui.engine.sources.follower import LiveFollower
from alser_tui.engine.sources.receiver import ReceiverSource
from alser_tui.engine.sources.tables import TableSource
from alser_tui.engine.sources.tailer import FileTailer

WAIT = 10.0

CONFIG = """
[storage]
dir = "var"

[[guards]]
tail_glob = "logs/app.*.log"
parsers = ["P"]

[[parsers]]
id = "P"
kind = "json"
[[parsers.fields]]
name = "x"
"""


def test_file_stats_defaults_keep_old_callers_working() -> None:
    f = FileStats("/logs/a.log", 10, 30, 2)
    assert (f.skew, f.last_line, f.kind, f.note, f.lag) == (None, 0.0, "file", "", 20)


def test_a_tailer_notes_when_it_last_returned_lines(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    path.write_text("one\n")
    with FileTailer(str(path)) as t:
        assert t.last_line_at == 0.0
        before = time.time()
        assert t.read() == ["one"]
        stamp = t.last_line_at
        assert before <= stamp <= time.time()
        assert t.read() == []  # nothing new: the time of the last line stays
        assert t.last_line_at == stamp


def test_followed_files_carry_last_line_kind_and_note(tmp_path: Path) -> None:
    (tmp_path / "app.1.log").write_text("")
    follower = LiveFollower(str(tmp_path / "app.*.log"), first_run=False)
    try:
        [f] = follower.files
        assert (f.kind, f.last_line_at, f.note) == ("file", 0.0, "")
        (tmp_path / "app.1.log").write_text("a\nb\n")
        follower.read(100)
        [f] = follower.files
        assert f.lines_read == 2 and f.last_line_at > 0
        (tmp_path / "app.1.log").unlink()
        follower.read(100)
        assert follower.files[0].note.startswith("missing")
    finally:
        follower.close()


def test_receiver_connections_carry_peer_counts_and_last_line() -> None:
    src = ReceiverSource("tcp://127.0.0.1:0")
    try:
        host, port = src.address[:2]
        with socket.create_connection((host, port)) as client:
            client.sendall(b"us,1,hello\nus,1,world\n")
            me = client.getsockname()
            peer = f"{me[0]}:{me[1]}"
            got: list[str] = []
            deadline = time.monotonic() + WAIT
            while len(got) < 2:
                assert time.monotonic() < deadline
                src.wait(0.2)
                for _path, lines in src.read(10):
                    got.extend(lines)
        [conn] = src.files
        assert conn.kind == "connection" and conn.lines_read == 2
        assert conn.last_line_at > 0
        assert conn.note.startswith(f"from {peer}")
    finally:
        src.close()


def test_polled_tables_carry_last_line_and_bad_rows(tmp_path: Path) -> None:
    db = tmp_path / "logs.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE log_us (id INTEGER PRIMARY KEY, data BLOB)")
    con.executemany(
        "INSERT INTO log_us (data) VALUES (?)", [(zlib.compress(b"x"),), (b"not zlib",)]
    )
    con.commit()
    con.close()
    src = TableSource(Dsn("sqlite", path=str(db)), "log_%", first_run=False, poll_interval=0)
    try:
        [t] = src.files
        assert (t.kind, t.last_line_at, t.note) == ("table", 0.0, "")
        deadline = time.monotonic() + WAIT
        while src.files[0].lines_read < 1:
            assert time.monotonic() < deadline
            src.read(100)
        [t] = src.files
        assert t.last_line_at > 0
        assert t.note == "1 rows not zlib data"
    finally:
        src.close()


def test_engine_stats_hand_the_sources_details_on(tmp_path: Path) -> None:
    (tmp_path / "alser.toml").write_text(CONFIG)
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "app.1.log").write_text("")
    engine = Engine(load_config(tmp_path / "alser.toml"), stats_interval=0.02)
    engine.open()
    try:
        [f] = engine.stats().files
        assert (f.lines, f.last_line, f.kind) == (0, 0.0, "file")
        (logs / "app.1.log").write_text('{"x": 1}\n')
        deadline = time.monotonic() + WAIT
        while engine.step() == 0:
            assert time.monotonic() < deadline
        [f] = engine.stats().files
        assert f.path.endswith("app.1.log")
        assert (f.lines, f.offset, f.size, f.kind, f.note) == (1, 9, 9, "file", "")
        assert f.last_line > 0
    finally:
        engine.close()
