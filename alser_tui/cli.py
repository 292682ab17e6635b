"""Command line: parse arguments, build a Config, run headless or the console."""

from __future__ import annotations

import argparse
import fcntl
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

from alser_tui import __version__
from alser_tui.engine.config import Config, ConfigError, load_config

EXIT_OK, EXIT_RUNTIME, EXIT_USAGE = 0, 1, 2
DEFAULT_CONFIG = "conf/alser.toml"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def build_argparser() -> argparse.ArgumentParser:
    ap = _Parser(
        prog="alser-tui",
        description="Guards a central log server: tails log files, counts events per window, raises alarms.",
        epilog=(
            "other commands: alser-tui convert OLD.cf (the Go tool's config to TOML), "
            "alser-tui silence add|list|rm, alser-tui outbox (each takes --help)"
        ),
    )
    ap.add_argument(
        "-c", "--config", default=DEFAULT_CONFIG, help="config file (default: %(default)s)"
    )
    ap.add_argument(
        "--no-ui", action="store_true", help="run the engine headless (text or --json on stdout)"
    )
    ap.add_argument(
        "--history", action="store_true", help="replay the guards' history_glob files, then exit"
    )
    ap.add_argument(
        "--deliver",
        action="store_true",
        help="with --history: send what the replay raises to the channels (by default a"
        " replay sends nothing and says what it would have sent)",
    )
    ap.add_argument("--json", action="store_true", help="headless output as JSON lines")
    ap.add_argument(
        "--parser", action="append", metavar="ID", help="run only this parser (repeatable)"
    )
    ap.add_argument(
        "--locale", action="append", metavar="AREA", help="keep only this area (repeatable)"
    )
    ap.add_argument(
        "--dry-run", action="store_true", help="parse and count only: no store, no alarms"
    )
    ap.add_argument(
        "--tick", type=float, default=0, metavar="N", help="a progress line on stderr every N s"
    )
    ap.add_argument(
        "--check",
        action="store_true",
        help="validate the config and exit (0, 2 on errors; a warning per guard without files)",
    )
    ap.add_argument(
        "--strict", action="store_true", help="with --check: exit 1 when there are warnings"
    )
    ap.add_argument(
        "--list-parsers", action="store_true", help="list the configured parsers and exit"
    )
    ap.add_argument("--data-dir", metavar="DIR", help="where the SQLite files and state live")
    ap.add_argument(
        "--web",
        metavar="HOST:PORT",
        help="with --no-ui: serve the web view and /metrics there (overrides [web] listen)",
    )
    ap.add_argument(
        "--no-lock", action="store_true", help="allow several instances on one data dir"
    )
    ap.add_argument(
        "--workers",
        type=non_negative_int,
        metavar="N",
        help="worker processes for --history (they read, parse, store and aggregate their"
        " share; default: one per core, up to 4, for replays of 32 MB or more)",
    )
    ap.add_argument(
        "--demo", action="store_true", help="run on generated demo logs (no config needed)"
    )
    ap.add_argument(
        "--keep", action="store_true", help="with --demo: keep its temporary folder on exit"
    )
    ap.add_argument("--version", action="version", version=f"alser-tui {__version__}")
    return ap


class LockError(Exception):
    pass


