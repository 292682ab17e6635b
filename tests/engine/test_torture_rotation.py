"""Rotation variants through the whole live engine, on real files: every line written is
stored exactly once (each line carries a unique id; the database is compared with what was
written)."""

from __future__ import annotations

import gzip
import os
import random
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from torture_support import BASE, Clock, Ids, Running, assert_exactly_once, write_config


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def runs() -> Iterator[list[Running]]:
    started: list[Running] = []
    yield started
    for r in started:
        r.engine.request_stop()
        r.thread.join(5)


def start(root: Path, runs: list[Running], glob: str = "logs/*.log", **kw: object) -> Running:
    r = Running(write_config(root, glob, **kw), Clock(BASE + 1))  # type: ignore[arg-type]
    runs.append(r)
    return r


def db(root: Path) -> Path:
    return root / "var" / "alser.db"


def swap_link(link: Path, target: Path) -> None:
    """Point ``link`` at ``target`` atomically, as deploy tools do (new link + rename)."""
    tmp = link.with_name(link.name + ".new")
    os.symlink(target, tmp)
    os.replace(tmp, link)


def gzip_away(src: Path, dest: Path) -> None:
    """logrotate's compress step: write dest.gz, then remove the rotated copy."""
    with src.open("rb") as f, gzip.open(dest, "wb") as g:
        shutil.copyfileobj(f, g)
    src.unlink()


def test_symlink_swap_forward_and_back(root: Path, runs: list[Running]) -> None:
    data = root / "data"
    data.mkdir()
    a, b, c = data / "a.dat", data / "b.dat", data / "c.dat"
    for t in (a, b, c):
        t.touch()
    (root / "logs").mkdir()
    link = root / "logs" / "app.log"
    os.symlink(a, link)
    run = start(root, runs)
    ids = Ids()
    ids.append(link, 5)
    run.wait_parsed(5)
    ids.append(link, 3)  # written just before the swap: drained from the old target
    swap_link(link, b)
    ids.append(link, 4)
    run.wait_parsed(12)
    swap_link(link, c)
    ids.append(link, 2)
    run.wait_parsed(14)
    # Back to a file read before (blue/green deploys): it resumes where it was left.
    swap_link(link, a)
    ids.append(link, 6)
    run.wait_parsed(20)
    run.stop()
    assert_exactly_once(db(root), ids.written)


def test_compressed_rotations_outside_the_glob(root: Path, runs: list[Running]) -> None:
    (root / "logs").mkdir()
    log = root / "logs" / "app.log"
    log.touch()
    run = start(root, runs, "logs/*.log")
    ids = Ids()
    total = 0
    for cycle in range(4):
        ids.append(log, 50)
        total += 50
        rotated = root / "logs" / f"app.log.{cycle}"
        log.rename(rotated)
        ids.append(log, 10)  # the new file, before the old one is compressed
        total += 10
        gzip_away(rotated, root / "logs" / f"app.log.{cycle}.gz")
        # The next rotation comes once the new file is followed (minutes, in real life):
        # a file created and rotated away before anyone looked is out of anyone's reach.
        run.wait_parsed(total)
    st = run.stop()
    assert st.malformed == 0
    assert_exactly_once(db(root), ids.written)


def test_compressed_rotations_matched_by_the_glob_are_not_reread(
    root: Path, runs: list[Running]
) -> None:
    # `app.log*` also matches app.log.1 (a rename: resumed, not re-read) and app.log.1.gz:
    # a compressed copy of lines already counted. Reading it would count them again (or,
    # raw, as binary garbage); the follower leaves it alone and says so.
    run = start(root, runs, "logs/app.log*")
    log = root / "logs" / "app.log"
    ids = Ids()
    total = 0
    for cycle in range(3):
        ids.append(log, 40)
        total += 40
        rotated = root / "logs" / f"app.log.{cycle}"
        log.rename(rotated)
        ids.append(rotated, 5)  # the writer had not reopened yet: lands in the rotated copy
        total += 5
        ids.append(log, 10)
        total += 10
        run.wait_parsed(total)  # the copy is compressed once drained, as delaycompress does
        gzip_away(rotated, root / "logs" / f"app.log.{cycle}.gz")
    ids.append(log, 7)
    total += 7
    run.wait_parsed(total)
    st = run.stats_where(lambda s: any(".gz" in w for w in s.warnings))
    assert st.malformed == 0
    assert not [f for f in st.files if f.path.endswith(".gz")]
    assert any("app.log.2.gz" in w and "compressed" in w for w in st.warnings), st.warnings
    run.stop()
    assert_exactly_once(db(root), ids.written)


