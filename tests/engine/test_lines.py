"""The ALS envelope AREA,TS,MSG."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alser_tui.engine.lines import MS_THRESHOLD, split_als


def test_seconds() -> None:
    assert split_als('us,1384000000,{"a": 1}') == ("us", 1384000000, '{"a": 1}')


def test_milliseconds_become_seconds() -> None:
    assert split_als("de,1384000000123,msg") == ("de", 1384000000, "msg")
    assert split_als(f"de,{MS_THRESHOLD + 1},msg") == ("de", MS_THRESHOLD // 1000, "msg")


def test_threshold_itself_is_seconds() -> None:
    # Only values above ~1.28e12 are milliseconds.
    assert split_als(f"de,{MS_THRESHOLD},msg") == ("de", MS_THRESHOLD, "msg")


def test_float_timestamp_is_truncated() -> None:
    assert split_als("us,1384000000.75,msg") == ("us", 1384000000, "msg")
    assert split_als("us,1384000000123.5,msg") == ("us", 1384000000, "msg")


def test_msg_keeps_its_commas() -> None:
    line = 'br,1384000000,{"a": [1, 2], "b": "x,y"},web3'
    assert split_als(line) == ("br", 1384000000, '{"a": [1, 2], "b": "x,y"},web3')


def test_empty_msg_and_spaces_around_area_and_ts() -> None:
    assert split_als(" us , 1384000000 ,") == ("us", 1384000000, "")


@pytest.mark.parametrize(
    "line",
    [
        "",
        "garbage",
        "us,1384000000",  # no MSG separator
        ",1384000000,msg",  # no area
        "us,,msg",  # no ts
        "us,abc,msg",
        "us,12abc,msg",
        "us,-5,msg",
        "us,nan,msg",
        "us,inf,msg",
        "us,1e999,msg",
    ],
)
def test_garbage_is_none(line: str) -> None:
    assert split_als(line) is None


@given(st.text())
def test_never_raises(line: str) -> None:
    result = split_als(line)
    if result is not None:
        area, ts, msg = result
        assert area == area.strip()
        assert isinstance(ts, int) and ts >= 0
        assert line.endswith(msg)
