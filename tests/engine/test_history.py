"""HistoryReader: plain and gzip files, once each from the start, in path order."""

from __future__ import annotations

import gzip
from pathlib import Path

from alser_tui.engine.sources.history import HistoryReader


def lines_of(prefix: str, n: int) -> list[str]:
    return [f"{prefix}-{i}" for i in range(n)]


def text(lines: list[str]) -> bytes:
    return "".join(line + "\n" for line in lines).encode()


def read_all(h: HistoryReader, batch: int = 1000) -> list[tuple[str, list[str]]]:
    out: list[tuple[str, list[str]]] = []
    while not h.done:
        for path, lines in h.read(batch):
            if out and out[-1][0] == path:
                out[-1][1].extend(lines)
            else:
                out.append((path, list(lines)))
    return out


def test_plain_and_gzip_in_path_order(tmp_path: Path) -> None:
    files = {
        "app.1.log.gz": lines_of("one", 500),  # gzip by name and by content
        "app.2.log": lines_of("two", 3),
        "app.3.log": lines_of("three", 400),  # gzip content, plain name
        "app.4.log.gz": lines_of("four", 2),  # plain content, .gz name
    }
    (tmp_path / "app.1.log.gz").write_bytes(gzip.compress(text(files["app.1.log.gz"])))
    (tmp_path / "app.2.log").write_bytes(text(files["app.2.log"]))
    (tmp_path / "app.3.log").write_bytes(gzip.compress(text(files["app.3.log"])))
    (tmp_path / "app.4.log.gz").write_bytes(text(files["app.4.log.gz"]))
    (tmp_path / "other.txt").write_bytes(b"not me\n")
    h = HistoryReader(str(tmp_path / "app.*"))
    assert h.files == [str(tmp_path / name) for name in sorted(files)]
    assert read_all(h, 128) == [(str(tmp_path / name), lines) for name, lines in files.items()]
    assert h.done and h.files_done == 4 and h.lines_read == 905 and h.errors == []


def test_batches_respect_max_lines_and_cross_files(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_bytes(text(lines_of("a", 5)))
    (tmp_path / "b.log").write_bytes(text(lines_of("b", 5)))
    h = HistoryReader(str(tmp_path / "*.log"))
    first = h.read(7)
    assert first == [
        (str(tmp_path / "a.log"), lines_of("a", 5)),
        (str(tmp_path / "b.log"), lines_of("b", 2)),
    ]
    assert not h.done
    assert h.read(7) == [(str(tmp_path / "b.log"), ["b-2", "b-3", "b-4"])]
    assert h.done
    assert h.read(7) == []


def test_last_line_without_newline_crlf_and_overlong(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_bytes(b"x\r\n\r\n" + b"L" * 30 + b"\ny\xffz\r\nno newline")
    (tmp_path / "b.log").write_bytes(gzip.compress(b"first\nlast without\r"))
    (tmp_path / "c.log").write_bytes(b"")
    (tmp_path / "d.log").write_bytes(b"only" + b"M" * 30)
    h = HistoryReader(str(tmp_path / "*.log"), max_line_bytes=12, chunk_size=5)
    assert read_all(h) == [
        (str(tmp_path / "a.log"), ["x", "", "L" * 12, "y\ufffdz", "no newline"]),
        (str(tmp_path / "b.log"), ["first", "last without"]),
        (str(tmp_path / "d.log"), ["only" + "M" * 8]),
    ]
    assert h.overlong == 2


def test_truncated_and_corrupt_gzip(tmp_path: Path) -> None:
    full = gzip.compress(text(lines_of("z", 20_000)), compresslevel=1)
    (tmp_path / "a.log.gz").write_bytes(full[: len(full) // 2])  # still being written
    (tmp_path / "b.log.gz").write_bytes(b"\x1f\x8bnot really gzip at all")
    (tmp_path / "c.log").write_bytes(b"fine\n")
    h = HistoryReader(str(tmp_path / "*"))
    got = read_all(h)
    assert [p for p, _ in got] == [str(tmp_path / "a.log.gz"), str(tmp_path / "c.log")]
    kept = got[0][1]
    assert 0 < len(kept) < 20_000
    assert kept == lines_of("z", len(kept))  # whole lines only, in order, no fragment
    assert got[1][1] == ["fine"]
    assert [p for p, _ in h.errors] == [str(tmp_path / "a.log.gz"), str(tmp_path / "b.log.gz")]
    assert h.files_done == 3


def test_multi_member_gzip_and_no_match(tmp_path: Path) -> None:
    (tmp_path / "a.gz").write_bytes(gzip.compress(b"one\ntw") + gzip.compress(b"o\nthree\n"))
    h = HistoryReader(str(tmp_path / "*.gz"))
    assert read_all(h) == [(str(tmp_path / "a.gz"), ["one", "two", "three"])]
    empty = HistoryReader(str(tmp_path / "nothing-*.log"))
    assert empty.done and empty.read(10) == []


def test_directories_and_vanished_files_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "dir.log").mkdir()
    (tmp_path / "gone.log").write_bytes(b"g\n")
    (tmp_path / "ok.log").write_bytes(b"k\n")
    h = HistoryReader(str(tmp_path / "*.log"))
    (tmp_path / "gone.log").unlink()
    assert read_all(h) == [(str(tmp_path / "ok.log"), ["k"])]
    assert [p for p, _ in h.errors] == [str(tmp_path / "gone.log")]
