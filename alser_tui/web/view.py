"""What the web page shows, as plain JSON documents, built from the console's own model.

The page holds no logic of its own about alarms: which alarms fire, which are acked or
silenced, each parser's state and the top-N marks all come from ``ConsoleModel`` (the same
code the console runs), fed the guard's events. The page only draws these documents, so the
two can never tell different stories. No Textual here (the model has none either).

Every text taken from a log line goes out as a JSON string, cleaned of control characters;
the page sets it with ``textContent`` only (never as markup).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from alser_tui.engine.alarms import CONDITION_KINDS
from alser_tui.sanitize import clean
from alser_tui.ui.model import (
    STATE_MARKS,
    AlarmEntry,
    ConsoleModel,
    alarm_kind_word,
    alarm_mark,
    state_level,
    strip_summary,
)
from alser_tui.ui.text import amount

if TYPE_CHECKING:
    from alser_tui.ui.query import Events, Scope

ALARMS_SHOWN = 200  # the newest, as the page lists them
TEXT_MAX = 2_000  # characters of one alarm text or field value
EVENTS_SHOWN = 200  # raw lines of a group on the page


def text(value: Any, limit: int = TEXT_MAX) -> str:
    s = clean(str(value))
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _value(value: Any) -> Any:
    """A field value for the page: numbers stay numbers, the rest cleaned text."""
    if value is None or isinstance(value, bool | int | float):
        return value
    return text(value)


def group_doc(group: dict[str, Any]) -> dict[str, Any]:
    return {text(k, 200): _value(v) for k, v in group.items()}


def alarm_doc(model: ConsoleModel, e: AlarmEntry, firing: set[int]) -> dict[str, Any]:
    a = e.alarm
    p = model.parsers.get(a.parser)
    return {
        "seq": e.seq,
        "ts": a.ts,
        "severity": a.severity,
        "parser": text(a.parser, 200),
        "label": text(p.config.label if p else a.parser, 200),
        "kind": alarm_kind_word(a.kind),
        "text": text(a.text),
        "group": group_doc(a.group),
        "start": a.start,
        "end": a.end,
        "amount": a.amount,
        "acked": e.acked,
        "silenced": e.silenced,
        "firing": e.seq in firing,
        "mark": alarm_mark(e),
        "condition": a.kind in CONDITION_KINDS,
    }


def strip_doc(model: ConsoleModel, firing: list[AlarmEntry]) -> dict[str, Any]:
    """The alarm strip: the console's own words, and how loud it is."""
    missing, _silent = model.troubled_guards()
    unacked = model.unacked()
    state = "firing" if firing or missing else "unacked" if unacked else "calm"
    return {
        "words": strip_summary(model, firing),
        "state": state,
        "firing": len(firing),
        "unacked": unacked,
        "silences": len(model.active_silences()),
        "last": text(model.alarms[-1].alarm.text, 300) if model.alarms else "",
        "last_ts": model.alarms[-1].alarm.ts if model.alarms else None,
    }


def parser_docs(model: ConsoleModel, colors: dict[str, dict[str, str]]) -> list[dict[str, Any]]:
    out = []
    for pid, v in model.parsers.items():
        state = model.state_of(pid)
        total = v.open_window[1] if v.open_window is not None else None
        out.append(
            {
                "id": text(pid, 200),
                "label": text(v.config.label, 200),
                "style": colors.get(pid, {}),
                "open": total,
                "open_words": amount(total),
                "trend": v.sparkline_values()[-24:],
                "state": STATE_MARKS[state],
                "level": state_level(state),
                "parsed": v.parsed,
                "rejected": v.rejected,
                "late": v.late,
                "window": v.config.window,
            }
        )
    return out


def view_doc(
    model: ConsoleModel, colors: dict[str, dict[str, str]], status: dict[str, Any]
) -> dict[str, Any]:
    """Everything the page's main view draws."""
    firing = model.firing()
    fire_seqs = {e.seq for e in firing}
    ordered = sorted(model.alarms, key=lambda e: (e.alarm.ts, e.seq), reverse=True)
    return {
        "type": "view",
        "strip": strip_doc(model, firing),
        "alarms": [alarm_doc(model, e, fire_seqs) for e in ordered[:ALARMS_SHOWN]],
        "alarm_count": len(model.alarms),
        "parsers": parser_docs(model, colors),
        "silences": [
            {
                "id": s.id,
                "parser": text(s.parser, 200),
                "kind": text(s.kind, 50),
                "matchers": [[text(k, 200), text(v, 500)] for k, v in s.matchers],
                "until": s.until,
                "comment": text(s.comment, 500),
            }
            for s in model.active_silences()
        ],
        "status": status,
    }


def scope_doc(model: ConsoleModel, scope: Scope) -> dict[str, Any]:
    """One parser's top-N (the open window when live), marked as the console marks it."""
    rows = []
    if scope.start is not None:
        marked = model.mark_rows(scope.parser, scope.start, scope.rows, scope.previous)
        rows = [
            {
                "group": group_doc(r.group),
                "amount": r.amount,
                "amount_words": amount(r.amount),
                "threshold": r.threshold,
                "abnormal": r.abnormal,
                "growth": r.growth,
                "silenced": r.silenced,
            }
            for r in marked
        ]
    v = model.parsers.get(scope.parser)
    return {
        "type": "scope",
        "parser": text(scope.parser, 200),
        "label": text(v.config.label if v else scope.parser, 200),
        "fields": list(v.config.group_by) if v is not None else [],
        "start": scope.start,
        "end": scope.end,
        "live": scope.live,
        "total": scope.total,
        "total_words": amount(scope.total),
        "groups": scope.groups,
        "rows": rows,
        "windows": [[s, t] for s, t in scope.windows[-60:]],
        "pruned": scope.pruned,
    }


def events_doc(events: Events) -> dict[str, Any]:
    rows = [{text(k, 200): _value(v) for k, v in r.items()} for r in events.rows[:EVENTS_SHOWN]]
    return {
        "type": "events",
        "parser": text(events.parser, 200),
        "start": events.start,
        "end": events.end,
        "group": group_doc(events.group),
        "rows": rows,
        "more": events.limited or len(events.rows) > EVENTS_SHOWN,
    }
