"""File identity through the whole live engine, on real files: a copy, a rewrite, a reused
inode or a second name of a file is recognised, so every line written is stored exactly once
(each line carries a unique id; the database is compared with what was written)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from torture_support import (
    BASE,
    Clock,
    Ids,
    Running,
    assert_exactly_once,
    query,
    rows_in,
    wait_for,
    wait_started,
    write_config,
)


@pytest.fixture
def runs() -> Iterator[list[Running]]:
    started: list[Running] = []
    yield started
    for r in started:
        r.engine.request_stop()
        r.thread.join(5)


def start(root: Path, runs: list[Running], glob: str = "logs/*.log") -> Running:
    r = Running(write_config(root, glob), Clock(BASE + 1))
    runs.append(r)
    return r


def db(root: Path) -> Path:
    return root / "var" / "alser.db"


def copytruncate(log: Path, copy: Path) -> None:
    """logrotate's copytruncate: copy the file, then cut the original to zero."""
    shutil.copy(log, copy)
    os.truncate(log, 0)


def rewrite_in_place(path: Path, content: bytes) -> None:
    """New content over the same inode, never shorter than before at any moment (what a
    truncate and refill between two polls looks like to a reader, deterministically)."""
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, content, 0)
        os.ftruncate(fd, len(content))
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- copies


