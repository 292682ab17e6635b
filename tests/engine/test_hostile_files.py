"""Hostile files, end to end with the real command in a child process (live and --history):
a binary file matched by the glob, a 50 MB line without a newline, a regex that backtracks
catastrophically on crafted lines. None crashes or hangs the run, memory stays bounded, the
ordinary lines are counted exactly and the bad ones as malformed or rejected."""

from __future__ import annotations

import queue
import random
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import psutil
import pytest
from torture_support import (
    BASE,
    Ids,
    Lines,
    assert_exactly_once,
    ev_parser,
    rows_in,
    wait_started,
)

from alser_tui.engine.sources.tailer import MAX_LINE_BYTES

CONFIG = """
[storage]
dir = "var"
keep_windows = 100000

[engine]
lateness = 2
poll_interval = 0.02
glob_interval = 0.2

[[guards]]
tail_glob = "logs/*"
history_glob = "logs/*"
parsers = {parsers}

"""

RSS_LIMIT = 200 << 20
DONE = re.compile(
    r"lines (?P<lines>[\d,]+) \(.*\) parsed (?P<parsed>[\d,]+) rejected (?P<rejected>[\d,]+)"
    r" late [\d,]+(?: future [\d,]+)? malformed (?P<malformed>[\d,]+)"
)
PARSER_LINE = re.compile(
    r"^\s+(\w+)\s+parsed\s+([\d,]+)\s+skipped\s+([\d,]+)\s+rejected\s+([\d,]+)"
)


@dataclass
class Outcome:
    lines: int
    parsed: int
    rejected: int
    malformed: int
    parsers: dict[str, tuple[int, int]]  # parsed, rejected
    peak_rss: int
    stderr: str


def number(text: str) -> int:
    return int(text.replace(",", ""))


def outcome(stderr: str, peak: int) -> Outcome:
    done = [line for line in stderr.splitlines() if line.startswith("done (")]
    assert len(done) == 1, stderr[-2000:]
    m = DONE.search(done[0])
    assert m, done[0]
    parsers = {
        p[1]: (number(p[2]), number(p[4]))
        for p in (PARSER_LINE.match(line) for line in stderr.splitlines())
        if p
    }
    return Outcome(
        number(m["lines"]),
        number(m["parsed"]),
        number(m["rejected"]),
        number(m["malformed"]),
        parsers,
        peak,
        stderr,
    )


def setup(root: Path, parsers: tuple[str, ...] = ("Ev",)) -> Path:
    # Evil: nested alternatives under a repeat: matches "A id=1", backtracks ~2**(n/2)
    # times on "aaaa...a id=x" (re: ~10 ms at 24 letters, days at 60).
    parts = [ev_parser(), ev_parser("Evil", r"^((?:\w|\w\w)+) id=(\d+)")]
    (root / "alser.toml").write_text(CONFIG.format(parsers=list(parsers)) + "".join(parts))
    (root / "logs").mkdir()
    return root / "logs"


def command(root: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "alser_tui", "-c", str(root / "alser.toml"), "--no-ui", *args]


