"""The main console: parser list, the selected parser's scope and top-N, alarms, status."""

from __future__ import annotations

from collections import OrderedDict
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.timer import Timer

from alser_tui.engine.alarms import CONDITION_KINDS, DROPPED, INSTANT
from alser_tui.ui.model import ConsoleModel, MarkedRow, source_trouble
from alser_tui.ui.query import FIRST_PAGE, Scope, build_scope, fetch_events
from alser_tui.ui.text import clock, group_key
from alser_tui.ui.widgets.alarm_list import AlarmList
from alser_tui.ui.widgets.alarm_strip import AlarmStrip
from alser_tui.ui.widgets.group_table import GroupTable
from alser_tui.ui.widgets.key_bar import KeyBar
from alser_tui.ui.widgets.keyed_table import KeyedTable
from alser_tui.ui.widgets.parser_list import ParserList, digit_of
from alser_tui.ui.widgets.scope_header import ScopeHeader
from alser_tui.ui.widgets.status_line import StatusLine
from alser_tui.ui.widgets.toast_shelf import ToastShelf
from alser_tui.ui.widgets.top_bar import TopBar
from alser_tui.ui.widgets.window_histogram import WindowHistogram

if TYPE_CHECKING:
    from alser_tui.ui.app import AlserApp

NARROW_BELOW = 120  # columns
SLOW_EVERY = 4  # ticks between repaints of the parser list and the alarm list
SLOW_PANES = frozenset({"alarms", "parsers"})
SCOPE_MEMORY = 32
SCOPE_EVERY = 2  # ticks between reads of the selected table
PREFETCH_REST = 0.08  # seconds the cursor rests on a row before its lines are read ahead


