"""Replay workers read pieces of files themselves: the pieces, read one by one, must give
exactly the lines the HistoryReader gives for the whole file."""

from __future__ import annotations

import gzip
import itertools
import random
from pathlib import Path

import pytest

from alser_tui.engine.sources.history import BATCH_BYTES, HistoryReader, plan_pieces, read_piece
from alser_tui.engine.sources.tailer import CHUNK_SIZE


def whole(path: Path, max_line_bytes: int = 1 << 20) -> list[str]:
    reader = HistoryReader(str(path), max_line_bytes=max_line_bytes, chunk_size=64)
    out: list[str] = []
    while not reader.done:
        for _path, lines in reader.read(5):
            out.extend(lines)
    return out


def pieced(path: Path, piece_bytes: int, max_line_bytes: int = 1 << 20) -> list[str]:
    out: list[str] = []
    for piece in plan_pieces([str(path)], piece_bytes):
        for batch in read_piece(piece, 7, max_line_bytes=max_line_bytes, chunk_size=64):
            assert 0 < len(batch) <= 7
            out.extend(batch)
    return out


def messy(rng: random.Random, n: int) -> bytes:
    """Lines of every length, CRLF and LF, blank lines, bad UTF-8, NULs; sometimes no
    newline at the very end."""
    parts = []
    for i in range(n):
        body = "".join(rng.choice("ab,c é\t\x00") for _ in range(rng.choice([0, 1, 5, 40, 300])))
        raw = f"us,{1_700_000_000 + i},{body}".encode()
        if rng.random() < 0.05:
            raw += b"\xff\xfe"
        parts.append(raw + rng.choice([b"\n", b"\r\n", b"\n\n"]))
    data = b"".join(parts)
    return data[:-1] if rng.random() < 0.5 else data


@pytest.mark.parametrize("seed", range(8))
def test_pieces_read_one_by_one_give_the_whole_file(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    path = tmp_path / "x.log"
    path.write_bytes(messy(rng, 400))
    for piece_bytes in (1, 50, 333, 4096, 1 << 20):
        assert pieced(path, piece_bytes) == whole(path)
    pieces = plan_pieces([str(path)], 333)
    assert len(pieces) > 5
    # Contiguous, each (but the last) ending just after a newline.
    data = path.read_bytes()
    for (p, _s, e), (_p2, s2, _e2) in itertools.pairwise(pieces):
        assert p == str(path) and e == s2 and data[e - 1 : e] == b"\n"
    assert pieces[0][1] == 0 and pieces[-1][2] is None


def test_overlong_lines_are_cut_the_same_way(tmp_path: Path) -> None:
    path = tmp_path / "long.log"
    path.write_bytes(b"us,1,short\n" + b"us,2," + b"A" * 5000 + b"\nus,3,after\n" + b"B" * 900)
    assert pieced(path, 100, max_line_bytes=1000) == whole(path, max_line_bytes=1000)


def test_a_gzip_file_is_one_piece_and_a_missing_file_reports(tmp_path: Path) -> None:
    gz = tmp_path / "old.log.gz"
    with gzip.open(gz, "wb") as f:
        f.write(messy(random.Random(3), 300))
    assert plan_pieces([str(gz)], 10) == [(str(gz), 0, None)]
    assert pieced(gz, 10) == whole(gz)
    errors: list[tuple[str, str]] = []
    gone = str(tmp_path / "gone.log")
    assert list(read_piece((gone, 0, None), 10, errors=errors)) == []
    assert errors and errors[0][0] == gone


def test_a_batch_is_bounded_in_bytes_too(tmp_path: Path) -> None:
    """A gzip piece is a whole file: batches stop at BATCH_BYTES of lines as well as at
    their line count, so that long lines cannot fill the memory."""
    gz = tmp_path / "big.log.gz"
    line = b"us,1," + b"x" * 100_000 + b"\n"
    with gzip.open(gz, "wb", compresslevel=1) as f:
        for _ in range(200):
            f.write(line)
    batches = list(read_piece((str(gz), 0, None), 40_000))
    assert sum(len(b) for b in batches) == 200
    assert len(batches) >= 3
    # At most one read (CHUNK_SIZE) past the bound: the lines already in hand go along.
    assert all(sum(len(x) for x in b) <= BATCH_BYTES + CHUNK_SIZE for b in batches)
