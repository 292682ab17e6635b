"""The original's config syntax (ljson) and the pieces of the mapping: SQL, printf, colours."""

from __future__ import annotations

import pytest

from alser_tui.convert.formats import color_to_style, printf_to_format
from alser_tui.convert.legacy import LegacySyntaxError, loads
from alser_tui.convert.sqlstmt import StmtError, declarative, parse, to_stats_sql
from alser_tui.engine.stats_sql import check_stats_sql


def test_ljson_comments_bare_keys_optional_and_trailing_commas() -> None:
    doc = loads(
        """
        // a comment line
        {
            mail: { guarded: "a@b.c"   // not a comment inside a string: "//"
                    sleep_min: 150 }
            list: [ "x", "y", ]
            nested: [ { a: 1, b: -2.5e1, }, { c: true
                                              d: null }, ],
            "quoted key": "re \\\\[x\\\\] \\u00e9 \\"q\\" http://x//y"
        }
        """
    )
    assert doc == {
        "mail": {"guarded": "a@b.c", "sleep_min": 150},
        "list": ["x", "y"],
        "nested": [{"a": 1, "b": -25.0}, {"c": True, "d": None}],
        "quoted key": 're \\[x\\] é "q" http://x//y',
    }


def test_ljson_outer_braces_are_optional_and_duplicates_reported() -> None:
    warnings: list[str] = []
    assert loads("a: 1\na: 2\nb: [1\n2]\n", warnings) == {"a": 2, "b": [1, 2]}
    assert warnings == ["line 2: key 'a' given twice (the last wins)"]


@pytest.mark.parametrize(
    ("text", "line", "col", "message"),
    [
        ("{a: 1 b: 2}", 1, 7, "expected ','"),
        ('{a: "x\ny"}', 1, 5, "unterminated string"),
        ("{\n a: [1,,2]}", 2, 8, "empty entry"),
        ("{a: foo}", 1, 5, "expected a value"),
        ('{a: "\\q"}', 1, 6, "bad escape"),
        ("{a: 1", 1, 6, "unexpected end of file"),
        ("{a 1}", 1, 4, "expected ':'"),
        ("{a: 1}}", 1, 7, "after the end of the document"),
    ],
)
def test_ljson_errors_name_line_and_column(text: str, line: int, col: int, message: str) -> None:
    with pytest.raises(LegacySyntaxError) as err:
        loads(text)
    assert (err.value.line, err.value.col) == (line, col)
    assert message in err.value.message


DECLARATIVE = [
    (
        "SELECT COUNT(*) AS c, area, upstream FROM %s where ts<=? GROUP BY area, upstream"
        " ORDER BY c DESC",
        ("count", ("area", "upstream"), "", None, 0),
    ),
    (
        "SELECT COUNT(DISTINCT(reason)) AS c, area FROM %s where ts<=? GROUP BY area"
        " ORDER BY c DESC LIMIT 5",
        ("count_distinct:reason", ("area",), "", None, 5),
    ),
    (
        "select count(distinct uid) c, area from %s where area='us' and ts <= ? group by area"
        " having c>1 order by c desc limit 20;",
        ("count_distinct:uid", ("area",), "area='us'", 2, 20),
    ),
    (
        "SELECT SUM(num) AS c, area, program FROM %s WHERE ts<=? GROUP BY area, program",
        ("sum:amount", ("area", "program"), "", float("-inf"), 0),
    ),
    (
        "SELECT SUM(num) AS c, area FROM %s WHERE ts<=? GROUP BY area HAVING c >= 2.5",
        ("sum:amount", ("area",), "", 2.5, 0),
    ),
    (
        "SELECT COUNT(*) AS c, area, file FROM %s WHERE ts<=? AND file <> '' AND line > 0"
        " GROUP BY file, area ORDER BY c DESC, area",
        ("count", ("area", "file"), "(file <> '') AND (line > 0)", None, 0),
    ),
]


@pytest.mark.parametrize(("sql", "want"), DECLARATIVE)
def test_stats_stmt_to_declarative(sql: str, want: tuple[object, ...]) -> None:
    d = declarative(parse(sql), {"num": "amount"})
    assert (d.aggregate, d.group_by, d.where, d.min_amount, d.limit) == want


FALLBACK = [
    (
        "SELECT SUM(amount) AS c, area FROM %s where ts<=? GROUP BY area HAVING c>0"
        " ORDER BY c DESC",
        "no exact min_amount",
        "SELECT SUM(amount) AS amount, area FROM {table} where {window} GROUP BY area"
        " HAVING amount>0 ORDER BY amount DESC",
    ),
    (
        "SELECT COUNT(*) c, area, uri FROM %s GROUP BY area, uri ORDER BY area LIMIT 3",
        "ORDER BY is not the amount",
        "SELECT COUNT(*) AS amount, area, uri FROM {table} WHERE {window} GROUP BY area, uri"
        " ORDER BY area LIMIT 3",
    ),
    (
        "SELECT COUNT(*), area FROM %s WHERE uri LIKE '/api%' OR ts<=? GROUP BY area",
        "mixes OR",
        "SELECT COUNT(*) AS amount, area FROM {table} WHERE uri LIKE '/api%' OR {window}"
        " GROUP BY area",
    ),
    (
        "SELECT MAX(amount) AS c, area FROM %s WHERE area <> 'x' GROUP BY area",
        "no declarative form",
        "SELECT MAX(amount) AS amount, area FROM {table} WHERE {window} AND (area <> 'x')"
        " GROUP BY area",
    ),
]


@pytest.mark.parametrize(("sql", "why", "want"), FALLBACK)
def test_stats_stmt_to_stats_sql_when_not_declarative(sql: str, why: str, want: str) -> None:
    stmt = parse(sql)
    with pytest.raises(StmtError, match=why):
        declarative(stmt, {})
    got = to_stats_sql(stmt, {})
    assert got == want
    check_stats_sql(got, "ev_X", ("area", "ts", "uri", "amount"))  # and it validates


def test_stats_stmt_that_cannot_map() -> None:
    with pytest.raises(StmtError, match="FROM must be"):
        parse("SELECT COUNT(*) FROM logs")
    with pytest.raises(StmtError, match="UNION"):
        parse("SELECT COUNT(*) FROM %s UNION SELECT 1")
    with pytest.raises(StmtError, match="other than the window"):
        to_stats_sql(parse("SELECT COUNT(*) AS c FROM %s WHERE ts<=? AND uid=?"), {})


def test_printf_verbs_become_named_format_fields() -> None:
    assert printf_to_format("%5d %3s %s", ["amount", "area", "uri"]) == (
        "{amount:>5} {area:>3} {uri}",
        [],
    )
    fmt, problems = printf_to_format("%-10s|%05d|%+.1f|%8.2f|%q|100%%|{x}", list("abcde"))
    assert fmt == "{a:<10}|{b:0>5}|{c:+.1f}|{d:>8.2f}|{e!r}|100%|{{x}}"
    assert problems == []
    assert (
        fmt.format(a="ab", b=7, c=1.25, d=3.14159, e="q")
        == "ab        |00007|+1.2|    3.14|'q'|100%|{x}"
    )
    fmt, problems = printf_to_format("%d %s", ["amount"])
    assert fmt == "{amount} " and "has no column" in problems[0]


def test_colors_become_rich_style_words() -> None:
    got = [color_to_style(c) for c in ("FgRed", "Bright", "BgBlue", "Reset", "Underscore", "Zap")]
    assert got == ["red", "bold", "on blue", "", "underline", None]
