"""`alser-tui silence ...` and `alser-tui outbox`: delivery state from the command line.

They open the data dir's delivery.db directly (no instance lock), so they work while an
instance runs; the running instance sees a new silence at its next alarm.
"""

from __future__ import annotations

import argparse
import difflib
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import IO

from alser_tui.engine.alarms import alarm_fields
from alser_tui.engine.config import Config, ConfigError, load_config
from alser_tui.engine.notify.config import ALARM_KINDS, parse_duration
from alser_tui.engine.notify.db import DeliveryDB
from alser_tui.engine.notify.lifecycle import Silences, parse_matcher
from alser_tui.engine.notify.outbox import Outbox

COMMANDS = ("silence", "outbox")
EXIT_OK, EXIT_RUNTIME, EXIT_USAGE = 0, 1, 2
DEFAULT_CONFIG = "conf/alser.toml"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_argparser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-c", "--config", default=DEFAULT_CONFIG, help="config file")
    common.add_argument("--data-dir", metavar="DIR", help="where delivery.db lives")

    ap = _Parser(prog="alser-tui", description="Delivery state: silences and the outbox.")
    sub = ap.add_subparsers(dest="command", required=True, parser_class=_Parser)

    sil = sub.add_parser("silence", help="mute matching alarms on every channel for a while")
    ssub = sil.add_subparsers(dest="action", required=True, parser_class=_Parser)
    add = ssub.add_parser("add", parents=[common], help="add a silence")
    add.add_argument("--parser", default="", metavar="ID", help="only this parser's alarms")
    add.add_argument("--kind", default="", choices=ALARM_KINDS, help="only this kind")
    add.add_argument(
        "--match",
        action="append",
        default=[],
        metavar="FIELD=GLOB",
        help="group field (or 'text') matching a glob, e.g. file=map.php (repeatable)",
    )
    add.add_argument("--for", dest="duration", required=True, metavar="DURATION", help="e.g. 1h")
    add.add_argument("--comment", default="", help="why (shown by silence list)")
    ls = ssub.add_parser("list", parents=[common], help="list active silences")
    ls.add_argument("--all", action="store_true", help="include expired ones")
    rm = ssub.add_parser("rm", parents=[common], help="remove a silence")
    rm.add_argument("id", type=int)

    ob = sub.add_parser("outbox", parents=[common], help="pending and failed messages per channel")
    ob.add_argument("--channel", metavar="NAME", help="only this channel")
    ob.add_argument("--all", action="store_true", help="include sent messages")
    ob.add_argument(
        "--retry", type=int, metavar="ID", help="put a failed message back in the queue"
    )
    return ap


def _when(ts: float | None) -> str:
    return "-" if ts is None else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def _config(args: argparse.Namespace) -> Config:
    config = load_config(args.config)
    if args.data_dir:
        config = replace(
            config, storage=replace(config.storage, dir=str(Path(args.data_dir).resolve()))
        )
    return config


def main(argv: list[str] | None = None, out: IO[str] | None = None) -> int:
    args = build_argparser().parse_args(argv)
    out = out or sys.stdout
    err = sys.stderr
    try:
        config = _config(args)
    except ConfigError as exc:
        err.write(f"alser-tui: {exc}\n")
        return EXIT_USAGE
    name = config.delivery.db if config.delivery else "delivery.db"
    db = DeliveryDB(config.data_dir / name)
    try:
        if args.command == "silence":
            return _silence(args, config, db, out, err)
        return _outbox(args, config, db, out, err)
    finally:
        db.close()


