"""The sources screen (``o``): every followed file with its position, lag, rate and last
line, the unguarded files of the watched folders, the warnings; over a live engine."""

from __future__ import annotations

import os
import re
from collections import deque
from pathlib import Path
from typing import Any

from console_support import T0, Root, err, php, rows_of, wait_for
from textual.binding import Binding

from alser_tui.engine.events import FileStats, Stats
from alser_tui.ui.model import ConsoleModel, source_keys
from alser_tui.ui.screens.sources import SourcesScreen
from alser_tui.ui.widgets.keyed_table import KeyedTable
from alser_tui.ui.widgets.source_table import (
    SourceTable,
    ago_words,
    cut_left,
    shown_path,
    skew_words,
)
from alser_tui.ui.widgets.status_line import size_words
from alser_tui.ui.widgets.unguarded_table import UnguardedTable

SIZE = (160, 45)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def real(path: Path) -> str:
    return os.path.realpath(path)


def by_key(table: KeyedTable) -> dict[str, list[str]]:
    return dict(zip(table.keys, rows_of(table), strict=True))


def lines_of(table: KeyedTable, key: str) -> str:
    return by_key(table).get(key, [""] * 5)[4]


async def open_sources(pilot: Any) -> SourcesScreen:
    await pilot.press("o")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, SourcesScreen))
    return pilot.app.screen  # type: ignore[no-any-return]


async def test_followed_files_show_position_lines_and_unguarded_ones(root: Root) -> None:
    app = root.app(clock=Clock(T0 + 1), stats_interval=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.model.opened)
        root.append("php.1.log", [php("us", T0 + 1, "A")] * 5)
        root.append("err.1.log", [err("us", T0 + 1, "DbError")] * 2)
        (root.path / "logs" / "nginx.access.log").write_text("GET / 200\n")
        screen = await open_sources(pilot)
        table = screen.query_one(SourceTable)
        php_path, err_path = real(root.path / "logs/php.1.log"), real(root.path / "logs/err.1.log")
        await wait_for(pilot, lambda: lines_of(table, php_path) == "5")
        await wait_for(pilot, lambda: lines_of(table, err_path) == "2")
        assert table.keys == [php_path, err_path]  # the engine's order, keyed by path
        php_size = Path(php_path).stat().st_size
        stats = {f.path: f for f in app.model.stats.files}  # type: ignore[union-attr]
        assert (stats[php_path].offset, stats[php_path].lines) == (php_size, 5)
        # The path as the config names it; read and size in human units; nothing behind;
        # steady mode hides the rate and how long ago.
        source, read, size, behind, lines, rate, last, note = by_key(table)[php_path]
        assert (source, read, size, behind, lines) == (
            "logs/php.1.log",
            size_words(php_size),
            size_words(php_size),
            "0 B",
            "5",
        )
        assert (rate, last, note) == ("–", "–", "")
        unguarded = screen.query_one(UnguardedTable)
        nginx = real(root.path / "logs" / "nginx.access.log")
        await wait_for(pilot, lambda: unguarded.keys == [nginx])
        assert rows_of(unguarded) == [["logs/nginx.access.log"]]
        assert "1 file" in str(unguarded.border_title)
        # Live: the rows follow the files, the cursor stays on its row.
        await pilot.press("j")
        assert table.cursor_key == err_path
        root.append("php.1.log", [php("us", T0 + 2, "B")] * 3)
        await wait_for(pilot, lambda: lines_of(table, php_path) == "8")
        assert table.cursor_key == err_path
        await pilot.press("escape")
        assert app.screen is app.main


async def test_rates_and_last_line_show_when_not_steady(root: Root) -> None:
    app = root.app(clock=Clock(T0 + 1), stats_interval=0.05, steady=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.model.opened)
        screen = await open_sources(pilot)
        table = screen.query_one(SourceTable)
        php_path = real(root.path / "logs/php.1.log")
        await wait_for(pilot, lambda: php_path in table.keys)
        assert by_key(table)[php_path][6] == "never"
        for i in range(6):
            root.append("php.1.log", [php("us", T0 + 1, f"m{i}")] * 10)
            await pilot.pause(0.1)
        await wait_for(pilot, lambda: lines_of(table, php_path) == "60")
        row = by_key(table)[php_path]
        assert float(row[5]) > 0  # lines/s from the snapshots
        assert row[6] == "now" or re.fullmatch(r"\d+s ago", row[6])


