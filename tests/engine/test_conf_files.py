"""The shipped configs load, cover the schema, and fit the demo writer's and bench's lines."""

from __future__ import annotations

import importlib.util
import json
import re
import tomllib
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from alser_tui.demo import FAMILIES, DemoWriter, prepare_demo, write_history
from alser_tui.engine.config import Config, FieldConfig, ParserConfig, load_config
from alser_tui.engine.lines import split_als

ROOT = Path(__file__).resolve().parents[2]
PROD = ROOT / "conf" / "alser.toml"
DEMO = ROOT / "conf" / "demo.toml"
ORIGINAL_PARSERS = [
    "PhpError", "MongoError", "Error", "Session", "NewAccount", "LevelUp", "Mission", "RcFail",
    "FlashClick", "Dau", "Pay", "Revenue", "SlowResponse", "MemcacheFail", "MemcacheSlow",
    "MongoSlow", "Kernal",
]  # fmt: skip
NOW = 1_700_000_000  # a multiple of every demo window, so windows start at the stream start


@pytest.fixture(scope="module")
def prod() -> Config:
    return load_config(PROD)


@pytest.fixture(scope="module")
def demo() -> Config:
    return load_config(DEMO)


# --------------------------------------------------------------------------- a tiny extractor
# Just enough of the parser semantics to check that generated lines fit the configs.

SKIPPED = object()
REJECTED = object()