@contextmanager
def instance_lock(data_dir: Path) -> Iterator[None]:
    """One instance per data dir, as the original's -lock (an flock, released on any exit)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "alser.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise LockError(
                f"another alser-tui (pid {other}) is using {data_dir}; use --no-lock or --data-dir"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


def _fail(err: IO[str], message: str, code: int) -> int:
    err.write(f"alser-tui: {message}\n")
    return code


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("silence", "outbox"):
        from alser_tui.notify_cli import main as notify_main

        return notify_main(argv)
    if argv and argv[0] == "status":
        from alser_tui.guard.status import main as status_main

        return status_main(argv[1:])
    if argv and argv[0] == "convert":
        from alser_tui.convert.cli import main as convert_main

        return convert_main(argv)
    args = build_argparser().parse_args(argv)
    if not args.demo:
        return _main(args, None)
    # The demo's folder goes on every exit (a config error, --check, a stop by signal):
    # a demo run leaves nothing behind unless asked to.
    dest = Path(tempfile.mkdtemp(prefix="alser-demo-"))
    try:
        return _main(args, dest)
    finally:
        _leave_demo_folder(dest, keep=args.keep)


def _leave_demo_folder(dest: Path, *, keep: bool) -> None:
    if keep:
        sys.stderr.write(f"alser-tui: demo logs kept in {dest}\n")
        return
    try:
        shutil.rmtree(dest)
    except OSError as exc:
        sys.stderr.write(f"alser-tui: could not remove the demo folder {dest}: {exc}\n")


def _main(args: argparse.Namespace, dest: Path | None) -> int:
    """The command itself; ``dest``: the demo's folder (with --demo)."""
    err = sys.stderr
    refused = console_refused(args)
    if refused:
        return _fail(err, refused, EXIT_USAGE)
    demo_writer = None
    try:
        if dest is not None:
            from alser_tui.demo import DemoWriter, prepare_demo, write_history

            config_path = prepare_demo(dest)
            if args.history:
                import time

                write_history(dest, start_ts=int(time.time()) - 3600, minutes=60, seed=1)
            else:
                demo_writer = DemoWriter(dest, seed=1)
            err.write(f"alser-tui: demo logs in {dest} (removed on exit; --keep keeps them)\n")
        else:
            config_path = Path(args.config)
        config = _load(args, config_path)
    except ConfigError as exc:
        return _fail(err, str(exc), EXIT_USAGE)

    if args.check:
        from alser_tui.engine.health import config_warnings

        # A guard without files is valid (they may come later) but looks healthy while it
        # guards nothing: said here, and fatal with --strict.
        warnings = config_warnings(config)
        for w in warnings:
            err.write(f"{config.path}: warning: {w}\n")
        n = len(warnings)
        tail = f", {n} warning{'s' if n != 1 else ''}" if n else ""
        err.write(
            f"{config.path}: ok ({len(config.parsers)} parsers, {len(config.guards)} guards{tail})\n"
        )
        return EXIT_RUNTIME if warnings and args.strict else EXIT_OK
    if args.list_parsers:
        for p in config.parsers:
            guards = [g.name for g in config.guards if p.id in g.parsers]
            state = "" if p.enabled else "  (disabled)"
            sys.stdout.write(
                f"{p.id:<14} {p.kind:<8} {p.title:<14} window {p.window:>4}s  "
                f"guards: {', '.join(guards) or '-'}{state}\n"
            )
        return EXIT_OK

    if not headless(args) and not args.history and not args.dry_run:
        attached = attach_guard(config, args, err)
        if attached is not None:
            # A guard runs on this data dir: the console is one of its viewers, holds no
            # lock and runs no engine (link/remote.py).
            client, config = attached
            return run_console(config, args, guard=client)
    try:
        lock = instance_lock(config.data_dir) if not (args.no_lock or args.dry_run) else None
        if lock is not None:
            lock.__enter__()
    except LockError as exc:
        return _fail(err, str(exc), EXIT_RUNTIME)
    except OSError as exc:
        return _fail(
            err, f"cannot use data dir {config.data_dir}: {exc.strerror or exc}", EXIT_RUNTIME
        )
    try:
        if demo_writer is not None:
            demo_writer.start()
        if headless(args):
            return run_headless(config, args)
        return run_console(config, args)
    finally:
        if demo_writer is not None:
            demo_writer.stop()
        if lock is not None:
            lock.__exit__(None, None, None)


def headless(args: argparse.Namespace) -> bool:
    return bool(args.no_ui or (args.history and args.json))


