"""Message documents (what the outbox stores) and their renderings per channel.

A document is plain JSON: ``{"type": "alarm" | "resolved", "alarm": {...}}`` for one alarm,
``{"type": "notice", "topic": ..., "text": ..., "items": [...]}`` for something the operator
should know that is not an alarm (an unguarded file appeared: no severity, no firing or
resolved), or ``{"type": "digest", "reason": ..., "groups": [...], "resolved": [...],
"notices": [...]}`` for many. Channels render at send time, so the outbox never holds
half-formatted text.
"""

from __future__ import annotations

import html
import time
from typing import Any

from alser_tui.engine.notify.lifecycle import doc_key, event_time
from alser_tui.sanitize import clean


def alarm_message(alarm: dict[str, Any], reason: str = "new") -> dict[str, Any]:
    return {"type": "alarm", "reason": reason, "alarm": alarm}


def resolved_message(alarm: dict[str, Any], since: float) -> dict[str, Any]:
    return {"type": "resolved", "alarm": alarm, "since": since}


NOTICE = "notice"
UNGUARDED = "unguarded"
# Paths listed in one notice; the rest is counted ("... and 12 more").
NOTICE_ITEMS = 200


def notice_message(
    topic: str, text: str, items: list[str], ts: float, *, reason: str = "new", total: int = 0
) -> dict[str, Any]:
    """A notice: ``text`` says what happened ("2 new unguarded files"), ``items`` what it is
    about; ``total`` how many there are in all (0: just the items)."""
    return {
        "type": NOTICE,
        "topic": topic,
        "reason": reason,
        "text": text,
        "items": list(items[:NOTICE_ITEMS]),
        "more": max(0, len(items) - NOTICE_ITEMS),
        "total": total or len(items),
        "ts": ts,
        "severity": 0,
    }


def unguarded_notice(
    files: list[str], total: int, ts: float, *, at_start: bool = False
) -> dict[str, Any]:
    """Files in the watched directories that no guard covers: the list at start (what this
    site has not been told of before), or the ones that appeared since."""
    n = len(files)
    noun = f"unguarded file{'s' if n != 1 else ''}"
    if not at_start:
        text = f"{n} new {noun}"
    elif total > n:
        text = f"{n} {noun} not reported before"
    else:
        text = f"{n} {noun} in the watched directories"
    if total > n:
        text += f" ({total} in all)"
    return notice_message(
        UNGUARDED, text, files, ts, reason="start" if at_start else "new", total=total
    )


def source_notice(topic: str, state: str, text: str, items: list[str], ts: float) -> dict[str, Any]:
    """A guard without a source (topic ``no_source``) or a file with a far-off clock
    (``skew``): ``state`` raised, or cleared (reason "resolved")."""
    return notice_message(topic, text, items, ts, reason="new" if state == "raised" else "resolved")


def digest(items: list[dict[str, Any]], reason: str) -> dict[str, Any]:
    """Many alarm / resolved / notice messages -> one digest: a line per group, worst first."""
    groups: dict[str, dict[str, Any]] = {}
    resolved: list[dict[str, Any]] = []
    notices: list[dict[str, Any]] = []
    for item in items:
        if item["type"] == NOTICE:
            notices.append(item)
            continue
        a = item["alarm"]
        if item["type"] == "resolved":
            resolved.append(a)
            continue
        t = event_time(a)
        g = groups.get(doc_key(a))
        if g is None:
            groups[doc_key(a)] = {
                "parser": a["parser"],
                "kind": a["kind"],
                "title": a.get("title") or a["parser"],
                "group": a["group"],
                "count": 1,
                "first": t,
                "last": t,
                "severity": a["severity"],
                "amount": a["amount"],
                "sample": a["text"],
            }
        else:
            g["count"] += 1
            g["first"] = min(g["first"], t)
            if t >= g["last"]:
                g["last"] = t
                g["sample"] = a["text"]
                g["amount"] = a["amount"]
            g["severity"] = max(g["severity"], a["severity"])
    rows = sorted(groups.values(), key=lambda g: (-g["severity"], -g["count"], g["first"]))
    times = [g["first"] for g in rows] + [g["last"] for g in rows]
    return {
        "type": "digest",
        "reason": reason,
        "count": sum(g["count"] for g in rows),
        "worst": rows[0]["severity"] if rows else 0,
        "from": min(times) if times else None,
        "to": max(times) if times else None,
        "groups": rows,
        "resolved": resolved,
        "notices": notices,
    }


