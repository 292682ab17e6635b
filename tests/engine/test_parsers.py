"""The three parser kinds: exact rows, skipped (None) vs malformed (REJECTED) lines."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alser_tui.engine.config import Config, ParserConfig, parse_config
from alser_tui.engine.parsers import (
    REJECTED,
    Drop,
    HostLineParser,
    JsonParser,
    Parser,
    RegexParser,
    build_parser,
)
from alser_tui.engine.parsers.json import compile_path, lookup

PHP_REGEX = r"\[(.+)\] (.+?): (.+) - (.+) \[(.+)\],(.+)"
PHP_LINE = (
    "[21-Nov-2026 12:00:01 UTC] PHP Warning: Undefined index: uid - "
    "/var/www/app/map.php [2828],POST /api/map?uid=123"
)
TS = 1_384_000_000


def make(kind: str, fields: list[dict[str, Any]] | None = None, **options: Any) -> Parser:
    """A parser built from a validated config (top-level keys go in options['top'])."""
    top = options.pop("top", {})
    table: dict[str, Any] = {"id": "p", "kind": kind, **options}
    if fields is not None:
        table["fields"] = fields
    cfg = parse_config({"parsers": [table], **top})
    return build_parser(cfg.parsers[0], cfg)


def php(fields: list[dict[str, Any]]) -> Parser:
    return make("regex", fields, regex=PHP_REGEX)


# --------------------------------------------------------------------------- build_parser


def test_build_parser_chooses_by_kind() -> None:
    assert type(make("json", [{"name": "a"}])) is JsonParser
    assert type(make("regex", [{"name": "a", "group": 1}], regex="(a)")) is RegexParser
    assert type(make("hostline")) is HostLineParser


def test_build_parser_refuses_unknown_kind() -> None:
    with pytest.raises(ValueError, match="xml"):
        build_parser(ParserConfig(id="x", kind="xml"), Config(path="<test>"))


def test_parser_columns_follow_the_config() -> None:
    p = make("json", [{"name": "a"}, {"name": "b", "visible": False}, {"name": "c"}])
    assert p.columns == ("area", "ts", "a", "c")


# --------------------------------------------------------------------------- regex


ALL_PHP = [
    {"name": "when", "group": 1},
    {"name": "level", "group": 2},
    {"name": "msg", "group": 3},
    {"name": "file", "group": 4},
    {"name": "line", "group": 5},
    {"name": "request", "group": 6},
]


def test_regex_all_groups() -> None:
    assert php(ALL_PHP).parse("us", TS, PHP_LINE) == (
        "us",
        TS,
        "21-Nov-2026 12:00:01 UTC",
        "PHP Warning",
        "Undefined index: uid",
        "/var/www/app/map.php",
        "2828",
        "POST /api/map?uid=123",
    )


def test_regex_picks_groups_in_field_order() -> None:
    p = php([{"name": "file", "group": 4}, {"name": "level", "group": 2}])
    assert p.parse("de", TS, PHP_LINE) == ("de", TS, "/var/www/app/map.php", "PHP Warning")
    p = php([{"name": "msg", "group": 3}])
    assert p.parse("de", TS, PHP_LINE) == ("de", TS, "Undefined index: uid")
    p = php([{"name": "a", "group": 2}, {"name": "b", "group": 2}])
    assert p.parse("de", TS, PHP_LINE) == ("de", TS, "PHP Warning", "PHP Warning")


def test_regex_typed_fields() -> None:
    p = php(
        [
            {"name": "level", "group": 2},
            {"name": "msg", "group": 3, "normalize": ["digits"]},
            {"name": "file", "group": 4, "type": "base_file"},
            {"name": "line", "group": 5, "type": "int"},
        ]
    )
    line = PHP_LINE.replace("index: uid", "offset 17")
    assert p.parse("us", TS, line) == (
        "us",
        TS,
        "PHP Warning",
        "Undefined offset ?",
        "map.php",
        2828,
    )


def test_regex_no_match_is_rejected() -> None:
    p = php(ALL_PHP)
    assert p.parse("us", TS, "just some text") is REJECTED
    assert p.last_reject == "just some text"


def test_regex_is_an_unanchored_search() -> None:
    p = make("regex", [{"name": "code", "group": 1, "type": "int"}], regex=r"code=(\d+)")
    assert p.parse("us", TS, "GET /x failed code=503 after 2s") == ("us", TS, 503)


def test_regex_group_outside_the_match_is_empty_text() -> None:
    fields = [{"name": "a", "group": 1}, {"name": "b", "group": 2}]
    p = make("regex", fields, regex=r"(x)|(y)")
    assert p.parse("us", TS, "--y--") == ("us", TS, "", "y")
    typed = make("regex", [{"name": "n", "group": 2, "type": "int"}], regex=r"(x)|(\d)")
    assert typed.parse("us", TS, "x") is REJECTED  # "" is not an int


def test_regex_bad_type_is_rejected_and_condition_is_skipped() -> None:
    p = php([{"name": "line", "group": 5, "type": "int"}, {"name": "level", "group": 2}])
    assert p.parse("us", TS, PHP_LINE.replace("[2828]", "[28x]")) is REJECTED
    assert p.last_reject.endswith("uid=123")
    q = php([{"name": "level", "group": 2, "filters": ["PHP Fatal error"]}])
    assert q.parse("us", TS, PHP_LINE) is None
    assert q.last_reject == ""  # a skipped line is not malformed


def test_regex_invisible_field_is_only_a_condition() -> None:
    p = php(
        [
            {"name": "level", "group": 2, "contains": "Warning", "visible": False},
            {"name": "file", "group": 4, "type": "base_file"},
        ]
    )
    assert p.columns == ("area", "ts", "file")
    assert p.parse("us", TS, PHP_LINE) == ("us", TS, "map.php")
    assert p.parse("us", TS, PHP_LINE.replace("Warning", "Notice")) is None


def test_regex_money() -> None:
    fields = [
        {"name": "currency", "group": 2},
        {"name": "amount", "group": 1, "type": "money"},
        {"name": "item", "group": 3},
    ]
    p = make("regex", fields, regex=r"paid ([0-9.]+) ([A-Za-z]+) for (\w+)")
    row = p.parse("us", TS, "uid 7 paid 10 eur for gems")
    assert row[:3] == ("us", TS, "eur")
    assert row[3] == pytest.approx(13.0)
    assert row[4] == "gems"
    assert p.parse("us", TS, "uid 7 paid 10 zzz for gems") is REJECTED


# --------------------------------------------------------------------------- json


def test_json_flat_and_nested_paths() -> None:
    p = make(
        "json",
        [
            {"name": "uid", "type": "int"},
            {"name": "uri", "path": "_log_info.uri"},
            {"name": "msg", "normalize": ["digits"]},
            {"name": "level"},
        ],
    )
    msg = '{"uid": 42, "_log_info": {"uri": "/api/map"}, "msg": "took 120ms", "level": "warn"}'
    assert p.parse("us", TS, msg) == ("us", TS, 42, "/api/map", "took ?ms", "warn")


def test_json_array_indexes() -> None:
    p = make("json", [{"name": "first", "path": "items.0.id"}, {"name": "b", "path": "items.1"}])
    msg = '{"items": [{"id": "a1"}, "second"]}'
    assert p.parse("us", TS, msg) == ("us", TS, "a1", "second")


@pytest.mark.parametrize(
    "msg",
    [
        '{"other": 1}',  # missing key
        '{"items": []}',  # index out of range
        '{"items": [{"x": 1}]}',  # missing key inside the element
        '{"items": 5}',  # indexing a scalar
        '{"items": "abc"}',  # a string is not a list
        '{"items": [{"id": null}]}',  # null counts as missing
        '{"items": null}',
    ],
)
def test_json_missing_path_skips(msg: str) -> None:
    p = make("json", [{"name": "first", "path": "items.0.id"}])
    assert p.parse("us", TS, msg) is None
    assert p.last_reject == ""


def test_json_digit_part_is_a_key_in_an_object_and_word_part_fails_on_a_list() -> None:
    p = make("json", [{"name": "v", "path": "map.0"}])
    assert p.parse("us", TS, '{"map": {"0": "zero"}}') == ("us", TS, "zero")
    q = make("json", [{"name": "v", "path": "items.id"}])
    assert q.parse("us", TS, '{"items": [{"id": 1}]}') is None


def test_compile_path_and_lookup() -> None:
    steps = compile_path("a.10.b")
    assert steps == (("a", -1), ("10", 10), ("b", -1))
    assert lookup({"a": [0] * 10 + [{"b": "x"}]}, steps) == "x"
    assert lookup({"a": [0]}, steps) is None
    assert lookup({"a": {"10": {"b": False}}}, steps) is False


@pytest.mark.parametrize("msg", ["not json", '{"uid": 1', "[1, 2]", '"text"', "12", "", "null"])
def test_json_invalid_or_not_an_object_is_rejected(msg: str) -> None:
    p = make("json", [{"name": "uid"}])
    assert p.parse("us", TS, msg) is REJECTED
    assert p.last_reject == msg


def test_json_string_fields_take_any_json_value_as_text() -> None:
    p = make("json", [{"name": "a"}, {"name": "b"}, {"name": "c"}, {"name": "d"}])
    msg = '{"a": {"x": [1, 2]}, "b": 12, "c": true, "d": 1.5}'
    assert p.parse("us", TS, msg) == ("us", TS, '{"x":[1,2]}', "12", "true", "1.5")


def test_json_int_field() -> None:
    p = make("json", [{"name": "n", "type": "int"}])
    assert p.parse("us", TS, '{"n": "12"}') == ("us", TS, 12)
    assert p.parse("us", TS, '{"n": 3.0}') == ("us", TS, 3)
    assert p.parse("us", TS, '{"n": 1.5}') is REJECTED
    assert p.parse("us", TS, '{"n": true}') is REJECTED
    assert p.parse("us", TS, '{"n": [1]}') is REJECTED


def test_json_float_and_base_file() -> None:
    p = make("json", [{"name": "t", "type": "float"}, {"name": "f", "type": "base_file"}])
    msg = '{"t": "0.5", "f": "C:\\\\app\\\\x.php"}'
    assert p.parse("us", TS, msg) == ("us", TS, 0.5, "x.php")


def test_json_money_with_invisible_currency() -> None:
    p = make(
        "json",
        [
            {"name": "currency", "visible": False},
            {"name": "usd", "path": "data.amount", "type": "money"},
            {"name": "uid", "type": "int"},
        ],
    )
    assert p.columns == ("area", "ts", "usd", "uid")
    row = p.parse("br", TS, '{"currency": "brl", "data": {"amount": 100}, "uid": 9}')
    assert row[0:2] == ("br", TS)
    assert row[2] == pytest.approx(42.0)
    assert row[3] == 9
    assert p.parse("br", TS, '{"currency": "XXX", "data": {"amount": 1}, "uid": 9}') is REJECTED
    assert p.parse("br", TS, '{"data": {"amount": 1}, "uid": 9}') is None
    assert p.parse("br", TS, '{"currency": "BRL", "data": {"amount": "x"}, "uid": 9}') is REJECTED
    assert p.parse("br", TS, '{"currency": "BRL", "data": {"amount": 1}}') is None


def test_json_money_with_configured_rate() -> None:
    fields = [{"name": "currency"}, {"name": "usd", "path": "amount", "type": "money"}]
    p = make("json", fields, top={"currency_rates": {"GEM": 0.5}})
    assert p.parse("us", TS, '{"currency": "gem", "amount": 8}') == ("us", TS, "gem", 4.0)


def test_json_ignores_on_raw_and_normalised_value() -> None:
    p = make(
        "json",
        [{"name": "msg", "normalize": ["digits"], "ignores": ["uid 1000", "regex:^probe \\?$"]}],
    )
    assert p.parse("us", TS, '{"msg": "bad uid 1000"}') is None  # raw
    assert p.parse("us", TS, '{"msg": "probe 7"}') is None  # normalised
    assert p.parse("us", TS, '{"msg": "bad uid 1001"}') == ("us", TS, "bad uid ?")


def test_json_all_options_on_one_line() -> None:
    p = make(
        "json",
        [
            {"name": "status", "contains": "FAIL", "visible": False},
            {
                "name": "reason",
                "path": "detail.reason",
                "normalize": ["token", "digits"],
                "ignores": ["test order"],
                "maxlen": 20,
            },
            {"name": "method", "filters": ["GET", "POST"]},
            {"name": "total", "path": "detail.total", "type": "float"},
        ],
    )
    assert p.columns == ("area", "ts", "reason", "method", "total")

    def line(status: str, reason: str, method: str = "POST") -> str:
        data = {
            "status": status,
            "detail": {"reason": reason, "total": 9.5},
            "method": method,
        }
        return orjson.dumps(data).decode()

    reason = "card 4111 declined pre: a1; current: b2 again"
    assert p.parse("us", TS, line("PAY_FAIL", reason)) == (
        "us",
        TS,
        "card ? declined pre ",
        "POST",
        9.5,
    )
    assert p.parse("us", TS, line("OK", reason)) is None  # contains
    assert p.parse("us", TS, line("FAIL", "a test order 1")) is None  # ignores
    assert p.parse("us", TS, line("FAIL", reason, "PUT")) is None  # filters


def test_json_fields_are_evaluated_in_order() -> None:
    # The first field decides: a malformed earlier value wins over a later missing key.
    p = make("json", [{"name": "n", "type": "int"}, {"name": "m"}])
    assert p.parse("us", TS, '{"n": "x"}') is REJECTED
    assert p.parse("us", TS, '{"m": "x"}') is None


# --------------------------------------------------------------------------- hostline


def test_hostline_ordinary_line() -> None:
    p = make("hostline")
    assert p.columns == ("area", "ts", "host", "data", "program", "amount")
    row = p.parse("us", TS, "kernel: oom-killer, pid 12,web3")
    assert row == ("us", TS, "web3", "kernel: oom-killer, pid 12", None, None)
    assert p.is_instant(row)
    assert p.drops == []


def test_hostline_without_comma_is_rejected() -> None:
    p = make("hostline")
    assert p.parse("us", TS, "no comma here") is REJECTED
    assert p.last_reject == "no comma here"


def test_hostline_empty_data_or_host() -> None:
    p = make("hostline")
    assert p.parse("us", TS, ",web1") == ("us", TS, "web1", "", None, None)
    assert p.parse("us", TS, "data,") == ("us", TS, "", "data", None, None)
    assert p.parse("us", TS, "a, b , web2 ") == ("us", TS, "web2", "a, b ", None, None)


STATS = (
    "Log statistics; dropped='program(php)=12', dropped='program(nginx)=0', "
    "processed='destination(d_php)=1234', processed='center(received)=99', "
    "processed='destination(d_idle)=0', dropped='program(mysql)=3', "
    "processed='destination(d_nginx)=7'"
)


def test_hostline_stats_line() -> None:
    p = make("hostline")
    rows = p.parse("de", TS, STATS)
    assert rows == [
        ("de", TS, None, None, "d_php", 1234),
        ("de", TS, None, None, "d_nginx", 7),
    ]
    assert p.drops == [Drop("de", TS, "php", 12), Drop("de", TS, "mysql", 3)]
    assert not any(p.is_instant(r) for r in rows)


def test_hostline_stats_line_with_nothing_to_report() -> None:
    p = make("hostline")
    quiet = "Log statistics; dropped='program(php)=0', processed='destination(d_php)=0'"
    assert p.parse("us", TS, quiet) == []
    assert p.parse("us", TS, "Log statistics; nothing, else") == []
    assert p.drops == []


def test_hostline_drops_accumulate_until_drained() -> None:
    p = make("hostline")
    p.parse("us", TS, "Log statistics; dropped='program(php)=1'")
    p.parse("jp", TS + 1, "Log statistics; dropped='program(php)=2'")
    assert p.drops == [Drop("us", TS, "php", 1), Drop("jp", TS + 1, "php", 2)]


def test_hostline_instant_format() -> None:
    assert make("hostline").instant_format == "{area} {host} {data}"
    custom = make("hostline", instant="{host}: {data}")
    assert custom.instant_format == "{host}: {data}"
    assert custom.is_instant(("us", TS, "h", "d", None, None))


def test_other_kinds_are_instant_only_when_configured() -> None:
    p = make("json", [{"name": "a"}])
    assert not p.is_instant(("us", TS, "x"))
    q = make("json", [{"name": "a"}], instant="{area} {a}")
    assert q.is_instant(("us", TS, "x"))


# --------------------------------------------------------------------------- robustness

FUZZ_PARSERS = {
    "regex_plain": lambda: php(ALL_PHP),
    "regex_typed": lambda: make(
        "regex",
        [
            {"name": "currency", "group": 1, "visible": False},
            {"name": "amount", "group": 2, "type": "money", "ignores": ["regex:^0"]},
            {"name": "n", "group": 3, "type": "int", "filters": ["1", "2"]},
            {"name": "f", "group": 4, "type": "base_file", "normalize": ["digits", "token"]},
            {"name": "x", "group": 5, "type": "float", "contains": "1"},
        ],
        regex=r"(\w*) (\S*) (\S*) (\S*) ?(\S*)",
    ),
    "json": lambda: make(
        "json",
        [
            {"name": "currency", "visible": False},
            {"name": "amount", "type": "money"},
            {"name": "n", "type": "int", "path": "a.0"},
            {"name": "f", "type": "base_file", "maxlen": 3},
            {"name": "x", "type": "float", "path": "a.1.b"},
            {"name": "s", "normalize": ["digits"], "ignores": ["regex:z"], "filters": ["?"]},
        ],
    ),
    "hostline": lambda: make("hostline"),
}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)  # what orjson reads and writes
    | st.floats()
    | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(["a", "b", "0", "1"]), children, max_size=4)
    ),
    max_leaves=12,
)
# Objects that reach every field of the fuzzed json parser, with values of any shape
# (often a fitting one, so that some lines get all the way to a row).
json_objects = st.fixed_dictionaries(
    {
        "currency": st.sampled_from(["usd", "EUR", "xx"]) | json_values,
        "amount": st.integers(1, 99) | json_values,
        "a": st.tuples(st.integers(-9, 9), st.fixed_dictionaries({"b": st.floats()})) | json_values,
        "f": st.text() | json_values,
        "s": st.sampled_from(["12", "1z", "x"]) | json_values,
    }
)


def check_result(parser: Parser, result: Any) -> None:
    if result is None or result is REJECTED:
        return
    rows = result if isinstance(result, list) else [result]
    for row in rows:
        assert isinstance(row, tuple)
        assert len(row) == len(parser.columns)


@pytest.mark.parametrize("kind", sorted(FUZZ_PARSERS))
@settings(max_examples=300, deadline=None)
@given(text=st.text())
def test_no_parser_raises_on_arbitrary_text(kind: str, text: str) -> None:
    parser = FUZZ_PARSERS[kind]()
    check_result(parser, parser.parse("us", TS, text))


@pytest.mark.parametrize("kind", sorted(FUZZ_PARSERS))
@settings(max_examples=300, deadline=None)
@given(value=json_objects | json_values)
def test_no_parser_raises_on_arbitrary_json(kind: str, value: Any) -> None:
    parser = FUZZ_PARSERS[kind]()
    check_result(parser, parser.parse("us", TS, orjson.dumps(value).decode()))
