"""stats_sql: a raw SQL aggregate, validated at load, bound safely, equal to the declarative form
where both can say it, and able to say what the declarative form cannot."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from alser_tui.cli import main
from alser_tui.engine.config import ConfigError, parse_config
from alser_tui.engine.store import Store

PARSER: dict[str, Any] = {
    "id": "Req",
    "kind": "json",
    "fields": [
        {"name": "uri", "path": "uri"},
        {"name": "uid", "path": "uid", "type": "int"},
        {"name": "ms", "path": "ms", "type": "int"},
    ],
}


def _config(**parser: Any) -> dict[str, Any]:
    p = copy.deepcopy(PARSER) | parser
    return {"guards": [{"history_glob": "h/*", "parsers": ["Req"]}], "parsers": [p]}


def test_group_by_comes_from_the_select_list() -> None:
    cfg = parse_config(
        _config(
            stats_sql="SELECT COUNT(*) AS amount, area, uri FROM {table} WHERE {window}"
            " GROUP BY area, uri HAVING amount > 1 ORDER BY area"
        )
    )
    p = cfg.parser("Req")
    assert p.group_by == ("area", "uri")
    assert p.row_format == "{amount:>5} {area:>3} {uri}"
    # The query says what is shown: no default cut unless min_amount / limit are given.
    assert p.limit == 0 and p.min_amount == float("-inf")
    p2 = parse_config(
        _config(
            stats_sql="SELECT SUM(ms) AS amount FROM {table} WHERE ts >= {start} AND ts < {end}",
            limit=3,
            min_amount=2,
        )
    ).parser("Req")
    assert p2.group_by == () and p2.limit == 3 and p2.min_amount == 2


BAD = [
    ("SELECT COUNT(*) AS amount FROM ev_Req WHERE {window}", "must read from {table}"),
    ("SELECT COUNT(*) AS amount FROM {table}", "must restrict rows to the window"),
    ("SELECT COUNT(*) AS c, area FROM {table} WHERE {window} GROUP BY area", "named amount"),
    (
        "SELECT COUNT(*) AS amount, upper(uri) FROM {table} WHERE {window} GROUP BY 2",
        "is not one of the parser's columns",
    ),
    ("SELECT COUNT(*) AS amount FROM {table} WHERE {window} AND ts <= ?", "not ?"),
    ("DELETE FROM {table} WHERE {window}", "read-only SELECT"),
    (
        "SELECT COUNT(*) AS amount FROM {table} WHERE {window}"
        " AND area IN (SELECT name FROM sqlite_master)",
        "may read only {table}, not 'sqlite_master'",
    ),
    (
        "SELECT COUNT(*) AS amount FROM {table} WHERE {window}; DROP TABLE {table}",
        "invalid SQL",
    ),
    ("SELECT COUNT(*) AS amount FROM {table} WHERE {window} GROUP BY nope", "invalid SQL"),
    (
        "SELECT COUNT(*) AS amount, area, area FROM {table} WHERE {window} GROUP BY area",
        "appears twice",
    ),
]


@pytest.mark.parametrize(("sql", "problem"), BAD)
def test_bad_queries_are_refused_at_load_with_the_key_path(sql: str, problem: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(_config(stats_sql=sql), "c.toml")
    assert err.value.key == "parsers[0].stats_sql"
    assert problem in err.value.problem


def test_declarative_keys_that_conflict_are_refused() -> None:
    sql = "SELECT COUNT(*) AS amount, area FROM {table} WHERE {window} GROUP BY area"
    with pytest.raises(ConfigError, match=r"parsers\[0\]\.where: not together with stats_sql"):
        parse_config(_config(stats_sql=sql, where="ms > 1"))
    with pytest.raises(ConfigError, match=r"parsers\[0\]\.aggregate"):
        parse_config(_config(stats_sql=sql, aggregate="sum:ms"))
    with pytest.raises(ConfigError, match=r"parsers\[0\]\.group_by: must equal"):
        parse_config(_config(stats_sql=sql, group_by=["uri"]))
    parse_config(_config(stats_sql=sql, group_by=["area"]))  # the same: fine


def _store(tmp_path: Path, *parsers: Any) -> Store:
    store = Store(tmp_path / "s.db", list(parsers))
    rows = {p.id: [] for p in parsers}
    # Window [100, 160): 3 x /a by two users in us, 1 x /b in de; one row on each edge.
    data = [
        ("us", 100, "/a", 1, 10),
        ("us", 110, "/a", 1, 20),
        ("us", 159, "/a", 2, 30),
        ("de", 120, "/b", 3, 5),
        ("us", 99, "/a", 9, 1000),
        ("us", 160, "/a", 9, 1000),
        ("x'); DROP TABLE windows; --", 130, "/c", 4, 7),
    ]
    for p in parsers:
        rows[p.id] = [(*d, "raw") for d in data]
    store.write_batch(rows)
    return store


def test_raw_aggregate_equals_the_declarative_one(tmp_path: Path) -> None:
    cfg = parse_config(
        {
            "guards": [{"history_glob": "h/*", "parsers": ["Decl", "Raw"]}],
            "parsers": [
                copy.deepcopy(PARSER) | {"id": "Decl", "group_by": ["area", "uri"], "limit": 0},
                copy.deepcopy(PARSER)
                | {
                    "id": "Raw",
                    "stats_sql": "SELECT COUNT(*) AS amount, area, uri FROM {table}"
                    " WHERE {window} GROUP BY area, uri ORDER BY amount DESC, area, uri",
                },
            ],
        }
    )
    store = _store(tmp_path, cfg.parser("Decl"), cfg.parser("Raw"))
    try:
        decl = store.aggregate(cfg.parser("Decl"), 100, 160)
        raw = store.aggregate(cfg.parser("Raw"), 100, 160)
        assert raw == decl
        assert (raw.rows[0].amount, raw.rows[0].group["area"]) == (3, "us")
        assert raw.total == 5 and raw.groups == 3
        # The hostile area value was data, never SQL: the windows table still exists.
        store.con.execute("SELECT COUNT(*) FROM windows").fetchone()
    finally:
        store.close()


def test_raw_aggregate_says_what_the_declarative_form_cannot(tmp_path: Path) -> None:
    # Distinct users per uri, only uris hit more than once, in the query's own order (uri),
    # and a sum with an arbitrary expression.
    cfg = parse_config(
        {
            "guards": [{"history_glob": "h/*", "parsers": ["A", "B"]}],
            "parsers": [
                copy.deepcopy(PARSER)
                | {
                    "id": "A",
                    "stats_sql": "SELECT COUNT(DISTINCT uid) AS amount, uri FROM {table}"
                    " WHERE {window} GROUP BY uri HAVING COUNT(*) > 1 ORDER BY uri DESC",
                },
                copy.deepcopy(PARSER)
                | {
                    "id": "B",
                    "stats_sql": "SELECT SUM(ms) / 1000.0 AS amount, area FROM {table}"
                    " WHERE {window} GROUP BY area ORDER BY area",
                    "limit": 1,
                },
            ],
        }
    )
    store = _store(tmp_path, cfg.parser("A"), cfg.parser("B"))
    try:
        a = store.aggregate(cfg.parser("A"), 100, 160)
        assert [(r.amount, r.group) for r in a.rows] == [(2, {"uri": "/a"})]
        b = store.aggregate(cfg.parser("B"), 100, 160)
        # limit cuts what is shown; total and groups still cover every row.
        assert [(r.amount, r.group["area"]) for r in b.rows] == [(0.005, "de")]
        assert b.groups == 3 and b.total == pytest.approx(0.005 + 0.06 + 0.007)
        empty = store.aggregate(cfg.parser("B"), 1000, 1060)
        assert empty.rows == () and empty.total == 0 and empty.groups == 0
    finally:
        store.close()


def test_history_replay_with_stats_sql(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "h").mkdir()
    lines = []
    for i in range(30):
        ts = 1_800_000_000 + i * 5  # 150 s: windows of 60 s
        doc = {"uri": f"/p{i % 3}", "uid": i % 4, "ms": 10 * i}
        lines.append(f"us,{ts},{json.dumps(doc)}")
    (tmp_path / "h" / "a.log").write_text("\n".join(lines) + "\n")
    (tmp_path / "alser.toml").write_text(
        """
[[guards]]
history_glob = "h/*"
parsers = ["Req"]

[[parsers]]
id = "Req"
kind = "json"
stats_sql = "SELECT MAX(ms) AS amount, uri FROM {table} WHERE {window} GROUP BY uri ORDER BY uri"
row_format = "{uri} max {amount}ms"
[[parsers.fields]]
name = "uri"
[[parsers.fields]]
name = "ms"
type = "int"
"""
    )
    code = main(["-c", str(tmp_path / "alser.toml"), "--no-ui", "--history", "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    windows = [json.loads(x) for x in out.out.splitlines()]
    got = [(w["start"], [(r["group"]["uri"], r["amount"]) for r in w["rows"]]) for w in windows]
    want = []
    for start in (1_800_000_000 - 1_800_000_000 % 60 + k * 60 for k in range(4)):
        best: dict[str, int] = {}
        for i in range(30):
            ts = 1_800_000_000 + i * 5
            if start <= ts < start + 60:
                uri = f"/p{i % 3}"
                best[uri] = max(best.get(uri, 0), 10 * i)
        if best:
            want.append((start, sorted(best.items())))
    assert got == want
