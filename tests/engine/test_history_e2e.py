"""End to end: `alser-tui --history --json` over generated files equals an independent group-by."""

from __future__ import annotations

import gzip
import json
import random
import sqlite3
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from torture_support import Running, ev_parser, rows_in

from alser_tui.cli import main
from alser_tui.engine.config import load_config
from alser_tui.engine.engine import Engine
from alser_tui.engine.events import Finished
from alser_tui.engine.sources import slices
from alser_tui.engine.store import events_table

PHP_RE = r"\[(.+)\] (.+?): (.+) - (.+) \[(\d+)\],(.+)"

CONFIG = f"""
[storage]
dir = "var"

[[guards]]
history_glob = "history/php*"
parsers = ["PhpError"]

[[guards]]
history_glob = "history/err*"
parsers = ["Error", "Dau"]

[[parsers]]
id = "PhpError"
kind = "regex"
title = "PhpErr"
window = 60
regex = '{PHP_RE}'
group_by = ["area", "file", "line", "msg"]
limit = 3
min_amount = 2
beep_threshold = 9
abnormal_percent = 1.0
abnormal_base = 6
severity = 2
abnormal_severity_factor = 3
row_format = "{{amount:>5}} {{area:>3}} {{file}}:{{line}} {{msg}}"

[[parsers.fields]]
name = "level"
group = 2
[[parsers.fields]]
name = "msg"
group = 3
normalize = ["digits"]
[[parsers.fields]]
name = "file"
group = 4
type = "base_file"
[[parsers.fields]]
name = "line"
group = 5
type = "int"

[[parsers]]
id = "Error"
kind = "json"
window = 30
group_by = ["area", "cls"]
limit = 0
summary = true
instant = "Fatal {{area}} {{cls}}"
where = "cls != 'Ignored'"

[[parsers.fields]]
name = "cls"
path = "error.class"
[[parsers.fields]]
name = "fatal"
path = "error.level"
filters = ["fatal"]
visible = false

[[parsers]]
id = "Dau"
kind = "json"
window = 120
aggregate = "count_distinct:uid"
group_by = ["area"]

[[parsers.fields]]
name = "uid"
type = "int"
"""

T0 = 1_700_000_000 - 1_700_000_000 % 600  # a window boundary for every size used


def _php_lines(rng: random.Random) -> list[tuple[int, str, tuple[Any, ...]]]:
    """(ts, line, group) with bursts so that thresholds and abnormal jumps happen."""
    out = []
    files = ["/var/www/app/map.php", "/var/www/app/user.php", "/var/www/lib/db.php"]
    for minute in range(6):
        for k in range(rng.randint(5, 25) if minute != 3 else 40):
            area = rng.choice(["us", "de"])
            f = rng.choice(files) if minute != 3 or k % 2 else files[0]
            line_no = 2828 if "map" in f else rng.choice([10, 20])
            n = rng.randint(1, 999)
            ts = T0 + minute * 60 + rng.randint(0, 59)
            msg = f"Undefined index: uid{n}"
            text = f"[25-Nov-2026 12:00:01 UTC] PHP Warning: {msg} - {f} [{line_no}],GET /x?id={n}"
            group = (area, f.rsplit("/", 1)[1], line_no, "Undefined index: uid?")
            out.append((ts, f"{area},{ts},{text}", group))
    return out


def _json_lines(rng: random.Random) -> list[tuple[int, str, dict[str, Any]]]:
    out = []
    for _ in range(400):
        ts = T0 + rng.randint(0, 359)
        area = rng.choice(["us", "de", "br"])
        cls = rng.choice(["DbError", "Timeout", "Ignored"])
        level = rng.choice(["fatal", "fatal", "warn"])
        uid = rng.randint(1, 40)
        doc = {"uid": uid, "error": {"class": cls, "level": level}}
        ms = rng.random() < 0.5
        out.append(
            (ts, f"{area},{ts * 1000 if ms else ts},{json.dumps(doc)}", doc | {"area": area})
        )
    return out


def _expected_windows(
    items: list[tuple[int, Any]], window: int, min_amount: float, limit: int, agg: str = "count"
) -> list[dict[str, Any]]:
    buckets: dict[int, dict[Any, set[Any] | int]] = defaultdict(dict)
    for ts, (group, uid) in items:
        start = ts - ts % window
        if agg == "count":
            buckets[start][group] = buckets[start].get(group, 0) + 1  # type: ignore[operator]
        else:
            buckets[start].setdefault(group, set()).add(uid)  # type: ignore[union-attr]
    out = []
    for start in sorted(buckets):
        amounts = {g: (v if isinstance(v, int) else len(v)) for g, v in buckets[start].items()}
        shown = sorted(
            ((a, g) for g, a in amounts.items() if a >= min_amount), key=lambda x: (-x[0], x[1])
        )
        total = sum(amounts.values())  # every group's, shown or not
        out.append(
            {
                "start": start,
                "end": start + window,
                "total": total,
                "rows": shown[:limit] if limit else shown,
            }
        )
    return out


