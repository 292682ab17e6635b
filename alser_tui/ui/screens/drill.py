"""The raw events behind one row: a breadcrumb and every event of the group in the window;
``/`` searches them, ``f`` filters them, ``enter`` shows one whole."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Input, Static

from alser_tui.engine.config import ParserConfig
from alser_tui.sanitize import clean
from alser_tui.ui.model import alarm_kind_word
from alser_tui.ui.query import EVENTS_LIMIT, FIRST_PAGE, Events, fetch_alarm_events, fetch_events
from alser_tui.ui.screens.event import EventScreen
from alser_tui.ui.text import clock, group_key, group_words, parser_style, show, span
from alser_tui.ui.widgets.alarm_strip import AlarmStrip
from alser_tui.ui.widgets.event_table import EventTable
from alser_tui.ui.widgets.key_bar import KeyBar
from alser_tui.ui.widgets.toast_shelf import ToastShelf

if TYPE_CHECKING:
    from alser_tui.engine.alarms import Alarm
    from alser_tui.ui.app import AlserApp

FOLLOW_EVERY = 4  # ticks between reads of what a live window gained
FEED_EVERY = 0.03  # seconds between chunks of rows: keys get their turn in between
HINT = "/ search · f filter · enter: the event whole · s silence this group"
OPENERS = {"slash": "search", "f": "filter"}


class DrillScreen(Screen[None]):
    CSS_PATH = "drill.tcss"
    AUTO_FOCUS = "EventTable"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="back"),
        Binding("s", "silence", "Silence", id="silence-drill"),
    ]

    def __init__(
        self,
        p: ParserConfig,
        start: int,
        end: int,
        group: dict[str, Any],
        *,
        live: bool,
        alarm: Alarm | None = None,
    ) -> None:
        super().__init__()
        self.retarget(p, start, end, group, live=live, alarm=alarm)
        self._ticks = 0

    def retarget(
        self,
        p: ParserConfig,
        start: int,
        end: int,
        group: dict[str, Any],
        *,
        live: bool,
        alarm: Alarm | None = None,
    ) -> None:
        """Show another group's lines. The app keeps one drill-down screen and points it
        at each group in turn: building its widgets anew each time cost a key press ~50 ms.
        ``alarm``: an instant or dropped one, whose own event(s) are shown instead."""
        self.parser = p
        self.start = start
        self.end = end
        self.group = group
        self.live = live and alarm is None
        self.alarm = alarm
        self.events: Events | None = None
        self.asking: str = ""  # "search" or "filter" while the input is open
        self._generation = getattr(self, "_generation", 0) + 1
        self._fresh = True
        self._starved = False  # rows left to show while the screen was hidden
        if self.is_attached:
            self._begin()  # reused: ask for the lines now, while the screen switches

    @property
    def alser(self) -> AlserApp:
        return cast("AlserApp", self.app)

    @property
    def table(self) -> EventTable:
        return self.query_one(EventTable)

    def compose(self) -> ComposeResult:
        yield AlarmStrip()
        yield Static(id="breadcrumb")
        yield EventTable()
        yield Static(HINT, id="drill-bar")
        yield Input(id="drill-input")
        yield ToastShelf()
        yield KeyBar()

    def on_mount(self) -> None:
        self._begin()

    def on_screen_resume(self) -> None:
        if self._starved:
            self._starved = False
            self._feed()
        self._begin()  # pushed again for another group (not back from one event)

    def _begin(self) -> None:
        if not self._fresh:
            return
        self._fresh = False
        self._ticks = 0
        self.set_class(False, "-asking")
        self.query_one("#drill-input", Input).display = False
        self.table.setup(self.parser)
        self.set_focus(self.table)
        self._show_breadcrumb()
        self._show_bar()
        self.query_one(AlarmStrip).show(self.alser.model, self.alser.muted)
        self.request()

    def request(self) -> None:
        engine = self.alser.engine
        if engine is None:
            return
        if self.alarm is not None:
            if self.events is None:
                fetch_own = partial(fetch_alarm_events, engine, self.alarm, self.group)
                self.alser.submit("events", fetch_own, partial(self._apply, self._generation))
            return
        table = self.table
        held = len(table.events)
        if self.events is None:
            # The main screen read the first page while the cursor rested on the row.
            target = (self.parser.id, self.start, self.end, group_key(self.group))
            ready = self.alser.prefetched_events(target)
            if ready is not None and self._apply(self._generation, ready):
                return
        fetch = partial(fetch_events, engine, self.parser.id, self.start, self.end, self.group)
        if self.events is None:
            # A first page at once; the whole window (up to the limit) right after it.
            fetch = partial(fetch, limit=FIRST_PAGE)
        elif self.events.limited and not self.events.more and held < EVENTS_LIMIT:
            fetch = partial(fetch, limit=EVENTS_LIMIT)
        elif held:
            if held >= EVENTS_LIMIT:
                return  # the limit is reached: following stops there
            last = table.events[-1].get("ts")
            if last is None:
                return
            same = sum(1 for ev in reversed(table.events) if ev.get("ts") == last) if held else 0
            fetch = partial(fetch, limit=EVENTS_LIMIT - held, after=(int(last), same))
        self.alser.submit("events", fetch, partial(self._apply, self._generation))

    def _apply(self, generation: int, events: Events | BaseException) -> bool:
        if isinstance(events, BaseException):
            self.log.error("events query failed", events)
            return False
        if not self.is_attached or generation != self._generation:
            return False  # an answer for the group shown before
        first = self.events is None
        self.events = events
        table = self.table
        table.add_events(events.rows, more=events.more)
        self._feed()
        self._show_breadcrumb()
        self._show_bar()
        if first and events.limited:
            self.request()  # the rest of the window, now the first page is on screen
        return True

    def _feed(self, generation: int | None = None) -> None:
        if not self.is_attached or generation not in (None, self._generation):
            return  # pointed at another group since
        if self.app.screen is not self:
            self._starved = True  # hidden (gone back, or one event open): resume on return
            return
        if self.table.feed():
            self.set_timer(FEED_EVERY, partial(self._feed, self._generation))

    def tick(self, dirty: set[str]) -> None:
        """Called by the app's refresh timer while this screen is on top."""
        self._ticks += 1
        if "alarms" in dirty:
            self.query_one(AlarmStrip).show(self.alser.model, self.alser.muted)
        if self.live and not self.alser.main.paused and self._ticks % FOLLOW_EVERY == 0:
            self.request()

    # ------------------------------------------------------------------ text

    def breadcrumb(self) -> Text:
        """``PhpErr › area=us file=map.php line=2828 › 52 lines · filtered: 12 / 52 ·
        12:04:00 ~ 12:05:00``."""
        text = Text()
        text.append(self.parser.label, style=parser_style(self.parser.colors))
        text.append(" › ")
        text.append(group_words(self.group) or "all")
        text.append(" › ")
        if self.events is None:
            text.append("reading…")
        else:
            table = self.table
            n = len(table.events)
            text.append(f"{n:,} line{'s' if n != 1 else ''}")
            if n >= EVENTS_LIMIT:
                text.append(f" (the first {EVENTS_LIMIT:,})")
            elif self.events.limited and not self.events.more:
                text.append(" so far, reading…")
            if table.filter:
                text.append(f" · filtered: {len(table.shown):,} / {len(table.events):,}")
        if self.alarm is not None:
            text.append(f"  ·  {alarm_kind_word(self.alarm.kind)} at {clock(self.alarm.ts)}")
        else:
            text.append(f"  ·  {span(self.start, self.end)}")
        if self.live:
            text.append(" · following")
        return text

    def _show_breadcrumb(self) -> None:
        show(self.query_one("#breadcrumb", Static), self.breadcrumb())

    def bar_text(self) -> Text:
        """The search and filter in force (typed text is shown cleaned, never as markup)."""
        table = self.table
        parts: list[Text] = []
        if table.filter:
            t = Text("filter “")
            t.append(clean(table.filter))
            t.append(f"”: {len(table.shown):,} / {len(table.events):,}")
            parts.append(t)
        if table.search:
            hits = table.hits()
            t = Text("search “")
            t.append(clean(table.search))
            if hits:
                here = table.hit_number()
                at = f"hit {here:,} of {len(hits):,}" if here else f"{len(hits):,} hits"
                t.append(f"”: {at} · n/N next/previous")
            else:
                t.append("”: no hits")
            parts.append(t)
        if not parts:
            return Text(HINT)
        return Text(" · ").join(parts)

    def _show_bar(self) -> None:
        show(self.query_one("#drill-bar", Static), self.bar_text())

    # ------------------------------------------------------------------ search and filter

    def action_search(self) -> None:
        self._ask("search", self.table.search)

    def action_filter(self) -> None:
        self._ask("filter", self.table.filter)

    def _ask(self, what: str, value: str) -> None:
        self.asking = what
        field = self.query_one("#drill-input", Input)
        field.placeholder = (
            "search: enter finds, n/N step, empty clears, esc cancels"
            if what == "search"
            else "filter: enter keeps matching lines, empty shows all, esc cancels"
        )
        field.value = value
        self.set_class(True, "-asking")
        # At once, not on the next idle (Widget.focus): keys typed right after / must
        # reach the input, not the table ("s" would silence the group).
        field.display = True
        self.set_focus(field)

    @on(Input.Changed, "#drill-input")
    def _typing(self, event: Input.Changed) -> None:
        # Counting is cheap (no repaint of the rows): say how many would match while typing.
        if self.asking == "search" and event.value:
            n = len(self.table.hits(event.value))
            show(self.query_one("#drill-bar", Static), f"{n:,} hit{'s' if n != 1 else ''}")

    @on(Input.Submitted, "#drill-input")
    def _submitted(self, event: Input.Submitted) -> None:
        what, term = self.asking, event.value
        if not what:
            return  # already submitted (see on_key)
        self._close_input()
        table = self.table
        if what == "filter":
            table.set_filter(term)
            self._show_breadcrumb()
        elif what == "search":
            table.set_search(term)
            table.first_hit()
        self._show_bar()

    def _close_input(self) -> None:
        self.asking = ""
        self.set_class(False, "-asking")
        self.query_one("#drill-input", Input).display = False
        self.set_focus(self.table)

    # Key events reach this handler in order, but a binding runs only after the keys
    # behind it were dispatched: keys typed faster than that (a paste, a quick typist)
    # would miss the input and hit the table ("s" silences, "q" quits). So / and f open
    # the input here, and until it has focus this handler hands it the keys.

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not self.asking or action == "back"

    def on_key(self, event: events.Key) -> None:
        field = self.query_one("#drill-input", Input)
        if not self.asking:
            if event.key in OPENERS and self.focused is self.table:
                event.stop()
                event.prevent_default()
                self._ask(OPENERS[event.key], getattr(self.table, OPENERS[event.key]))
            return
        # The input stops the printable keys it takes: one that arrives here went to the
        # table. An enter may be the input's own too: the second submit finds it closed.
        if event.character and event.is_printable:
            event.stop()
            event.prevent_default()
            field.insert_text_at_cursor(event.character)
        elif event.key == "enter":
            event.stop()
            event.prevent_default()
            self.post_message(Input.Submitted(field, field.value))

    def action_next_hit(self, step: int) -> None:
        if self.table.next_hit(step) is None and self.table.search:
            self.alser.toast(f"no hits for “{clean(self.table.search)}”", timeout=2)
        self._show_bar()

    # ------------------------------------------------------------------ other keys

    @on(EventTable.RowHighlighted)
    def _moved(self) -> None:
        if self.table.search:
            self._show_bar()

    @on(EventTable.Open)
    def _open(self, message: EventTable.Open) -> None:
        table = self.table
        event = table.events[message.index]
        position = (table.shown.index(message.index) + 1, len(table.shown))
        self.app.push_screen(EventScreen(self.parser, self.group, event, position))

    def action_silence(self) -> None:
        self.alser.ask_silence(self.parser.id, self.group)

    def action_back(self) -> None:
        if self.asking:
            self._close_input()  # esc leaves the input first, the screen second
            self._show_bar()
            return
        self.app.pop_screen()
