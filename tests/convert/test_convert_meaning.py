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


def _converted(mail: str, top: str = "") -> tuple[dict, list[str]]:
    from alser_tui.engine.config import parse_config

    result = convert_doc(loads(TWO_PARSERS + top + f"\nmail: {{ {mail} }}\n"))
    parsed = tomllib.loads(result.text)
    parse_config(parsed, "<converted>")  # it validates
    return parsed, result.notes


def test_an_empty_mail_unguarded_means_no_unguarded_notices() -> None:
    from alser_tui.engine.config import parse_config

    parsed, _ = _converted('guarded: "oncall@example.org", unguarded: ""')
    assert parse_config(parsed, "x").delivery.unguarded_notices is False
    parsed, _ = _converted('guarded: "oncall@example.org"')  # absent: the same
    assert parse_config(parsed, "x").delivery.unguarded_notices is False
    parsed, notes = _converted('guarded: "oncall@example.org", unguarded: "ops@example.org"')
    assert parse_config(parsed, "x").delivery.unguarded_notices is True
    assert any(n.startswith("mail.unguarded:") and "ops@example.org" in n for n in notes)


def test_mail_digest_gets_the_originals_effective_thresholds() -> None:
    parsed, notes = _converted('guarded: "a@example.org"')
    mail = parsed["channels"]["mail"]
    assert (mail["line_threshold"], mail["backoff_threshold"]) == (10, 10)
    # The original read line_threshold from the top level, never from mail.
    parsed, notes = _converted(
        'guarded: "a@example.org", line_threshold: 5, backoff_threshold: 3', "line_threshold: 20"
    )
    mail = parsed["channels"]["mail"]
    assert (mail["line_threshold"], mail["backoff_threshold"]) == (20, 3)
    assert any(n.startswith("mail.line_threshold:") and "20" in n for n in notes)
    assert not any(n.startswith("line_threshold") for n in notes)


def test_elasticsearch_indexing_is_said_once_per_parser() -> None:
    doc = loads(
        """
        parsers: [
            { id: "A", class: "JsonCollectorParser", indexer: { url: "http://es:9200" },
              indexing: true, keys: [ { name: "x" } ] }
            { id: "B", class: "JsonCollectorParser", indexing: false, keys: [ { name: "y" } ] }
        ]
        guards: [ { tail_glob: "x/*", parsers: [ "A", "B" ] } ]
        """
    )
    notes = convert_doc(doc).notes
    about = [n for n in notes if "index" in n]
    assert len(about) == 1 and about[0].startswith("parser A.indexer: Elasticsearch"), notes