def console_refused(args: argparse.Namespace) -> str:
    """Why the console cannot start, or "". Without a terminal on stdin and stderr (where
    Textual reads keys and draws) it would spin on the closed input forever."""
    if headless(args) or args.check or args.list_parsers:
        return ""
    if args.json:
        return "--json is headless output: add --no-ui (or --history)"
    if args.web:
        return "--web is served by the guard: add --no-ui (a console then attaches to it)"
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        return "the console needs a terminal (stdin and stderr); use --no-ui to run headless"
    return ""


def default_workers(args: argparse.Namespace) -> int:
    """-1: the engine decides (workers for big replays, bench/RESULTS.md)."""
    return -1 if args.workers is None else int(args.workers)


def stop_handler(engine: Any) -> Callable[[int, object], None]:
    """The SIGINT/SIGTERM handler of a run: it asks the engine to stop (guard/host.py
    says why from a thread of its own)."""
    from alser_tui.guard.host import on_signal_thread

    return on_signal_thread(engine.request_stop)


def _load(args: argparse.Namespace, path: Path) -> Config:
    """The config as this command line sees it (--parser, --data-dir applied)."""
    config = load_config(path).restricted(args.parser)
    if args.data_dir:
        config = replace(
            config, storage=replace(config.storage, dir=str(Path(args.data_dir).resolve()))
        )
    if getattr(args, "web", None):
        from alser_tui.engine.config import WebConfig, check_web

        web = WebConfig(args.web, config.web.tokens)
        check_web(web, config.path, "--web")
        config = replace(config, web=web)
    return config


def run_headless(config: Config, args: argparse.Namespace) -> int:
    from alser_tui.guard.host import GuardHost, GuardOptions

    options = GuardOptions(
        history=args.history,
        dry_run=args.dry_run,
        locales=tuple(args.locale or ()),
        workers=default_workers(args),
        json=args.json,
        tick=args.tick,
        deliver=args.deliver,
    )
    path = Path(config.path) if config.path else None
    host = GuardHost(
        config, options, load=(lambda: _load(args, path)) if path is not None else None
    )
    host.install_signals()
    try:
        host.run()
    except BrokenPipeError:
        # `alser-tui --json | head`: the reader left; that is not our failure.
        sys.stderr.close()
        return EXIT_OK
    except OSError as exc:
        return _fail(
            sys.stderr, f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), EXIT_RUNTIME
        )
    except Exception as exc:
        # The pipeline as a whole is broken (a corrupt database...): one line, exit 1. A
        # single odd line never gets here: parsers' errors are counted per line.
        return _fail(sys.stderr, f"engine stopped: {type(exc).__name__}: {exc}", EXIT_RUNTIME)
    return EXIT_OK


def attach_guard(
    config: Config, args: argparse.Namespace, err: IO[str]
) -> tuple[Any, Config] | None:
    """(a client of the guard running on the config's data dir, the guard's config), or
    None when no guard answers there."""
    from alser_tui.guard.server import guard_listening, socket_path

    path = socket_path(config.data_dir)
    if not guard_listening(path):
        return None
    from alser_tui.guard.client import GuardClient, GuardGone

    try:
        client = GuardClient(path)
    except GuardGone as exc:
        err.write(f"alser-tui: a guard runs on {config.data_dir} but cannot be attached: {exc}\n")
        return None
    theirs = str(client.hello.get("config") or "")
    if theirs and config.path and Path(theirs).resolve() != Path(config.path).resolve():
        # Its parsers are what its database holds: show them, not this file's.
        try:
            config = _load(args, Path(theirs))
        except (ConfigError, OSError) as exc:
            err.write(f"alser-tui: the guard's config {theirs} does not load here ({exc});"
                      f" showing {config.path}\n")  # fmt: skip
    return client, config


def run_console(config: Config, args: argparse.Namespace, guard: Any = None) -> int:
    from alser_tui.ui.app import run_app

    return run_app(config, args, guard)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
