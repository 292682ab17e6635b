"""--no-ui prints unguarded files: one line naming the new ones, or a JSON line."""

from __future__ import annotations

import io
import json
import re
import threading
from pathlib import Path

from notify_support import wait_for

from alser_tui.engine.config import load_config, parse_config
from alser_tui.engine.engine import Engine
from alser_tui.engine.events import UnguardedFiles
from alser_tui.headless import HeadlessPrinter

PARSER = {"id": "P", "kind": "json", "fields": [{"name": "x"}]}


def printer(json_lines: bool) -> tuple[HeadlessPrinter, io.StringIO]:
    cfg = parse_config(
        {"guards": [{"tail_glob": "l/*.log", "parsers": ["P"]}], "parsers": [PARSER]}
    )
    out = io.StringIO()
    return HeadlessPrinter(cfg, json_lines=json_lines, out=out, err=io.StringIO()), out


def test_human_line_lists_the_new_files() -> None:
    p, out = printer(False)
    p(UnguardedFiles(("/l/a.txt", "/l/b.txt"), ("/l/a.txt", "/l/b.txt"), first=True))
    p(UnguardedFiles(("/l/a.txt", "/l/b.txt", "/l/c\x1b[2J.txt"), ("/l/c\x1b[2J.txt",)))
    first, second = out.getvalue().splitlines()
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"
    assert re.fullmatch(
        stamp + r" \[unguarded\] 2 files no guard covers: /l/a.txt, /l/b.txt", first
    )
    assert re.fullmatch(
        stamp + r" \[unguarded\] new: 1 file no guard covers \(3 in all\): .*", second
    )
    assert "\x1b" not in second and second.endswith(".txt")


def test_json_line() -> None:
    p, out = printer(True)
    p(UnguardedFiles(("/l/a.txt", "/l/b.txt"), ("/l/b.txt",)))
    assert json.loads(out.getvalue()) == {
        "type": "unguarded",
        "files": ["/l/a.txt", "/l/b.txt"],
        "new": ["/l/b.txt"],
    }


CONFIG = """
[storage]
dir = "var"

[engine]
poll_interval = 0.02
glob_interval = 0.1

[[guards]]
tail_glob = "logs/app.*.log"
parsers = ["P"]

[[parsers]]
id = "P"
kind = "json"
[[parsers.fields]]
name = "x"
"""


def test_live_engine_prints_them(tmp_path: Path) -> None:
    (tmp_path / "alser.toml").write_text(CONFIG)
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "stray.log").write_text("")
    config = load_config(tmp_path / "alser.toml")
    engine = Engine(config, stats_interval=0.05)
    out = io.StringIO()
    engine.subscribe(HeadlessPrinter(config, json_lines=True, out=out, err=io.StringIO()))
    engine.open()
    thread = threading.Thread(target=engine.run, daemon=True)
    thread.start()

    def unguarded() -> list[dict[str, object]]:
        rows = [json.loads(x) for x in out.getvalue().splitlines()]
        return [r for r in rows if r["type"] == "unguarded"]

    try:
        wait_for(unguarded, what="the start list")
        (logs / "other.log").write_text("")
        wait_for(lambda: len(unguarded()) == 2, what="the new file")
    finally:
        engine.request_stop()
        thread.join(10)
    stray, other = str(logs / "stray.log"), str(logs / "other.log")
    assert unguarded() == [
        {"type": "unguarded", "files": [stray], "new": [stray]},
        {"type": "unguarded", "files": sorted([stray, other]), "new": [other]},
    ]