def _silence(
    args: argparse.Namespace, config: Config, db: DeliveryDB, out: IO[str], err: IO[str]
) -> int:
    silences = Silences(db)
    now = time.time()
    if args.action == "add":
        known = {p.id for p in config.parsers}
        if args.parser and args.parser not in known:
            err.write(f"alser-tui: unknown parser {args.parser!r}\n")
            return EXIT_USAGE
        try:
            duration = parse_duration(args.duration)
            matchers = tuple(parse_matcher(m) for m in args.match)
        except ValueError as exc:
            err.write(f"alser-tui: {exc}\n")
            return EXIT_USAGE
        if duration <= 0:
            err.write("alser-tui: --for must be more than 0\n")
            return EXIT_USAGE
        unknown = unknown_match_field(config, args.parser, args.kind, matchers)
        if unknown:
            err.write(f"alser-tui: {unknown}\n")
            return EXIT_USAGE
        s = silences.add(
            parser=args.parser,
            kind=args.kind,
            matchers=matchers,
            duration=duration,
            now=now,
            comment=args.comment,
        )
        out.write(f"silence {s.id}: {s.describe()} until {_when(s.until)}\n")
        return EXIT_OK
    if args.action == "list":
        rows = silences.list(now, expired=args.all)
        if not rows:
            out.write("no silences\n")
        for s in rows:
            state = "expired" if s.until <= now else f"until {_when(s.until)}"
            comment = f"  # {s.comment}" if s.comment else ""
            out.write(f"{s.id:>4}  {s.describe()}  {state}{comment}\n")
        return EXIT_OK
    if not silences.remove(args.id):
        err.write(f"alser-tui: no silence {args.id}\n")
        return EXIT_RUNTIME
    out.write(f"silence {args.id} removed\n")
    return EXIT_OK


def unknown_match_field(
    config: Config, parser: str, kind: str, matchers: tuple[tuple[str, str], ...]
) -> str:
    """Why a --match names a field no alarm in scope carries (it would never match), or ""."""
    parsers = [p for p in config.parsers if not parser or p.id == parser]
    fields = {"text"}.union(*(alarm_fields(p, kind) for p in parsers))
    for name, _value in matchers:
        if name in fields:
            continue
        whose = f"parser {parser!r}" if parser else "any parser"
        what = f"{kind} alarms" if kind else "alarms"
        close = difflib.get_close_matches(name, sorted(fields), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        known = ", ".join(sorted(fields))
        return (
            f"--match {name}=...: {what} of {whose} have no field {name!r}{hint}; fields: {known}"
        )
    return ""


def _outbox(
    args: argparse.Namespace, config: Config, db: DeliveryDB, out: IO[str], err: IO[str]
) -> int:
    outbox = Outbox(db)
    if args.retry is not None:
        if not outbox.retry(args.retry, time.time()):
            err.write(f"alser-tui: no message {args.retry} to retry\n")
            return EXIT_RUNTIME
        out.write(f"message {args.retry} queued again\n")
        return EXIT_OK
    counts = outbox.counts()
    held = outbox.held_counts()
    names = [c.name for c in config.delivery.channels] if config.delivery else []
    names += sorted((set(counts) | set(held)) - set(names))
    if args.channel:
        names = [n for n in names if n == args.channel]
    if not names:
        out.write("no channels\n")
        return EXIT_OK
    states = ("pending", "failed", "skipped", "sent") if args.all else ("pending", "failed")
    for n in names:
        c = counts.get(n, {})
        out.write(
            f"{n}: {c.get('pending', 0)} pending, {c.get('failed', 0)} failed,"
            f" {c.get('skipped', 0)} skipped, {c.get('sent', 0)} sent,"
            f" {held.get(n, 0)} held for a digest\n"
        )
        for m in outbox.messages(n, states):
            line = f"  #{m.id} {m.state:<7} {m.kind:<8} created {_when(m.created)}"
            if m.state == "pending" and m.attempts:
                line += f"  attempts {m.attempts}, next try {_when(m.next_try)}"
            if m.state == "sent":
                line += f"  sent {_when(m.sent_at)}"
            if m.last_error and m.state != "sent":
                line += f"\n      last error: {m.last_error}"
            out.write(line + "\n")
    return EXIT_OK
