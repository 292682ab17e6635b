"""Message documents (what the outbox stores) and their renderings per channel.

A document is plain JSON: ``{"type": "alarm" | "resolved", "alarm": {...}}`` for one alarm, or
``{"type": "digest", "reason": ..., "groups": [...], "resolved": [...]}`` for many. Channels
render at send time, so the outbox never holds half-formatted text.
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


def digest(items: list[dict[str, Any]], reason: str) -> dict[str, Any]:
    """Many alarm / resolved messages -> one digest: a line per group, worst first."""
    groups: dict[str, dict[str, Any]] = {}
    resolved: list[dict[str, Any]] = []
    for item in items:
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
    what = {"catch-up": "catch-up", "quiet": "after quiet hours"}.get(doc["reason"], "digest")
    n, groups = doc["count"], len(doc["groups"])
    head = f"{what}: {n} alarm{'s' if n != 1 else ''} in {groups} group{'s' if groups != 1 else ''}"
    if doc["groups"]:
        head += f", worst severity {num(doc['worst'])} ({when(doc['from'])} ~ {when(doc['to'])})"
    if doc["resolved"]:
        head += f", {len(doc['resolved'])} resolved"
    return head


def group_line(g: dict[str, Any]) -> str:
    span = (
        when(g["first"]) if g["first"] == g["last"] else f"{when(g['first'])} ~ {when(g['last'])}"
    )
    return clean(
        f"sev {num(g['severity']):>6}  x{g['count']:<4} {span}  [{g['kind']}] {g['sample']}"
    )


def lines(doc: dict[str, Any], max_groups: int = 200) -> list[str]:
    """The body as lines: a header, then one line per group ordered by severity."""
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
    return out


def subject(doc: dict[str, Any], prefix: str) -> str:
    return clean(_subject(doc, prefix))[:200]


def _subject(doc: dict[str, Any], prefix: str) -> str:
    if doc["type"] != "digest":
        return f"{prefix} - {one_line(doc)}"
    n = doc["count"]
    what = "catch-up, " if doc["reason"] == "catch-up" else ""
    if not doc["groups"]:
        return f"{prefix} - {what}{len(doc['resolved'])} resolved"
    worst = doc["groups"][0]
    return (
        f"{prefix} - {what}{n} alarm{'s' if n != 1 else ''}, worst severity"
        f" {num(doc['worst'])} ({worst['title']} {worst['kind']})"
    )


def html_body(doc: dict[str, Any], max_groups: int = 200) -> str:
    e = html.escape
    head = e(one_line(doc))
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
    return (
        f"<html><body><p><b>{head}</b></p>"
        "<table border=1 cellspacing=0 cellpadding=3>"
        "<tr><th>severity</th><th>count</th><th>first</th><th>last</th><th>kind</th>"
        f"<th>sample</th></tr>{''.join(rows)}</table>{more}"
        + (f"<p>Resolved:</p><ul>{resolved}</ul>" if resolved else "")
        + "</body></html>"
    )


# --------------------------------------------------------------------------- JSON


def generic_json(doc: dict[str, Any]) -> dict[str, Any]:
    return {"source": "alser-tui", "summary": one_line(doc), **doc}


def slack_json(doc: dict[str, Any]) -> dict[str, Any]:
    body = lines(doc, max_groups=20)
    text = body[0] if len(body) == 1 else body[0] + "\n```\n" + "\n".join(body[1:]) + "\n```"
    return {"text": text}