@pytest.mark.parametrize("unread", [0, 20])
def test_copytruncate_while_stopped_is_recognised_from_the_saved_state(
    tmp_path: Path, runs: list[Running], unread: int
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "app1.log"
    log.touch()
    run = start(tmp_path, runs, "logs/app1.log*")
    ids = Ids()
    ids.append(log, 300)  # more than the 4 KiB head a content is recognised by
    run.wait_parsed(300)
    run.stop()
    # While nothing runs: lines the run never saw, then logrotate's copytruncate, then the
    # writer goes on in the emptied original.
    ids.append(log, unread)
    copytruncate(log, logs / "app1.log.r1")
    ids.append(log, 5)
    run2 = start(tmp_path, runs, "logs/app1.log*")
    run2.stats_where(lambda s: len(s.files) == 2 and all(not f.lag for f in s.files))
    run2.wait_parsed(unread + 5)
    run2.stop()
    assert_exactly_once(db(tmp_path), ids.written)


def test_small_file_copytruncated_while_stopped(tmp_path: Path, runs: list[Running]) -> None:
    # A quiet log is small when it rotates: a head shorter than 4 KiB still names what was
    # read of it, since it covers exactly the bytes read.
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "app1.log"
    log.touch()
    run = start(tmp_path, runs, "logs/app1.log*")
    ids = Ids()
    ids.append(log, 12)
    run.wait_parsed(12)
    run.stop()
    ids.append(log, 3)
    copytruncate(log, logs / "app1.log.r1")
    ids.append(log, 2)
    run2 = start(tmp_path, runs, "logs/app1.log*")
    run2.stats_where(lambda s: len(s.files) == 2 and all(not f.lag for f in s.files))
    run2.wait_parsed(5)
    run2.stop()
    assert_exactly_once(db(tmp_path), ids.written)


def _alser(root: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "alser_tui", "-c", str(root / "alser.toml"), "--no-ui"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if not wait_started(db(root)):
        proc.kill()
        raise AssertionError(proc.stderr.read() if proc.stderr else "did not start")
    return proc


def test_kill_9_right_after_a_copytruncate_seen_live(tmp_path: Path) -> None:
    """The cut is seen and stored, the copy not looked at yet, then kill -9: the next run
    must know the copy from the stored cut (not only from the dead run's memory)."""
    write_config(tmp_path, "logs/app1.log*")
    logs = tmp_path / "logs"
    log = logs / "app1.log"
    log.touch()
    ids = Ids()
    proc = _alser(tmp_path)
    try:
        ids.append(log, 300)
        assert wait_for(lambda: rows_in(db(tmp_path)) == 300)
        # The copy is made outside the glob, so the run cannot see it before it dies.
        hold = tmp_path / "copy.tmp"
        copytruncate(log, hold)
        ids.append(log, 5)
        assert wait_for(lambda: rows_in(db(tmp_path)) == 305)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    copy = logs / "app1.log.r1"
    os.rename(hold, copy)
    size = copy.stat().st_size
    proc = _alser(tmp_path)
    try:
        ids.append(log, 4)
        ino = copy.stat().st_ino
        assert wait_for(
            lambda: (
                rows_in(db(tmp_path)) >= 309
                and query(
                    db(tmp_path), f"SELECT 1 FROM offsets WHERE inode = {ino} AND offset = {size}"
                )
            )
        ), (rows_in(db(tmp_path)), query(db(tmp_path), "SELECT * FROM offsets"))
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    assert_exactly_once(db(tmp_path), ids.written)


# --------------------------------------------------------------------------- rewrites


HEADER = "#Software: collector 1.0\n"  # a constant header line, as W3C and CSV logs have


def test_rewritten_in_place_bigger_with_the_same_header_is_read_whole(
    tmp_path: Path, runs: list[Running]
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "app.log"
    log.write_text(HEADER)
    run = start(tmp_path, runs)
    ids = Ids()
    ids.append(log, 100)
    run.wait_parsed(100)
    new = Ids()
    new.next = 10_000
    # Cut and refilled with more than was read, between two looks: same inode, same first
    # line. Resuming at the old offset would lose that many bytes of new lines.
    rewrite_in_place(log, (HEADER + new.lines(250, BASE + 1)).encode())
    run.wait_parsed(350)
    run.stop()
    assert_exactly_once(db(tmp_path), ids.written + new.written)


def test_inode_reused_while_stopped_with_the_same_header(
    tmp_path: Path, runs: list[Running]
) -> None:
    # Deleted and re-created while nothing runs: ext4 hands out the same inode at once, and
    # the first line is the same header. (The same inode is rewritten here: what the next
    # run sees is the same.)
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "app.log"
    log.write_text(HEADER)
    run = start(tmp_path, runs)
    ids = Ids()
    ids.append(log, 100)
    run.wait_parsed(100)
    run.stop()
    new = Ids()
    new.next = 10_000
    rewrite_in_place(log, (HEADER + new.lines(250, BASE + 1)).encode())
    run2 = start(tmp_path, runs)
    run2.wait_parsed(250)
    run2.stop()
    assert_exactly_once(db(tmp_path), ids.written + new.written)


# --------------------------------------------------------------------------- one inode, one reader


def test_symlink_swapped_onto_a_followed_file_is_not_read_twice(
    tmp_path: Path, runs: list[Running]
) -> None:
    logs, data = tmp_path / "logs", tmp_path / "data"
    logs.mkdir()
    data.mkdir()
    a, b, c = logs / "a.log", data / "b.dat", data / "c.dat"
    for f in (a, b, c):
        f.touch()
    link = logs / "current.log"
    os.symlink(b, link)
    run = start(tmp_path, runs)
    ids = Ids()
    ids.append(a, 10)
    ids.append(link, 10)
    run.wait_parsed(20)
    tmp = logs / "tmp-link"
    os.symlink(a, tmp)
    os.replace(tmp, link)  # now two names of a.log are matched
    ids.append(a, 7)
    run.wait_parsed(27)
    ids.append(a, 3)
    st = run.wait_parsed(30)
    assert any(f.path == str(link) and "same file as" in f.note for f in st.files), st.files
    os.symlink(c, tmp)
    os.replace(tmp, link)  # and away again: the link's new target is followed
    ids.append(link, 4)
    ids.append(a, 1)
    run.wait_parsed(35)
    run.stop()
    assert_exactly_once(db(tmp_path), ids.written)


# --------------------------------------------------------------------------- out of descriptors


def _run_with_nofile(
    root: Path, soft: int, hard: int, files: int
) -> tuple[int, str, int, list[dict]]:
    """A real run over ``files`` files (one line each, appearing after the start) under
    RLIMIT_NOFILE (soft, hard): (rows stored, stderr, exit code after SIGTERM, the JSON
    notices printed)."""
    import json
    import resource

    write_config(root, "logs/*.log")
    logs = root / "logs"
    cmd = [sys.executable, "-m", "alser_tui", "-c", str(root / "alser.toml"), "--no-ui"]
    cmd += ["--tick", "0.2", "--json"]

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    err, out = root / "stderr.txt", root / "stdout.txt"
    with err.open("w") as sink, out.open("w") as printed:
        proc = subprocess.Popen(cmd, stdout=printed, stderr=sink, preexec_fn=limit)
        try:
            assert wait_started(db(root)), err.read_text()
            for i in range(files):
                (logs / f"f{i:04}.log").write_text(f"us,{BASE + 1},A id={i}\n")
            # Everything that can be read is read; the process is still there to say so.
            wait_for(lambda: rows_in(db(root)) >= files, timeout=20)
            assert wait_for(lambda: "not followed" in err.read_text() or rows_in(db(root)) >= files)
            assert proc.poll() is None, err.read_text()
        finally:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(20)
    docs = [json.loads(line) for line in out.read_text().splitlines()]
    return rows_in(db(root)), err.read_text(), code, [d for d in docs if d["type"] == "notice"]


def test_out_of_file_descriptors_keeps_running_and_says_which_files(tmp_path: Path) -> None:
    rows, err, code, notices = _run_with_nofile(tmp_path, 1024, 1024, 1500)
    assert code == 0, err
    # What fits is read; the rest is named, with the reason, not silently skipped.
    assert 800 <= rows < 1500, (rows, err[-2000:])
    assert f"files not followed: {1500 - rows:,}" in err, err[-2000:]
    assert "open-file limit" in err
    # And the channels hear of it (once).
    told = [n for n in notices if n["kind"] == "unfollowed" and n["state"] == "raised"]
    assert len(told) == 1, notices
    # (Told when it began: the files kept appearing, the count then was what it was.)
    assert " files not followed: open-file limit 1,024" in told[0]["items"][0]["text"], told


def test_the_soft_open_file_limit_is_raised_to_the_hard_one(tmp_path: Path) -> None:
    rows, err, code, notices = _run_with_nofile(tmp_path, 1024, 4096, 1500)
    assert code == 0, err
    assert rows == 1500, err[-2000:]
    assert "not followed" not in err
    assert not [n for n in notices if n["kind"] == "unfollowed"]
