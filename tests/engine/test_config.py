"""Config loading: valid files load; each mistake names the key path and the problem."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from alser_tui.cli import main
from alser_tui.engine.config import ConfigError, load_config, parse_config

BASE: dict[str, Any] = {
    "storage": {"dir": "var"},
    "guards": [{"tail_glob": "logs/php.*.log", "parsers": ["PhpError"]}],
    "parsers": [
        {
            "id": "PhpError",
            "kind": "regex",
            "regex": r"\[(.+)\] (.+?): (.+) - (.+) \[(.+)\],(.+)",
            "group_by": ["area", "file", "line"],
            "fields": [
                {"name": "level", "group": 2},
                {"name": "msg", "group": 3, "normalize": ["digits"]},
                {"name": "file", "group": 4, "type": "base_file"},
                {"name": "line", "group": 5, "type": "int"},
            ],
        },
        {
            "id": "Pay",
            "kind": "json",
            "aggregate": "sum:amount",
            "fields": [
                {"name": "currency", "path": "data.currency"},
                {"name": "amount", "path": "data.amount", "type": "money"},
            ],
        },
    ],
}


def test_valid_config_defaults() -> None:
    cfg = parse_config(copy.deepcopy(BASE), "x.toml")
    php = cfg.parser("PhpError")
    assert php.column_names == ("area", "ts", "level", "msg", "file", "line")
    assert php.window == 60 and php.limit == 10 and php.abnormal_percent == 1.5
    assert php.regex_timeout == 0.05  # seconds a search may take on one line
    assert php.row_format == "{amount:>5} {area:>3} {file} {line}"
    assert cfg.guards[0].name == "php.*.log"
    assert cfg.parser("Pay").aggregate_kind == "sum"
    assert cfg.parser("Pay").aggregate_field == "amount"


def _with(path: str, value: Any) -> dict[str, Any]:
    """BASE with one key (dotted path, [i] for array items) set; value None deletes it."""
    data = copy.deepcopy(BASE)
    node: Any = data
    parts = path.replace("[", ".").replace("]", "").split(".")
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
    last = parts[-1]
    if value is None:
        del node[int(last) if last.isdigit() else last]
    elif last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return data


CASES = [
    ("parsers[0].window", "60", "parsers[0].window", "must be an integer, not a string"),
    ("parsers[0].window", 0, "parsers[0].window", "must be >= 1"),
    ("parsers[0].summary", 1, "parsers[0].summary", "must be a boolean, not an integer"),
    ("parsers[0].limt", 5, "parsers[0].limt", "unknown key (did you mean 'limit'?)"),
    ("parsers[0].regex", "([a-z", "parsers[0].regex", "invalid regular expression"),
    ("parsers[0].regex_timeout", 0, "parsers[0].regex_timeout", "must be >= 0.001"),
    (
        "parsers[0].regex_timeout",
        "50ms",
        "parsers[0].regex_timeout",
        "must be a number, not a string",
    ),
    ("parsers[1].regex_timeout", 1, "parsers[1].regex_timeout", "only regex parsers take it"),
    ("parsers[0].kind", "xml", "parsers[0].kind", "must be one of json, regex, hostline"),
    ("parsers[0].id", None, "parsers[0].id", "missing"),
    ("parsers[0].id", "bad id", "parsers[0].id", "must be letters, digits and _"),
    ("parsers[1].id", "PhpError", "parsers[1].id", "duplicate parser id 'PhpError'"),
    ("parsers[0].fields[1].type", "number", "parsers[0].fields[1].type", "must be one of string"),
    ("parsers[0].fields[1].group", 9, "parsers[0].fields[1].group", "group 9 does not exist"),
    (
        "parsers[0].fields[1].normalize",
        ["digit"],
        "parsers[0].fields[1].normalize[0]",
        "must be one of digits, token",
    ),
    (
        "parsers[0].fields[1].ignores",
        ["regex:(("],
        "parsers[0].fields[1].ignores[0]",
        "invalid regular expression",
    ),
    (
        "parsers[0].fields[1].path",
        "a.b",
        "parsers[0].fields[1].path",
        "only json fields take a path",
    ),
    ("parsers[0].fields[1].name", "ts", "parsers[0].fields[1].name", "column name 'ts' is taken"),
    (
        "parsers[0].group_by",
        ["area", "fiel"],
        "parsers[0].group_by[1]",
        "'fiel' is not a column (did you mean 'file'?)",
    ),
    (
        "parsers[0].aggregate",
        "avg:line",
        "parsers[0].aggregate",
        "must be count, count_distinct:FIELD or sum:FIELD",
    ),
    ("parsers[0].aggregate", "sum:nope", "parsers[0].aggregate", "'nope' is not a column"),
    ("parsers[0].row_format", "{amount} {nope}", "parsers[0].row_format", "unknown field {nope}"),
    ("parsers[0].row_format", "{amount", "parsers[0].row_format", "invalid format string"),
    ("parsers[0].instant", "{area} {}", "parsers[0].instant", "use named fields"),
    ("parsers[0].where", "area = ", "parsers[0].where", "invalid SQL condition"),
    ("parsers[0].where", "1; DROP TABLE x", "parsers[0].where", "single SQL condition"),
    (
        "parsers[1].fields[0].name",
        "cur",
        "parsers[1].fields[1].type",
        "money needs a preceding field named 'currency'",
    ),
    ("parsers[1].fields", [], "parsers[1].fields", "needs at least one field"),
    (
        "guards[0].parsers",
        ["PhpErorr"],
        "guards[0].parsers[0]",
        "parser 'PhpErorr' is not defined (did you mean 'PhpError'?)",
    ),
    ("guards[0].parsers", [], "guards[0].parsers", "at least one parser"),
    ("guards[0].tail_glob", "logs/[php.log", "guards[0].tail_glob", "invalid glob"),
    ("guards[0].tail_glob", None, "guards[0].tail_glob", "needs tail_glob or history_glob"),
    ("guards[0].format", "csv", "guards[0].format", "must be one of als, raw"),
    ("guards[0].tail_glob", 5, "guards[0].tail_glob", "must be a string, not an integer"),
    ("storage.keep_windows", -1, "storage.keep_windows", "must be >= 1"),
    ("storage.size", 1, "storage.size", "unknown key"),
    ("engine.lateness", "5", "engine.lateness", "must be a number, not a string"),
    ("colour", "red", "colour", "unknown key"),
    ("guards", {"a": 1}, "guards", "must be an array, not a table"),
    ("parsers[0].colors", ["red", 1], "parsers[0].colors[1]", "must be a string, not an integer"),
]


@pytest.mark.parametrize(
    ("path", "value", "key", "problem"), CASES, ids=[c[0] + "=" + repr(c[1]) for c in CASES]
)
def test_config_error_names_key_and_problem(path: str, value: Any, key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(_with(path, value), "conf/x.toml")
    assert info.value.key == key
    assert problem in info.value.problem
    assert str(info.value).startswith(f"conf/x.toml: {key}: ")


def test_toml_syntax_error_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[storage\ndir = 1\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "missing.toml")


def test_cli_config_error_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "alser.toml"
    bad.write_text(
        '[[parsers]]\nid = "X"\nkind = "regex"\nregex = "("\n[[parsers.fields]]\nname="a"\ngroup=1\n'
    )
    assert main(["-c", str(bad), "--check"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert f"{bad}: parsers[0].regex: invalid regular expression" in err


def test_cli_check_ok_and_list_parsers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import tomllib  # noqa: F401 - the file below is written by hand, parse via the CLI

    good = tmp_path / "alser.toml"
    good.write_text(
        '[[guards]]\ntail_glob = "logs/*.log"\nparsers = ["Err"]\n'
        '[[parsers]]\nid = "Err"\nkind = "json"\ntitle = "Errors"\n'
        '[[parsers.fields]]\nname = "msg"\n'
    )
    assert main(["-c", str(good), "--check"]) == 0
    assert main(["-c", str(good), "--list-parsers"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Err") and "json" in out and "Errors" in out
    assert main(["-c", str(good), "--parser", "Nope", "--check"]) == 2
    assert "unknown parser 'Nope'" in capsys.readouterr().err


def test_relative_paths_resolve_against_config_folder(tmp_path: Path) -> None:
    cfg = parse_config(copy.deepcopy(BASE), str(tmp_path / "conf" / "alser.toml"))
    assert cfg.data_dir == tmp_path / "conf" / "var"
    assert cfg.resolve("logs/a.log") == tmp_path / "conf" / "logs" / "a.log"


def test_unreadable_config_names_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Root reads any mode bits, so a folder stands in for an unreadable file.
    folder = tmp_path / "alser.toml"
    folder.mkdir()
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(folder)
    assert main(["-c", str(folder), "--check"]) == 2
    assert capsys.readouterr().err.startswith(f"alser-tui: {folder}: cannot read")