async def test_long_paths_keep_their_file_name_at_80x24(root: Root) -> None:
    long_name = "php." + "server-in-a-rack-far-away-" * 3 + "web01.log"
    (root.path / "logs" / long_name).write_text("")
    app = root.app(clock=Clock(T0 + 1), stats_interval=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.model.opened)
        screen = await open_sources(pilot)
        table = screen.query_one(SourceTable)
        key = real(root.path / "logs" / long_name)
        await wait_for(pilot, lambda: key in table.keys)
        await pilot.pause(0.2)
        shown = by_key(table)[key][0]
        assert shown.startswith("…") and shown.endswith("-web01.log")
        assert by_key(table)[real(root.path / "logs/php.1.log")][0] == "logs/php.1.log"


async def test_the_key_the_help_and_the_palette(root: Root) -> None:
    app = root.app(history=True)
    async with app.run_test(size=SIZE) as pilot:
        assert any(c.name == "sources" for c in app.palette_commands())
        keys = [
            (where, b.key)
            for where, bindings in app.help_sections()
            for b in bindings
            if isinstance(b, Binding)
        ]
        assert ("anywhere", "o") in keys and ("sources", "escape") in keys
        screen = await open_sources(pilot)
        await wait_for(pilot, lambda: app.model.stats is not None)
        await pilot.pause(0.3)
        # A replay follows nothing live: the screen says so rather than showing nothing.
        assert screen.query_one(SourceTable).keys == []
        assert "replay" in str(screen.query_one("#sources-title").content)  # type: ignore[attr-defined]
        await pilot.press("o")  # already open: nothing stacks
        assert len(app.screen_stack) == 2
        await pilot.press("escape")
        assert app.screen is app.main


# ---------------------------------------------------------------------- parts


def test_cut_left_keeps_the_end() -> None:
    assert cut_left("logs/php.1.log", 20) == "logs/php.1.log"
    assert cut_left("/var/log/servers/web01/php.1.log", 12) == "…1/php.1.log"
    assert cut_left("/logs/日本語.log", 8) == "…語.log"  # wide characters count double
    assert cut_left("abc", 0) == ""


def test_shown_path_skew_and_ago_words() -> None:
    assert shown_path("/etc/alser/logs/a.log", "/etc/alser") == "logs/a.log"
    assert shown_path("/data/als/a.log", "/etc/alser") == "/data/als/a.log"
    assert shown_path("/etc/alserx/a.log", "/etc/alser") == "/etc/alserx/a.log"
    assert [skew_words(s) for s in (45, -300, -7200, 9000, 2 * 86400)] == [
        "skew +45s",
        "skew −5m",
        "skew −2h",
        "skew +2.5h",
        "skew +2d",
    ]
    now = 1_800_000_000.0
    assert [ago_words(now - a, now) for a in (0.2, 3, 125)] == ["now", "3s ago", "2m ago"]
    assert ago_words(0, now) == "never"
    assert ago_words(now - 7200, now) == "06:00:00"  # the zone is pinned to UTC


def _stats(files: tuple[FileStats, ...]) -> Stats:
    return Stats(0.0, "live", 0, 0.0, 0, 0, {}, files, 0, False)


def test_the_model_measures_lines_per_second_per_source(root: Root) -> None:
    from alser_tui.engine.config import load_config

    ticks: deque[float] = deque([0.0, 1.0, 2.0, 3.0, 9.0, 15.0])
    model = ConsoleModel(load_config(root.config_path), monotonic=ticks.popleft)
    for lines in (0, 10, 30):
        model.apply(_stats((FileStats("/a", 0, 0, lines), FileStats("/b", 0, 0, 5))))
    assert model.source_rates == {"/a": 15.0, "/b": 0.0}
    # A source that starts over (another file under the name) is measured anew.
    model.apply(_stats((FileStats("/a", 0, 0, 4),)))
    assert model.source_rates == {"/a": None}
    model.apply(_stats((FileStats("/a", 0, 0, 64),)))  # 60 lines in 6 s
    assert model.source_rates == {"/a": 10.0}
    model.apply(_stats((FileStats("/a", 0, 0, 184),)))  # the sample of t=3 drops out
    assert model.source_rates == {"/a": 20.0}


def test_sources_sharing_a_path_get_their_own_keys() -> None:
    files = [FileStats("tcp://:5140#1", 0, 0, 1), FileStats("tcp://:5140#1", 0, 0, 2)]
    assert source_keys(files) == ["tcp://:5140#1", "tcp://:5140#1\x002"]
