"""FileTailer on real files: partial lines, rotation, truncation, replacement, resume."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from alser_tui.engine.sources.tailer import FileState, FileTailer, LineSplitter, fingerprint


def write(path: Path, text: str | bytes, mode: str = "ab") -> None:
    data = text.encode() if isinstance(text, str) else text
    with open(path, mode) as f:
        f.write(data)


def read_all(t: FileTailer, batch: int = 10_000) -> list[str]:
    out: list[str] = []
    while True:
        got = t.read(batch)
        out.extend(got)
        if len(got) < batch:
            return out


def numbered(prefix: str, n: int, start: int = 0) -> list[str]:
    return [f"{prefix}{i}" for i in range(start, start + n)]


def text(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


# --------------------------------------------------------------------------- lines


def test_only_complete_lines_partial_in_two_steps(tmp_path: Path) -> None:
    p = tmp_path / "a.log"
    write(p, "one\ntw")
    with FileTailer(str(p)) as t:
        assert t.read(100) == ["one"]
        assert t.state.offset == 4  # after "one\n", not after the partial "tw"
        assert t.at_eof
        assert t.read(100) == []
        write(p, "o\nthr")
        assert t.read(100) == ["two"]
        write(p, "ee\n")
        assert t.read(100) == ["three"]
        assert t.state.offset == p.stat().st_size
        assert t.lines_read == 3
        assert t.lag_bytes == 0


def test_crlf_empty_lines_and_invalid_utf8(tmp_path: Path) -> None:
    p = tmp_path / "a.log"
    write(p, b"a\r\n\nb\xff\xfec\r\nd\re\n\xe2\x82\nlast\r\n")
    with FileTailer(str(p)) as t:
        assert t.read(100) == ["a", "", "b\ufffd\ufffdc", "d\re", "\ufffd", "last"]


def test_max_lines_keeps_exact_offsets(tmp_path: Path) -> None:
    p = tmp_path / "a.log"
    lines = [f"line {i} " + "é" * (i % 7) for i in range(1000)]
    write(p, text(lines))
    with FileTailer(str(p)) as t:
        got = t.read(7)
        assert got == lines[:7]
        assert t.state.offset == len(text(lines[:7]).encode())
        assert not t.at_eof
        assert read_all(t, 33) == lines[7:]
        assert t.at_eof


def test_overlong_lines_are_cut_and_counted(tmp_path: Path) -> None:
    p = tmp_path / "a.log"
    write(p, "short\n" + "x" * 25 + "\nok\n" + "y" * 40)
    with FileTailer(str(p), max_line_bytes=10, chunk_size=8) as t:
        assert t.read(100) == ["short", "x" * 10, "ok", "y" * 10]
        assert t.overlong == 2
        # The rest of the cut partial line is skipped, whatever arrives before its newline.
        write(p, "y" * 30)
        assert t.read(100) == []
        write(p, "yy\nnext\n")
        assert t.read(100) == ["next"]
        assert t.state.offset == p.stat().st_size


def test_overlong_complete_line_in_one_chunk(tmp_path: Path) -> None:
    p = tmp_path / "a.log"
    write(p, "a\n" + "z" * 50 + "\r\nb\n" + "w" * 11 + "\r\n")
    with FileTailer(str(p), max_line_bytes=11) as t:
        assert t.read(100) == ["a", "z" * 11, "b", "w" * 11]
        assert t.overlong == 1


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.binary(max_size=12).map(lambda b: b.replace(b"\n", b"")), max_size=30),
    st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=10),
    st.integers(min_value=1, max_value=5),
    st.integers(min_value=4, max_value=20),
)
def test_splitter_any_chunking(
    lines: list[bytes], cuts: list[int], limit: int, max_line: int
) -> None:
    """Whatever the chunking and the batch size: the lines and the consumed bytes add up."""
    data = b"".join(line + b"\n" for line in lines)
    expected = []
    for line in lines:
        line = line[:-1] if line.endswith(b"\r") else line
        expected.append(line[:max_line].decode("utf-8", "replace"))
    sp = LineSplitter(max_line)
    out: list[str] = []
    consumed = pos = i = 0
    while pos < len(data):
        step = cuts[i % len(cuts)]
        i += 1
        sp.feed(data[pos : pos + step])
        pos += step
        consumed += sp.take(limit, out)
    while True:
        before = len(out)
        consumed += sp.take(limit, out)
        if len(out) == before:
            break
    assert out == expected
    assert consumed == len(data)


# --------------------------------------------------------------------------- start


def test_at_end_starts_after_the_last_complete_line(tmp_path: Path) -> None:
    p = tmp_path / "a.log"
    write(p, "old1\nold2\npar")
    with FileTailer(str(p), at_end=True) as t:
        assert t.read(100) == []
        write(p, "tial\nnew\n")
        assert t.read(100) == ["partial", "new"]


def test_at_end_on_empty_and_missing_file(tmp_path: Path) -> None:
    p = tmp_path / "a.log"
    write(p, "")
    with FileTailer(str(p), at_end=True) as t:
        assert t.fingerprint == ""
        write(p, "first\n")
        assert t.read(100) == ["first"]
        assert t.fingerprint == fingerprint(b"first\n")[0]
    q = tmp_path / "later.log"
    with FileTailer(str(q), at_end=True) as t:
        assert t.missing and not t.is_open
        assert t.read(100) == []
        write(q, "born\n")
        assert t.read(100) == ["born"]  # appeared after start: from 0


def test_resume_from_state_no_loss_no_duplicate(tmp_path: Path) -> None:
    p = tmp_path / "a.log"
    written = numbered("L", 500)
    write(p, text(written[:300]) + "half")
    with FileTailer(str(p)) as t:
        got = t.read(120)
        state = t.state
    write(p, "-done\n" + text(written[300:]))
    written[300:300] = ["half-done"]
    with FileTailer(str(p), resume=state) as t:
        got += read_all(t)
    assert got == [*written[:300], "half-done", *written[301:]]


def test_resume_rejects_other_file_and_shorter_file(tmp_path: Path) -> None:
    p = tmp_path / "a.log"
    write(p, "a1\na2\n")
    with FileTailer(str(p)) as t:
        t.read(100)
        state = t.state
    # Same path, other content in place (same inode): the fingerprint differs -> from 0,
    # even when asked to start at the end: the known file was rewritten, all of it is new.
    write(p, "b1\nb2\nb3\n", "wb")
    with FileTailer(str(p), resume=state, at_end=True) as t:
        assert t.read(100) == ["b1", "b2", "b3"]
        state = t.state
    # Same first line but now shorter than the saved offset (truncated while down) -> 0.
    write(p, "b1\n", "wb")
    with FileTailer(str(p), resume=state) as t:
        assert t.read(100) == ["b1"]
    # Another inode altogether.
    q = tmp_path / "q.log"
    write(q, "b1\nb2\nb3\nb4\n")
    with FileTailer(str(q), resume=state) as t:
        assert t.read(100) == ["b1", "b2", "b3", "b4"]


def test_provisional_fingerprint_survives_the_first_line_growing(tmp_path: Path) -> None:
    p = tmp_path / "a.log"
    write(p, "abc")
    with FileTailer(str(p)) as t:
        assert t.read(10) == []
        early = t.state
        write(p, "def\nx\n")
        assert t.read(10) == ["abcdef", "x"]
        late = t.state
    assert early.fingerprint != late.fingerprint
    write(p, "y\n")
    # Both states match the file; the more precise (later) one wins whatever the order.
    with FileTailer(str(p), resume=[early, late]) as t:
        assert t.read(10) == ["y"]


# --------------------------------------------------------------------------- rotation


def test_rename_and_recreate_drains_old_file_first(tmp_path: Path) -> None:
    p = tmp_path / "a.log"
    write(p, text(numbered("old", 3)))
    with FileTailer(str(p)) as t:
        assert t.read(100) == numbered("old", 3)
        old_inode = t.inode
        write(p, text(numbered("old", 2, 3)))  # written, not yet read
        os.rename(p, tmp_path / "a.log.1")
        write(p, text(numbered("new", 2)))
        assert t.read(100) == numbered("old", 2, 3) + numbered("new", 2)
        assert t.rotations == 1
        assert t.inode != old_inode
        assert t.retired == [FileState(str(p), t.dev, old_inode, t.retired[0].fingerprint, 5 * 5)]
        assert t.state.offset == p.stat().st_size


def test_renamed_away_then_recreated_later(tmp_path: Path) -> None:
    p = tmp_path / "a.log"
    write(p, "a\n")
    with FileTailer(str(p)) as t:
        assert t.read(100) == ["a"]
        write(p, "b\n")
        os.rename(p, tmp_path / "a.old")
        assert t.read(100) == ["b"]  # still drained through the open file
        assert t.missing
        write(tmp_path / "a.old", "c\n")  # a late writer still on the old file
        assert t.read(100) == ["c"]
        write(p, "d\n")
        assert t.read(100) == ["d"]
        assert not t.missing


def test_delete_and_recreate(tmp_path: Path) -> None:
    p = tmp_path / "a.log"
    write(p, "one\ntwo\n")
    with FileTailer(str(p)) as t:
        assert t.read(100) == ["one", "two"]
        write(p, "three\n")
        p.unlink()
        assert t.read(100) == ["three"]
        assert t.missing
        write(p, "fresh\n")
        assert t.read(100) == ["fresh"]
        assert t.rotations == 1


def test_copytruncate(tmp_path: Path) -> None:
    p = tmp_path / "a.log"
    write(p, text(numbered("before", 5)))
    with FileTailer(str(p)) as t:
        assert t.read(100) == numbered("before", 5)
        inode = t.inode
        shutil.copyfile(p, tmp_path / "a.log.1")
        with open(p, "r+b") as f:
            f.truncate(0)
        write(p, "after0\n")
        assert t.read(100) == ["after0"]
        assert t.inode == inode
        assert t.truncations == 1
        assert t.state.offset == len(b"after0\n")


def test_copytruncate_regrown_past_old_offset_is_caught_by_fingerprint(tmp_path: Path) -> None:
    p = tmp_path / "a.log"
    write(p, "b0\nb1\n")
    with FileTailer(str(p)) as t:
        assert t.read(100) == ["b0", "b1"]
        with open(p, "r+b") as f:
            f.truncate(0)
        write(p, text(numbered("after", 4)))  # bigger than before when we look
        assert t.read(100) == numbered("after", 4)
        assert t.truncations == 1


def test_replaced_in_place_with_same_size(tmp_path: Path) -> None:
    p = tmp_path / "a.log"
    write(p, "aaaa\nbbbb\n")
    with FileTailer(str(p)) as t:
        assert t.read(100) == ["aaaa", "bbbb"]
        write(p, "cccc\ndddd\n", "wb")  # same inode, same size, other content
        assert t.read(100) == ["cccc", "dddd"]


def test_replaced_by_other_file_with_same_size(tmp_path: Path) -> None:
    p = tmp_path / "a.log"
    write(p, "aaaa\nbbbb\n")
    with FileTailer(str(p)) as t:
        assert t.read(100) == ["aaaa", "bbbb"]
        tmp = tmp_path / "a.tmp"
        write(tmp, "cccc\ndddd\n")
        os.replace(tmp, p)  # new inode at the path
        assert t.read(100) == ["cccc", "dddd"]
        assert t.rotations == 1


def test_symlink_swap(tmp_path: Path) -> None:
    day1, day2, link = tmp_path / "day1.log", tmp_path / "day2.log", tmp_path / "current.log"
    write(day1, "d1-a\n")
    link.symlink_to(day1)
    with FileTailer(str(link)) as t:
        assert t.read(100) == ["d1-a"]
        write(day1, "d1-b\n")
        write(day2, "d2-a\nd2-b\n")
        tmp_link = tmp_path / "current.tmp"
        tmp_link.symlink_to(day2)
        os.replace(tmp_link, link)
        assert t.read(100) == ["d1-b", "d2-a", "d2-b"]
        assert t.state.path == str(link)
        assert t.state.inode == day2.stat().st_ino


def test_lag_and_eof(tmp_path: Path) -> None:
    p = tmp_path / "a.log"
    write(p, text(numbered("x", 10)))  # 3 bytes a line
    with FileTailer(str(p)) as t:
        assert t.lag_bytes == 30
        assert t.read(4) == numbered("x", 4)
        assert t.lag_bytes == 18
        assert not t.at_eof
        assert t.read(100) == numbered("x", 6, 4)
        assert t.lag_bytes == 0 and t.at_eof
