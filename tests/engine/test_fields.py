"""The per-field pipeline: types, contains, normalisers, ignores, filters, maxlen."""

from __future__ import annotations

from typing import Any

import pytest

from alser_tui.engine.config import Config, FieldConfig, parse_config
from alser_tui.engine.parsers.base import REJECTED
from alser_tui.engine.parsers.fields import (
    CURRENCY,
    MONEY,
    PLAIN,
    base_name,
    compile_field,
    compile_fields,
    compile_money,
    memoize,
    normalize_digits,
    normalize_token,
    to_float,
    to_int,
    to_text,
)


def config_with(fields: list[dict[str, Any]], **top: Any) -> Config:
    """A validated config holding one json parser with these fields."""
    return parse_config({"parsers": [{"id": "p", "kind": "json", "fields": fields}], **top})


def field(**options: Any) -> FieldConfig:
    """One FieldConfig, through the real validation."""
    return config_with([{"name": "f", **options}]).parsers[0].fields[0]


def run(value: Any, **options: Any) -> Any:
    """The stored value for one field (a field compiled to no function stores text as is)."""
    fn = compile_field(field(**options))
    if fn is None:
        return value if type(value) is str else to_text(value)
    return fn(value)


# --------------------------------------------------------------------------- normalisers


def test_digits_replaces_every_run_of_digits() -> None:
    assert normalize_digits("uid 123 in 45ms, retry 7") == "uid ? in ?ms, retry ?"
    assert normalize_digits("no digits") == "no digits"
    assert normalize_digits("") == ""


def test_digits_is_ascii_only_like_the_original() -> None:
    assert normalize_digits("x٣٤ 12") == "x٣٤ ?"


def test_token_replaces_pre_current_pair() -> None:
    assert normalize_token("bad pre: abc123; current: def456 at x") == "bad pre cur at x"
    # current's value ends at the first space; pre's at the first ';'.
    assert normalize_token("pre: a b; current: c;d e") == "pre cur e"
    assert normalize_token("no token here") == "no token here"


# --------------------------------------------------------------------------- converters


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("abc", "abc"),
        ({"a": 1, "b": [1, 2]}, '{"a":1,"b":[1,2]}'),
        ([1, "x"], '[1,"x"]'),
        (True, "true"),
        (12, "12"),
        (1.5, "1.5"),
    ],
)
def test_to_text_gives_compact_json_for_non_strings(value: Any, text: str) -> None:
    assert to_text(value) == text


def test_to_text_of_an_int_orjson_cannot_write() -> None:
    assert to_text(2**70) == str(2**70)


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/var/www/app/map.php", "map.php"),
        ("C:\\app\\lib\\b.php", "b.php"),
        ("mixed/dir\\c.php", "c.php"),
        ("mixed\\dir/d.php", "d.php"),
        ("plain.php", "plain.php"),
        ("dir/", ""),
        ("", ""),
    ],
)
def test_base_name_handles_both_separators(path: str, name: str) -> None:
    assert base_name(path) == name


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (12, 12),
        (-3, -3),
        (12.0, 12),
        ("12", 12),
        (" 12 ", 12),
        ("-7", -7),
        ("12.0", 12),
        (2**63 - 1, 2**63 - 1),
    ],
)
def test_to_int_accepts(value: Any, expected: int) -> None:
    result = to_int(value)
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize(
    "value",
    [
        True,
        False,
        1.5,
        "1.5",
        "abc",
        "",
        "1_000",
        "nan",
        float("nan"),
        float("inf"),
        [1],
        {"a": 1},
        2**63,  # does not fit SQLite's INTEGER
        "9223372036854775808",
        -(2**63) - 1,
    ],
)
def test_to_int_rejects(value: Any) -> None:
    assert to_int(value) is REJECTED


@pytest.mark.parametrize(
    ("value", "expected"), [(1.5, 1.5), (2, 2.0), ("1.5", 1.5), (" 2 ", 2.0), ("-1e3", -1000.0)]
)
def test_to_float_accepts(value: Any, expected: float) -> None:
    result = to_float(value)
    assert result == expected
    assert type(result) is float


@pytest.mark.parametrize(
    "value", [True, "nan", "inf", float("inf"), float("nan"), "x", "1_0", "", [1.0], {}, 2**1100]
)
def test_to_float_rejects(value: Any) -> None:
    assert to_float(value) is REJECTED


# --------------------------------------------------------------------------- types


def test_plain_string_field_compiles_to_no_function() -> None:
    assert compile_field(field()) is None


def test_string_from_json_values() -> None:
    assert run({"k": [1, None]}) == '{"k":[1,null]}'
    assert run(7, normalize=["digits"]) == "?"


def test_base_file_field() -> None:
    assert run("/var/www/app/map.php", type="base_file") == "map.php"
    assert run("C:\\www\\x.php", type="base_file") == "x.php"