@pytest.mark.parametrize("unread", [0, 50])
def test_copytruncate_with_the_copy_matched_by_the_glob(
    root: Path, runs: list[Running], unread: int
) -> None:
    # `app.log*` matches logrotate's copy. The copy is a new file holding lines read from
    # the original already: it resumes where reading of the original stopped. Lines written
    # just before the copy and not read from the original yet are read from the copy.
    (root / "logs").mkdir()
    log = root / "logs" / "app.log"
    log.touch()
    run = start(root, runs, "logs/app.log*")
    ids = Ids()
    for cycle in range(3):
        ids.append(log, 300)  # more than the 4 KiB a copy is recognised by
        run.wait_parsed(len(ids.written))
        ids.append(log, unread)
        copy = root / "logs" / f"app.log.{cycle}"
        shutil.copy(log, copy)
        os.truncate(log, 0)
        ids.append(log, 5)
        # The copy is followed (read to its end), and nothing of it counted twice.
        run.stats_where(lambda s, c=str(copy): any(f.path == c and not f.lag for f in s.files))
        run.wait_parsed(len(ids.written))
    run.stop()
    assert_exactly_once(db(root), ids.written)


def test_a_copy_of_a_followed_file_into_the_glob_is_not_read_again(
    root: Path, runs: list[Running]
) -> None:
    (root / "logs").mkdir()
    log = root / "logs" / "app.log"
    log.touch()
    run = start(root, runs, "logs/*")
    ids = Ids()
    ids.append(log, 400)
    run.wait_parsed(400)
    shutil.copy(log, root / "logs" / "app.log.bak")  # someone's backup, in the glob
    st = run.stats_where(lambda s: len(s.files) == 2)
    ids.append(log, 3)
    st = run.wait_parsed(403)
    assert [f.lag for f in st.files] == [0, 0]
    run.stop()
    assert_exactly_once(db(root), ids.written)


@pytest.mark.parametrize("cut", ["line_end", "mid_line", "to_zero"])
def test_file_shrinking_without_rotation(root: Path, runs: list[Running], cut: str) -> None:
    log = root / "logs" / "app.log"
    (root / "logs").mkdir()
    log.touch()
    run = start(root, runs)
    ids = Ids()
    ids.append(log, 400)  # more than the 4 KiB head the tailer compares
    run.wait_parsed(400)
    text = log.read_bytes()
    line = len(text.splitlines(keepends=True)[0])
    keep = {"line_end": line * 300, "mid_line": line * 300 + 7, "to_zero": 0}
    # Cut in place (same inode). What is left was read already; only what comes next is new.
    os.truncate(log, keep[cut])
    # Lines appended after the cut but before the engine looks cannot be told from the kept
    # part (see FileTailer._shrunk); the engine notices within a poll.
    run.stats_where(lambda s: s.files[0].offset <= keep[cut])
    ids.append(log, 3)
    run.wait_parsed(403)
    ids.append(log, 2)
    run.wait_parsed(405)
    run.stop()
    assert_exactly_once(db(root), ids.written)


def test_file_shrunk_while_stopped_resumes_at_its_new_end(root: Path, runs: list[Running]) -> None:
    log = root / "logs" / "app.log"
    (root / "logs").mkdir()
    log.touch()
    run = start(root, runs)
    ids = Ids()
    ids.append(log, 600)
    run.wait_parsed(600)
    run.stop()
    # Cut to a prefix while nothing runs (a crash lost the file's tail, say): the kept part
    # was counted; the next start goes on from the new end instead of counting it again.
    cut = log.stat().st_size // 2
    os.truncate(log, cut)
    run2 = start(root, runs)
    run2.stats_where(lambda s: s.files[0].offset == cut)
    ids.append(log, 4)
    run2.wait_parsed(4)
    run2.stop()
    assert_exactly_once(db(root), ids.written)


