"""Database tables as a source: SQLite files and a real MariaDB; zlib rows become AREA,NOW,DATA,
new tables appear without a restart, and the last ids survive a restart exactly."""

from __future__ import annotations

import queue
import sqlite3
import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from alser_tui.engine.config import ConfigError, load_config, parse_config
from alser_tui.engine.engine import Engine
from alser_tui.engine.events import Event, Finished, Stats
from alser_tui.engine.ingest import Dsn, parse_dsn
from alser_tui.engine.sources import tables as tables_mod
from alser_tui.engine.sources.tables import TableSource, area_of, decode_data
from alser_tui.engine.store import Store

WAIT = 10.0
NOW = 1_800_000_000


def z(text: str) -> bytes:
    return zlib.compress(text.encode())


def sqlite_db(path: Path, tables: dict[str, list[str]]) -> None:
    con = sqlite3.connect(path)
    for name, rows in tables.items():
        con.execute(f'CREATE TABLE IF NOT EXISTS "{name}" (id INTEGER PRIMARY KEY, data BLOB)')
        con.executemany(f'INSERT INTO "{name}" (data) VALUES (?)', [(z(r),) for r in rows])
    con.commit()
    con.close()


def drain(src: TableSource, want: int) -> list[str]:
    """Read until `want` lines came (the source polls on its own interval; bounded)."""
    got: list[str] = []
    deadline = time.monotonic() + WAIT
    while len(got) < want:
        assert time.monotonic() < deadline, f"only {got}"
        for _path, lines, _state in src.read(1000):
            got.extend(lines)
    return got


def test_dsn_and_area() -> None:
    assert parse_dsn("sqlite:///var/db/logs.db") == Dsn("sqlite", path="/var/db/logs.db")
    assert parse_dsn("mysql://alser@db1:3307/logs") == Dsn(
        "mysql", user="alser", host="db1", port=3307, database="logs"
    )
    assert parse_dsn("mariadb://u@h/d").port == 3306
    for bad, problem in [
        ("mysql://u:secret@h/d", "no password in the dsn"),
        ("postgres://h/d", "sqlite:// or mysql://"),
        ("mysql://u@h", "USER@HOST:PORT/DATABASE"),
        ("logs.db", "expected sqlite://PATH"),
    ]:
        with pytest.raises(ValueError, match=problem):
            parse_dsn(bad)
    assert [area_of(t) for t in ("log_us", "log_pt_br", "logs")] == ["us", "br", "logs"]
    assert decode_data(z('{"a": 1}\n')) == '{"a": 1}'
    assert decode_data(b"plain text") is None


def test_sqlite_rows_new_tables_and_bad_data(tmp_path: Path) -> None:
    db = tmp_path / "logs.db"
    sqlite_db(db, {"log_us": ['{"n": 1}', '{"n": 2}'], "log_de": ['{"n": 3}'], "other": ["x"]})
    src = TableSource(
        Dsn("sqlite", path=str(db)), "log_%", first_run=False, clock=lambda: NOW, poll_interval=0
    )
    assert sorted(drain(src, 3)) == [
        f'de,{NOW},{{"n": 3}}',
        f'us,{NOW},{{"n": 1}}',
        f'us,{NOW},{{"n": 2}}',
    ]
    # More rows, a row that is not zlib data, and a table that appears while running.
    con = sqlite3.connect(db)
    con.execute("INSERT INTO log_us (data) VALUES (?)", (z('{"n": 4}'),))
    con.execute("INSERT INTO log_us (data) VALUES (?)", (b"not compressed",))
    con.commit()
    con.close()
    sqlite_db(db, {"log_br": ['{"n": 5}']})
    src.rescan()
    assert sorted(drain(src, 2)) == [f'br,{NOW},{{"n": 5}}', f'us,{NOW},{{"n": 4}}']
    info = {f.table: f for f in src.files}
    assert set(info) == {"log_us", "log_de", "log_br"}
    assert (info["log_us"].offset, info["log_us"].bad_rows, info["log_us"].lag) == (4, 1, 0)
    assert info["log_us"].path == f"sqlite://{db}#log_us"
    states = {s.path: s for s in src.states()}
    assert states[f"sqlite://{db}#log_us"].offset == 4
    src.close()


