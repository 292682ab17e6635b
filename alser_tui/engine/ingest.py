"""Guards that are not file globs: pushed logs (``listen``) and database tables (``tables``).

Config checks for their keys, and the factory the engine asks for a guard's source before
it falls back to the file sources. Keys (see conf/alser.toml for examples)::

    listen = "syslog+tcp://127.0.0.1:5140"  # tcp:// unix:// (ALS lines) udp:// syslog+tcp://
    program = "phperror"                     # syslog app-name / tag this guard takes
    spool_dir = "/data/als/spool"            # also append received lines to FAMILY.YYYYMMDD.log
    max_line = 65536                         # bytes; longer lines are cut and counted
    max_connections = 64                     # more are closed at once and counted
    queue_lines = 100000                     # lines waiting for the engine; then backpressure

    tables = "log_%"                         # SHOW TABLES LIKE / sqlite LIKE pattern
    dsn = "mysql://alser@db1:3306/logs"      # or "sqlite:///var/lib/logs.db"
    password_env = "ALSER_DB_PASSWORD"       # the password, never in the file
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from alser_tui.engine.sources.receiver import (
    MAX_CONNECTIONS,
    MAX_LINE_BYTES,
    QUEUE_LINES,
    parse_listen,
    spool_family,
    spool_glob,
)

if TYPE_CHECKING:
    from alser_tui.engine.config import Config, GuardConfig, _Reader
    from alser_tui.engine.sources.tailer import FileState

_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PROGRAM = re.compile(r"^[^\s:\[\]]{1,64}$")

# The receiver's bounds (guard keys) and their defaults.
MAX_LINE = MAX_LINE_BYTES
# key -> (default, minimum, maximum, what it counts)
LIMITS: dict[str, tuple[int, int, int, str]] = {
    "max_line": (MAX_LINE, 64, 16 << 20, "bytes"),
    "max_connections": (MAX_CONNECTIONS, 1, 10_000, "connections"),
    "queue_lines": (QUEUE_LINES, 1, 10_000_000, "lines"),
}


def receiver_limits(r: _Reader) -> dict[str, int]:
    """A guard's max_line, max_connections and queue_lines: integers within their bounds."""
    out: dict[str, int] = {}
    for key, (default, low, high, unit) in LIMITS.items():
        value = r.integer(key, default)
        if not low <= value <= high:
            raise r.error(key, f"must be {low}..{high:,} {unit}, got {value:,}")
        out[key] = value
    return out


@dataclass(frozen=True, slots=True)
class Dsn:
    kind: str  # sqlite | mysql
    path: str = ""  # sqlite
    user: str = ""
    host: str = ""
    port: int = 3306
    database: str = ""

    @property
    def display(self) -> str:
        """The DSN without secrets, for paths and messages."""
        if self.kind == "sqlite":
            return f"sqlite://{self.path}"
        return f"mysql://{self.user}@{self.host}:{self.port}/{self.database}"


def parse_dsn(dsn: str) -> Dsn:
    """'sqlite:///abs/logs.db', 'sqlite://relative.db', 'mysql://user@host:3306/db'."""
    scheme, sep, rest = dsn.partition("://")
    scheme = scheme.lower()
    if not sep:
        raise ValueError("expected sqlite://PATH or mysql://USER@HOST:PORT/DATABASE")
    if scheme == "sqlite":
        if not rest or "\0" in rest:
            raise ValueError("sqlite:// needs a file path (sqlite:///abs/path.db)")
        return Dsn("sqlite", path=rest)
    if scheme in ("mysql", "mariadb"):
        parts = urlsplit(dsn)
        if parts.password is not None:
            raise ValueError("no password in the dsn: name an environment variable in password_env")
        try:
            port = parts.port or 3306
        except ValueError:
            raise ValueError("the port must be a number") from None
        database = parts.path.lstrip("/")
        if not parts.hostname or not database or "/" in database:
            raise ValueError("expected mysql://USER@HOST:PORT/DATABASE")
        return Dsn(
            "mysql",
            user=unquote(parts.username or ""),
            host=parts.hostname,
            port=port,
            database=unquote(database),
        )
    raise ValueError("the scheme must be sqlite:// or mysql://")


