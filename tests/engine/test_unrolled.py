"""Unrolled parsers (parsers/unrolled.py) give exactly what the generic methods give."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alser_tui.demo import prepare_demo, write_history
from alser_tui.engine.config import load_config, parse_config
from alser_tui.engine.lines import split_als
from alser_tui.engine.parsers import REJECTED, Parser, build_parser

ROOT = Path(__file__).resolve().parents[2]


def _both(parser: Parser, area: str, ts: int, msg: str, line: str) -> tuple[Any, Any]:
    """(unrolled, generic) outcomes, each with the reject sample it left."""
    cls = type(parser)
    parser.last_reject = ""
    fast = (parser.parse(area, ts, msg), parser.parse_row(area, ts, msg, line), parser.last_reject)
    parser.last_reject = ""
    slow = (
        cls.parse(parser, area, ts, msg),
        _generic_row(parser, area, ts, msg, line),
        parser.last_reject,
    )
    return fast, slow


def _generic_row(parser: Parser, area: str, ts: int, msg: str, line: str) -> Any:
    r = type(parser).parse(parser, area, ts, msg)
    if r.__class__ is tuple:
        return (*r, line)
    if r is None or r is REJECTED:
        return r
    return [(*one, line) for one in r]


def _typed(x: Any) -> Any:
    if isinstance(x, tuple | list):
        return [(_typed(v), type(v).__name__) for v in x]
    return x


def test_every_shipped_parser_is_unrolled_and_agrees_on_demo_traffic(tmp_path: Path) -> None:
    """The production and demo configs' parsers over two minutes of demo traffic."""
    prepare_demo(tmp_path)
    write_history(tmp_path, start_ts=1_700_000_000, minutes=2, seed=5)
    lines = [
        line.rstrip("\n")
        for f in sorted((tmp_path / "history").glob("*.log"))
        for line in f.read_text().splitlines()
    ]
    lines = lines[::4]  # every family still, in a quarter of the time
    assert len(lines) > 5_000
    unrolled = 0
    for conf in (ROOT / "conf" / "alser.toml", ROOT / "conf" / "demo.toml"):
        config = load_config(conf)
        for p in config.parsers:
            parser = build_parser(p, config)
            if "parse" in vars(parser):
                unrolled += 1
            outcomes = {"row": 0, "skip": 0, "reject": 0}
            for line in lines:
                als = split_als(line)
                if als is None:
                    continue
                fast, slow = _both(parser, *als, line)
                assert _typed(fast) == _typed(slow), (p.id, line)
                outcomes[
                    "row"
                    if isinstance(fast[0], tuple | list)
                    else "skip"
                    if fast[0] is None
                    else "reject"
                ] += 1
            assert outcomes["reject"] > 0, p.id  # other families' lines
    assert unrolled >= 20  # every regex and JSON parser without money fields


FIELD = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["string", "int", "float", "base_file"]),
        "normalize": st.sampled_from([[], ["digits"], ["token"], ["digits", "token"]]),
        "contains": st.sampled_from(["", "a", "1"]),
        "ignores": st.sampled_from([[], ["x"], ["regex:^b"], ["?"]]),
        "filters": st.sampled_from([[], ["a?", "1", "2.5"]]),
        "visible": st.booleans(),
        "maxlen": st.sampled_from([0, 2]),
    }
)
VALUE = st.text(alphabet="ab1 2.5/\\x?-", max_size=6)


@settings(max_examples=200, deadline=None)
@given(
    fields=st.lists(FIELD, min_size=1, max_size=3),
    values=st.lists(VALUE, min_size=3, max_size=3),
    kind=st.sampled_from(["regex", "json"]),
    json_value=st.sampled_from(["s", 7, 2.5, None, [1], {"k": 1}, True]),
)
def test_random_fields_agree(
    fields: list[dict[str, Any]], values: list[str], kind: str, json_value: Any
) -> None:
    import json

    specs = []
    for i, f in enumerate(fields):
        spec = {"name": f"f{i}", **f}
        if kind == "regex":
            spec["group"] = i + 1
        specs.append(spec)
    parser_cfg: dict[str, Any] = {"id": "P", "kind": kind, "fields": specs}
    if kind == "regex":
        parser_cfg["regex"] = r"^(.*?)\|(.*?)\|(.*)$"
        msg = "|".join(values)
    else:
        doc: dict[str, Any] = {f"f{i}": v for i, v in enumerate(values)}
        doc["f1"] = json_value
        msg = json.dumps(doc)
    config = parse_config(
        {"guards": [{"history_glob": "h/*", "parsers": ["P"]}], "parsers": [parser_cfg]}
    )
    parser = build_parser(config.parser("P"), config)
    assert "parse" in vars(parser)
    for _ in range(2):  # the second time from the memo caches
        fast, slow = _both(parser, "us", 5, msg, f"us,5,{msg}")
        assert _typed(fast) == _typed(slow)


