"""The main console: parser list, the selected parser's scope and top-N, alarms, status."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, ClassVar, cast

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer

from alser_tui.ui.model import ConsoleModel
from alser_tui.ui.query import Scope, build_scope
from alser_tui.ui.screens.drill import DrillScreen
from alser_tui.ui.text import clock, group_key
from alser_tui.ui.widgets.alarm_list import AlarmList
from alser_tui.ui.widgets.alarm_strip import AlarmStrip
from alser_tui.ui.widgets.group_table import GroupTable
from alser_tui.ui.widgets.parser_list import ParserList, digit_of
from alser_tui.ui.widgets.scope_header import ScopeHeader
from alser_tui.ui.widgets.status_line import StatusLine
from alser_tui.ui.widgets.top_bar import TopBar
from alser_tui.ui.widgets.window_histogram import WindowHistogram

if TYPE_CHECKING:
    from alser_tui.ui.app import AlserApp

NARROW_BELOW = 120  # columns


class MainScreen(Screen[None]):
    CSS_PATH = "main.tcss"
    AUTO_FOCUS = "GroupTable"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_pause", "Pause", id="pause"),
        Binding("escape", "live", "Live", show=False, id="live"),
        *(
            Binding(digit_of(i), f"jump({i})", f"Parser {i + 1}", show=False, id=f"jump-{i}")
            for i in range(10)
        ),
    ]

    def __init__(self, model: ConsoleModel, title: str) -> None:
        super().__init__()
        self.model = model
        self._title = title
        enabled = [p.id for p in model.config.parsers if p.enabled] or list(model.parsers)
        self.selected: str = enabled[0] if enabled else ""
        self.window: int | None = None  # None: follow the newest window
        self.paused = False
        self._paused_parsed = 0
        self.scope: Scope | None = None
        self._scope_request = 0
        self._cursor_by_parser: dict[str, str] = {}

    @property
    def alser(self) -> AlserApp:
        return cast("AlserApp", self.app)

    def compose(self) -> ComposeResult:
        yield TopBar(self._title)
        yield AlarmStrip()
        with Horizontal(id="body"):
            yield ParserList()
            with Vertical(id="scope"):
                yield ScopeHeader()
                yield WindowHistogram()
                yield GroupTable()
        yield AlarmList()
        yield StatusLine()
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one(ParserList).border_title = "parsers"
        self.query_one(AlarmList).border_title = "alarms"
        self._set_narrow(self.app.size.width < NARROW_BELOW)
        self.query_one(ParserList).select_key(self.selected)
        self.render_all()
        self.alser.start_background()

    def on_resize(self, event: events.Resize) -> None:
        narrow = event.size.width < NARROW_BELOW
        if narrow != self.has_class("-narrow"):
            self._set_narrow(narrow)
            self.query_one(ParserList).show(self.model)

    def _set_narrow(self, narrow: bool) -> None:
        self.set_class(narrow, "-narrow")
        self.query_one(ParserList).set_narrow(narrow)

    # ------------------------------------------------------------------ refresh

    def render_all(self) -> None:
        self.tick({"alarms", "parsers", "stats"})

    def tick(self, dirty: set[str]) -> None:
        """Called by the app's refresh timer with what changed since the last tick."""
        model = self.model
        if "alarms" in dirty:
            self.refresh_alarms()
        if "parsers" in dirty and not self.paused:
            self.query_one(ParserList).show(model)
            if self.selected:
                self._show_header()
        self.query_one(StatusLine).show(model, steady=self.alser.steady)
        self._show_view_state()
        if not self.paused:
            self.request_scope()

    def refresh_alarms(self) -> None:
        self.query_one(AlarmStrip).show(self.model, self.alser.muted)
        self.query_one(AlarmList).show(self.model)

    def _show_view_state(self) -> None:
        bar = self.query_one(TopBar)
        if not self.model.opened:
            bar.show_view("starting…", "idle")
        elif self.window is not None:
            extra = " · PAUSED" if self.paused else ""
            bar.show_view(f"◀ WINDOW {clock(self.window)}{extra} · esc: live", "past")
        elif self.paused:
            new = self.model.parsers[self.selected].parsed - self._paused_parsed
            bar.show_view(f"PAUSED · {max(new, 0):,} new", "paused")
        elif self.alser.history:
            done = " · end" if self.model.finished is not None else ""
            bar.show_view(f"REPLAY{done}", "live")
        else:
            bar.show_view("LIVE", "live")

    def _show_header(self) -> None:
        p = self.model.parsers[self.selected].config
        self.query_one(ScopeHeader).show(p, self.scope, self.model.state_of(self.selected))

    # ------------------------------------------------------------------ the scope

    def request_scope(self, force: bool = False) -> None:
        if not self.model.opened or not self.selected or self.model.error:
            return
        if self.selected not in self.alser.engine.runs:
            return  # a disabled parser: nothing to query
        self._scope_request += 1
        self.alser.submit(
            "scope",
            partial(build_scope, self.alser.engine, self.selected, self.window),
            partial(self._apply_scope, self._scope_request, force),
        )

    def _apply_scope(self, request: int, force: bool, scope: Scope | BaseException) -> bool:
        if isinstance(scope, BaseException):
            self.log.error("scope query failed", scope)
            return False
        if request != self._scope_request or scope.parser != self.selected:
            return False  # the selection moved on since this was asked
        if self.paused and not force:
            return False
        self.scope = scope
        if scope.live:
            self.window = None
        p = self.model.parsers[self.selected].config
        rows = (
            self.model.mark_rows(self.selected, scope.start, scope.rows, scope.previous)
            if scope.start is not None
            else []
        )
        self.query_one(GroupTable).show(p, rows)
        self._show_header()
        self.query_one(WindowHistogram).show(scope)
        self._show_view_state()
        return True

    def select_parser(self, parser_id: str) -> None:
        if parser_id == self.selected or parser_id not in self.model.parsers:
            return
        table = self.query_one(GroupTable)
        if table.cursor_key is not None:
            self._cursor_by_parser[self.selected] = table.cursor_key
        self.selected = parser_id
        self.window = None
        self.scope = None
        self.query_one(ParserList).select_key(parser_id)
        table.show(self.model.parsers[parser_id].config, [])
        saved = self._cursor_by_parser.get(parser_id)
        if saved is not None:
            table.select_key(saved)
        self._show_header()
        self.query_one(WindowHistogram).show(None)
        self._paused_parsed = self.model.parsers[parser_id].parsed
        self.request_scope(force=True)

    # ------------------------------------------------------------------ actions

    def action_step_window(self, delta: int) -> None:
        scope = self.scope
        if scope is None or not scope.windows:
            return
        starts = [s for s, _t in scope.windows]
        current = self.window if self.window is not None else scope.start or starts[-1]
        if delta < 0:
            older = [s for s in starts if s < current]
            if not older:
                return
            self.window = older[-1]
        else:
            newer = [s for s in starts if s > current]
            if not newer:
                return
            self.window = None if newer[0] >= starts[-1] else newer[0]
        self._show_view_state()
        self.request_scope(force=True)

    def action_live(self) -> None:
        self.paused = False
        self.window = None
        self._show_view_state()
        self.request_scope(force=True)

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        if self.paused:
            self._paused_parsed = self.model.parsers[self.selected].parsed
        else:
            self.query_one(ParserList).show(self.model)
            self.request_scope(force=True)
        self._show_view_state()

    def action_jump(self, index: int) -> None:
        ids = list(self.model.parsers)
        if 0 <= index < len(ids):
            self.select_parser(ids[index])

    # ------------------------------------------------------------------ messages

    @on(DataTable.RowHighlighted, "ParserList")
    def _parser_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is not None:
            self.select_parser(str(event.row_key.value))

    @on(ParserList.Opened)
    def _parser_opened(self) -> None:
        self.query_one(GroupTable).focus()

    @on(GroupTable.Drill)
    def _drill(self, message: GroupTable.Drill) -> None:
        scope = self.scope
        if scope is None or scope.start is None or scope.end is None:
            return
        row = next((r for r in scope.rows if group_key(r.group) == message.key), None)
        if row is None:
            return
        p = self.model.parsers[scope.parser].config
        # Only a live engine's newest window still grows: follow it.
        live = scope.live and not self.alser.history and self.model.finished is None
        self.app.push_screen(DrillScreen(p, scope.start, scope.end, row.group, live=live))

    @on(AlarmList.Open)
    def _open_alarm(self, message: AlarmList.Open) -> None:
        entry = self.model.alarm(message.seq)
        if entry is None or entry.alarm.parser not in self.model.parsers:
            return
        a = entry.alarm
        p = self.model.parsers[a.parser].config
        # Instant alarms carry the whole row: keep the fields the table groups by.
        group = {k: a.group[k] for k in p.group_by if k in a.group}
        self.select_parser(a.parser)
        self.window = a.start
        table = self.query_one(GroupTable)
        table.select_key(group_key(group))
        table.focus()
        self._show_view_state()
        self.request_scope(force=True)

    @on(AlarmList.Ack)
    def _ack(self, message: AlarmList.Ack) -> None:
        if message.seq is None:
            self.model.ack_all()
        else:
            self.model.ack(message.seq)
        self.refresh_alarms()
