"""The console's parts on their own: text helpers, themes, the model, the keyed table."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import App, ComposeResult

from alser_tui.engine.alarms import Alarm, RowMarks
from alser_tui.engine.config import Config, ParserConfig
from alser_tui.engine.events import Finished, ParserStats, ShownRow, Stats, WindowClosed
from alser_tui.ui import model
from alser_tui.ui.model import ConsoleModel, ParserState
from alser_tui.ui.text import bar_levels, log_text, parser_style, sparkline
from alser_tui.ui.themes import THEME_ORDER, load_themes
from alser_tui.ui.widgets.keyed_table import KeyedTable


def test_sparkline_scales_between_min_and_max() -> None:
    assert sparkline([100, 100, 100], 5) == "▄▄▄"
    assert sparkline([100, 100, 200, 100], 5) == "▁▁█▁"
    assert sparkline(list(range(20)), 4) == "▁▃▆█"
    assert bar_levels([]) == [] and sparkline([0, 0], 3) == "▁▁"


def test_log_text_is_cleaned_literal_and_cut() -> None:
    t = log_text("\x1b[1mx\x1b[0m [red]y[/red]\ttab")
    assert t.plain == "␛[1mx␛[0m [red]y[/red] tab" and not t.spans
    assert log_text("abcdefgh", 5).plain == "abcd…"
    assert log_text(None).plain == ""


def test_parser_style_ignores_unknown_words() -> None:
    style = parser_style(["yellow", "no-such-colour", "bold"])
    assert style.bold and style.color is not None and style.color.name == "yellow"


def test_themes_load_from_files_and_bad_files_only_warn(tmp_path: Path) -> None:
    (tmp_path / "dark.toml").write_text('name = "dark"\nprimary = "#123456"\n')
    (tmp_path / "broken.toml").write_text("name = [\n")
    (tmp_path / "odd.toml").write_text('name = "odd"\nprimary = "#000"\nsparkle = 1\n')
    (tmp_path / "badcolour.toml").write_text('name = "bad"\nprimary = "not a colour"\n')
    themes, warnings = load_themes([tmp_path])
    assert [t.name for t in themes] == ["ansi", "dark"]
    text = "\n".join(warnings)
    assert "broken.toml" in text and "sparkle" in text and "badcolour.toml" in text
    assert "'light' missing" in text and "'high-contrast' missing" in text
    themes, warnings = load_themes([tmp_path / "absent"])
    assert [t.name for t in themes] == ["ansi"] and "no themes/" in warnings[0]


def test_shipped_themes_all_load() -> None:
    themes, warnings = load_themes()
    assert [t.name for t in themes] == list(THEME_ORDER) and warnings == []


def _model() -> ConsoleModel:
    p = ParserConfig(id="P", kind="regex", window=10, group_by=("k",), beep_threshold=5)
    return ConsoleModel(Config(path="x.toml", parsers=(p,)))


def _stats(t: float, parsed: int, rejected: int) -> Stats:
    return Stats(t, "live", 0, 0.0, 0, 0, {"P": ParserStats(parsed, 0, rejected)}, (), 0, False)


def test_rejecting_needs_a_share_of_recent_lines() -> None:
    m = _model()
    m.apply(_stats(0, 0, 0))
    m.apply(_stats(1, 1000, 2))  # 0.2%: a few torn lines are normal
    assert m.state_of("P") is ParserState.QUIET
    m.apply(_stats(1.5, 1010, 4))  # 2 of 12 new lines, but only two lines: noise
    assert m.state_of("P") is ParserState.QUIET
    m.apply(_stats(2, 1100, 40))
    assert m.state_of("P") is ParserState.REJECTING
    for t in range(3, 40):
        m.apply(_stats(t, 1100 + 100 * t, 40))  # no new rejects for 30 s: quiet again
    assert m.state_of("P") is ParserState.QUIET
    m.apply(Finished(_stats(41, 5000, 60)))  # a replay is judged as a whole
    assert m.state_of("P") is ParserState.REJECTING


def test_firing_is_the_newest_window_and_acks_count() -> None:
    m = _model()

    def alarm(start: int) -> Alarm:
        return Alarm("P", "threshold", 6, 6, {"k": "a"}, start, start + 10, start, "P 6 a")

    def window(start: int, amount: int) -> WindowClosed:
        marks = RowMarks(threshold=amount >= 5)
        row = ShownRow(amount, {"k": "a"}, f"{amount} a", marks)
        return WindowClosed("P", start, start + 10, amount, 1, (row,))

    from alser_tui.engine.events import AlarmRaised

    m.apply(window(0, 6))
    assert m.apply(AlarmRaised(alarm(0))) == 1
    assert len(m.firing()) == 1 and m.state_of("P") is ParserState.OVER
    m.apply(window(10, 1))
    assert m.firing() == [] and m.unacked() == 1 and m.state_of("P") is ParserState.QUIET
    assert m.ack(1) and not m.ack(1) and m.unacked() == 0


def test_every_history_of_the_model_is_bounded() -> None:
    """Hours of a busy site in one go: the model keeps what the screens can show, no more
    (the console's RSS must level off: bench/console_soak.py)."""
    from alser_tui.engine.events import AlarmRaised
    from alser_tui.ui.query import HISTOGRAM_WINDOWS
    from alser_tui.ui.widgets.alarm_list import SHOW_MAX

    m = _model()
    for w in range(1000):
        start = w * 10
        rows = tuple(
            ShownRow(6, {"k": f"g{w}-{i}"}, "", RowMarks(threshold=True)) for i in range(10)
        )
        m.apply(WindowClosed("P", start, start + 10, 60, 10, rows))
        for r in rows:
            m.apply(
                AlarmRaised(Alarm("P", "threshold", 6, 6, r.group, start, start + 10, start, ""))
            )
    v = m.parsers["P"]
    assert len(v.marks) == HISTOGRAM_WINDOWS  # the windows <- can step back to
    assert len(v.totals) == model.MAX_WINDOWS and len(v.memory) == model.MAX_MEMORY
    assert len(m.alarms) == model.MAX_ALARMS <= 2 * SHOW_MAX


class _TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield KeyedTable(id="t")


def _rows(keys: list[str]) -> list[tuple[str, list[str | Text]]]:
    return [(k, [k, f"value {k}"]) for k in keys]


async def test_keyed_table_keeps_the_cursor_row_through_changes() -> None:
    app = _TableApp()
    async with app.run_test() as pilot:
        t = app.query_one("#t", KeyedTable)
        t.set_columns([("key", "k"), ("value", "v")])
        t.sync(_rows(["a", "b", "c"]))
        await pilot.pause()
        t.sync(_rows(["b", "a", "c"]))  # nobody chose a row yet: the cursor stays on top
        assert t.cursor_key == "b" and not t.chosen
        t.sync(_rows(["a", "b", "c"]))
        t.move_cursor(row=1)
        t.sync(_rows(["c", "a", "d", "b"]))  # re-sorted, one added
        assert t.keys == ["c", "a", "d", "b"] and t.cursor_key == "b"
        t.sync(_rows(["b", "d"]))  # some removed
        assert t.keys == ["b", "d"] and t.cursor_key == "b" and t.cursor_row == 0
        t.sync([("d", ["d", "changed"]), ("b", ["b", "value b"])])
        assert t.get_row("d")[1] == "changed" and t.cursor_key == "b"
        t.select_key("x")  # not there yet: taken on the sync that brings it
        t.sync(_rows(["b", "d", "x"]))
        assert t.cursor_key == "x"
        # A click puts the cursor on the row under it (the header is line 0).
        await pilot.click("#t", offset=(2, 2))
        assert t.cursor_row == 1 and t.cursor_key == t.keys[1] and t.chosen