def _resolve(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(obj, list) and part.isdigit() and int(part) < len(obj):
            obj = obj[int(part)]
        elif isinstance(obj, dict) and part in obj:
            obj = obj[part]
        else:
            raise KeyError(path)
    return obj


def _passes(f: FieldConfig, value: Any) -> bool:
    text = str(value)
    if f.contains and f.contains not in text:
        return False
    for ig in f.ignores:
        pattern = ig.removeprefix("regex:").strip() if ig.startswith("regex:") else None
        if (pattern is not None and re.search(pattern, text)) or (pattern is None and ig in text):
            return False
    return not f.filters or text in f.filters


def _normal(f: FieldConfig, value: Any) -> Any:
    if f.type == "int":
        return int(value)
    if f.type in ("float", "money"):
        return float(value)
    text = str(value)
    if f.type == "base_file":
        text = text.rsplit("/", 1)[-1]
    if "token" in f.normalize:
        text = re.sub(r"pre: \S+; current: \S+", "pre cur", text)
    if "digits" in f.normalize:
        text = re.sub(r"\d+", "?", text)
    return text[: f.maxlen] if f.maxlen else text


def extract(p: ParserConfig, msg: str) -> Any:
    """dict of visible columns, SKIPPED (a condition failed) or REJECTED (does not fit)."""
    if p.kind == "regex":
        m = re.match(p.regex, msg)
        if m is None:
            return REJECTED
        raw = {f.name: m.group(f.group) for f in p.fields}
    else:
        try:
            obj = json.loads(msg)
        except ValueError:
            return REJECTED
        if not isinstance(obj, dict):
            return REJECTED
        try:
            raw = {f.name: _resolve(obj, f.json_path) for f in p.fields}
        except KeyError:
            return SKIPPED
    if not all(_passes(f, raw[f.name]) for f in p.fields):
        return SKIPPED
    return {f.name: _normal(f, raw[f.name]) for f in p.fields if f.visible}


def _lines(config: Config, glob_key: str) -> dict[str, list[str]]:
    """Lines of every guard's files, keyed by the guard's first parser id."""
    out = {}
    for g in config.guards:
        pattern = config.resolve(getattr(g, glob_key))
        files = sorted(pattern.parent.glob(pattern.name))
        out[g.parsers[0]] = [
            line for path in files for line in path.read_text("utf-8").splitlines()
        ]
    return out


def _guard_of(config: Config, parser_id: str) -> str:
    return next(g.parsers[0] for g in config.guards if parser_id in g.parsers)


# --------------------------------------------------------------------------- production config


def test_production_config_has_the_originals_17_parsers_and_15_guards(prod: Config) -> None:
    assert [p.id for p in prod.parsers] == ORIGINAL_PARSERS
    assert len(prod.guards) == 15
    fed = {pid for g in prod.guards for pid in g.parsers}
    assert fed == set(ORIGINAL_PARSERS)  # every guard's parser exists and none is orphaned
    for g in prod.guards:
        assert g.tail_glob.startswith("/data/als/") and g.tail_glob.endswith(".log")
        assert g.history_glob.startswith("/data/als/history/")
        assert g.enabled and g.format == "als"
    assert prod.data_dir.is_absolute()


def test_production_config_uses_every_kind_aggregate_and_option(prod: Config) -> None:
    assert {p.kind for p in prod.parsers} == {"json", "regex", "hostline"}
    assert {p.aggregate_kind for p in prod.parsers} == {"count", "count_distinct", "sum"}
    raw = tomllib.loads(PROD.read_text("utf-8"))
    parser_keys = {k for table in raw["parsers"] for k in table}
    field_keys = {k for table in raw["parsers"] for f in table.get("fields", []) for k in f}
    for key in (
        "title", "colors", "window", "regex", "aggregate", "group_by", "where", "min_amount",
        "limit", "beep_threshold", "abnormal_percent", "abnormal_base", "severity",
        "abnormal_severity_factor", "instant", "row_format", "summary", "persist", "enabled",
    ):  # fmt: skip
        assert key in parser_keys, key
    for key in (
        "name", "group", "path", "type", "normalize", "contains", "ignores", "filters",
        "visible", "maxlen",
    ):  # fmt: skip
        assert key in field_keys, key
    flds = [f for p in prod.parsers for f in p.fields]
    assert {f.type for f in flds} == {"string", "int", "float", "money", "base_file"}
    assert {n for f in flds for n in f.normalize} == {"digits", "token"}
    ignores = [i for f in flds for i in f.ignores]
    assert any(i.startswith("regex:") for i in ignores)
    assert any(not i.startswith("regex:") for i in ignores)
    assert any(not f.visible for f in flds)
    assert any(re.search(r"\.\d+(\.|$)", f.json_path) for f in flds)  # an array index
    # Alarm options really set, not just present.
    assert any(p.summary for p in prod.parsers) and any(p.persist for p in prod.parsers)
    assert any(p.instant for p in prod.parsers if p.kind == "json")
    assert any(p.instant for p in prod.parsers if p.kind == "hostline")
    assert any(p.abnormal_severity_factor > 1 for p in prod.parsers)
    assert any(p.severity == 0 for p in prod.parsers)  # analytics that never alarm
    assert prod.currency_rates["MXN"] > 0 and prod.currency_rates["USD"] == 1.0


def test_revenue_is_money_summed_after_its_currency(prod: Config) -> None:
    rev = prod.parser("Revenue")
    names = [f.name for f in rev.fields]
    money = next(f for f in rev.fields if f.type == "money")
    assert rev.aggregate == f"sum:{money.name}"
    assert names.index("currency") < names.index(money.name)
    assert prod.parser("Dau").aggregate == "count_distinct:uid"


# --------------------------------------------------------------------------- demo config


def test_demo_config_is_fast_relative_and_covers_every_alarm_kind(demo: Config) -> None:
    assert demo.storage.dir == "var"
    assert len(demo.parsers) >= 8
    assert {p.kind for p in demo.parsers} == {"json", "regex", "hostline"}
    assert all(10 <= p.window <= 15 for p in demo.parsers)
    for g in demo.guards:
        assert not Path(g.tail_glob).is_absolute() and g.tail_glob.startswith("logs/")
        assert g.history_glob.startswith("history/")
        assert demo.resolve(g.tail_glob).parent == DEMO.parent / "logs"
    assert any(p.beep_threshold > 0 for p in demo.parsers)  # threshold
    assert any(p.abnormal_base > 0 and p.abnormal_percent > 0 for p in demo.parsers)  # abnormal
    assert any(p.instant for p in demo.parsers)  # instant
    assert any(p.kind == "hostline" for p in demo.parsers)  # dropped (syslog-ng stats)


def test_demo_parsers_extract_exactly_like_production(prod: Config, demo: Config) -> None:
    def shape(p: ParserConfig) -> tuple[Any, ...]:
        return (p.kind, p.regex, p.fields, p.aggregate, p.group_by, p.where, p.instant)

    for p in demo.parsers:
        assert shape(p) == shape(prod.parser(p.id)), p.id
    assert {g.name for g in demo.guards} == {g.name for g in prod.guards}


def test_prepare_demo_creates_a_tailable_tree(tmp_path: Path) -> None:
    cfg_path = prepare_demo(tmp_path)
    assert cfg_path == tmp_path / "alser.toml"
    cfg = load_config(cfg_path)
    assert cfg.data_dir == tmp_path.resolve() / "var" and cfg.data_dir.is_dir()
    assert (tmp_path / "history").is_dir()
    for g in cfg.guards:
        pattern = cfg.resolve(g.tail_glob)
        files = list(pattern.parent.glob(pattern.name))
        assert files, g.tail_glob
        assert all(f.stat().st_size == 0 for f in files)
    assert {f.name for f in FAMILIES} == {Path(g.tail_glob).name.split(".")[0] for g in cfg.guards}


# --------------------------------------------------------------------------- demo writer


@pytest.fixture(scope="module")
def demo_tree(tmp_path_factory: pytest.TempPathFactory) -> tuple[Config, dict[str, list[str]]]:
    dest = tmp_path_factory.mktemp("demo")
    cfg = load_config(prepare_demo(dest))
    writer = DemoWriter(dest, seed=5)
    written = writer.step(30, now=NOW)
    writer.stop()
    lines = _lines(cfg, "tail_glob")
    assert sum(map(len, lines.values())) == written == writer.lines_written
    return cfg, lines


def test_demo_lines_carry_the_als_envelope_and_clock(demo_tree: Any) -> None:
    _, lines = demo_tree
    envelopes = [split_als(line) for group in lines.values() for line in group]
    good = [e for e in envelopes if e is not None]
    assert len(good) >= 0.99 * len(envelopes)
    assert {e[1] for e in good} == {NOW}  # ms timestamps fold back to the same second
    assert {e[0] for e in good} >= {"us", "de", "br", "th", "vn"}


def test_demo_lines_fit_every_demo_parser(demo_tree: Any) -> None:
    cfg, lines = demo_tree
    garbage = 0
    for p in cfg.parsers:
        if p.kind == "hostline":
            continue
        msgs = [e[2] for e in map(split_als, lines[_guard_of(cfg, p.id)]) if e]
        results = [extract(p, m) for m in msgs]
        rejected = sum(r is REJECTED for r in results)
        rows = [r for r in results if isinstance(r, dict)]
        # Most lines fit; a few are garbage (stack traces, cut JSON) so rejections show.
        assert rejected <= 0.06 * len(msgs), (p.id, rejected, len(msgs))
        assert rows, p.id
        if any(f.filters or f.contains or f.ignores for f in p.fields):
            assert any(r is SKIPPED for r in results), f"{p.id}: conditions never apply"
        if p.kind == "json":
            garbage += rejected
            good = [m for m, r in zip(msgs, results, strict=True) if r is not REJECTED]
            assert all(isinstance(json.loads(m), dict) for m in good)
        for col in p.group_by:
            assert col == "area" or all(col in r for r in rows), (p.id, col)
    assert garbage > 0


def test_demo_money_uses_known_currencies(demo_tree: Any) -> None:
    cfg, lines = demo_tree
    rev = cfg.parser("Revenue")
    rows = [extract(rev, e[2]) for e in map(split_als, lines["Pay"]) if e]
    currencies = {r["currency"] for r in rows if isinstance(r, dict)}
    assert len(currencies) >= 4 and currencies <= set(cfg.currency_rates)


def test_demo_kernel_has_messages_stats_and_drops(demo_tree: Any) -> None:
    _, lines = demo_tree
    msgs = [e[2] for e in map(split_als, lines["Kernal"]) if e]
    stats = [m for m in msgs if "Log statistics; " in m]
    plain = [m for m in msgs if "Log statistics; " not in m]
    assert len(stats) == 6  # every 10 s per collector, two collectors, 30 s
    assert plain and all("," in m and m.rsplit(",", 1)[1] for m in plain)
    drops = [int(n) for m in stats for n in re.findall(r"dropped='program\(\w+\)=(\d+)'", m)]
    assert any(n > 0 for n in drops)
    assert all(re.search(r"processed='destination\(\w+\)=\d+'", m) for m in stats)


def test_demo_has_instant_very_slow_responses(demo_tree: Any) -> None:
    cfg, lines = demo_tree
    slow = cfg.parser("SlowResponse")
    rows = [extract(slow, e[2]) for e in map(split_als, lines["SlowResponse"]) if e]
    very = [r for r in rows if isinstance(r, dict)]
    assert very and all(r["elapsed"] >= 5 for r in very)
    assert slow.instant.format(area="us", **very[0])


def test_history_bursts_cross_thresholds_within_the_first_minute(tmp_path: Path) -> None:
    cfg = load_config(prepare_demo(tmp_path))
    counts = write_history(tmp_path, start_ts=NOW, minutes=1, seed=11)
    lines = _lines(cfg, "history_glob")
    assert sum(counts.values()) == sum(map(len, lines.values()))
    for pid in ("PhpError", "RcFail", "MemcacheFail", "MongoError", "Error"):
        p = cfg.parser(pid)
        windows: dict[int, Counter[tuple[Any, ...]]] = {}
        for line in lines[_guard_of(cfg, pid)]:
            env = split_als(line)
            row = extract(p, env[2]) if env else REJECTED
            if isinstance(row, dict):
                row["area"] = env[0]
                group = tuple(row[c] for c in p.group_by)
                windows.setdefault(env[1] // p.window, Counter())[group] += 1
        tops = [windows[w].most_common(1)[0] for w in sorted(windows)]
        hot = [i for i, (_, n) in enumerate(tops) if n >= p.beep_threshold]
        assert hot and len(hot) < len(tops), (pid, tops)  # bursts alarm, the baseline does not
        # Abnormal: the burst group was already seen and grew by more than abnormal_percent.
        group, amount = tops[hot[0]]
        before = [windows[w][group] for w in sorted(windows)[: hot[0]] if windows[w][group]]
        assert before, pid
        assert amount >= p.abnormal_base and amount >= before[-1] * (1 + p.abnormal_percent)


def test_history_is_deterministic_per_seed(tmp_path: Path) -> None:
    def run(name: str, seed: int) -> dict[str, bytes]:
        dest = tmp_path / name
        write_history(dest, start_ts=NOW, minutes=1, seed=seed)
        return {p.name: p.read_bytes() for p in sorted((dest / "history").iterdir())}

    a, b, c = run("a", 3), run("b", 3), run("c", 4)
    assert a == b
    assert a.keys() == c.keys() and a != c


def test_writer_thread_starts_and_stops(tmp_path: Path) -> None:
    prepare_demo(tmp_path)
    writer = DemoWriter(tmp_path, seed=1)
    writer.start()
    with pytest.raises(RuntimeError):
        writer.start()
    writer.stop()
    assert not writer.running
    # The thread writes before it first waits, so even an immediate stop leaves lines.
    assert writer.lines_written > 0
    on_disk = sum(len(p.read_text("utf-8").splitlines()) for p in (tmp_path / "logs").iterdir())
    assert on_disk == writer.lines_written


# --------------------------------------------------------------------------- bench generator


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_gen", ROOT / "bench" / "gen.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_bench_php_lines_match_the_php_error_regex(tmp_path: Path, prod: Config) -> None:
    paths = _bench().generate("php", 3001, 3, tmp_path, seed=2)
    assert [p.name for p in paths] == ["phperror.1.log", "phperror.2.log", "phperror.3.log"]
    p = prod.parser("PhpError")
    groups = set()
    total = 0
    for path in paths:
        envs = [split_als(line) for line in path.read_text("utf-8").splitlines()]
        assert all(envs)
        stamps = [e[1] for e in envs]
        assert stamps == sorted(stamps) and stamps[-1] - stamps[0] > 3600
        for area, _, msg in envs:
            row = extract(p, msg)
            assert isinstance(row, dict), msg
            groups.add((area, *row.values()))
        total += len(envs)
    assert total == 3001
    assert 300 < len(groups) < total  # variety, yet repeats that group together


def test_bench_json_lines_fit_the_error_parser(tmp_path: Path, prod: Config) -> None:
    gen = _bench()
    paths = gen.generate("json", 2000, 2, tmp_path, seed=2)
    assert [p.name for p in paths] == ["error.1.log", "error.2.log"]
    p = prod.parser("Error")
    rows = []
    for path in paths:
        for line in path.read_text("utf-8").splitlines():
            env = split_als(line)
            assert env is not None
            row = extract(p, env[2])
            assert row is not REJECTED, line
            if isinstance(row, dict):
                rows.append(row)
    assert len(rows) > 1300  # warnings and expired sessions are skipped
    messages = {r["message"] for r in rows}
    assert all("?" in m or not re.search(r"\d", m) for m in messages)
    assert len({tuple(r.values()) for r in rows}) < len(rows) / 2
    again = tmp_path / "again"
    gen.generate("json", 2000, 2, again, seed=2)
    assert (again / "error.1.log").read_bytes() == paths[0].read_bytes()