class MainScreen(Screen[None]):
    CSS_PATH = "main.tcss"
    AUTO_FOCUS = "GroupTable"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_pause", "Pause", id="pause"),
        Binding("escape", "live", "Live", show=False, id="live"),
        Binding("e", "next_firing(1)", "Next firing parser", show=False, id="next-firing"),
        Binding("E", "next_firing(-1)", "Previous firing parser", show=False, id="prev-firing"),
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
        self._events_timer: Timer | None = None
        self._cursor_by_parser: dict[str, str] = {}
        # An alarm's group to show in its window even outside the top N: (parser, start,
        # group, the alarm's amount).
        self.pin: tuple[str, int, dict[str, Any], float] | None = None
        self._ticks = 0
        self._slow: set[str] = set()  # slow panes' changes not shown yet
        # Scopes shown lately, by (parser, window start or None for live): stepping back to
        # one shows it at once while its query runs. None: a prefetch is under way.
        self._scopes: OrderedDict[tuple[str, int | None], Scope | None] = OrderedDict()

    @property
    def pending(self) -> bool:
        """Changes wait for the next once-a-second repaint."""
        return bool(self._slow)

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
        yield ToastShelf()
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one(ParserList).border_title = "parsers"
        self._set_narrow(self.app.size.width < NARROW_BELOW)
        self.query_one(ParserList).select_key(self.selected)
        self.render_all()
        self.alser.start_background()

    def on_screen_resume(self) -> None:
        # Back from the drill-down: first the frame as it was left (its tables' renders
        # are cached, so it paints at once), then what changed meanwhile.
        self.call_after_refresh(self.alser.main_resumed)

    def on_resize(self, event: events.Resize) -> None:
        narrow = event.size.width < NARROW_BELOW
        if narrow != self.has_class("-narrow"):
            self._set_narrow(narrow)
            self.query_one(ParserList).show(self.model)
            self.request_scope(force=True)

    def _set_narrow(self, narrow: bool) -> None:
        self.set_class(narrow, "-narrow")
        self.query_one(ParserList).set_narrow(narrow)
        self.query_one(GroupTable).set_narrow(narrow)

    # ------------------------------------------------------------------ refresh

    def render_all(self) -> None:
        self.tick({"alarms", "parsers", "stats"})

    def tick(self, dirty: set[str]) -> None:
        """Called by the app's refresh timer with what changed since the last tick."""
        model = self.model
        self._ticks += 1
        # The parser list and the alarm list repaint once a second while lines flow (each
        # repaint of a table costs tens of ms of the UI thread); the strip, the status and
        # the selected table keep the full rate. Keys and acks repaint them at once.
        self._slow |= dirty & SLOW_PANES
        now = self._ticks % SLOW_EVERY == 0 or model.finished is not None or not model.opened
        if "alarms" in dirty:
            self.query_one(AlarmStrip).show(self.model, self.alser.muted)
        if now and "alarms" in self._slow:
            self.query_one(AlarmList).show(self.model)
        if now and "parsers" in self._slow and not self.paused:
            self.query_one(ParserList).show(model)
        if now:
            self._slow.clear()
        if ("parsers" in dirty or "stats" in dirty) and not self.paused and self.selected:
            self._show_header()
        if "stats" in dirty or "alarms" in dirty:
            app = self.alser
            self.query_one(StatusLine).show(
                model,
                steady=app.steady,
                muted=app.muted,
                desktop=app.desktop.state(),
                link=app.link_words(),
            )
        self._show_view_state()
        # The table follows the open window twice a second (each repaint of it is the
        # console's biggest cost); keys ask for it at once, outside this rhythm.
        if not self.paused and (self._ticks % SCOPE_EVERY == 0 or model.finished is not None):
            self.request_scope(follow=True)

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
        elif trouble := source_trouble(self.model):
            bar.show_view(f"LIVE · {trouble}", "trouble")  # never a green LIVE then
        else:
            bar.show_view("LIVE", "live")

    def _show_header(self) -> None:
        view = self.model.parsers[self.selected]
        state = self.model.state_of(self.selected)
        self.query_one(ScopeHeader).show(view.config, self.scope, state, view)

    # ------------------------------------------------------------------ the scope

    def request_scope(self, force: bool = False, *, follow: bool = False) -> None:
        """Ask for the selected parser's table. ``follow``: the timer keeping the live table
        current; it queues with the other periodic reads, so a key's query (the lines behind
        a row, another window) never waits behind it."""
        if not self.model.opened or not self.selected or self.model.error:
            return
        engine = self.alser.engine
        if engine is None or self.selected not in engine.runs:
            return
        pin = self.pin
        pinned = pin[1:3] if pin is not None and pin[0] == self.selected else None
        self._scope_request += 1
        self.alser.submit(
            "scope-follow" if follow else "scope",
            partial(build_scope, engine, self.selected, self.window, pinned),
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
        self._remember(scope)
        self._show_scope(scope)
        if scope.live:
            self._prefetch(scope)
        return True

    def _remember(self, scope: Scope) -> None:
        key = (scope.parser, None if scope.live else scope.start)
        self._scopes[key] = scope
        self._scopes.move_to_end(key)
        while len(self._scopes) > SCOPE_MEMORY:
            self._scopes.popitem(last=False)

    def _prefetch(self, live: Scope) -> None:
        """Read the window before the live one while nothing else is asked: ← then shows
        it at once (a closed window does not change)."""
        if len(live.windows) < 2 or self.alser.engine is None:
            return
        before = live.windows[-2][0]
        if (live.parser, before) in self._scopes:
            return
        self._scopes[(live.parser, before)] = None  # asked once
        self.alser.submit(
            "prefetch",
            partial(build_scope, self.alser.engine, live.parser, before),
            self._prefetched,
        )

    def _prefetched(self, scope: Scope | BaseException) -> bool:
        if isinstance(scope, Scope) and scope.start is not None and not scope.live:
            self._remember(scope)
        return True

    def _show_remembered(self) -> None:
        """What this window showed last time, until the query for it answers."""
        scope = self._scopes.get((self.selected, self.window))
        if scope is not None and (self.pin is None or self.pin[0] != self.selected):
            self._show_scope(scope)

    def _show_scope(self, scope: Scope) -> None:
        self.scope = scope
        if scope.live:
            self.window = None
        p = self.model.parsers[self.selected].config
        rows = (
            self.model.mark_rows(self.selected, scope.start, scope.rows, scope.previous)
            if scope.start is not None
            else []
        )
        rows += self._pinned_row(scope, rows)
        self.query_one(GroupTable).show(p, rows)
        self._show_header()
        self.query_one(WindowHistogram).show(scope)
        self._show_view_state()
        self._prefetch_events_soon()

    def _pinned_row(self, scope: Scope, rows: list[MarkedRow]) -> list[MarkedRow]:
        """The alarm's group when the top N leaves it out: its own row, marked so."""
        pin = self.pin
        if pin is None or pin[:2] != (scope.parser, scope.start):
            return []
        _parser, _start, group, alarm_amount = pin
        key = group_key(group)
        if any(r.key == key for r in rows):
            return []
        amount = scope.pinned.amount if scope.pinned is not None else alarm_amount
        silenced = self.model.group_silence(scope.parser, group) is not None
        return [MarkedRow(key, amount, group, False, False, None, silenced, pinned=True)]

    def select_parser(self, parser_id: str) -> None:
        if parser_id == self.selected or parser_id not in self.model.parsers:
            return
        self.pin = None
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
        self._show_remembered()
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
        self._show_remembered()
        self.request_scope(force=True)

    def action_live(self) -> None:
        self.paused = False
        self.window = None
        self.pin = None
        self._show_view_state()
        self._show_remembered()
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

    def action_next_firing(self, step: int) -> None:
        """``e`` / ``E``: the next (previous) parser, in list order and round, whose alarms
        fire and are not silenced."""
        firing = {e.alarm.parser for e in self.model.firing() if not e.silenced}
        ids = list(self.model.parsers)
        if not firing or not ids:
            self.alser.toast("no parser has firing alarms", timeout=2)
            return
        here = ids.index(self.selected) if self.selected in ids else -1
        for n in range(1, len(ids) + 1):
            pid = ids[(here + step * n) % len(ids)]
            if pid in firing:
                if pid == self.selected:
                    self.alser.toast("no other parser has firing alarms", timeout=2)
                self.select_parser(pid)
                return

    def action_drill(self) -> None:
        self.query_one(GroupTable).action_drill()

    def action_silence_selected(self) -> None:
        self.query_one(GroupTable).action_silence()

    def action_ack_selected(self) -> None:
        self.query_one(AlarmList).action_ack()

    def action_focus_alarms(self) -> None:
        self.query_one(AlarmList).focus()

    # ------------------------------------------------------------------ messages

    @on(KeyedTable.RowHighlighted, "ParserList")
    def _parser_highlighted(self, event: KeyedTable.RowHighlighted) -> None:
        self.select_parser(event.key)

    @on(ParserList.Opened)
    def _parser_opened(self) -> None:
        self.query_one(GroupTable).focus()

    def _group_of(self, key: str) -> dict[str, Any] | None:
        scope = self.scope
        if scope is None:
            return None
        row = next((r for r in scope.rows if group_key(r.group) == key), None)
        if row is not None:
            return row.group
        pin = self.pin
        if pin is not None and group_key(pin[2]) == key:
            return pin[2]
        return None

    # ------------------------------------------------------------------ lines ahead of enter

    @on(KeyedTable.RowHighlighted, "GroupTable")
    def _group_highlighted(self) -> None:
        self._prefetch_events_soon()

    def _prefetch_events_soon(self) -> None:
        """Read the first page of the lines behind the row under the cursor once it rests
        there: ``enter`` then shows them at once instead of waiting for a query that scans
        the window (tens of ms while lines pour in)."""
        if self._events_timer is not None:
            self._events_timer.stop()
        self._events_timer = self.set_timer(PREFETCH_REST, self._prefetch_events)

    def _prefetch_events(self) -> None:
        self._events_timer = None
        scope, engine = self.scope, self.alser.engine
        key = self.query_one(GroupTable).cursor_key
        if scope is None or scope.start is None or scope.end is None or engine is None:
            return
        group = self._group_of(key) if key is not None else None
        if group is None:
            return
        target = (scope.parser, scope.start, scope.end, group_key(group))
        if self.alser.prefetched_events(target) is not None:
            return  # still fresh
        self.alser.submit(
            "prefetch-events",
            partial(
                fetch_events, engine, scope.parser, scope.start, scope.end, group,
                limit=FIRST_PAGE,
            ),
            partial(self.alser.keep_prefetched_events, target),
        )  # fmt: skip

    @on(GroupTable.Drill)
    def _drill(self, message: GroupTable.Drill) -> None:
        scope = self.scope
        if scope is None or scope.start is None or scope.end is None:
            return
        group = self._group_of(message.key)
        if group is None:
            return
        p = self.model.parsers[scope.parser].config
        # Only a live engine's newest window still grows: follow it.
        live = scope.live and not self.alser.history and self.model.finished is None
        self.alser.open_drill(p, scope.start, scope.end, group, live=live)

    @on(GroupTable.Silence)
    def _silence_row(self, message: GroupTable.Silence) -> None:
        group = self._group_of(message.key)
        if group is not None and self.scope is not None:
            self.alser.ask_silence(self.scope.parser, group)

    @on(AlarmList.Silence)
    def _silence_alarm(self, message: AlarmList.Silence) -> None:
        entry = self.model.alarm(message.seq)
        if entry is None or entry.alarm.parser not in self.model.parsers:
            return
        a = entry.alarm
        p = self.model.parsers[a.parser].config
        if a.kind in CONDITION_KINDS:  # its group names the guard, no column
            self.alser.ask_silence(a.parser, dict(a.group))
            return
        self.alser.ask_silence(a.parser, {k: a.group[k] for k in p.group_by if k in a.group})

    @on(AlarmList.Open)
    def _open_alarm(self, message: AlarmList.Open) -> None:
        entry = self.model.alarm(message.seq)
        if entry is None or entry.alarm.parser not in self.model.parsers:
            return
        a = entry.alarm
        if a.kind in CONDITION_KINDS:
            # A silent guard has no window to show: its sources do (last line, note).
            self.alser.action_sources()
            return
        p = self.model.parsers[a.parser].config
        # Instant alarms carry the whole row: keep the fields the table groups by.
        group = {k: a.group[k] for k in p.group_by if k in a.group}
        if a.kind in (INSTANT, DROPPED):
            # One event (or one statistics line) of its own, which the parser's `where`
            # may keep out of every window's rows: straight to it.
            self.alser.open_drill(p, a.start, a.end, group, live=False, alarm=a)
            return
        self.select_parser(a.parser)
        self.window = a.start
        self.pin = (a.parser, a.start, group, a.amount)
        table = self.query_one(GroupTable)
        table.select_key(group_key(group))
        table.focus()
        self._show_view_state()
        self.request_scope(force=True)

    @on(AlarmList.Ack)
    def _ack(self, message: AlarmList.Ack) -> None:
        self.alser.ack(message.seq)
