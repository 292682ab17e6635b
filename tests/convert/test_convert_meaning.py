"""What the original meant survives `convert` (ORIGINAL.md, "What `convert` must preserve")."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from alser_tui.cli import main
from alser_tui.convert import convert as convert_doc
from alser_tui.convert import loads

TWO_PARSERS = """
parsers: [
    { id: "NoSleep", class: "JsonCollectorParser", keys: [ { name: "x" } ] }
    { id: "Slept", class: "JsonCollectorParser", sleep: 60, keys: [ { name: "y" } ] }
]
guards: [ { tail_glob: "x/*", parsers: [ "NoSleep", "Slept" ] } ]
"""


def test_a_parser_without_sleep_keeps_the_originals_10_s_period() -> None:
    parsed = tomllib.loads(convert_doc(loads(TWO_PARSERS)).text)
    assert {p["id"]: p["window"] for p in parsed["parsers"]} == {"NoSleep": 10, "Slept": 60}


def test_output_file_is_not_replaced_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cf = tmp_path / "alser.cf"
    cf.write_text(TWO_PARSERS)
    out = tmp_path / "alser.toml"
    out.write_text("# edited by hand\n")
    assert main(["convert", str(cf), "-o", str(out)]) == 2
    assert "exists; add --force" in capsys.readouterr().err
    assert out.read_text() == "# edited by hand\n"
    assert main(["convert", str(cf), "-o", str(out), "--force"]) == 0
    assert "NoSleep" in out.read_text()