@pytest.mark.parametrize("how", ["in_place", "renamed_over"])
def test_file_replaced_by_another_of_the_same_size(
    root: Path, runs: list[Running], how: str
) -> None:
    log = root / "logs" / "app.log"
    (root / "logs").mkdir()
    log.touch()
    run = start(root, runs)
    ids = Ids()
    ids.next = 100
    ids.append(log, 8, kind="Old")
    run.wait_parsed(8)
    size = log.stat().st_size
    new = Ids()
    new.next = 200  # same digit count: the new content has exactly the old size
    content = new.lines(8, BASE + 1, kind="New").encode()
    assert len(content) == size
    if how == "in_place":
        fd = os.open(log, os.O_WRONLY)
        try:
            os.pwrite(fd, content, 0)  # same inode, same size, other lines
        finally:
            os.close(fd)
    else:
        other = root / "logs" / "app.log.tmp"
        other.write_bytes(content)
        os.replace(other, log)
    run.wait_parsed(16)
    run.stop()
    assert_exactly_once(db(root), ids.written + new.written)


def test_new_files_appearing_during_load(root: Path, runs: list[Running]) -> None:
    run = start(root, runs)
    ids = Ids()
    for i in range(30):
        ids.append(root / "logs" / f"n{i}.log", 20 + i)
        if i % 10 == 0:
            ids.append(root / "logs" / "n0.log", 5)  # the older files keep growing
    run.wait_parsed(len(ids.written))
    st = run.stop()
    assert len(st.files) == 30
    assert_exactly_once(db(root), ids.written)


def test_files_vanishing_with_unread_lines(root: Path, runs: list[Running]) -> None:
    logs = root / "logs"
    logs.mkdir()
    files = [logs / f"v{i}.log" for i in range(10)]
    for f in files:
        f.touch()
    run = start(root, runs)
    ids = Ids()
    for f in files:
        ids.append(f, 1)
    run.wait_parsed(10)  # every file is followed (open) now
    for f in files:
        # Written and gone at once: the open descriptor still holds the lines.
        ids.append(f, 200)
        f.unlink()
    run.wait_parsed(len(ids.written))
    st = run.stats_where(lambda s: not s.files)  # dropped once drained
    assert st.parsed == len(ids.written)
    run.stop()
    assert_exactly_once(db(root), ids.written)


def test_rotation_storm_while_writing(root: Path, runs: list[Running]) -> None:
    """Rounds of writes to several files, each ending with a rotation of one of them right
    after lines were appended to it — rename within the glob (compressed a round later),
    rename out of it, delete, symlink swap, a new file — while the engine reads. Then the
    database must hold each written line exactly once. (Each round starts once the engine
    follows every file: a file created and rotated away before anyone looked is out of any
    tailer's reach, and logrotate runs minutes apart, not microseconds.)"""
    logs, data = root / "logs", root / "data"
    logs.mkdir()
    data.mkdir()
    ids = Ids()
    rng = random.Random(5)
    link = logs / "app-link"
    targets = iter(data / f"t{i}.dat" for i in range(1000))
    first = next(targets)
    first.touch()
    os.symlink(first, link)
    names = [logs / f"app{i}" for i in range(4)]
    for p in names:
        p.touch()
    run = start(root, runs, "logs/app*", batch=500)
    to_compress: list[Path] = []
    for rnd in range(60):
        run.wait_parsed(len(ids.written), timeout=20)
        for away in to_compress:  # read to its end by now, as delaycompress ensures
            gzip_away(away, away.with_name(away.name + ".gz"))
        to_compress.clear()
        followed = [p for p in names if p.exists()]  # all read: every one is followed now
        for _ in range(rng.randint(2, 6)):
            ids.append(rng.choice(names), rng.randint(1, 60))
            ids.append(link, rng.randint(1, 10))
        victim = rng.choice(followed)
        ids.append(victim, rng.randint(1, 30))  # just before the rotation: drained first
        op = rng.random()
        if op < 0.3:
            away = logs / f"app-rot{rnd}"  # still matched: resumed, never re-read
            victim.rename(away)
            to_compress.append(away)
        elif op < 0.5:
            victim.rename(root / f"out{rnd}")  # out of the glob: drained through the fd
        elif op < 0.65:
            victim.unlink()  # the same, and its inode may come back at once
        elif op < 0.85:
            ids.append(link, rng.randint(1, 10))
            target = next(targets)
            target.touch()  # deploy tools create the new file, then switch the link
            swap_link(link, target)
            ids.append(link, rng.randint(1, 10))  # to the new target
        else:
            names.append(logs / f"app{len(names)}")
        ids.append(victim, rng.randint(1, 30))  # the file now at the path, from its start
    run.wait_parsed(len(ids.written), timeout=20)
    st = run.stop()
    assert st.malformed == 0
    assert_exactly_once(db(root), ids.written)
