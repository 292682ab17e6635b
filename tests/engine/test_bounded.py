"""The regex cost per line is bounded: catastrophic patterns on crafted lines are rejected
within the timeout, ordinary lines keep re's exact groups, and the hot path stays on re."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alser_tui.engine.config import load_config, parse_config
from alser_tui.engine.parsers import REJECTED, RegexParser, build_parser
from alser_tui.engine.parsers import bounded as b
from alser_tui.engine.parsers.bounded import (
    EXPONENTIAL,
    NO_LIMIT,
    BoundedSearch,
    risk_degree,
    safe_length,
)
from alser_tui.engine.parsers.splitplan import compile_split_plan

PROD_PHP = (
    r"^(\S+) \[[^\]]*\] PHP (Fatal error|Catchable fatal error|Parse error|Warning|Notice"
    r"|Deprecated|Strict Standards):\s+(.+?) in (/\S+) on line (\d+)"
)
TS = 1_700_000_000


def regex_parser(pattern: str, groups: int, **options: Any) -> RegexParser:
    fields = [{"name": f"g{i}", "group": i} for i in range(1, groups + 1)]
    cfg = parse_config(
        {"parsers": [{"id": "p", "kind": "regex", "regex": pattern, "fields": fields, **options}]}
    )
    parser = build_parser(cfg.parsers[0], cfg)
    assert isinstance(parser, RegexParser)
    return parser


def timed(fn: Any, *args: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0


# --------------------------------------------------------------------------- the static check


@pytest.mark.parametrize(
    ("pattern", "degree"),
    [
        (r"^(\w+) id=(\d+)", 1),  # every run ends where the next literal starts: linear
        (r"^abc", 0),
        (r"^(.+)$", 1),
        (r"^([^ ]+) ([^ ]+) (.*)$", 1),
        (r"x=(.*)", 2),  # each "x=" of "x=x=x=..." scans to the end: quadratic
        (r"\d+x", 2),
        (r"(\d{1,3}\.){3}\d{1,3}", 2),  # a small counted repeat is unrolled, not nested
        (PROD_PHP, 3),  # \s+ and (.+?) trade spaces
        (r"(.+) (.+),x", 4),
        (r"\[(.+)\] (.+?): (.+) - (.+) \[(.+)\],(.+)", 7),
        (r"(.+)(.+)(.+)(.+)(.+),x", 7),
        (r"^(a+)+$", EXPONENTIAL),  # nested repeats
        (r"^(a|aa)+$", EXPONENTIAL),  # alternatives under a repeat
        (r"^(\w+\s?)*$", EXPONENTIAL),
        (r"^(.*?,){11}P", EXPONENTIAL),
        (r"(a)\1", EXPONENTIAL),  # backreferences: not analysed
    ],
)
def test_risk_degree(pattern: str, degree: float) -> None:
    assert risk_degree(pattern) == degree


def test_safe_length_shrinks_with_the_degree() -> None:
    assert safe_length(0) == safe_length(1) == NO_LIMIT
    assert safe_length(EXPONENTIAL) == -1
    lengths = [safe_length(d) for d in range(2, 9)]
    assert lengths == sorted(lengths, reverse=True)
    assert safe_length(2) > 3000 and safe_length(3) > 300  # PhpError lines are ~150-250


def test_the_category_table_holds_for_every_code_point() -> None:
    """The membership tests and subset pairs the disjointness proofs use, against re."""
    everything = "".join(map(chr, range(0x110000)))
    c = b.sre_c
    positive = {c.CATEGORY_DIGIT: r"\d", c.CATEGORY_SPACE: r"\s", c.CATEGORY_WORD: r"\w"}
    sets = {cat: frozenset(re.findall(p, everything)) for cat, p in positive.items()}
    for cat, chars in sets.items():
        assert frozenset(filter(b._CAT_MEMBER[cat], everything)) == chars, positive[cat]
        assert not any(map(b._CAT_MEMBER[b._CAT_NOT[cat]], chars))
    for small, big in b._CAT_SUBSET:
        # \D, \S, \W are the complements: "a <= not x" is "a and x share nothing".
        if small in sets and big in sets:
            assert sets[small] <= sets[big]
        elif small in sets:
            assert not sets[small] & sets[b._CAT_NOT[big]]
        else:  # not a <= not x  <=>  x <= a
            assert sets[b._CAT_NOT[big]] <= sets[b._CAT_NOT[small]]


CLASSES = [
    "a", " ", "]", "-", ".", r"\d", r"\D", r"\s", r"\S", r"\w", r"\W", "[^ ]", r"[^\]]",
    "[a-z]", "[^a-z0-9]", "[0-9_]", r"[\s,]", r"[^\s\d]", r"[\w.-]", "\u0660", "[\u00e0-\u00ff]",
]  # fmt: skip


def test_disjoint_is_never_wrong() -> None:
    """Whatever two classes it calls disjoint share no character (checked on the first
    0x3000 code points and a few beyond)."""
    sample = "".join(map(chr, range(0x3000))) + "\u3000\uff10\U0001d7ce\U00010400"
    proved = 0
    for x in CLASSES:
        for y in CLASSES:
            sx = b._charset(*b.sre_p.parse(x)[0], False)
            sy = b._charset(*b.sre_p.parse(y)[0], False)
            assert sx is not None and sy is not None
            if sx.disjoint(sy):
                proved += 1
                both = re.findall(f"(?={x}){y}", sample)
                assert not both, (x, y, both[:5])
    assert proved > 20  # and it does prove the common cases


# --------------------------------------------------------------------------- bounded searches


def test_a_catastrophic_pattern_on_a_crafted_line_is_rejected_within_the_timeout() -> None:
    parser = regex_parser(r"^(a|aa)+$", 1)  # re: about 2**(n/2) steps
    assert parser.parse("us", TS, "aaaa") == ("us", TS, "a")  # as re: the last repeat
    crafted = "a" * 60 + "!"
    row, took = timed(parser.parse, "us", TS, crafted)
    assert row is REJECTED and took < 1, took
    assert parser.timeouts == 1
    assert parser.last_reject.startswith("regex timed out after 50 ms on a 61-character message")
    # The next line goes on as usual.
    assert parser.parse("us", TS, "aaa") == ("us", TS, "a")
    assert parser.timeouts == 1


def test_the_production_regex_on_a_megabyte_of_spaces_is_bounded() -> None:
    """re needs ~80 ms for 4,000 spaces and grows with the square: hours for 1 MB."""
    cfg = load_config(Path(__file__).resolve().parents[2] / "conf" / "alser.toml")
    parser = build_parser(cfg.parser("PhpError"), cfg)
    assert isinstance(parser, RegexParser)
    crafted = "web-1 [x] PHP Warning:" + " " * 1_000_000
    row, took = timed(parser.parse, "us", TS, crafted)
    assert row is REJECTED and took < 1, took
    assert parser.timeouts == 1
    ordinary = (
        "web-us-03 [01-Jul-2013 10:01:02 UTC] PHP Warning:  Invalid argument supplied for"
        " foreach() in /mnt/htdocs/farm/v2/app/models/UserModel.php on line 212"
    )
    assert parser.parse("us", TS, ordinary) == (
        "us",
        TS,
        "Warning",
        "Invalid argument supplied for foreach()",
        "UserModel.php",
        212,
    )


def test_regex_timeout_is_a_parser_key() -> None:
    parser = regex_parser(r"^(a|aa)+$", 1, regex_timeout=0.2)
    row, took = timed(parser.parse, "us", TS, "a" * 60 + "!")
    assert row is REJECTED and 0.15 < took < 2, took
    assert "after 200 ms" in parser.last_reject


def test_the_split_plan_first_attempt_is_linear_and_its_fallback_bounded() -> None:
    pattern = r"(.+) (.+),x"
    bounded = BoundedSearch(pattern)
    plan = compile_split_plan(pattern, bounded.groups)
    assert plan is not None
    assert plan("a b,x") == ("a", "b")
    # The first attempt fails (no ",x"); re would take minutes on this line (cubic).
    with pytest.raises(TimeoutError):
        plan("a " * 50_000)
    parser = regex_parser(pattern, 2)
    row, took = timed(parser.parse, "us", TS, "a " * 50_000)
    assert row is REJECTED and took < 1 and parser.timeouts == 1
    # The fast path itself on a long non-matching line: a few str.find calls.
    _, took = timed(plan, "a" * 1_000_000)
    assert took < 0.1


def test_short_lines_stay_on_re_and_long_ones_take_the_guarded_search(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []
    bounded = BoundedSearch(PROD_PHP)
    guarded = bounded.guarded
    assert guarded is not None and bounded.safe_len == safe_length(3)

    def spy(s: str) -> Any:
        calls.append(len(s))
        return guarded(s)

    bounded.guarded = spy
    line = "h [x] PHP Notice:  m in /a.php on line 3"
    assert bounded.groups(line) == ("h", "Notice", "m", "/a.php", "3")
    assert calls == []
    long = line.replace(" m ", " " + "m" * 400 + " ")
    assert bounded.groups(long) == ("h", "Notice", "m" * 400, "/a.php", "3")
    assert calls == [len(long)]


ALPHABET = "ab-[] ,:\t"


@st.composite
def patterns(draw: st.DrawFn) -> str:
    """Split-plan shapes and a few others with classes, counted repeats and alternatives."""
    atoms = [
        r"(.+)",
        r"(.+?)",
        r"(\S+)",
        r"(\w*)",
        r"([^,]+)",
        r"(a|b-)",
        r"(\d{1,3})",
        r"\s+",
        r"(.*)",
    ]
    parts = ["^"] if draw(st.booleans()) else []
    for _ in range(draw(st.integers(1, 4))):
        if draw(st.booleans()):
            parts.append(re.escape(draw(st.text(ALPHABET, min_size=1, max_size=2))))
        parts.append(draw(st.sampled_from(atoms)))
    if draw(st.booleans()):
        parts.append(re.escape(draw(st.text(ALPHABET, min_size=1, max_size=2))))
    if draw(st.booleans()):
        parts.append("$")
    return "".join(parts)


@settings(max_examples=400, deadline=None)
@given(patterns(), st.lists(st.text(ALPHABET + "1x", max_size=16), min_size=1, max_size=8))
def test_the_guarded_search_finds_re_s_groups(pattern: str, texts: list[str]) -> None:
    """Forced onto the regex module (safe length -1), the groups are re's, with and without
    the split plan in front."""
    bounded = BoundedSearch(pattern)
    bounded.safe_len = -1
    if bounded.guarded is None:
        bounded.guarded = b.rx.compile(pattern).search
    plan = compile_split_plan(pattern, bounded.groups)
    compiled = re.compile(pattern)
    for text in texts:
        m = compiled.search(text)
        want = None if m is None else m.groups("")
        assert bounded.groups(text) == want, (pattern, text)
        if plan is not None:
            assert plan(text) == want, (pattern, text)