def test_base_file_options_apply_to_the_base_name() -> None:
    options: dict[str, Any] = {"type": "base_file", "normalize": ["digits"], "maxlen": 6}
    assert run("/v1/app/file12.php", **options) == "file?."
    assert run("/www/file.php", type="base_file", contains="www") is None
    assert run("/www/file.php", type="base_file", filters=["file.php"]) == "file.php"


def test_int_field() -> None:
    assert run("2828", type="int") == 2828
    assert run(2828, type="int") == 2828
    assert run("28x", type="int") is REJECTED
    assert run(True, type="int") is REJECTED


def test_float_field() -> None:
    assert run("0.25", type="float") == 0.25
    assert run(3, type="float") == 3.0
    assert run("slow", type="float") is REJECTED


# --------------------------------------------------------------------------- contains


def test_contains_skips_when_absent() -> None:
    assert run("status FAIL", contains="FAIL") == "status FAIL"
    assert run("status OK", contains="FAIL") is None


def test_contains_looks_at_the_raw_value_before_normalising() -> None:
    assert run("order 123 failed", contains="123", normalize=["digits"]) == "order ? failed"
    assert run("order 124 failed", contains="123", normalize=["digits"]) is None


def test_type_conversion_comes_before_conditions() -> None:
    # A bad value is malformed (REJECTED) even when a condition would have skipped it.
    assert run("abc", type="int", contains="1") is REJECTED


# --------------------------------------------------------------------------- normalize


def test_normalizers_apply_in_order() -> None:
    options: dict[str, Any] = {"normalize": ["token", "digits"]}
    assert run("login pre: ab12; current: cd34 after 3 tries", **options) == (
        "login pre cur after ? tries"
    )
    assert run("retry 12", normalize=["digits", "token"]) == "retry ?"


def test_normalize_with_maxlen() -> None:
    assert run("12345 abcdef", normalize=["digits"], maxlen=5) == "? abc"
    assert run([12, 345], normalize=["digits"], maxlen=3) == "[?,"


# --------------------------------------------------------------------------- ignores


def test_ignores_substring_on_raw_value() -> None:
    options: dict[str, Any] = {"normalize": ["digits"], "ignores": ["uid=42"]}
    assert run("bad uid=42", **options) is None
    assert run("bad uid=43", **options) == "bad uid=?"


def test_ignores_substring_on_normalised_value() -> None:
    options: dict[str, Any] = {"normalize": ["digits"], "ignores": ["uid=?"]}
    assert run("bad uid=43", **options) is None
    assert run("bad user", **options) == "bad user"


def test_ignores_regex_strips_spaces_after_the_colon() -> None:
    options: dict[str, Any] = {"ignores": ["regex:   ^probe-[0-9]+$"]}
    assert run("probe-12", **options) is None
    assert run("xprobe-12", **options) == "xprobe-12"
    assert run("probe-12 ", **options) == "probe-12 "


def test_ignores_regex_is_a_search_on_raw_or_normalised() -> None:
    on_raw: dict[str, Any] = {"normalize": ["digits"], "ignores": ["regex:id 4[0-9]"]}
    assert run("bad id 42 here", **on_raw) is None
    assert run("bad id 52 here", **on_raw) == "bad id ? here"
    on_norm: dict[str, Any] = {"normalize": ["digits"], "ignores": [r"regex:id \?$"]}
    assert run("bad id 42", **on_norm) is None
    assert run("bad id x", **on_norm) == "bad id x"


def test_any_ignore_entry_skips() -> None:
    options: dict[str, Any] = {"ignores": ["test order", "regex:^probe"]}
    assert run("a test order", **options) is None
    assert run("probe 1", **options) is None
    assert run("real order", **options) == "real order"


# --------------------------------------------------------------------------- filters


def test_filters_keep_only_listed_values() -> None:
    assert run("GET", filters=["GET", "POST"]) == "GET"
    assert run("PUT", filters=["GET", "POST"]) is None
    assert run("GET ", filters=["GET", "POST"]) is None  # equality, not containment


def test_filters_compare_the_normalised_value() -> None:
    assert run("user 12", normalize=["digits"], filters=["user ?"]) == "user ?"
    assert run("user 12", normalize=["digits"], filters=["user 12"]) is None


def test_filters_come_before_maxlen() -> None:
    assert run("abcdef", filters=["abcdef"], maxlen=3) == "abc"
    assert run("abc", filters=["abcdef"], maxlen=3) is None


def test_empty_filters_list_keeps_everything() -> None:
    assert run("anything", filters=[]) == "anything"


# --------------------------------------------------------------------------- maxlen


def test_maxlen_cuts_strings() -> None:
    assert run("abcdef", maxlen=3) == "abc"
    assert run("ab", maxlen=3) == "ab"
    assert run("abcdef", maxlen=0) == "abcdef"


# --------------------------------------------------------------------------- numbers


