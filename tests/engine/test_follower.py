"""LiveFollower and DirWatcher on real directories."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from alser_tui.engine.sources.follower import LiveFollower
from alser_tui.engine.sources.tailer import FileState
from alser_tui.engine.sources.watcher import DirWatcher, watch_roots


def write(path: Path, text: str, mode: str = "a") -> None:
    with open(path, mode) as f:
        f.write(text)


def lines_of(prefix: str, n: int, start: int = 0) -> list[str]:
    return [f"{prefix}-{i}" for i in range(start, start + n)]


def text(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


def drain(f: LiveFollower, batch: int = 1000) -> dict[str, list[str]]:
    """Everything readable now, per path."""
    out: dict[str, list[str]] = {}
    while True:
        got = f.read(batch)
        n = 0
        for path, lines, _state in got:
            if lines:  # (a state alone: a start position or a cut, stored by the engine)
                out.setdefault(path, []).extend(lines)
                n += len(lines)
        if n == 0:
            return out


# --------------------------------------------------------------------------- start positions


def test_first_run_starts_at_end_later_files_from_zero(tmp_path: Path) -> None:
    a = tmp_path / "a.log"
    write(a, text(lines_of("a", 3)))
    f = LiveFollower(str(tmp_path / "*.log"), [], first_run=True)
    assert drain(f) == {}
    write(a, text(lines_of("a", 2, 3)))
    b = tmp_path / "b.log"
    write(b, text(lines_of("b", 2)))  # appeared after start: from 0
    (tmp_path / "c.txt").write_text("not matched\n")
    f.rescan()
    assert drain(f) == {str(a): lines_of("a", 2, 3), str(b): lines_of("b", 2)}
    f.close()


def test_later_run_reads_unknown_files_from_zero(tmp_path: Path) -> None:
    a = tmp_path / "a.log"
    write(a, text(lines_of("a", 3)))
    f = LiveFollower(str(tmp_path / "*.log"), [], first_run=False)
    assert drain(f) == {str(a): lines_of("a", 3)}
    f.close()


def test_restart_resumes_without_loss_or_duplicates(tmp_path: Path) -> None:
    pattern = str(tmp_path / "*.log")
    paths = [tmp_path / f"f{i}.log" for i in range(3)]
    written: dict[str, list[str]] = {str(p): [] for p in paths}

    def add(n: int, start: int) -> None:
        for p in paths:
            new = lines_of(p.stem, n, start)
            write(p, text(new))
            written[str(p)].extend(new)

    add(200, 0)
    seen: dict[str, list[str]] = {str(p): [] for p in paths}
    saved: dict[tuple[int, int, str], FileState] = {}
    f = LiveFollower(pattern, [], first_run=False)
    for _ in range(2):  # stop in the middle of the backlog
        for path, lines, state in f.read(150):
            seen[path].extend(lines)
            saved[(state.dev, state.inode, state.fingerprint)] = state
    f.close()
    assert sum(map(len, seen.values())) == 300
    add(50, 200)
    # Saved as the store hands them back (keyed by identity); first_run=False.
    f = LiveFollower(pattern, saved, first_run=False)
    for path, lines in drain(f, 64).items():
        seen[path].extend(lines)
    assert seen == written
    f.close()


def test_saved_state_of_rewritten_file_reads_it_again(tmp_path: Path) -> None:
    a = tmp_path / "a.log"
    write(a, "x1\nx2\n")
    f = LiveFollower(str(tmp_path / "*.log"), [], first_run=False)
    assert drain(f) == {str(a): ["x1", "x2"]}
    states = f.states()
    f.close()
    write(a, "y1\ny2\ny3\n", "w")  # same inode, other content
    f = LiveFollower(str(tmp_path / "*.log"), states, first_run=False)
    assert drain(f) == {str(a): ["y1", "y2", "y3"]}
    f.close()


# --------------------------------------------------------------------------- rotation


def test_rotated_out_of_glob_is_drained(tmp_path: Path) -> None:
    a = tmp_path / "a.log"
    write(a, "a-0\n")
    f = LiveFollower(str(tmp_path / "*.log"), [], first_run=False)
    assert drain(f) == {str(a): ["a-0"]}
    write(a, "a-1\na-2\n")
    os.rename(a, tmp_path / "a.log.1")  # no longer matches
    f.rescan()
    write(a, "new-0\n")
    f.rescan()
    assert drain(f) == {str(a): ["a-1", "a-2", "new-0"]}
    assert [x.path for x in f.files] == [str(a)]
    f.close()


def test_rotated_within_glob_is_not_read_twice(tmp_path: Path) -> None:
    a = tmp_path / "app.log"
    write(a, text(lines_of("old", 3)))
    f = LiveFollower(str(tmp_path / "*.log"), [], first_run=False)
    assert drain(f) == {str(a): lines_of("old", 3)}
    write(a, "old-3\n")
    rotated = tmp_path / "app.1.log"  # still matches *.log
    os.rename(a, rotated)
    write(a, "new-0\n")
    f.rescan()  # sees app.1.log while app.log's tailer still holds its inode
    got = drain(f)
    f.rescan()  # now app.1.log is taken up at the offset app.log's tailer reached
    for path, lines in drain(f).items():
        got.setdefault(path, []).extend(lines)
    write(rotated, "late-0\n")  # a writer that had not reopened yet
    for path, lines in drain(f).items():
        got.setdefault(path, []).extend(lines)
    assert got == {str(a): ["old-3", "new-0"], str(rotated): ["late-0"]}
    assert sorted(x.path for x in f.files) == [str(rotated), str(a)]
    f.close()


def test_rotation_reports_the_old_file_final_state(tmp_path: Path) -> None:
    a = tmp_path / "a.log"
    write(a, "1\n2\n")
    f = LiveFollower(str(tmp_path / "*.log"), [], first_run=False)
    drain(f)
    old_inode = a.stat().st_ino
    os.rename(a, tmp_path / "a.log.1")
    write(a, "3\n")
    got = f.read(100)
    assert [(p, lines, s.inode, s.offset) for p, lines, s in got] == [
        (str(a), [], old_inode, 4),
        (str(a), ["3"], a.stat().st_ino, 2),
    ]
    f.close()


def test_copytruncate_reports_restart(tmp_path: Path) -> None:
    a = tmp_path / "a.log"
    write(a, "aaa\nbbb\n")
    f = LiveFollower(str(tmp_path / "*.log"), [], first_run=False)
    drain(f)
    shutil.copyfile(a, tmp_path / "a.log.1")
    with open(a, "r+b") as fh:
        fh.truncate(0)
    (_, none, cut), (_, nothing, now) = f.read(10)
    assert none == nothing == []
    # The cut content is reported to be stored (for its copy), and the position moved to 0.
    assert cut.cut and cut.offset == 8 and cut.head.startswith("8:")
    assert now == f.states()[0] and now.offset == 0 and not now.cut
    write(a, "ccc\n")
    assert drain(f) == {str(a): ["ccc"]}
    f.close()


def test_deleted_file_is_drained_then_dropped(tmp_path: Path) -> None:
    a, b = tmp_path / "a.log", tmp_path / "b.log"
    write(a, "a-0\n")
    write(b, "b-0\n")
    f = LiveFollower(str(tmp_path / "*.log"), [], first_run=False)
    assert drain(f) == {str(a): ["a-0"], str(b): ["b-0"]}
    write(a, "a-1\n")
    a.unlink()
    f.rescan()
    assert drain(f) == {str(a): ["a-1"]}
    assert [x.path for x in f.files] == [str(b)]
    write(a, "again-0\n")  # re-created after the drop: a new file, from 0
    f.rescan()
    assert drain(f) == {str(a): ["again-0"]}
    f.close()


# --------------------------------------------------------------------------- fairness


def test_one_huge_file_does_not_starve_the_others(tmp_path: Path) -> None:
    big = tmp_path / "big.log"
    write(big, text(lines_of("big", 50_000)))
    small = [tmp_path / f"s{i}.log" for i in range(3)]
    for p in small:
        write(p, text(lines_of(p.stem, 40)))
    f = LiveFollower(str(tmp_path / "*.log"), [], first_run=False)
    got = {path: lines for path, lines, _ in f.read(400)}
    assert sum(map(len, got.values())) == 400
    for p in small:
        assert got[str(p)] == lines_of(p.stem, 40)
    assert got[str(big)] == lines_of("big", 280)
    # With every small file at its end, the whole budget goes to the big one.
    got = {path: lines for path, lines, _ in f.read(1000)}
    assert got == {str(big): lines_of("big", 1000, 280)}
    info = {x.path: x for x in f.files}
    assert info[str(big)].lines_read == 1280
    assert info[str(big)].lag == big.stat().st_size - info[str(big)].offset > 0
    assert info[str(small[0])].lag == 0
    f.close()


def test_round_robin_with_equal_backlogs(tmp_path: Path) -> None:
    paths = [tmp_path / f"f{i}.log" for i in range(4)]
    for p in paths:
        write(p, text(lines_of(p.stem, 1000)))
    f = LiveFollower(str(tmp_path / "*.log"), [], first_run=False)
    got = {path: lines for path, lines, _ in f.read(100)}
    assert {path: len(lines) for path, lines in got.items()} == {str(p): 25 for p in paths}
    f.close()


# --------------------------------------------------------------------------- watcher


def test_watcher_signals_a_new_file(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    pattern = str(logs / "*.log")
    f = LiveFollower(pattern, [], first_run=True)
    w = DirWatcher([pattern, str(tmp_path / "nowhere" / "*.log")], recheck=0.2)
    w.start()
    try:
        assert w.ready.wait(5)
        assert w.watching == [str(logs)]  # the missing directory is skipped, not fatal
        (logs / "ignored.txt").write_text("x\n")
        new = logs / "new.log"
        write(new, "hello\n")
        started = time.monotonic()
        assert w.changed.wait(5)
        assert time.monotonic() - started < 2
        f.rescan()
        assert drain(f) == {str(new): ["hello"]}
        assert w.error is None
    finally:
        w.stop()
        f.close()
    assert not w.alive


def test_watcher_ignores_other_files_and_picks_up_a_new_directory(tmp_path: Path) -> None:
    later = tmp_path / "later"
    w = DirWatcher([str(tmp_path / "*.log"), str(later / "*.log")], recheck=0.1)
    w.start()
    try:
        assert w.ready.wait(5)
        assert w.watching == [str(tmp_path)]
        later.mkdir()
        assert w.changed.wait(5)  # the missing directory appeared
        w.changed.clear()
        deadline = time.monotonic() + 5
        while str(later) not in w.watching and time.monotonic() < deadline:
            w.changed.wait(0.05)
        assert w.watching == [str(tmp_path), str(later)]
        w.changed.clear()
        write(later / "x.log", "x\n")
        assert w.changed.wait(5)
    finally:
        w.stop()


def test_watcher_stops_promptly(tmp_path: Path) -> None:
    # A long recheck: the thread sits inside watchfiles' wait when asked to stop.
    w = DirWatcher([str(tmp_path / "*.log")], recheck=30)
    w.start()
    # Until the OS watch is in place, a write may go unseen: write until one is seen.
    for i in range(100):
        write(tmp_path / "a.log", f"{i}\n")
        if w.changed.wait(0.1):
            break
    assert w.changed.is_set()
    started = time.monotonic()
    w.stop()
    assert time.monotonic() - started < 1.0
    assert not w.alive


def test_watcher_error_is_recorded_not_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise OSError(28, "inotify watch limit reached")

    import watchfiles  # the watcher imports it when it starts

    monkeypatch.setattr(watchfiles, "watch", broken)
    w = DirWatcher([str(tmp_path / "*.log")])
    w.start()
    assert w.changed.wait(5)  # wakes the engine, which falls back to polling
    assert isinstance(w.error, OSError)
    w.stop()
    assert not w.alive
    assert not any(t.name == "alser-dirwatch" for t in threading.enumerate())


def test_watcher_on_a_plain_directory_counts_any_change(tmp_path: Path) -> None:
    w = DirWatcher([str(tmp_path)], recheck=0.2)
    w.start()
    try:
        assert w.ready.wait(5)
        assert w.watching == [str(tmp_path)]
        (tmp_path / "anything.txt").write_text("x\n")
        assert w.changed.wait(5)
    finally:
        w.stop()


def test_watch_roots(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    assert watch_roots(
        [
            str(tmp_path / "a" / "php.*.log"),
            str(tmp_path / "b" / "*" / "x.log"),
            str(tmp_path / "d"),
        ]
    ) == {str(tmp_path / "a"): False, str(tmp_path / "b"): True, str(tmp_path / "d"): False}