@pytest.fixture
def replay(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Any:
    def run(*extra: str) -> list[dict[str, Any]]:
        code = main(["-c", str(tmp_path / "alser.toml"), "--no-ui", "--history", "--json", *extra])
        captured = capsys.readouterr()
        assert code == 0, captured.err
        return [json.loads(line) for line in captured.out.splitlines()]

    return run


def _write(tmp_path: Path) -> tuple[list[Any], list[Any]]:
    rng = random.Random(7)
    (tmp_path / "alser.toml").write_text(CONFIG)
    hist = tmp_path / "history"
    hist.mkdir()
    php = _php_lines(rng)
    js = _json_lines(rng)
    # Several files per family, each internally out of order; one of them gzipped;
    # plus garbage lines that must be counted, never fatal.
    rng.shuffle(php)
    rng.shuffle(js)
    third = len(php) // 3
    (hist / "php.1.log").write_text(
        "\n".join(text for _, text, _ in php[:third]) + "\nnot an als line\n"
    )
    (hist / "php.2.log").write_text("\n".join(text for _, text, _ in php[third : 2 * third]) + "\n")
    with gzip.open(hist / "php.3.log.gz", "wt") as f:
        f.write("\n".join(text for _, text, _ in php[2 * third :]) + "\n")
    (hist / "err.a.log").write_text(
        "\n".join(text for _, text, _ in js) + "\nus,1700000000,{not json\n"
    )
    return php, js


def test_history_windows_equal_an_independent_group_by(tmp_path: Path, replay: Any) -> None:
    php, js = _write(tmp_path)
    events = replay()
    windows = [e for e in events if e["type"] == "window"]

    got_php = [w for w in windows if w["parser"] == "PhpError"]
    want_php = _expected_windows([(ts, (g, None)) for ts, _, g in php], 60, 2, 3)
    assert [
        {
            "start": w["start"],
            "end": w["end"],
            "total": w["total"],
            "rows": [
                (
                    r["amount"],
                    (r["group"]["area"], r["group"]["file"], r["group"]["line"], r["group"]["msg"]),
                )
                for r in w["rows"]
            ],
        }
        for w in got_php
    ] == want_php
    # Group values keep their column types: line is an int.
    assert all(isinstance(r["group"]["line"], int) for w in got_php for r in w["rows"])

    fatal = [(ts, ((d["area"], d["error"]["class"]), None)) for ts, _, d in js
             if d["error"]["level"] == "fatal" and d["error"]["class"] != "Ignored"]  # fmt: skip
    got_err = [w for w in windows if w["parser"] == "Error"]
    want_err = _expected_windows(fatal, 30, 1, 0)
    assert [
        {"start": w["start"], "end": w["end"], "total": w["total"],
         "rows": [(r["amount"], (r["group"]["area"], r["group"]["cls"])) for r in w["rows"]]}
        for w in got_err
    ] == want_err  # fmt: skip

    dau = [(ts, ((d["area"],), d["uid"])) for ts, _, d in js]
    got_dau = [w for w in windows if w["parser"] == "Dau"]
    want_dau = _expected_windows(dau, 120, 1, 10, agg="distinct")
    assert [
        {"start": w["start"], "end": w["end"], "total": w["total"],
         "rows": [(r["amount"], (r["group"]["area"],)) for r in w["rows"]]}
        for w in got_dau
    ] == want_dau  # fmt: skip


def test_history_alarms_threshold_abnormal_instant(tmp_path: Path, replay: Any) -> None:
    _, js = _write(tmp_path)
    events = replay()
    windows = {(e["parser"], e["start"]): e for e in events if e["type"] == "window"}
    alarms = [e for e in events if e["type"] == "alarm"]

    # Expected threshold / abnormal alarms, derived from the windows actually shown.
    want: list[tuple[str, int, float, tuple[Any, ...]]] = []
    last: dict[tuple[Any, ...], float] = {}
    for (pid, start), w in sorted(windows.items(), key=lambda kv: kv[0][1]):
        if pid != "PhpError":
            continue
        for r in w["rows"]:
            g = tuple(r["group"].values())
            a = r["amount"]
            if a >= 9:
                want.append(("threshold", start, 2 * a, g))
            prev = last.get(g)
            if prev and a >= 6 and (a - prev) / prev >= 1.0:
                want.append(("abnormal", start, 2 * a * 3, g))
            last[g] = a
    got = [
        (a["kind"], a["start"], a["severity"], tuple(a["group"].values()))
        for a in alarms
        if a["parser"] == "PhpError"
    ]
    assert sorted(got) == sorted(want)
    assert any(k == "threshold" for k, *_ in got), "the burst minute must cross the threshold"
    assert any(k == "abnormal" for k, *_ in got), "the burst minute must be an abnormal jump"
    thr = next(a for a in alarms if a["kind"] == "threshold")
    assert (
        thr["text"].startswith("PhpErr ")
        and f"{thr['group']['file']}:{thr['group']['line']}" in thr["text"]
    )
    assert set(thr) == {
        "type",
        "parser",
        "kind",
        "severity",
        "amount",
        "group",
        "start",
        "end",
        "text",
        "silenced",
        "acked",
    }
    assert (thr["silenced"], thr["acked"]) == (False, False)

    # Instant: one per fatal Error event (the where clause only filters windows).
    fatal = [d for _, _, d in js if d["error"]["level"] == "fatal"]
    inst = [a for a in alarms if a["kind"] == "instant"]
    assert len(inst) == len(fatal)
    assert all(
        a["text"].startswith(f"Error Fatal {a['group']['area']} {a['group']['cls']}") for a in inst
    )
    assert all(a["start"] <= a["ts"] < a["end"] for a in inst)


def test_history_parser_and_locale_filters(tmp_path: Path, replay: Any) -> None:
    php, _ = _write(tmp_path)
    events = replay("--parser", "PhpError", "--locale", "us")
    assert {e["parser"] for e in events} == {"PhpError"}
    windows = [e for e in events if e["type"] == "window"]
    assert windows and all(r["group"]["area"] == "us" for w in windows for r in w["rows"])
    us = [(ts, (g, None)) for ts, _, g in php if g[0] == "us"]
    assert [w["total"] for w in windows] == [w["total"] for w in _expected_windows(us, 60, 2, 3)]


def test_dry_run_counts_without_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    php, js = _write(tmp_path)
    code = main(["-c", str(tmp_path / "alser.toml"), "--no-ui", "--history", "--dry-run"])
    captured = capsys.readouterr()
    assert code == 0
    assert captured.out == ""
    assert f"lines {len(php) + len(js) + 2:,}" in captured.err
    assert "malformed 1" in captured.err
    assert not (tmp_path / "var" / "history.db").exists()


def test_parse_workers_give_the_same_output(tmp_path: Path, replay: Any) -> None:
    _write(tmp_path)
    single = replay("--workers", "0")
    parallel = replay("--workers", "2")
    assert parallel == single
    assert sum(1 for e in single if e["type"] == "window") > 10


def test_replay_workers_store_in_shards_that_the_store_reads_whole(tmp_path: Path) -> None:
    """Workers write their rows to shards of their own; the engine's queries (the windows,
    the console's drill-down) see every row of every shard, exactly once."""
    php, _js = _write(tmp_path)
    config = load_config(tmp_path / "alser.toml")
    engine = Engine(config, history=True, workers=2, keep_open=True)
    try:
        engine.run()
        shards = sorted((tmp_path / "var").glob("history-shard*.db"))
        assert len(shards) == 2
        assert {_journal_mode(s) for s in shards} == {"wal"}  # a console reads as they load
        # Each worker stored part of the rows; none are in the main file's own table.
        per_shard = [_count(s, "PhpError") for s in shards]
        assert all(n > 0 for n in per_shard) and sum(per_shard) == len(php)
        assert _count(tmp_path / "var" / "history.db", "PhpError") == 0
        # Through the store: every row once, with the drill-down's own connection too.
        store = engine.store
        assert store is not None
        lo, hi = min(ts for ts, _, _ in php), max(ts for ts, _, _ in php)
        got = engine.events_of("PhpError", lo, hi + 1, limit=10 * len(php))
        assert len(got) == len(php)
        p = engine.runs["PhpError"].config
        seen = store.events_of(p, lo, hi + 1, limit=10 * len(php), con=store.reader())
        assert len(seen) == len(php)  # a reader opened later sees the shards too
        assert store.min_ts("PhpError") == lo and store.next_ts("PhpError", hi) == hi
        # The windows were aggregated by the workers, each one used once by the engine.
        closed = store.con.execute("SELECT COUNT(*) FROM windows").fetchone()[0]
        assert closed > 10 and store.precomputed_used == closed
    finally:
        engine.close()


def test_dry_run_with_workers_counts_the_same(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(tmp_path)
    out = []
    for workers in ("0", "2"):
        args = ["-c", str(tmp_path / "alser.toml"), "--no-ui", "--history", "--dry-run"]
        assert main([*args, "--workers", workers]) == 0
        err = capsys.readouterr().err
        # The per-parser lines of the summary (the first line holds a rate).
        out.append([line for line in err.splitlines() if line.startswith("  ")])
    assert out[0] == out[1] and out[0]


def _count(db: Path, parser_id: str) -> int:
    with sqlite3.connect(db) as con:
        return con.execute(f'SELECT COUNT(*) FROM "{events_table(parser_id)}"').fetchone()[0]


def test_a_big_replay_gets_workers_by_default(
    tmp_path: Path, replay: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --workers, a replay above the size bound runs on every core (here the bound
    is lowered to the test's files), with the same output as one process."""
    import alser_tui.engine.engine as engine_module

    _write(tmp_path)
    single = replay("--workers", "0")
    assert not list((tmp_path / "var").glob("history-shard*.db"))
    monkeypatch.setattr(engine_module, "AUTO_WORKERS_BYTES", 1)
    monkeypatch.setattr(engine_module.os, "cpu_count", lambda: 2)
    auto = replay()
    shards = list((tmp_path / "var").glob("history-shard*.db"))
    assert len(shards) == 2
    assert auto == single
    # Headless, the shards get their time index once loaded: it is there at the end; and
    # they were written without WAL (nobody read them meanwhile).
    assert all(_ts_indexed(s, "PhpError") for s in shards)
    assert {_journal_mode(s) for s in shards} == {"delete"}


def _journal_mode(db: Path) -> str:
    with sqlite3.connect(db) as con:
        return con.execute("PRAGMA journal_mode").fetchone()[0]


def _ts_indexed(db: Path, parser_id: str) -> bool:
    with sqlite3.connect(db) as con:
        sql = "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?"
        return any("(ts)" in (r[0] or "") for r in con.execute(sql, (events_table(parser_id),)))


def test_a_replay_stopped_midway_counts_every_row_its_workers_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM in the middle of a replay with workers: the pieces under way are stored
    whatever happens, so they are counted too, and the windows hold exactly those rows."""
    monkeypatch.setattr(slices, "SLICE_BYTES", 256 << 10)  # many slices: more than in hand
    (tmp_path / "alser.toml").write_text(
        '[storage]\ndir = "var"\n\n[[guards]]\nhistory_glob = "h/*.log"\nparsers = ["Ev"]\n'
        + ev_parser()
    )
    hist = tmp_path / "h"
    hist.mkdir()
    n = 0
    for f in range(32):  # 32 pieces: more than the workers have in hand at a time
        lines = [f"us,{1_700_000_000 + i % 3600},K{i % 7} id={n + i}\n" for i in range(20_000)]
        (hist / f"{f:02d}.log").write_text("".join(lines))
        n += len(lines)
    run = Running(tmp_path / "alser.toml", time.time, history=True, workers=2)
    run.stats_where(lambda s: s.lines > 0)
    run.engine.request_stop()
    final = run.wait(lambda e: isinstance(e, Finished)).stats  # type: ignore[attr-defined]
    assert 0 < final.parsed == final.lines < n  # stopped early, every line read is counted
    db = tmp_path / "var" / "history.db"
    assert rows_in(db, "Ev") == final.parsed
    with sqlite3.connect(db) as con:
        closed = con.execute("SELECT SUM(total) FROM windows WHERE parser = 'Ev'").fetchone()[0]
    assert closed == final.parsed
    # Stopped before the end, the shards were still given their time index.
    assert all(_ts_indexed(s, "Ev") for s in (tmp_path / "var").glob("history-shard*.db"))


def test_a_replay_whose_store_refuses_the_closed_windows_retries_them_once_each(
    tmp_path: Path, replay: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The windows close in batches at the end of a replay; a batch the store refuses
    (disk full) is retried as it is: every window and alarm once, the same as without."""
    import alser_tui.engine.engine as engine_module
    from alser_tui.engine.store import Store

    _write(tmp_path)
    expected = replay("--workers", "0")
    monkeypatch.setattr(engine_module, "CLOSE_BATCH", 4)
    monkeypatch.setattr(engine_module, "RETRY_MIN", 0.01)
    real = Store.close_windows
    calls = {"n": 0}

    def flaky(self: Store, *args: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] in (2, 3):  # the second batch, twice
            raise sqlite3.OperationalError("database or disk is full")
        real(self, *args, **kwargs)

    monkeypatch.setattr(Store, "close_windows", flaky)
    got = replay("--workers", "0")
    assert got == expected
    assert calls["n"] > 4
    with sqlite3.connect(tmp_path / "var" / "history.db") as con:
        stored = con.execute("SELECT COUNT(*) FROM windows").fetchone()[0]
        alarms = con.execute("SELECT COUNT(*) FROM alarms").fetchone()[0]
    assert stored == sum(1 for e in expected if e["type"] == "window")
    assert alarms == sum(1 for e in expected if e["type"] == "alarm")