# --------------------------------------------------------------------------- text


def when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def num(x: Any) -> str:
    if isinstance(x, float):
        return str(int(x)) if x.is_integer() else f"{x:.2f}"
    return str(x)


def one_line(doc: dict[str, Any]) -> str:
    """A short single-line summary (IRC, desktop title, Slack text)."""
    if doc["type"] == "alarm":
        a = doc["alarm"]
        return clean(f"[{a['kind']} sev {num(a['severity'])}] {a['text']}")
    if doc["type"] == "resolved":
        a = doc["alarm"]
        return clean(f"[resolved] {a['text']} (firing since {when(doc['since'])})")
    if doc["type"] == NOTICE:
        return clean(f"[notice] {doc['text']}: {_names(doc, 3)}")
    what = {"catch-up": "catch-up", "quiet": "after quiet hours"}.get(doc["reason"], "digest")
    n, groups = doc["count"], len(doc["groups"])
    notices = doc.get("notices", [])
    parts = []
    if groups or not notices:
        parts.append(
            f"{n} alarm{'s' if n != 1 else ''} in {groups} group{'s' if groups != 1 else ''}"
        )
    if doc["groups"]:
        parts[-1] += (
            f", worst severity {num(doc['worst'])} ({when(doc['from'])} ~ {when(doc['to'])})"
        )
    if doc["resolved"]:
        parts.append(f"{len(doc['resolved'])} resolved")
    if notices:
        parts.append(f"{len(notices)} notice{'s' if len(notices) != 1 else ''}")
    return f"{what}: " + ", ".join(parts)


def _names(doc: dict[str, Any], limit: int) -> str:
    """The first ``limit`` items of a notice, and how many more there are."""
    items = doc["items"]
    shown = ", ".join(items[:limit])
    rest = len(items) - limit + doc.get("more", 0)
    return shown + (f" and {rest} more" if rest > 0 else "")


def group_line(g: dict[str, Any]) -> str:
    span = (
        when(g["first"]) if g["first"] == g["last"] else f"{when(g['first'])} ~ {when(g['last'])}"
    )
    return clean(
        f"sev {num(g['severity']):>6}  x{g['count']:<4} {span}  [{g['kind']}] {g['sample']}"
    )


def lines(doc: dict[str, Any], max_groups: int = 200) -> list[str]:
    """The body as lines: a header, then one line per group ordered by severity."""
    if doc["type"] == NOTICE:
        return [clean(f"[notice] {doc['text']}"), *_notice_lines(doc, max_groups)]
    if doc["type"] != "digest":
        a = doc["alarm"]
        return [
            one_line(doc),
            f"  parser {a['parser']}  window {when(a['start'])} ~ {when(a['end'])}",
        ]
    out = [one_line(doc)]
    for g in doc["groups"][:max_groups]:
        out.append(group_line(g))
    if len(doc["groups"]) > max_groups:
        out.append(f"... and {len(doc['groups']) - max_groups} more groups")
    for a in doc["resolved"]:
        out.append(clean(f"resolved: {a['text']}"))
    for notice in doc.get("notices", []):
        out.append(clean(f"notice: {notice['text']}"))
        out.extend(_notice_lines(notice, max_groups))
    return out