def check_guard(r: _Reader, g: GuardConfig) -> GuardConfig:
    """Validate a guard's source keys; fill the defaults (name, spool history_glob)."""
    sources = [k for k in ("tail_glob", "listen", "tables") if getattr(g, k)]
    if not sources and not g.history_glob:
        raise r.error("tail_glob", "a guard needs tail_glob or history_glob (or listen, or tables)")
    if len(sources) > 1:
        raise r.error(
            sources[1], f"give only one of tail_glob, listen and tables (also {sources[0]})"
        )
    if g.listen:
        try:
            ep = parse_listen(g.listen)
        except ValueError as exc:
            raise r.error("listen", f"{exc}; got {g.listen!r}") from None
        if g.program and not ep.syslog:
            raise r.error(
                "program",
                "only syslog listeners (udp://, syslog+tcp://, syslog+unix://) carry a program",
            )
    elif g.program or g.spool_dir:
        key = "program" if g.program else "spool_dir"
        raise r.error(key, "only a guard with listen takes it")
    else:
        for key in LIMITS:
            if key in r.table:
                raise r.error(key, "only a guard with listen takes it")
    if g.program and not _PROGRAM.match(g.program):
        raise r.error("program", f"not a syslog program name: {g.program!r}")
    if g.spool_dir and "\0" in g.spool_dir:
        raise r.error("spool_dir", "must name a folder")
    if g.tables:
        if not g.dsn:
            raise r.error(
                "dsn", "a tables guard needs a dsn (sqlite:///PATH or mysql://USER@HOST/DB)"
            )
        if len(g.tables) > 64 or "\0" in g.tables:
            raise r.error("tables", f"not a table name pattern: {g.tables!r}")
        try:
            dsn = parse_dsn(g.dsn)
        except ValueError as exc:
            raise r.error("dsn", str(exc)) from None
        if g.password_env and dsn.kind != "mysql":
            raise r.error("password_env", "only mysql:// takes a password")
    elif g.dsn or g.password_env:
        raise r.error("dsn" if g.dsn else "password_env", "only a guard with tables takes it")
    if g.password_env and not _ENV.match(g.password_env):
        raise r.error("password_env", f"must name an environment variable, got {g.password_env!r}")
    if not g.name:
        g = replace(g, name=g.program or g.listen or g.tables)
    if g.spool_dir and not g.history_glob:
        g = replace(g, history_glob=spool_glob(g.spool_dir, spool_family(g.program, g.name)))
    return g


def check_listeners(file: str, guards: list[GuardConfig]) -> None:
    """Guards sharing an address must agree on its protocol and its bounds (one socket, one
    max_line and max_connections; queue_lines is each guard's own); spools must not collide."""
    from alser_tui.engine.config import ConfigError

    seen: dict[Any, tuple[int, bool]] = {}
    spools: dict[tuple[str, str], int] = {}
    for i, g in enumerate(guards):
        if not g.listen:
            continue
        ep = parse_listen(g.listen)
        if ep.transport == "unix" or ep.port:
            other = seen.setdefault(ep.key, (i, ep.syslog))
            if other[1] != ep.syslog:
                raise ConfigError(
                    file, f"guards[{i}].listen", f"guards[{other[0]}] uses it with another protocol"
                )
            first = guards[other[0]]
            for key in ("max_line", "max_connections"):
                if getattr(g, key) != getattr(first, key):
                    raise ConfigError(
                        file,
                        f"guards[{i}].{key}",
                        f"guards[{other[0]}] shares the address with {key} = {getattr(first, key)}"
                        f"; give both the same",
                    )
        if g.spool_dir:
            key = (g.spool_dir, spool_family(g.program, g.name))
            j = spools.setdefault(key, i)
            if j != i:
                raise ConfigError(
                    file, f"guards[{i}].spool_dir", f"guards[{j}] spools the same family there"
                )


def open_source(
    g: GuardConfig,
    config: Config,
    *,
    history: bool,
    saved: list[FileState],
    first_run: bool,
    clock: Callable[[], float],
) -> Any | None:
    """The source for a listen or tables guard, or None (the engine's file sources then)."""
    if g.listen and not history:
        from alser_tui.engine.sources.receiver import ReceiverSource

        spool = str(config.resolve(g.spool_dir)) if g.spool_dir else ""
        return ReceiverSource(
            g.listen,
            program=g.program,
            spool_dir=spool,
            family=g.name,
            max_line_bytes=g.max_line,
            max_connections=g.max_connections,
            queue_lines=g.queue_lines,
        )
    if g.tables and not history:  # a replay reads the guard's history_glob, if any
        from alser_tui.engine.sources.tables import TableSource

        dsn = parse_dsn(g.dsn)
        if dsn.kind == "sqlite":
            dsn = replace(dsn, path=str(config.resolve(dsn.path)))
        return TableSource(
            dsn,
            g.tables,
            password_env=g.password_env,
            saved=saved,
            first_run=first_run,
            clock=clock,
        )
    return None
