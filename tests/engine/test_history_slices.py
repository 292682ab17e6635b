"""Replay by time slices: each file is cut by time, the parts tile it exactly, and the
windows a worker counted as it parsed equal those SQL computes, disorder or not."""

from __future__ import annotations

import gzip
import random
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from alser_tui.engine.config import load_config
from alser_tui.engine.engine import Engine
from alser_tui.engine.sources import slices
from alser_tui.engine.sources.slices import plan_slices

T0 = 1_700_000_000 - 1_700_000_000 % 3600


def _file(path: Path, stamps: list[int], end_newline: bool = True) -> list[str]:
    lines = [f"us,{ts},k{i % 5} n={i}" for i, ts in enumerate(stamps)]
    path.write_text("\n".join(lines) + ("\n" if end_newline else ""))
    return lines


def _read_parts(parts: list[tuple[str, int, int | None]], path: str) -> bytes:
    data = Path(path).read_bytes()
    return b"".join(data[s:e] for p, s, e in parts if p == path)


def test_slices_tile_every_file_and_cut_ordered_ones_exactly(tmp_path: Path) -> None:
    a = _file(tmp_path / "a.log", [T0 + i // 3 for i in range(6000)])
    _file(tmp_path / "b.log", [T0 + 300 + i for i in range(1500)], end_newline=False)
    (tmp_path / "c.log.gz").write_bytes(gzip.compress(b"us,1700000000,x\n"))
    (tmp_path / "d.log").write_text("no time here\n" * 10)
    files = sorted(str(p) for p in tmp_path.iterdir())
    got, rest = plan_slices(files, 60, slice_bytes=20_000)
    assert rest == [str(tmp_path / "c.log.gz"), str(tmp_path / "d.log")]
    assert len(got) > 4
    for path in (str(tmp_path / "a.log"), str(tmp_path / "b.log")):
        parts = [part for s in got for part in s.parts if part[0] == path]
        assert _read_parts(parts, path) == Path(path).read_bytes()  # each byte once
    for s in got:
        assert (s.lo is None or s.lo % 60 == 0) and (s.hi is None or s.hi % 60 == 0)
        for path, start, end in s.parts:
            text = Path(path).read_bytes()[start:end].decode()
            for line in text.splitlines():
                assert s.holds(int(line.split(",")[1])), (s.lo, s.hi, line)
    assert got[0].lo is None and got[-1].hi is None
    assert a  # the first file really had its lines


def test_a_disordered_file_still_tiles(tmp_path: Path) -> None:
    rng = random.Random(3)
    stamps = [T0 + rng.randint(0, 3000) for _ in range(5000)]
    _file(tmp_path / "x.log", stamps)
    got, rest = plan_slices([str(tmp_path / "x.log")], 60, slice_bytes=10_000)
    assert not rest
    parts = [part for s in got for part in s.parts]
    path = str(tmp_path / "x.log")
    assert _read_parts(parts, path) == Path(path).read_bytes()


def _page_parser(pid: str, window: int, *keys: str) -> str:
    """A regex parser of "PAGE uid=N ..." messages: fields page and uid, plus ``keys``."""
    return (
        f'[[parsers]]\nid = "{pid}"\nkind = "regex"\nwindow = {window}\n'
        "regex = '^(\\w+) uid=(\\d+) (.+)$'\n"
        + "".join(f"{k}\n" for k in keys)
        + '[[parsers.fields]]\nname = "page"\ngroup = 1\n'
        + '[[parsers.fields]]\nname = "uid"\ngroup = 2\ntype = "int"\n\n'
    )


CONFIG = (
    '[storage]\ndir = "var"\n\n[[guards]]\nhistory_glob = "h/*.log*"\n'
    'parsers = ["Hits", "Users", "Kept", "Sum"]\n\n'
    + _page_parser("Hits", 60, 'group_by = ["area", "page"]', "limit = 3", "min_amount = 2")
    + _page_parser("Users", 120, 'aggregate = "count_distinct:uid"', 'group_by = ["page"]')
    + _page_parser("Kept", 60, 'group_by = ["page"]', 'where = "uid % 2 = 0"')
    + _page_parser("Sum", 60, 'aggregate = "sum:uid"', 'group_by = ["page"]')
)


def _windows(db: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as con:
        sql = "SELECT parser, start, end, total, groups, rows FROM windows ORDER BY 1, 2"
        return [tuple(r) for r in con.execute(sql)]


def _replay(root: Path, workers: int) -> tuple[list[tuple[Any, ...]], Engine]:
    for old in (root / "var").glob("*"):
        old.unlink()
    engine = Engine(load_config(root / "alser.toml"), history=True, workers=workers)
    engine.run()
    return _windows(root / "var" / "history.db"), engine


def test_windows_counted_by_slices_equal_sql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three mostly ordered files (a few lines filed minutes away from their time), one
    gzipped, four parsers of which two can be counted by slices: the same windows as one
    process, and both kinds of windows (counted whole, sent back to SQL) happen."""
    monkeypatch.setattr(slices, "SLICE_BYTES", 24_000)
    (tmp_path / "alser.toml").write_text(CONFIG)
    hist = tmp_path / "h"
    hist.mkdir()
    rng = random.Random(11)
    pages = ["home", "cart", "pay", "help", "faq", "me"]
    for f in range(3):
        lines = []
        for i in range(4000):
            ts = T0 + i * 3600 // 4000
            if rng.random() < 0.004:
                ts += rng.choice([-200, -61, 59, 130])  # filed in the wrong slice
            page = pages[min(int(rng.expovariate(0.7)), 5)]
            lines.append(f"{rng.choice(['us', 'de'])},{ts},{page} uid={rng.randint(1, 60)} x")
        (hist / f"{f}.log").write_text("\n".join(lines) + "\n")
    with gzip.open(hist / "old.log.gz", "wt") as g:  # read whole: its windows go to SQL
        g.write("".join(f"us,{T0 + 1800 + i},home uid={i} x\n" for i in range(50)))
    single, _ = _replay(tmp_path, 0)
    parallel, engine = _replay(tmp_path, 2)
    assert parallel == single
    assert len(single) > 150
    counted = {pid for pid, _ in engine._counted}
    assert counted == {"Hits", "Users"}  # where and sum stay with SQL
    dirty = engine._dirty_windows["Hits"]
    assert dirty and len(dirty) < len(engine._window_rows["Hits"]) // 2
    # Every line once.
    assert engine.runs["Hits"].parsed == 3 * 4000 + 50


def test_when_slices_counted_every_window_the_shards_are_indexed_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ordered files, parsers that slices count: no window needs the shards, so the
    workers index them while the engine closes the windows; same windows as one process,
    and the shards end up indexed."""
    monkeypatch.setattr(slices, "SLICE_BYTES", 24_000)
    (tmp_path / "alser.toml").write_text(
        CONFIG.replace('"Hits", "Users", "Kept", "Sum"', '"Hits", "Users"')
    )
    hist = tmp_path / "h"
    hist.mkdir()
    rng = random.Random(5)
    for f in range(2):
        lines = [
            f"{rng.choice(['us', 'de'])},{T0 + i * 3600 // 3000},p{rng.randint(0, 4)} uid={rng.randint(1, 30)} x"
            for i in range(3000)
        ]
        (hist / f"{f}.log").write_text("\n".join(lines) + "\n")
    single, _ = _replay(tmp_path, 0)
    parallel, engine = _replay(tmp_path, 2)
    assert parallel == single and len(single) > 80
    assert not any(engine._dirty_windows.values())  # every window counted by a slice
    assert engine._indexing is None and engine._next_windows is not None
    for shard in (tmp_path / "var").glob("history-shard*.db"):
        with sqlite3.connect(shard) as con:
            names = {
                r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
            }
        assert {"ev_Hits_ts", "ev_Users_ts"} <= names
