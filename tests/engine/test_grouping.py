"""Windows counted in Python (grouping.py) equal SQLite's GROUP BY query, byte for byte."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alser_tui.engine import grouping
from alser_tui.engine.config import parse_config
from alser_tui.engine.store import Aggregate, Store, sql_aggregate

PARSER: dict[str, Any] = {
    "id": "Ev",
    "kind": "json",
    "fields": [
        {"name": "uri", "path": "uri"},
        {"name": "uid", "path": "uid", "type": "int"},
        {"name": "ms", "path": "ms", "type": "float"},
    ],
}


def _parser(**keys: Any) -> Any:
    cfg = parse_config(
        {"guards": [{"history_glob": "h/*", "parsers": ["Ev"]}], "parsers": [PARSER | keys]}
    )
    return cfg.parser("Ev")


def _sql_aggregate(store: Store, p: Any, start: int, end: int) -> Aggregate:
    """The query store.aggregate ran before grouping.py (still its fallback)."""
    return sql_aggregate(store.con, p, start, end)


TEXT = st.text(
    alphabet=st.sampled_from(["a", "b", "B", "é", "€", "𝄞", " ", "1", "\x00"]), max_size=3
)
ROW = st.tuples(
    st.sampled_from(["us", "de", "vn", "Us", "ü"]),
    st.integers(95, 165),
    TEXT,
    st.integers(-3, 3) | st.sampled_from([2**62, -(2**62)]),
    st.sampled_from([0.5, 1.0, 2.25, -1.5]),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(ROW, max_size=60),
    group_by=st.sampled_from(
        [["area"], ["uri"], ["uid"], ["area", "uri"], ["uri", "uid", "ms"], ["ms", "area"]]
    ),
    aggregate=st.sampled_from(["count", "count_distinct:uid", "count_distinct:uri"]),
    min_amount=st.integers(0, 3),
    limit=st.integers(0, 4),
    where=st.sampled_from(["", "uid > 0", "area = 'us'"]),
)
def test_python_count_equals_sql(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[tuple[Any, ...]],
    group_by: list[str],
    aggregate: str,
    min_amount: int,
    limit: int,
    where: str,
) -> None:
    p = _parser(
        group_by=group_by, aggregate=aggregate, min_amount=min_amount, limit=limit, where=where
    )
    store = Store(tmp_path_factory.mktemp("g") / "s.db", [p])
    try:
        store.write_batch({"Ev": [(*r, "raw") for r in rows]})
        got = store.aggregate(p, 100, 160)
        assert got == _sql_aggregate(store, p, 100, 160)
        # Types too (dataclass equality says 1 == 1.0).
        assert [type(v) for r in got.rows for v in r.group.values()] == [
            type(v) for r in _sql_aggregate(store, p, 100, 160).rows for v in r.group.values()
        ]
    finally:
        store.close()


def test_too_many_groups_go_back_to_sql(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = _parser(group_by=["uri"], limit=3)
    store = Store(tmp_path / "s.db", [p])
    try:
        store.write_batch({"Ev": [("us", 100, f"/u{i % 50}", i, 1.0, "raw") for i in range(500)]})
        monkeypatch.setattr(grouping, "MAX_GROUPS", 20)
        monkeypatch.setattr(grouping, "FETCH", 7)
        table, cols = '"ev_Ev"', '"uri"'
        assert (
            grouping.count_groups(store.con, table, cols, "ts >= ? AND ts < ?", (0, 200), None)
            is None
        )
        got = store.aggregate(p, 0, 200)  # answered by SQL
        assert got == _sql_aggregate(store, p, 0, 200)
        assert (got.total, got.groups, len(got.rows)) == (500, 50, 3)
    finally:
        store.close()


def test_sum_and_ungrouped_windows_stay_with_sql() -> None:
    assert grouping.eligible("count", ["area"], "")
    assert grouping.eligible("count_distinct", ("area",), "")
    assert not grouping.eligible("sum", ["area"], "")
    assert not grouping.eligible("count", [], "")
    assert not grouping.eligible("count", ["area"], "SELECT 1")


def test_mixed_storage_classes_sort_as_sqlite_does() -> None:
    counts = {(1,): 2, ("a",): 2, (None,): 2, (b"x",): 2, (2.5,): 2, ("B",): 3}
    top, total, groups = grouping.top_groups(copy.copy(counts), 2, 10)
    assert top == [(3, ("B",)), (2, (None,)), (2, (1,)), (2, (2.5,)), (2, ("a",)), (2, (b"x",))]
    assert (total, groups) == (13, 6)
    # The total is every group's, the count only those at or above min_amount.
    assert grouping.top_groups(counts, 3, 1) == ([(3, ("B",))], 13, 1)