class Live:
    """``alser-tui --no-ui --tick`` in a child process; its RSS is sampled while it is
    waited on."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.db = root / "var" / "alser.db"
        self.proc = subprocess.Popen(
            command(root, "--tick", "0.1"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            cwd=root,
        )
        self.ps = psutil.Process(self.proc.pid)
        self.err = Lines(self.proc.stderr)
        self.peak = 0
        assert wait_started(self.db), "the child did not start"

    def sample(self) -> None:
        try:
            self.peak = max(self.peak, self.ps.memory_info().rss)
        except psutil.Error:
            pass

    def wait_lines(self, n: int, timeout: float = 20) -> None:
        """Until a progress line reports n lines read (and the child is alive)."""
        want = f"lines {n:,} ("
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "".join(self.err.all[-5:])
            self.sample()
            try:
                line = self.err.q.get(timeout=0.02)
            except queue.Empty:
                continue
            self.err.all.append(line)
            if want in line:
                return
        raise AssertionError(f"no {want!r} within {timeout}s: {self.err.all[-3:]}")

    def stop(self) -> Outcome:
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.wait(15) == 0
        return outcome("".join(self.err.drain()), self.peak)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def history(root: Path, timeout: float = 30, *extra: str) -> Outcome:
    """``alser-tui --no-ui --history`` to its end, its peak RSS sampled meanwhile."""
    proc = subprocess.Popen(
        command(root, "--history", *extra),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        cwd=root,
    )
    err = Lines(proc.stderr)
    ps = psutil.Process(proc.pid)
    peak = 0
    deadline = time.monotonic() + timeout
    try:
        while proc.poll() is None:
            assert time.monotonic() < deadline, "the replay hangs"
            try:
                peak = max(peak, ps.memory_info().rss)
            except psutil.Error:
                pass
            time.sleep(0.01)  # sampling another process's memory: nothing to await
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.wait() == 0, "".join(err.all)
    return outcome("".join(err.drain()), peak)


# --------------------------------------------------------------------------- a binary file


def random_bytes(rnd: random.Random, n: int) -> bytes:
    """n random bytes (NULs and all) without a newline."""
    return rnd.randbytes(n).replace(b"\n", b"\x00")


@dataclass
class Binaries:
    lines_live: int  # complete lines (an unfinished last one waits for its newline)
    lines_history: int  # the last line counts too: the file is finished


def write_binaries(logs: Path) -> Binaries:
    rnd = random.Random(5)
    # ELF-like: a header, a short line, a 1.5 MB line (cut to MAX_LINE_BYTES), an
    # unfinished 300 KB tail.
    elf = (
        b"\x7fELF\x02\x01\x01\x00"
        + random_bytes(rnd, 200_000)
        + b"\n"
        + random_bytes(rnd, 1_500_000)
        + b"\n"
        + random_bytes(rnd, 300_000)
    )
    assert 1_500_000 > MAX_LINE_BYTES
    (logs / "core.bin").write_bytes(elf)
    # A data blob: 40 lines of NULs and noise, some ending "\r\n", some with lone "\r".
    parts = []
    for i in range(40):
        parts.append(random_bytes(rnd, rnd.randrange(1, 20_000)))
        parts.append(b"\r\n" if i % 3 == 0 else b"\r\x00\n" if i % 3 == 1 else b"\n")
    (logs / "blob.dat").write_bytes(b"".join(parts))
    # Gzip-looking but corrupt: never read as text live, an error (not lines) in a replay.
    (logs / "old.gz").write_bytes(b"\x1f\x8b\x08\x00" + random_bytes(rnd, 64_000))
    return Binaries(lines_live=2 + 40, lines_history=3 + 40)


def test_a_binary_file_matched_by_the_glob_live(tmp_path: Path) -> None:
    logs = setup(tmp_path)
    (logs / "app.log").touch()
    live = Live(tmp_path)
    try:
        ids = Ids()
        ids.append(logs / "app.log", 2000, ts=BASE + 1)
        binaries = write_binaries(logs)  # after the start: new files are read from 0
        ids.append(logs / "app.log", 1000, ts=BASE + 2)
        expected = 3000 + binaries.lines_live
        live.wait_lines(expected)
        assert rows_in(live.db) == 3000
        done = live.stop()
    finally:
        live.kill()
    assert done.lines == expected and done.parsed == 3000
    assert done.malformed + done.rejected == binaries.lines_live
    assert done.malformed >= binaries.lines_live - 2  # random bytes seldom look like AREA,TS,
    assert_exactly_once(live.db, ids.written)
    assert "old.gz" in done.stderr and "compressed" in done.stderr  # said, not read
    assert 0 < done.peak_rss < RSS_LIMIT, f"peak RSS {done.peak_rss >> 20} MB"


@pytest.mark.parametrize("workers", ["0", "2"])
def test_a_binary_file_matched_by_the_glob_in_a_replay(tmp_path: Path, workers: str) -> None:
    """Also with replay workers, which read their own pieces of the files."""
    logs = setup(tmp_path)
    ids = Ids()
    ids.append(logs / "app.log", 3000, ts=BASE + 1)
    binaries = write_binaries(logs)
    done = history(tmp_path, 30, "--workers", workers)
    assert done.lines == 3000 + binaries.lines_history and done.parsed == 3000
    assert done.malformed + done.rejected == binaries.lines_history
    assert_exactly_once(tmp_path / "var" / "history.db", ids.written)
    # The corrupt gzip is reported (it was read by no one, silently, before), the replay
    # goes on and ends with exit 0.
    assert re.search(r"^done \(end of history\).*/logs/old\.gz: ", done.stderr, re.M)
    assert 0 < done.peak_rss < RSS_LIMIT, f"peak RSS {done.peak_rss >> 20} MB"


# --------------------------------------------------------------------------- a 50 MB line

HUGE = 50 << 20


def write_huge_line(f: BinaryIO) -> None:
    """A line of 50 MB (noise, NULs, no newline) whose envelope is sound: cut, then rejected
    by the parser (its MSG does not fit the regex)."""
    f.write(f"us,{BASE + 1},Z".encode())
    block = (b"\x00\xff ,x=" * (1 << 18))[: 1 << 20]
    for _ in range(HUGE // len(block)):
        f.write(block)


def test_a_50_mb_line_without_newline_live(tmp_path: Path) -> None:
    logs = setup(tmp_path)
    log = logs / "app.log"
    log.touch()
    live = Live(tmp_path)
    try:
        ids = Ids()
        ids.append(log, 100)
        with log.open("ab") as f:
            write_huge_line(f)
        # No newline yet: its head is handed out once past the cap, the rest skipped as it
        # comes; the run goes on (progress lines keep coming).
        live.wait_lines(101)
        with log.open("ab") as f:
            f.write(b"\n")
        ids.append(log, 100, ts=BASE + 2)
        live.wait_lines(201)
        assert rows_in(live.db) == 200
        done = live.stop()
    finally:
        live.kill()
    assert done.lines == 201 and done.parsed == 200
    assert done.rejected == 1 and done.malformed == 0
    assert_exactly_once(live.db, ids.written)
    assert 0 < done.peak_rss < RSS_LIMIT, f"peak RSS {done.peak_rss >> 20} MB"
    print(f"live 50 MB line: peak RSS {done.peak_rss / 2**20:.0f} MB")


def test_a_50_mb_line_without_newline_in_a_replay(tmp_path: Path) -> None:
    logs = setup(tmp_path)
    ids = Ids()
    with (logs / "app.log").open("ab") as f:
        f.write(ids.lines(100, BASE + 1).encode())
        write_huge_line(f)
        f.write(b"\n")
        f.write(ids.lines(100, BASE + 2).encode())
    done = history(tmp_path)
    assert done.lines == 201 and done.parsed == 200
    assert done.rejected == 1 and done.malformed == 0
    assert_exactly_once(tmp_path / "var" / "history.db", ids.written)
    assert 0 < done.peak_rss < RSS_LIMIT, f"peak RSS {done.peak_rss >> 20} MB"
    print(f"replay 50 MB line: peak RSS {done.peak_rss / 2**20:.0f} MB")


# --------------------------------------------------------------------------- a catastrophic regex


def test_a_catastrophic_regex_costs_its_timeout_per_line_and_nothing_else(tmp_path: Path) -> None:
    """One guard, two parsers: Evil's regex times out on the crafted lines (rejected), Ev
    and the other lines are not held up."""
    logs = setup(tmp_path, ("Evil", "Ev"))
    crafted = 20
    ids = Ids()
    with (logs / "app.log").open("w") as f:
        for i in range(crafted):
            f.write(ids.lines(100, BASE + 1))
            f.write(f"us,{BASE + 1},{'a' * 60} id=x{i}\n")  # re: days; here one timeout
        f.write(ids.lines(500, BASE + 2))
    n = 100 * crafted + 500
    t0 = time.monotonic()
    done = history(tmp_path)
    took = time.monotonic() - t0
    assert done.lines == n + crafted
    assert done.parsers["Ev"] == (n, crafted)  # every ordinary line, exactly
    assert done.parsers["Evil"] == (n, crafted)  # and the timed-out lines rejected
    assert_exactly_once(tmp_path / "var" / "history.db", ids.written)
    assert rows_in(tmp_path / "var" / "history.db", "Evil") == n
    # 20 timeouts of 50 ms; the child's start and the 2,500 lines take the rest.
    assert took < 15, took
    # The console's and the summary's sample says why, not just the line.
    assert "last rejected: regex timed out after 50 ms" in done.stderr
