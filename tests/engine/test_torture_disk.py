"""The store in trouble: a full disk (a real, tiny tmpfs), a read-only data dir (chattr +i, and
a store turned read-only mid-run), another process holding SQLite's write lock, a corrupt
database. Each gives a clear error; reading pauses without losing or doubling a line, without
advancing the stored offsets or half-writing a batch; it resumes by itself."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from torture_support import (
    BASE,
    Clock,
    Ids,
    Lines,
    Running,
    assert_exactly_once,
    query,
    rows_in,
    wait_for,
    wait_started,
    write_config,
)

from alser_tui.engine.engine import Engine
from alser_tui.engine.events import WindowClosed


def cli(root: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "alser_tui", "-c", str(root / "alser.toml"), "--no-ui", *args]


def offsets(db: Path) -> list[tuple[Any, ...]]:
    return query(db, "SELECT dev, inode, fingerprint, offset FROM offsets ORDER BY 1, 2, 3")


def fill(fs: Path) -> Path:
    """Take every free byte of the filesystem."""
    filler = fs / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        for size in (1 << 16, 512, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)
    return filler


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """An 8 MiB tmpfs: a disk that really fills up."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a small tmpfs needs root")
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mnt)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True, timeout=30)


def test_disk_full_pauses_reading_says_so_and_resumes(tmp_path: Path, small_fs: Path) -> None:
    write_config(tmp_path, batch=1000)
    log = tmp_path / "logs" / "a.log"
    log.touch()
    db = small_fs / "alser.db"
    proc = subprocess.Popen(
        cli(tmp_path, "--data-dir", str(small_fs), "--tick", "0.1"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    err = Lines(proc.stderr)
    ids = Ids()
    try:
        assert wait_started(db), "did not start"
        ids.append(log, 500, ts=int(time.time()))
        assert wait_for(lambda: rows_in(db) == 500)
        filler = fill(small_fs)
        before = offsets(db)
        ids.append(log, 3000, ts=int(time.time()))
        line = err.wait("database or disk is full")
        assert line.startswith("alser-tui: error: cannot write ") and "reading paused" in line
        # Nothing half-written, the stored offsets where they were; and it stays so while
        # the progress lines keep saying why.
        for _ in range(2):
            tick = err.wait("] lines ")
            assert "parsed 500 " in tick and "database or disk is full" in tick, tick
            assert rows_in(db) == 500 and offsets(db) == before
        filler.unlink()  # space comes back
        err.wait("alser-tui: cleared: cannot write")
        assert wait_for(lambda: rows_in(db) == 3500), rows_in(db)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(10)
    assert code == 0
    assert_exactly_once(db, ids.written)


class ReadOnlyAtWill:
    """Stands in for the store's connection: while ``fail`` is set every write is refused
    as SQLite refuses them on a read-only database (the whole transaction, never a part)."""

    WRITES = ("BEGIN", "INSERT", "UPDATE", "DELETE", "REPLACE", "COMMIT")

    def __init__(self, con: sqlite3.Connection) -> None:
        self._con = con
        self.fail = ""
        self.refused = 0

    def _check(self, sql: str) -> None:
        if self.fail and sql.lstrip().upper().startswith(self.WRITES):
            self.refused += 1
            raise sqlite3.OperationalError(self.fail)

    def execute(self, sql: str, *args: Any) -> Any:
        self._check(sql)
        return self._con.execute(sql, *args)

    def executemany(self, sql: str, *args: Any) -> Any:
        self._check(sql)
        return self._con.executemany(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def test_store_turning_read_only_mid_run_pauses_then_resumes(tmp_path: Path) -> None:
    # A read-only remount cannot be made under a process holding files open for writing
    # (the kernel says EBUSY), so the refusal is injected where SQLite would raise it.
    config = write_config(tmp_path, batch=500)
    log = tmp_path / "logs" / "a.log"
    log.touch()
    proxy: list[ReadOnlyAtWill] = []

    def rig(engine: Engine) -> None:
        assert engine.store is not None
        proxy.append(ReadOnlyAtWill(engine.store.con))
        engine.store.con = proxy[0]  # type: ignore[assignment]

    clock = Clock(BASE + 1)
    run = Running(config, clock, prepare=rig)
    ids = Ids()
    try:
        ids.append(log, 100)
        run.wait_parsed(100)
        proxy[0].fail = "attempt to write a readonly database"
        ids.append(log, 2000)
        st = run.stats_where(lambda s: any("readonly" in e for e in s.errors))
        assert any("reading paused" in e for e in st.errors), st.errors
        clock.now = BASE + 20  # the window is due, but its rows are not all stored
        refused = proxy[0].refused
        st = run.stats_where(lambda s: proxy[0].refused > refused + 2)  # retried, backing off
        assert st.parsed == 100 and st.lines <= 100 + 500, "reading goes on while paused"
        assert st.files[0].lag > 0  # the backlog shows as bytes behind
        assert not [e for e in run.seen if isinstance(e, WindowClosed)]
        proxy[0].fail = ""
        ev = run.wait_window(BASE)
        assert ev.total == 2100  # closed once, with every row
        st = run.stats_where(lambda s: not s.errors)
        assert st.parsed == 2100
    finally:
        run.stop()
    assert len([e for e in run.seen if isinstance(e, WindowClosed)]) == 1
    db = tmp_path / "var" / "alser.db"
    assert_exactly_once(db, ids.written)
    assert query(db, "SELECT COUNT(*), MIN(total) FROM windows") == [(1, 2100)]


HOLD_LOCK = """
import sqlite3, sys
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
con.execute("ROLLBACK")
"""


def test_write_lock_held_by_another_process_is_waited_out(tmp_path: Path) -> None:
    config = write_config(tmp_path, batch=500)
    log = tmp_path / "logs" / "a.log"
    log.touch()
    run = Running(config, Clock(BASE + 1))
    db = tmp_path / "var" / "alser.db"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    ids = Ids()
    try:
        assert holder.stdout is not None and holder.stdin is not None
        assert holder.stdout.readline().strip() == "locked"
        ids.append(log, 1200)
        # The engine's write waits for the lock (busy timeout), then backs off and retries.
        st = run.stats_where(lambda s: any("database is locked" in e for e in s.errors), 15)
        assert st.parsed == 0
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.wait(10) == 0
        run.wait_parsed(1200, timeout=15)
        run.stats_where(lambda s: not s.errors)
    finally:
        holder.kill()
        run.stop()
    assert_exactly_once(db, ids.written)


def _chattr_works(path: Path) -> bool:
    if not shutil.which("chattr"):
        return False
    probe = path / "probe"
    probe.touch()
    ok = subprocess.run(["chattr", "+i", str(probe)], capture_output=True).returncode == 0
    if ok:
        subprocess.run(["chattr", "-i", str(probe)], capture_output=True)
    probe.unlink()
    return ok


@pytest.mark.parametrize("lock", [True, False], ids=["lock", "no-lock"])
def test_read_only_data_dir_at_start_is_one_line_and_exit_1(tmp_path: Path, lock: bool) -> None:
    write_config(tmp_path)
    data = tmp_path / "var"
    data.mkdir()
    if not _chattr_works(tmp_path):
        pytest.skip("chattr +i does not work here")
    subprocess.run(["chattr", "+i", str(data)], check=True)
    try:
        r = subprocess.run(
            cli(tmp_path, *([] if lock else ["--no-lock"])),
            capture_output=True,
            text=True,
            timeout=30,
        )
    finally:
        subprocess.run(["chattr", "-i", str(data)], check=True)
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, r.stderr
    assert str(data) in r.stderr


def test_corrupt_database_is_one_line_and_exit_1(tmp_path: Path) -> None:
    write_config(tmp_path)
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "alser.db").write_bytes(b"this is not a database, " * 100)
    r = subprocess.run(cli(tmp_path), capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, r.stderr
    assert "alser.db: file is not a database" in r.stderr
