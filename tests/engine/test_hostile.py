"""Hostile log text: nothing crashes, nothing reaches the terminal or the SQL as code."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import pytest

from alser_tui.cli import main
from alser_tui.engine.config import load_config
from alser_tui.engine.events import AlarmRaised, WindowClosed
from alser_tui.headless import HeadlessPrinter
from alser_tui.sanitize import clean

CONFIG = """
[storage]
dir = "var"

[[guards]]
history_glob = "h/*.log"
parsers = ["J", "R"]

[[parsers]]
id = "J"
kind = "json"
window = 60
group_by = ["area", "msg"]
instant = "{msg}"

[[parsers.fields]]
name = "msg"

[[parsers]]
id = "R"
kind = "regex"
window = 60
regex = 'x=(.*)'
group_by = ["v"]

[[parsers.fields]]
name = "v"
group = 1
"""

EVIL = [
    "\x1b[2J\x1b[31mred\x1b]52;c;ZXZpbA==\x07",  # clear screen, colour, OSC 52 clipboard
    "[bold red]markup[/] [link=file:///etc/passwd]x[/link]",
    "'; DROP TABLE ev_J; --",
    "nul\x00byte",
    "bidi \u202etxt.exe",
]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "alser.toml").write_text(CONFIG)
    h = tmp_path / "h"
    h.mkdir()
    ts = 1_700_000_000
    with (h / "a.log").open("wb") as f:
        for e in EVIL:
            f.write(f"us,{ts},{json.dumps({'msg': e})}\n".encode())
            f.write(f"us,{ts},x={e}\n".encode())
        f.write(b"us,1700000000,x=\xff\xfe invalid utf-8\n")
        f.write(b"us,1700000000," + b"[" * 10_000 + b"\n")  # JSON nested 10,000 deep
        f.write(b"us,1700000000,x=" + b"A" * 3_000_000 + b"\n")  # a 3 MB line
        f.write(b"\r\nus,1700000000,x=crlf\r\n")
    return tmp_path


def test_hostile_lines_are_stored_and_counted_never_fatal(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["-c", str(root / "alser.toml"), "--no-ui", "--history", "--json"]) == 0
    out = capsys.readouterr()
    events = [json.loads(line) for line in out.out.splitlines()]  # every line valid JSON
    windows = {e["parser"]: e for e in events if e["type"] == "window"}
    assert windows["J"]["total"] == len(EVIL)
    assert {r["group"]["msg"] for r in windows["J"]["rows"]} == set(EVIL)
    assert "\x1b" not in out.out  # JSON escapes control characters
    con = sqlite3.connect(root / "var" / "history.db")
    assert con.execute('SELECT COUNT(*) FROM "ev_J"').fetchone()[0] == len(EVIL)
    raws = [r[0] for r in con.execute('SELECT v FROM "ev_R"')]
    assert "'; DROP TABLE ev_J; --" in raws and "crlf" in raws
    assert any(v.startswith("AAAA") and len(v) < 3_000_000 for v in raws), "overlong line cut"
    assert any("\ufffd" in v for v in raws), "invalid UTF-8 replaced, not fatal"
    assert "rejected" in out.err


def test_human_output_shows_escapes_harmlessly(root: Path) -> None:
    config = load_config(root / "alser.toml")
    buf = io.StringIO()
    printer = HeadlessPrinter(config, out=buf, err=io.StringIO())
    from alser_tui.engine.alarms import Alarm, RowMarks
    from alser_tui.engine.events import ShownRow

    for e in EVIL:
        printer(AlarmRaised(Alarm("J", "instant", 1, 1, {"msg": e}, 0, 60, 0, f"J {e}")))
    printer(WindowClosed("J", 0, 60, 1, 1, (ShownRow(1, {"msg": EVIL[0]}, EVIL[0], RowMarks()),)))
    text = buf.getvalue()
    assert "\x1b" not in text and "\x07" not in text and "\x00" not in text
    assert "\u202e" not in text
    assert "[bold red]markup[/]" in text  # shown literally, not interpreted
    assert clean("\x1b[31m") == "␛[31m"