def test_numeric_conditions_see_the_string_form_and_keep_the_number() -> None:
    assert run("200", type="int", filters=["200", "404"]) == 200
    assert run(500, type="int", filters=["200", "404"]) is None
    assert run(" 404 ", type="int", filters=["404"]) == 404
    assert run(512, type="int", ignores=["regex:^5"]) is None
    assert run(201, type="int", ignores=["regex:^5"]) == 201
    assert run(1234, type="int", contains="23") == 1234
    assert run(1534, type="int", contains="23") is None
    assert run("1.50", type="float", filters=["1.5"]) == 1.5
    assert run(2, type="float", filters=["2.0"]) == 2.0


def test_numeric_normalised_form_is_only_a_condition() -> None:
    result = run(4711, type="int", normalize=["digits"], filters=["?"])
    assert result == 4711
    assert type(result) is int
    assert run(-1, type="int", normalize=["digits"], filters=["?"]) is None  # "-?"


def test_maxlen_does_not_cut_numbers() -> None:
    assert run(123456, type="int", maxlen=2) == 123456
    assert run(0.123456, type="float", maxlen=2) == 0.123456


# --------------------------------------------------------------------------- money


def money_config(**top: Any) -> Config:
    fields = [{"name": "currency"}, {"name": "amount_usd", "path": "amount", "type": "money"}]
    return config_with(fields, **top)


def test_money_converts_with_the_currency_table() -> None:
    cfg = money_config()
    fn = compile_money(cfg.parsers[0].fields[1], cfg.currency_rates)
    assert fn(10, "EUR") == pytest.approx(13.0)
    assert fn("2", "usd") == 2.0  # currency codes are case-insensitive
    assert fn(10, " eur ") == pytest.approx(13.0)
    assert fn("1000", "JPY") == pytest.approx(10.0)


def test_money_rejects_unknown_currency_and_bad_amount() -> None:
    cfg = money_config()
    fn = compile_money(cfg.parsers[0].fields[1], cfg.currency_rates)
    assert fn(10, "XXX") is REJECTED
    assert fn("ten", "USD") is REJECTED
    assert fn(True, "USD") is REJECTED
    assert fn(float("inf"), "USD") is REJECTED


def test_money_uses_configured_rates() -> None:
    cfg = money_config(currency_rates={"xyz": 2.5, "eur": 1.1})
    fn = compile_money(cfg.parsers[0].fields[1], cfg.currency_rates)
    assert fn(4, "XYZ") == 10.0
    assert fn(10, "EUR") == pytest.approx(11.0)


def test_money_conditions_see_the_amount_before_the_rate() -> None:
    fields = [
        {"name": "currency"},
        {"name": "amount", "type": "money", "ignores": ["regex:^0"], "maxlen": 1},
    ]
    cfg = config_with(fields)
    fn = compile_money(cfg.parsers[0].fields[1], cfg.currency_rates)
    assert fn(0, "EUR") is None  # "0.0"
    assert fn(100, "EUR") == pytest.approx(130.0)  # maxlen does not cut a number


def test_compile_field_refuses_money() -> None:
    cfg = money_config()
    with pytest.raises(ValueError):
        compile_field(cfg.parsers[0].fields[1])


def test_compile_fields_roles_and_visibility() -> None:
    fields = [
        {"name": "currency", "visible": False},
        {"name": "amount", "type": "money"},
        {"name": "uid", "type": "int"},
        {"name": "msg"},
    ]
    cfg = config_with(fields)
    compiled = compile_fields(cfg.parsers[0].fields, cfg.currency_rates)
    assert [(c.name, c.visible, c.role) for c in compiled] == [
        ("currency", False, CURRENCY),
        ("amount", True, MONEY),
        ("uid", True, PLAIN),
        ("msg", True, PLAIN),
    ]
    assert compiled[0].fn is None  # plain strings are stored as they are
    assert compiled[3].fn is None
    assert compiled[2].fn is not None
    assert compiled[2].fn("12") == 12 and compiled[2].fn("x") is REJECTED


def test_memoize_answers_like_the_function_and_stays_bounded() -> None:
    calls: list[object] = []

    def fn(v: object) -> object:
        calls.append(v)
        return (v, "seen")

    memo = memoize(fn, size=3)
    assert memo("a") == ("a", "seen") and memo("a") == ("a", "seen")
    assert calls == ["a"]  # the second answer came from the cache
    # bool must not share a slot with 1 (True == 1 in Python).
    assert memo(1) == (1, "seen") and memo(True) == (True, "seen")
    assert calls == ["a", 1, True]
    # Unhashable JSON values are computed every time, never cached.
    assert memo([1]) == ([1], "seen") and memo([1]) == ([1], "seen")
    assert calls[-2:] == [[1], [1]]
    for v in ("b", "c", "d", "e"):
        memo(v)
    memo("a")
    assert calls[-1] == "a"  # evicted once the cache filled: recomputed, not stale
