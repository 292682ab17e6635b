"""Fuzzing the line envelope and the whole per-line pipeline: any text (CR, NUL, lone
surrogates of broken input already replaced, huge, negative and fractional times) is taken or
counted, never raises, and whatever is taken can be stored in SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alser_tui.engine.config import load_config
from alser_tui.engine.lines import MAX_TS, split_als
from alser_tui.engine.pipeline import LineProcessor
from alser_tui.engine.store import Store

CONFIG = """
[storage]
dir = "var"

[[guards]]
tail_glob = "a/*.log"
parsers = ["Re", "Typed", "Js", "Host"]

[[guards]]
tail_glob = "b/*.log"
format = "raw"
parsers = ["Re"]

[[parsers]]
id = "Re"
kind = "regex"
regex = '(\\w+)=(\\S*)'
group_by = ["k"]
[[parsers.fields]]
name = "k"
group = 1
[[parsers.fields]]
name = "v"
group = 2
normalize = ["digits"]

[[parsers]]
id = "Typed"
kind = "regex"
regex = '(\\w*) (\\S*) (\\S*) ?(\\S*)'
[[parsers.fields]]
name = "currency"
group = 1
visible = false
[[parsers.fields]]
name = "amount"
group = 2
type = "money"
[[parsers.fields]]
name = "n"
group = 3
type = "int"
[[parsers.fields]]
name = "x"
group = 4
type = "float"

[[parsers]]
id = "Js"
kind = "json"
[[parsers.fields]]
name = "n"
type = "int"
path = "a.0"
[[parsers.fields]]
name = "f"
type = "base_file"
maxlen = 5
[[parsers.fields]]
name = "s"
normalize = ["digits", "token"]
ignores = ["regex:^z"]

[[parsers]]
id = "Host"
kind = "hostline"
"""

NOW = 1_800_000_000

# What turns up where a time should be: digits of any size and sign, fractions, exponents,
# words, spaces, non-ASCII digits, and plain junk.
times = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.integers(min_value=NOW - 10**9, max_value=NOW + 10**9).map(str),
    st.integers(min_value=NOW * 1000 - 10**9, max_value=NOW * 1000 + 10**9).map(str),
    st.floats().map(repr),
    st.sampled_from(
        ["", " 1800000000 ", "1_800_000_000", "+1800000000", "-0", "0x10", "1e308", "-1e308",
         "nan", "inf", "9" * 5000, "١٨٠٠٠٠٠٠٠٠", "1800000000.5", "1280000000000", "1280000000001"]
    ),
    st.text(max_size=20),
)  # fmt: skip
junk = st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from('\r\x00\n,{}[]"=\\'))
messages = st.one_of(
    junk,
    st.builds(lambda k, v: f"{k}={v}", st.from_regex(r"\w{1,5}", fullmatch=True), junk),
    st.builds(
        lambda v: orjson.dumps(v, option=orjson.OPT_NON_STR_KEYS).decode(),
        st.dictionaries(
            st.sampled_from(["a", "f", "s", "0"]),
            st.recursive(
                st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats() | junk,
                lambda c: st.lists(c, max_size=3) | st.dictionaries(st.sampled_from("ab0"), c),
                max_leaves=6,
            ),
        ),
    ),
    st.builds(lambda h, d: f"{h},{d}", junk, junk),
)
lines = st.one_of(
    junk,
    st.builds(lambda a, t, m: f"{a},{t},{m}", junk, times, messages),
    st.builds(
        lambda a, t, m: f"{a},{t},{m}", st.sampled_from(["us", "de", " br "]), times, messages
    ),
)


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LineProcessor, Store]]:
    root = tmp_path_factory.mktemp("fuzz")
    (root / "alser.toml").write_text(CONFIG)
    config = load_config(root / "alser.toml")
    store = Store(Path(root / "var" / "fuzz.db"), config.parsers, scratch=True)
    yield LineProcessor(config), store
    store.close()


@settings(max_examples=400, deadline=None)
@given(line=lines)
def test_split_als_never_raises_and_bounds_the_time(line: str) -> None:
    got = split_als(line)
    if got is not None:
        area, ts, msg = got
        assert isinstance(ts, int) and 0 <= ts <= MAX_TS
        assert line.endswith(msg) and area == area.strip()


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=st.lists(lines, min_size=1, max_size=8))
def test_every_line_is_counted_and_every_row_can_be_stored(
    rig: tuple[LineProcessor, Store], batch: list[str]
) -> None:
    processor, store = rig
    for guard in (0, 1):
        res = processor.process(guard, batch, NOW)
        raw = guard == 1
        taken = 0
        for line in batch:
            env = split_als(line)
            if raw or env is not None:
                taken += 1
        # The inlined envelope in the hot loop agrees with split_als on what is a line.
        assert res.malformed == len(batch) - taken
        for pid in processor.guard_parsers[guard]:
            rows = res.rows[pid]
            answered = res.skipped[pid] + res.rejected[pid] + len(rows)
            if pid == "Host":  # a statistics line may yield several rows
                assert answered >= taken
            else:
                assert answered == taken, pid
            assert not res.crashed, res.errors  # the parsers themselves never raise
            for row in rows:
                assert 0 <= row[1] <= MAX_TS
                if not raw:
                    assert row[-1] in batch
        if not raw:
            timed = [e[1] for e in map(split_als, batch) if e is not None]
            assert res.last_ts == (timed[-1] if timed else None)
        # Anything taken fits the database (no 64-bit overflow, no NUL trouble).
        store.write_batch(res.rows)