def _notice_lines(doc: dict[str, Any], limit: int) -> list[str]:
    out = [clean(f"  {item}") for item in doc["items"][:limit]]
    rest = len(doc["items"]) - limit + doc.get("more", 0)
    if rest > 0:
        out.append(f"  ... and {rest} more")
    return out


def subject(doc: dict[str, Any], prefix: str) -> str:
    return clean(_subject(doc, prefix))[:200]


def _subject(doc: dict[str, Any], prefix: str) -> str:
    if doc["type"] == NOTICE:
        return f"{prefix} - notice: {doc['text']}"
    if doc["type"] != "digest":
        return f"{prefix} - {one_line(doc)}"
    n = doc["count"]
    what = "catch-up, " if doc["reason"] == "catch-up" else ""
    notices = doc.get("notices", [])
    if not doc["groups"]:
        if notices and not doc["resolved"]:
            if len(notices) == 1:
                return f"{prefix} - {what}notice: {notices[0]['text']}"
            return f"{prefix} - {what}{len(notices)} notices"
        tail = f", {len(notices)} notice{'s' if len(notices) != 1 else ''}" if notices else ""
        return f"{prefix} - {what}{len(doc['resolved'])} resolved{tail}"
    worst = doc["groups"][0]
    return (
        f"{prefix} - {what}{n} alarm{'s' if n != 1 else ''}, worst severity"
        f" {num(doc['worst'])} ({worst['title']} {worst['kind']})"
    )


def html_body(doc: dict[str, Any], max_groups: int = 200) -> str:
    e = html.escape
    head = e(one_line(doc))
    if doc["type"] == NOTICE:
        return f"<html><body>{_notice_html(doc, max_groups)}</body></html>"
    if doc["type"] != "digest":
        return f"<html><body><p>{head}</p></body></html>"
    rows = []
    for g in doc["groups"][:max_groups]:
        rows.append(
            "<tr>"
            f"<td align=right>{e(num(g['severity']))}</td><td align=right>{g['count']}</td>"
            f"<td>{e(when(g['first']))}</td><td>{e(when(g['last']))}</td>"
            f"<td>{e(g['kind'])}</td><td><code>{e(clean(g['sample']))}</code></td>"
            "</tr>"
        )
    more = ""
    if len(doc["groups"]) > max_groups:
        more = f"<p>... and {len(doc['groups']) - max_groups} more groups</p>"
    resolved = "".join(f"<li>{e(clean(a['text']))}</li>" for a in doc["resolved"])
    table = ""
    if rows or not doc.get("notices"):
        table = (
            "<table border=1 cellspacing=0 cellpadding=3>"
            "<tr><th>severity</th><th>count</th><th>first</th><th>last</th><th>kind</th>"
            f"<th>sample</th></tr>{''.join(rows)}</table>"
        )
    notices = "".join(_notice_html(n, max_groups) for n in doc.get("notices", []))
    return (
        f"<html><body><p><b>{head}</b></p>{table}{more}"
        + (f"<p>Resolved:</p><ul>{resolved}</ul>" if resolved else "")
        + notices
        + "</body></html>"
    )


def _notice_html(doc: dict[str, Any], limit: int) -> str:
    e = html.escape
    items = "".join(f"<li><code>{e(clean(i))}</code></li>" for i in doc["items"][:limit])
    rest = len(doc["items"]) - limit + doc.get("more", 0)
    more = f"<li>... and {rest} more</li>" if rest > 0 else ""
    return f"<p><b>Notice: {e(clean(doc['text']))}</b></p><ul>{items}{more}</ul>"


# --------------------------------------------------------------------------- JSON


def generic_json(doc: dict[str, Any]) -> dict[str, Any]:
    return {"source": "alser-tui", "summary": one_line(doc), **doc}


def slack_json(doc: dict[str, Any]) -> dict[str, Any]:
    body = lines(doc, max_groups=20)
    text = body[0] if len(body) == 1 else body[0] + "\n```\n" + "\n".join(body[1:]) + "\n```"
    return {"text": text}