def test_first_run_starts_at_the_end_and_saved_ids_resume(tmp_path: Path) -> None:
    db = tmp_path / "logs.db"
    sqlite_db(db, {"log_us": ["old 1", "old 2"]})
    dsn = Dsn("sqlite", path=str(db))
    src = TableSource(dsn, "log_%", first_run=True, clock=lambda: NOW, poll_interval=0)
    first = src.read(100)
    # Nothing old is read, but the start position is handed over to be stored at once.
    assert [(lines, st.offset) for _p, lines, st in first] == [([], 2)]
    sqlite_db(db, {"log_us": ["new 3"]})
    assert drain(src, 1) == [f"us,{NOW},new 3"]
    saved = src.states()
    src.close()
    sqlite_db(db, {"log_us": ["new 4"]})
    again = TableSource(dsn, "log_%", saved=saved, first_run=False, poll_interval=0)
    assert [line.split(",", 2)[2] for line in drain(again, 1)] == ["new 4"]
    again.close()


def test_database_trouble_is_recorded_and_retried(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(tables_mod, "RETRY_AFTER", 0.0)
    db = tmp_path / "later.db"
    src = TableSource(Dsn("sqlite", path=str(db)), "log_%", first_run=False, poll_interval=0)
    assert src.read(10) == [] and "no such database file" in src.last_error
    sqlite_db(db, {"log_us": ["hello"]})
    src.rescan()
    assert drain(src, 1)[0].endswith(",hello")
    assert src.last_error == ""
    src.close()


CONFIG = """
[storage]
dir = "var"

[engine]
poll_interval = 0.02
glob_interval = 0.2

[[guards]]
tables = "log_%"
dsn = "sqlite://logs.db"
parsers = ["Ev"]

[[parsers]]
id = "Ev"
kind = "json"
window = 60
group_by = ["area", "what"]

[[parsers.fields]]
name = "what"
"""


class Run:
    def __init__(self, root: Path) -> None:
        self.engine = Engine(load_config(root / "alser.toml"), stats_interval=0.02)
        self.events: queue.Queue[Event] = queue.Queue()
        self.engine.subscribe(self.events.put)
        self.engine.open()
        self.thread = threading.Thread(target=self.engine.run, daemon=True)
        self.thread.start()

    def wait(self, pred: Callable[[Event], bool]) -> Event:
        deadline = time.monotonic() + WAIT
        while True:
            left = deadline - time.monotonic()
            assert left > 0, "no matching event in time"
            try:
                ev = self.events.get(timeout=left)
            except queue.Empty:
                continue
            if pred(ev):
                return ev

    def parsed(self, n: int) -> Stats:
        ev = self.wait(lambda e: isinstance(e, Stats) and e.parsers["Ev"].parsed >= n)
        assert isinstance(ev, Stats) and ev.parsers["Ev"].parsed == n
        return ev

    def stop(self) -> None:
        self.engine.request_stop()
        self.wait(lambda e: isinstance(e, Finished))
        self.thread.join(WAIT)


def rows(db: Path, table: str, whats: list[str]) -> None:
    sqlite_db(db, {table: [f'{{"what": "{w}"}}' for w in whats]})


def test_engine_restart_resumes_each_table_exactly(tmp_path: Path) -> None:
    (tmp_path / "alser.toml").write_text(CONFIG)
    db = tmp_path / "logs.db"
    rows(db, "log_us", ["before start"])  # a first run starts at the end, like tail -F
    run = Run(tmp_path)
    try:
        rows(db, "log_us", ["a", "b"])
        rows(db, "log_de", ["c"])  # a new table: read from its first row
        st = run.parsed(3)
        assert {f.path.rsplit("#", 1)[1] for f in st.files} == {"log_us", "log_de"}
    finally:
        run.stop()
    rows(db, "log_us", ["d"])  # written while nothing runs
    rows(db, "log_br", ["e"])
    run2 = Run(tmp_path)
    try:
        run2.parsed(2)
    finally:
        run2.stop()
    store = Store(tmp_path / "var" / "alser.db", [run2.engine.config.parser("Ev")])
    try:
        got = store.con.execute('SELECT area, what FROM "ev_Ev" ORDER BY rowid').fetchall()
    finally:
        store.close()
    assert sorted(got) == sorted([("us", "a"), ("us", "b"), ("de", "c"), ("us", "d"), ("br", "e")])


@pytest.mark.parametrize(
    ("guard", "key", "problem"),
    [
        ({"tables": "log_%"}, "guards[0].dsn", "needs a dsn"),
        ({"tables": "log_%", "dsn": "mysql://u:pw@h/d"}, "guards[0].dsn", "no password"),
        ({"tables": "log_%", "dsn": "sqlite://x.db", "password_env": "P"}, "guards[0].password_env", "only mysql"),
        ({"tables": "log_%", "dsn": "mysql://u@h/d", "password_env": "1X"}, "guards[0].password_env", "environment variable"),
        ({"dsn": "sqlite://x.db", "history_glob": "h/*"}, "guards[0].dsn", "only a guard with tables"),
        ({"tables": "log_%", "dsn": "sqlite://x.db", "tail_glob": "a/*"}, "guards[0].tables", "only one of"),
    ],
)  # fmt: skip
def test_tables_config_errors(guard: dict, key: str, problem: str) -> None:
    p = {"id": "P", "kind": "json", "fields": [{"name": "x"}]}
    with pytest.raises(ConfigError) as err:
        parse_config({"guards": [guard | {"parsers": ["P"]}], "parsers": [p]}, "c.toml")
    assert err.value.key == key
    assert problem in err.value.problem


def test_mariadb_tables(mariadb_db: Any, monkeypatch: Any) -> None:
    db = mariadb_db
    monkeypatch.setenv("ALSER_TEST_DB_PW", db.password)
    con = db.connect()
    with con.cursor() as cur:
        for t in ("log_us", "log_de", "audit"):
            cur.execute(f"CREATE TABLE `{t}` (id INT AUTO_INCREMENT PRIMARY KEY, data BLOB)")
        cur.executemany("INSERT INTO log_us (data) VALUES (%s)", [(z("old"),)])
    dsn = parse_dsn(f"mysql://{db.user}@{db.host}:{db.port}/{db.database}")
    src = TableSource(
        dsn, "log_%", password_env="ALSER_TEST_DB_PW", first_run=True, clock=lambda: NOW,
        poll_interval=0,
    )  # fmt: skip
    try:
        with con.cursor() as cur:
            cur.executemany("INSERT INTO log_us (data) VALUES (%s)", [(z("u1"),), (z("u2"),)])
            cur.execute("INSERT INTO log_de (data) VALUES (%s)", (z("d1"),))
            cur.execute("INSERT INTO audit (data) VALUES (%s)", (z("not matched"),))
        assert sorted(drain(src, 3)) == [f"de,{NOW},d1", f"us,{NOW},u1", f"us,{NOW},u2"]
        with con.cursor() as cur:
            cur.execute("CREATE TABLE log_br (id INT AUTO_INCREMENT PRIMARY KEY, data BLOB)")
            cur.execute("INSERT INTO log_br (data) VALUES (%s)", (z("b1"),))
        src.rescan()
        assert drain(src, 1) == [f"br,{NOW},b1"]
        assert {f.table: f.offset for f in src.files} == {"log_us": 3, "log_de": 1, "log_br": 1}
        assert all(f.path.startswith(f"mysql://alser@127.0.0.1:{db.port}/") for f in src.files)
    finally:
        src.close()
        con.close()
    # A wrong password is an error the source records, not a crash.
    monkeypatch.setenv("ALSER_TEST_DB_PW", "wrong")
    bad = TableSource(dsn, "log_%", password_env="ALSER_TEST_DB_PW", first_run=False)
    assert "Access denied" in bad.last_error
    bad.close()


def test_engine_shows_a_missing_database_in_stats(tmp_path: Path) -> None:
    (tmp_path / "alser.toml").write_text(CONFIG.replace("logs.db", "absent.db"))
    engine = Engine(load_config(tmp_path / "alser.toml"))
    engine.open()
    try:
        assert engine.step() == 0  # no crash, no lines
        assert any("no such database file" in e for e in engine.stats().errors)
    finally:
        engine.close()
