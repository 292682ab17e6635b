"""Shared by the console tests: a config, generated history, helpers to read widgets."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import Static

from alser_tui.engine.config import load_config
from alser_tui.ui.app import AlserApp
from alser_tui.ui.widgets.keyed_table import KeyedTable
from alser_tui.ui.widgets.status_line import StatusLine

T0 = 1_800_000_000  # a boundary of every window size used here (2030-01-15 08:00:00 UTC)
WINDOW = 60

CONFIG = """
[storage]
dir = "var"

[engine]
lateness = 2
poll_interval = 0.02
glob_interval = 0.2

[[guards]]
tail_glob = "logs/php.*.log"
history_glob = "history/php*"
parsers = ["PhpError"]

[[guards]]
tail_glob = "logs/err.*.log"
history_glob = "history/err*"
parsers = ["Error"]

[[parsers]]
id = "PhpError"
kind = "regex"
title = "PhpErr"
colors = ["yellow", "bold"]
window = 60
regex = '^PHP (\\w+): (.+) in (\\S+) on line (\\d+)$'
group_by = ["area", "file", "line", "msg"]
limit = 10
beep_threshold = 40
abnormal_percent = 1.0
abnormal_base = 20
severity = 2
row_format = "{amount:>5} {area:>3} {file}:{line} {msg}"

[[parsers.fields]]
name = "level"
group = 1
[[parsers.fields]]
name = "msg"
group = 2
[[parsers.fields]]
name = "file"
group = 3
type = "base_file"
[[parsers.fields]]
name = "line"
group = 4
type = "int"

[[parsers]]
id = "Error"
kind = "json"
title = "Exceptions"
colors = ["red"]
window = 60
group_by = ["area", "cls"]
instant = "Fatal {area} {cls}"
limit = 5

[[parsers.fields]]
name = "cls"
path = "class"
"""

# A third guard whose folder does not exist (it feeds Error too), for the source-health
# tests; with_health() also gives the php guard a short silent_after.
GONE_GUARD = """
[[guards]]
name = "gone"
tail_glob = "nowhere/x.*.log"
parsers = ["Error"]
"""


def with_health(extra: str = "", silent_after: int | None = None) -> str:
    text = CONFIG
    if silent_after is not None:
        text = text.replace(
            'parsers = ["PhpError"]\n', f'parsers = ["PhpError"]\nsilent_after = {silent_after}\n'
        )
    return text + extra


HOSTILE_MSG = "\x1b[31mred\x1b[0m [bold red]x[/] \x07bell"


def php(area: str, ts: int, msg: str, file: str = "/srv/app/map.php", line: int = 2828) -> str:
    return f"{area},{ts},PHP Warning: {msg} in {file} on line {line}"


def err(area: str, ts: int, cls: str) -> str:
    return f'{area},{ts},{{"class": "{cls}"}}'


def php_history() -> list[str]:
    """Five windows. The last one: map.php:2828 in us jumps from 10 to 52 (threshold and
    abnormal), db.php:10 in de holds 30, a hostile message shows up twice."""
    out: list[str] = []
    for w in range(5):
        base = T0 + w * WINDOW
        hot = 52 if w == 4 else 10
        out += [php("us", base + i % 50, "Undefined index: uid") for i in range(hot)]
        out += [php("de", base + 5, "Division by zero", "/srv/lib/db.php", 10) for _ in range(30)]
        out += [php("br", base + 7, "Undefined offset", "/srv/app/user.php", 20 + w)] * (w + 1)
    out += [php("us", T0 + 4 * WINDOW + 9, HOSTILE_MSG, "/srv/app/evil.php", 1)] * 2
    out.append(f"us,{T0 + 4 * WINDOW + 10},PHP garbage without the expected shape")
    return sorted(out, key=lambda line: int(line.split(",")[1]))


def err_history() -> list[str]:
    """Every row is an instant alarm: two early ones, one in the newest window."""
    return [
        err("us", T0 + 3, "DbError"),
        err("us", T0 + 2 * WINDOW + 3, "DbError"),
        err("de", T0 + 4 * WINDOW + 30, "OutOfMemory"),
    ]


@dataclass
class Root:
    path: Path

    @property
    def config_path(self) -> Path:
        return self.path / "alser.toml"

    def app(self, **kwargs: Any) -> AlserApp:
        kwargs.setdefault("steady", True)
        return AlserApp(load_config(self.config_path), **kwargs)

    def append(self, name: str, lines: list[str]) -> None:
        with (self.path / "logs" / name).open("a", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in lines))


async def wait_for(pilot: Pilot[Any], cond: Callable[[], bool], timeout: float = 10.0) -> None:
    """Let the app run until ``cond()`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await pilot.pause(0.02)


async def settle(pilot: Pilot[Any]) -> None:
    app = pilot.app
    assert isinstance(app, AlserApp)
    await wait_for(pilot, lambda: app.settled)
    await pilot.pause()


def plain(cell: Any) -> str:
    return cell.plain if isinstance(cell, Text) else str(cell)


def rows_of(table: KeyedTable) -> list[list[str]]:
    """What a table shows, top to bottom, as plain strings."""
    return [[plain(c) for c in table.get_row(key)] for key in table.keys]


def text_of(widget: Static | StatusLine) -> str:
    if isinstance(widget, StatusLine):
        return widget.plain
    return plain(widget.content)
