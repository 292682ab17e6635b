"""Renders engine events as text (the original's look) or as JSON lines. No Textual here."""

from __future__ import annotations

import sys
import time
from typing import IO, Any

import orjson
from rich.console import Console
from rich.text import Text

from alser_tui.engine.alarms import Alarm
from alser_tui.engine.config import Config
from alser_tui.engine.events import (
    AlarmRaised,
    AlarmResolved,
    Event,
    Finished,
    SourceNotice,
    Stats,
    UnguardedFiles,
    WindowClosed,
)
from alser_tui.sanitize import clean


def _fmt_time(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def _mb(n: int) -> str:
    return f"{n / 1048576:.1f} MB"


class HeadlessPrinter:
    """Subscribes to an engine; writes windows and alarms to ``out`` and progress to ``err``."""

    def __init__(
        self,
        config: Config,
        *,
        json_lines: bool = False,
        out: IO[str] | None = None,
        err: IO[str] | None = None,
        tick: float = 0,
        bell: bool | None = None,
        delivery: Any = None,
        live: bool = True,
    ) -> None:
        self.config = config
        self.delivery = delivery
        self.live = live
        self.json = json_lines
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.tick = tick
        self._last_tick = 0.0
        tty = self.out.isatty()
        self.console = Console(
            file=self.out,
            force_terminal=tty,
            no_color=not tty,
            highlight=False,
            soft_wrap=True,
            emoji=False,
            markup=False,
        )
        self.styles = {p.id: " ".join(p.colors) for p in config.parsers}
        self.titles = {p.id: p.label for p in config.parsers}
        self.summary = {p.id: p.summary for p in config.parsers}
        self.bell = tty if bell is None else bell
        self._last_bell = 0.0
        self._problems: dict[str, tuple[str, str]] = {}  # errors/warnings already reported

    def __call__(self, event: Event) -> None:
        if isinstance(event, WindowClosed):
            self.window(event)
        elif isinstance(event, AlarmRaised):
            self.alarm(event.alarm)
        elif isinstance(event, Stats):
            self.progress(event)
        elif isinstance(event, Finished):
            self.finished(event)
        elif isinstance(event, UnguardedFiles):
            self.unguarded(event)
        elif isinstance(event, AlarmResolved):
            self.resolved(event)
        elif isinstance(event, SourceNotice):
            self.notice(event)

    # ------------------------------------------------------------------ json

    def _json(self, obj: dict[str, Any]) -> None:
        self.out.write(orjson.dumps(obj, default=str).decode() + "\n")
        if self.live:
            # A pipe is block-buffered: a consumer (jq, a test) must see each event now.
            self.out.flush()

    def window(self, ev: WindowClosed) -> None:
        if self.json:
            self._json(
                {
                    "type": "window",
                    "parser": ev.parser,
                    "start": ev.start,
                    "end": ev.end,
                    "total": ev.total,
                    "rows": [{"amount": r.amount, "group": r.group} for r in ev.rows],
                }
            )
            return
        if not ev.rows:
            return
        style = self.styles.get(ev.parser, "")
        head = (
            f"({_fmt_time(ev.start)} ~ {_fmt_time(ev.end)}) {self.titles.get(ev.parser, ev.parser)}"
        )
        self.console.print(Text(head, style=style + " underline" if style else "underline"))
        for r in ev.rows:
            mark = ""
            if r.marks.abnormal and r.marks.previous:
                mark = f"  ▲ +{(r.amount - r.marks.previous) / r.marks.previous:.0%}"
            elif r.marks.threshold:
                mark = "  !"
            line = Text(clean(r.text) + mark, style=style)
            if r.marks.abnormal:
                line.stylize("blink reverse")
            elif r.marks.threshold:
                line.stylize("reverse")
            self.console.print(line)
        if self.summary.get(ev.parser):
            self.console.print(Text(f"{'Total':>5}: {_num(ev.total)}", style=style))

    def alarm(self, a: Alarm) -> None:
        # What the channels make of it: a silenced or acknowledged alarm is still shown
        # (this output lists every alarm), marked as such, and never rings the bell.
        muted = self.delivery.muted(a) if self.delivery is not None else ""
        if self.json:
            obj: dict[str, Any] = {
                "type": "alarm",
                "parser": a.parser,
                "kind": a.kind,
                "severity": a.severity,
                "amount": a.amount,
                "group": a.group,
                "start": a.start,
                "end": a.end,
            }
            if a.kind in ("instant", "dropped", "silent"):
                obj["ts"] = a.ts
            obj["text"] = a.text
            obj["silenced"] = muted == "silenced"
            obj["acked"] = muted == "acknowledged"
            self._json(obj)
            return
        style = self.styles.get(a.parser, "")
        when = _fmt_time(a.ts)
        line = Text(f"{when} [{a.kind} sev {_num(a.severity)}] ", style="bold") + Text(
            clean(a.text), style=style
        )
        if muted:
            # In words too: the dim style reaches a terminal only (a pipe gets no ANSI).
            line.append(f" ({muted})")
            line.stylize("dim")
        self.console.print(line)
        if not muted:
            self.ring()

    def resolved(self, ev: AlarmResolved) -> None:
        """A condition alarm (silent) ended."""
        a = ev.alarm
        if self.json:
            self._json(
                {
                    "type": "resolved",
                    "parser": a.parser,
                    "kind": a.kind,
                    "group": a.group,
                    "since": a.ts,
                    "ts": int(ev.at),
                    "text": a.text,
                }
            )
            return
        self.console.print(
            Text(f"{_fmt_time(ev.at)} [resolved {a.kind}] ", style="bold")
            + Text(f"{clean(a.text)} (since {_fmt_time(a.ts)})")
        )

    def notice(self, ev: SourceNotice) -> None:
        """A guard without a source for a while, a file's clock far off; and their end."""
        if self.json:
            items = []
            for item in ev.items:
                obj: dict[str, Any] = {
                    "guard": item.guard,
                    "source": item.source,
                    "text": item.text,
                }
                if item.skew is not None:
                    obj["skew"] = item.skew
                items.append(obj)
            self._json(
                {"type": "notice", "kind": ev.kind, "state": ev.state, "text": ev.text,
                 "items": items}
            )  # fmt: skip
            return
        what = ev.kind if ev.state == "raised" else f"{ev.kind} cleared"
        names = "; ".join(f"{clean(i.source)}: {clean(i.text)}" for i in ev.items)
        self.console.print(
            Text(f"{_fmt_time(time.time())} [{what}] ", style="bold") + Text(f"{ev.text}: {names}")
        )

    def unguarded(self, ev: UnguardedFiles) -> None:
        """Files in the watched directories that no guard covers: the new ones, on one line."""
        if not ev.new:
            return  # only some went away
        if self.json:
            self._json({"type": "unguarded", "files": list(ev.files), "new": list(ev.new)})
            return
        n = len(ev.new)
        what = f"{n} file{'s' if n != 1 else ''} no guard covers"
        if not ev.first:
            what = "new: " + what
        if len(ev.files) > n:
            what += f" ({len(ev.files)} in all)"
        names = ", ".join(clean(p) for p in ev.new)
        self.console.print(
            Text(f"{_fmt_time(time.time())} [unguarded] ", style="bold") + Text(f"{what}: {names}")
        )

    def ring(self) -> None:
        # One bell per alarm burst, at most once a second, never per line.
        now = time.monotonic()
        if self.bell and now - self._last_bell >= 1.0:
            self._last_bell = now
            self.out.write("\a")
            self.out.flush()

    # ------------------------------------------------------------------ progress

    def progress(self, st: Stats) -> None:
        self.problems(st)
        if not self.tick or st.time - self._last_tick < self.tick:
            return
        self._last_tick = st.time
        line = self.progress_line(st)
        if self.delivery is not None:
            line += " · " + self.delivery.status_line()
        self.err.write(line + "\n")
        self.err.flush()

    def problems(self, st: Stats) -> None:
        """Errors and warnings go to stderr as soon as they appear, whatever --tick says (a
        full disk must not wait to be asked about), and errors again once they clear. Keyed
        by their subject (the text before the first ": "), so a growing count is not news."""
        now: dict[str, tuple[str, str]] = {}
        for kind, items in (("error", st.errors), ("warning", st.warnings)):
            for text in items:
                now.setdefault(text.split(": ", 1)[0], (kind, text))
        seen = self._problems
        out = [f"alser-tui: {k}: {clean(t)}" for key, (k, t) in now.items() if key not in seen]
        out += [
            f"alser-tui: cleared: {clean(t)}"
            for key, (k, t) in seen.items()
            if key not in now and k == "error"
        ]
        self._problems = now
        if out:
            self.err.write("\n".join(out) + "\n")
            self.err.flush()

    @staticmethod
    def progress_line(st: Stats) -> str:
        future = sum(p.future for p in st.parsers.values())
        trouble = [*st.errors, *st.warnings]
        return (
            f"[{time.strftime('%H:%M:%S', time.localtime(st.time))}] lines {st.lines:,}"
            f" ({st.lines_per_s:,.0f}/s) parsed {st.parsed:,} rejected {st.rejected:,}"
            f" late {st.late:,}"
            + (f" future {future:,}" if future else "")
            + f" malformed {st.malformed:,} files {sum(f.followed for f in st.files)}"
            + (
                f" ({idle:,} not followed)"
                if (idle := sum(not f.followed for f in st.files))
                else ""
            )
            + (f" ({len(st.unguarded)} unguarded)" if st.unguarded else "")
            + f" rss {_mb(st.rss)}"
            + ("".join(f" · {clean(t)}" for t in trouble))
        )

    def would_send(self, report: dict[str, dict[str, Any]]) -> None:
        """A replay without --deliver: what each channel would have been sent, on stderr
        (and as one record in --json)."""
        if self.json:
            self._json({"type": "would_send", "channels": report})
            self.out.flush()
        lines = [
            "alser-tui: the replay delivered nothing (--deliver sends it); it would have sent:"
        ]
        for name, r in report.items():
            what = _count(r["messages"], "message")
            if r["alarms"]:
                what += f" ({_count(r['alarms'], 'alarm')})"
            if r["resolved"]:
                what += f", {r['resolved']} resolved"
            if r["held"]:
                what += f", {r['held']} held for quiet hours"
            lines.append(
                f"  {name} ({r['type']}): {what if r['messages'] or r['held'] else 'nothing'}"
            )
            shown = r["summaries"][:3]
            lines.extend(f"    {clean(s)}" for s in shown)
            if len(r["summaries"]) > len(shown):
                lines.append(f"    ... and {len(r['summaries']) - len(shown)} more")
        self.err.write("\n".join(lines) + "\n")
        self.err.flush()

    def finished(self, ev: Finished) -> None:
        st = ev.stats
        if self.json:
            self.out.flush()
        lines = [f"done ({ev.reason}): " + self.progress_line(st)]
        for pid, ps in st.parsers.items():
            lines.append(
                f"  {pid:<14} parsed {ps.parsed:>9,}  skipped {ps.skipped:>9,}"
                f"  rejected {ps.rejected:>7,}  late {ps.late:>5,}"
            )
            if ps.rejected and ps.last_reject:
                lines.append(f"  {'':<14} last rejected: {clean(ps.last_reject[:200])}")
        self.err.write("\n".join(lines) + "\n")
        self.err.flush()


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'s' if n != 1 else ''}"


def _num(x: float) -> Any:
    if isinstance(x, float):
        return int(x) if x.is_integer() else f"{x:,.2f}"
    return x
