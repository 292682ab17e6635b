"""``alser-tui status``: the running guard's health in a few lines; exit 0 when a guard
answers on the data dir, 1 when none does (as ``systemctl is-active``)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import IO, Any

from alser_tui.sanitize import clean

EXIT_OK, EXIT_DOWN, EXIT_USAGE = 0, 1, 2
PROBLEMS_SHOWN = 8


def span(seconds: float) -> str:
    """'3d 4h', '2h 5m', '4m 10s', '12s'."""
    s = int(max(0, seconds))
    d, h, m = s // 86400, s % 86400 // 3600, s % 3600 // 60
    if d:
        return f"{d}d {h}h"
    if h:
        return f"{h}h {m}m"
    if m:
        return f"{m}m {s % 60}s"
    return f"{s}s"


def size(n: float) -> str:
    for unit, k in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= k:
            return f"{n / k:.1f} {unit}"
    return f"{int(n)} B"


def report(doc: dict[str, Any], now: float) -> list[str]:
    """The status as lines of text (source text cleaned of escapes)."""
    loaded = time.strftime("%Y-%m-%d %H:%M", time.localtime(doc["loaded_at"]))
    lines = [
        f"guard pid {doc['pid']} · up {span(doc['uptime'])} · {doc['engine']}"
        f" · config {clean(doc['config'])} (loaded {loaded}"
        + (f", {doc['reloads']} reloads" if doc.get("reloads") else "")
        + (", last reload refused" if doc.get("config_broken") else "")
        + ")"
    ]
    if "lines" not in doc:
        lines.append("no statistics yet (the engine is starting)")
        return lines
    lines.append(
        f"reading {doc['lines_per_s']:,.0f} lines/s · lines {doc['lines']:,} · parsed"
        f" {doc['parsed']:,} · rejected {doc['rejected']:,} · late {doc['late']:,}"
        f" · malformed {doc['malformed']:,}"
    )
    sources = doc.get("sources", [])
    behind = sum(s["lag"] for s in sources if s["kind"] != "table")
    stale = [s for s in sources if s["last_line"]]
    oldest = min(stale, key=lambda s: s["last_line"]) if stale else None
    words = f"sources {len(sources)} · {size(behind)} behind"
    if oldest is not None:
        words += (
            f" · oldest last line {span(now - oldest['last_line'])} ago ({clean(oldest['path'])})"
        )
    lines.append(words)
    for s in [s for s in sources if not s["followed"] or s["note"]][:PROBLEMS_SHOWN]:
        lines.append(f"  ! {clean(s['path'])}: {clean(s['note'])}")
    bad = [g for g in doc.get("guards", []) if g["state"] != "ok"]
    if bad:
        for g in bad[:PROBLEMS_SHOWN]:
            lines.append(f"  ! guard {clean(g['name'])}: {g['state']}: {clean(g['reason'])}")
    elif doc.get("guards"):
        lines.append(f"guards: {len(doc['guards'])} ok")
    for e in doc.get("errors", [])[:PROBLEMS_SHOWN]:
        lines.append(f"  ✗ {clean(e)}")
    for w in doc.get("warnings", [])[:PROBLEMS_SHOWN]:
        lines.append(f"  ! {clean(w)}")
    if "firing" in doc:
        firing = doc["firing"]
        lines.append(f"firing {len(firing)}" + (": " if firing else ""))
        lines.extend(f"  ● {clean(t)[:160]}" for t in firing[:PROBLEMS_SHOWN])
        if len(firing) > PROBLEMS_SHOWN:
            lines.append(f"  … and {len(firing) - PROBLEMS_SHOWN} more")
    if "outbox" in doc:
        channels = doc["outbox"]
        lines.append("outbox: " + (" · ".join(clean(c["line"]) for c in channels) or "no channels"))
    if doc.get("delivery_error"):
        lines.append(f"  ✗ delivery.db: {clean(doc['delivery_error'])}")
    return lines


def main(argv: list[str], out: IO[str] | None = None, err: IO[str] | None = None) -> int:
    from alser_tui.cli import DEFAULT_CONFIG, _Parser
    from alser_tui.engine.config import ConfigError, load_config
    from alser_tui.guard.client import GuardClient, GuardGone
    from alser_tui.guard.server import socket_path

    out = out or sys.stdout
    err = err or sys.stderr
    ap = _Parser(prog="alser-tui status", description=__doc__)
    ap.add_argument("-c", "--config", default=DEFAULT_CONFIG, help="the guard's config")
    ap.add_argument("--data-dir", metavar="DIR", help="the guard's data dir (instead of -c)")
    ap.add_argument("--json", action="store_true", help="the status as one JSON object")
    args = ap.parse_args(argv)
    if args.data_dir:
        data_dir = Path(args.data_dir)
    else:
        try:
            data_dir = load_config(Path(args.config)).data_dir
        except ConfigError as exc:
            err.write(f"alser-tui status: {exc}\n")
            return EXIT_USAGE
    path = socket_path(data_dir)
    try:
        client = GuardClient(path)
        try:
            doc = client.ask("status")
        finally:
            client.close()
    except (GuardGone, RuntimeError) as exc:
        out.write(f"no guard running on {data_dir}: {exc}\n")
        return EXIT_DOWN
    if args.json:
        out.write(json.dumps(doc, default=str) + "\n")
    else:
        out.write("\n".join(report(doc, time.time())) + "\n")
    return EXIT_OK
