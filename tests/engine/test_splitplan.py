"""The str-method fast path finds exactly the groups re.search finds."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from alser_tui.engine.parsers.splitplan import compile_split_plan

PHP = r"\[(.+)\] (.+?): (.+) - (.+) \[(.+)\],(.+)"
ALPHABET = "ab-[] ,:"


def test_the_php_example_matches_like_re() -> None:
    plan = compile_split_plan(PHP)
    assert plan is not None
    line = "[25-Nov-2026 12:00:01 UTC] PHP Warning: Undefined index: uid - /a/map.php [2828],GET /x?a=[1] - b"
    assert plan(line) == re.search(PHP, line).groups()  # type: ignore[union-attr]
    assert plan("no match here") is None


def test_unsupported_shapes_get_no_plan() -> None:
    for pattern in (
        r"(\d+) x",
        r"(.+)(.+)",
        r"(?i)(.+) a",
        r"(a|b) (.+)",
        r"(.*) a",
        "abc",
        r"(.{2,}) a",
        "([",
    ):
        assert compile_split_plan(pattern) is None, pattern


@st.composite
def patterns(draw: st.DrawFn) -> str:
    parts: list[str] = []
    if draw(st.booleans()):
        parts.append("^")
    if draw(st.booleans()):
        parts.append(re.escape(draw(st.text(ALPHABET, min_size=1, max_size=2))))
    for i in range(draw(st.integers(1, 4))):
        parts.append("(.+)" if draw(st.booleans()) else "(.+?)")
        last = i == 3
        if not last or draw(st.booleans()):
            parts.append(re.escape(draw(st.text(ALPHABET, min_size=1, max_size=2))))
    if draw(st.booleans()):
        parts.append("$")
    return "".join(parts)


@settings(max_examples=600, deadline=None)
@given(patterns(), st.lists(st.text(ALPHABET, max_size=14), min_size=1, max_size=8))
def test_same_groups_as_re_search(pattern: str, texts: list[str]) -> None:
    plan = compile_split_plan(pattern)
    regex = re.compile(pattern)
    if plan is None:
        # Only patterns with two groups side by side may be refused here.
        assert re.search(r"\)\(", pattern), pattern
        return
    for text in texts:
        m = regex.search(text)
        assert plan(text) == (None if m is None else m.groups("")), (pattern, text)