def test_money_fields_keep_the_generic_method() -> None:
    config = parse_config(
        {
            "guards": [{"history_glob": "h/*", "parsers": ["Pay"]}],
            "parsers": [
                {
                    "id": "Pay",
                    "kind": "json",
                    "fields": [{"name": "currency"}, {"name": "amount", "type": "money"}],
                }
            ],
        }
    )
    parser = build_parser(config.parser("Pay"), config)
    assert "parse" not in vars(parser)
    row = parser.parse_row("us", 5, '{"currency": "USD", "amount": 2}', "raw")
    assert row == ("us", 5, "USD", 2.0, "raw")


@pytest.mark.parametrize("msg", ["", "no match", "a|b", "a|b|c\nd"])
def test_rejects_and_odd_messages_agree(msg: str) -> None:
    config = parse_config(
        {
            "guards": [{"history_glob": "h/*", "parsers": ["P"]}],
            "parsers": [
                {
                    "id": "P",
                    "kind": "regex",
                    "regex": r"(.+)\|(.+?)\|(.+)",
                    "fields": [
                        {"name": "a", "group": 1},
                        {"name": "n", "group": 2, "type": "int"},
                        {"name": "c", "group": 3, "normalize": ["digits"]},
                    ],
                }
            ],
        }
    )
    parser = build_parser(config.parser("P"), config)
    fast, slow = _both(parser, "us", 5, msg, msg)
    assert _typed(fast) == _typed(slow)


@pytest.mark.parametrize("value", ["s", 7, 2.5, [1, "a"], {"k": 1}, True, 2**70])
def test_a_plain_json_text_field_stores_any_value_as_its_json_text(value: Any) -> None:
    import json

    config = parse_config(
        {
            "guards": [{"history_glob": "h/*", "parsers": ["J"]}],
            "parsers": [{"id": "J", "kind": "json", "fields": [{"name": "v"}]}],
        }
    )
    parser = build_parser(config.parser("J"), config)
    msg = json.dumps({"v": value})
    fast, slow = _both(parser, "us", 5, msg, msg)
    assert _typed(fast) == _typed(slow)
    assert isinstance(fast[0], tuple) and isinstance(fast[0][2], str)


SEPS = ["[", "] ", ": ", " - ", ",", "x", "]"]
FILLER = st.text(
    alphabet=st.sampled_from(["[", "]", " ", ":", "-", ",", "x", "a", "1"]), max_size=5
)


@settings(max_examples=300, deadline=None)
@given(
    head=st.sampled_from(["", "[", "ab"]),
    groups=st.lists(st.tuples(st.booleans(), st.sampled_from(SEPS)), min_size=1, max_size=4),
    last_sep=st.booleans(),
    anchors=st.sampled_from([("", ""), ("^", ""), ("", "$"), ("^", "$")]),
    data=st.data(),
)
def test_split_plan_parsers_agree_inline(
    head: str,
    groups: list[tuple[bool, str]],
    last_sep: bool,
    anchors: tuple[str, str],
    data: st.DataObject,
) -> None:
    """The split plan written into the unrolled parser (first attempt, fallback to the
    regex, no head: no match) against the generic parser that calls splitplan's function,
    on messages built from the pattern's own literals with separators inside the groups."""
    import re

    if not last_sep:
        groups[-1] = (groups[-1][0], "")
    regex = anchors[0] + re.escape(head)
    for greedy, sep in groups:
        regex += ("(.+)" if greedy else "(.+?)") + re.escape(sep)
    regex += anchors[1]
    # Some groups only: the inline split cuts out just those the fields use.
    used = sorted(data.draw(st.sets(st.integers(0, len(groups) - 1), min_size=1)))
    fields: list[dict[str, Any]] = [{"name": f"f{i}", "group": i + 1} for i in used]
    fields[-1]["normalize"] = ["digits"]
    config = parse_config(
        {
            "guards": [{"history_glob": "h/*", "parsers": ["S"]}],
            "parsers": [{"id": "S", "kind": "regex", "regex": regex, "fields": fields}],
        }
    )
    parser = build_parser(config.parser("S"), config)
    assert parser._split is not None and "parse" in vars(parser)  # type: ignore[attr-defined]
    msgs = []
    for _ in range(4):
        msg = data.draw(FILLER) + head
        for _greedy, sep in groups:
            msg += data.draw(FILLER) + data.draw(st.sampled_from(["a", "1 x"])) + sep
        msgs.append(msg + data.draw(FILLER) + data.draw(st.sampled_from(["", "\n", "x"])))
    msgs.append(data.draw(FILLER))
    for msg in msgs:
        fast, slow = _both(parser, "us", 5, msg, msg)
        assert _typed(fast) == _typed(slow), (regex, msg)
