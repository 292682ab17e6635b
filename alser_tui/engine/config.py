"""TOML configuration -> frozen dataclasses. Every error names the file, the key path and the problem."""

from __future__ import annotations

import difflib
import re
import string
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alser_tui.engine import ingest
from alser_tui.engine.stats_sql import check_stats_sql

if TYPE_CHECKING:
    from alser_tui.engine.notify.config import DeliveryConfig


class ConfigError(Exception):
    """A configuration problem, located by file and TOML key path."""

    def __init__(self, file: str, key: str, problem: str) -> None:
        self.file = file
        self.key = key
        self.problem = problem
        where = f"{file}: {key}: " if key else f"{file}: "
        super().__init__(where + problem)


FIELD_TYPES = ("string", "int", "float", "money", "base_file")
NORMALIZERS = ("digits", "token")
PARSER_KINDS = ("json", "regex", "hostline")
FORMATS = ("als", "raw")
SQL_TYPES = {
    "string": "TEXT",
    "int": "INTEGER",
    "float": "REAL",
    "money": "REAL",
    "base_file": "TEXT",
}
HOSTLINE_COLUMNS = (
    ("host", "string"),
    ("data", "string"),
    ("program", "string"),
    ("amount", "int"),
)

# The original's currency table (values in USD for one unit of the currency).
DEFAULT_CURRENCY_RATES: dict[str, float] = {
    "USD": 1.0,
    "EUR": 1.3,
    "GBP": 1.56,
    "CAD": 0.96,
    "AUD": 0.92,
    "BRL": 0.42,
    "THB": 0.032,
    "TRY": 0.5,
    "IDR": 0.0001,
    "VND": 0.000047,
    "CNY": 0.16,
    "JPY": 0.01,
}

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# A guard's default silent_after: ten minutes without a line from a family that delivered
# is a dead collector or pipe on a central log server, not a quiet hour (set it per guard
# for the families that do go quiet; 0 turns the alarm off).
SILENT_AFTER = 600.0


@dataclass(frozen=True, slots=True)
class FieldConfig:
    name: str
    group: int = 0
    path: str = ""
    type: str = "string"
    normalize: tuple[str, ...] = ()
    contains: str = ""
    ignores: tuple[str, ...] = ()
    filters: tuple[str, ...] = ()
    visible: bool = True
    maxlen: int = 0

    @property
    def json_path(self) -> str:
        return self.path or self.name


@dataclass(frozen=True, slots=True)
class ParserConfig:
    id: str
    kind: str
    title: str = ""
    colors: tuple[str, ...] = ()
    window: int = 60
    regex: str = ""
    # Seconds a regex search may take on one line (lines it could backtrack on for long);
    # past it the line is rejected (see parsers/bounded.py).
    regex_timeout: float = 0.05
    aggregate: str = "count"
    group_by: tuple[str, ...] = ()
    where: str = ""
    min_amount: float = 1
    limit: int = 10
    # A raw SQL aggregate replacing aggregate/group_by/where (see engine/stats_sql.py).
    stats_sql: str = ""
    beep_threshold: float = 0
    abnormal_percent: float = 1.5
    abnormal_base: float = 10
    severity: float = 1
    abnormal_severity_factor: float = 1
    instant: str = ""
    row_format: str = ""
    summary: bool = False
    persist: bool = False
    enabled: bool = True
    fields: tuple[FieldConfig, ...] = ()

    @property
    def columns(self) -> tuple[tuple[str, str], ...]:
        """Stored columns after area and ts: (name, field type)."""
        if self.kind == "hostline":
            return HOSTLINE_COLUMNS
        return tuple((f.name, f.type) for f in self.fields if f.visible)

    @property
    def column_names(self) -> tuple[str, ...]:
        return ("area", "ts", *(name for name, _ in self.columns))

    @property
    def aggregate_kind(self) -> str:
        return self.aggregate.split(":", 1)[0]

    @property
    def aggregate_field(self) -> str:
        return self.aggregate.split(":", 1)[1] if ":" in self.aggregate else ""

    @property
    def label(self) -> str:
        return self.title or self.id


@dataclass(frozen=True, slots=True)
class GuardConfig:
    tail_glob: str = ""
    history_glob: str = ""
    parsers: tuple[str, ...] = ()
    format: str = "als"
    enabled: bool = True
    name: str = ""
    # Pushed logs and database tables instead of files (see engine/ingest.py).
    listen: str = ""
    program: str = ""
    spool_dir: str = ""
    tables: str = ""
    dsn: str = ""
    password_env: str = ""
    # Bounds of a listen guard: bytes per line, open connections, lines queued.
    max_line: int = ingest.MAX_LINE
    max_connections: int = ingest.MAX_CONNECTIONS
    queue_lines: int = ingest.QUEUE_LINES
    # Seconds without a line from any of the guard's sources, once they delivered, before
    # a "silent" alarm (engine/health.py); 0: never.
    silent_after: float = SILENT_AFTER


@dataclass(frozen=True, slots=True)
class StorageConfig:
    dir: str = "var"
    keep_windows: int = 60
    # Closed windows, alarms and the positions of files gone are forgotten after this many
    # days (a guard runs for months); 0 keeps them forever.
    keep_days: float = 30.0


@dataclass(frozen=True, slots=True)
class EngineConfig:
    lateness: float = 5.0
    idle_after: float = 10.0
    abnormal_memory: int = 100_000
    batch_lines: int = 10_000
    poll_interval: float = 0.25
    glob_interval: float = 2.0


WEB_RIGHTS = ("read", "ack")


@dataclass(frozen=True, slots=True)
class WebToken:
    """A secret for the web view and /metrics: "read" sees, "ack" also acks and silences."""

    token: str = ""  # the secret itself, or
    token_env: str = ""  # the environment variable holding it (kept out of the config)
    rights: str = "read"

    def secret(self) -> str:
        import os

        return self.token or os.environ.get(self.token_env, "")


@dataclass(frozen=True, slots=True)
class WebConfig:
    """``[web]``: the guard's web view and /metrics (web/server.py); off unless listen."""

    listen: str = ""  # "127.0.0.1:8421"
    tokens: tuple[WebToken, ...] = ()

    @property
    def address(self) -> tuple[str, int]:
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]"), int(port)


@dataclass(frozen=True, slots=True)
class Config:
    path: str
    storage: StorageConfig = field(default_factory=StorageConfig)
    engine: EngineConfig = field(default_factory=EngineConfig)
    guards: tuple[GuardConfig, ...] = ()
    parsers: tuple[ParserConfig, ...] = ()
    currency_rates: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_CURRENCY_RATES))
    theme: str = "ansi"
    delivery: DeliveryConfig | None = None
    web: WebConfig = field(default_factory=WebConfig)

    def parser(self, parser_id: str) -> ParserConfig:
        for p in self.parsers:
            if p.id == parser_id:
                return p
        raise KeyError(parser_id)

    @property
    def data_dir(self) -> Path:
        return self.resolve(self.storage.dir)

    def resolve(self, path: str) -> Path:
        """Relative paths in a config are relative to the config file's folder."""
        p = Path(path)
        return p if p.is_absolute() else Path(self.path).resolve().parent / p

    def restricted(self, parser_ids: list[str] | None) -> Config:
        """Only the named parsers (and the guards that still feed one)."""
        if not parser_ids:
            return self
        known = {p.id for p in self.parsers}
        for pid in parser_ids:
            if pid not in known:
                raise ConfigError(
                    self.path, "--parser", f"unknown parser {pid!r}{_hint(pid, known)}"
                )
        keep = set(parser_ids)
        guards = []
        for g in self.guards:
            ids = tuple(p for p in g.parsers if p in keep)
            if ids:
                guards.append(replace(g, parsers=ids))
        return replace(
            self, parsers=tuple(p for p in self.parsers if p.id in keep), guards=tuple(guards)
        )


# --------------------------------------------------------------------------- loading


def _hint(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


class _Reader:
    """Type-checked access to one TOML table; remembers which keys were used."""

    def __init__(self, file: str, path: str, table: Any) -> None:
        self.file = file
        self.path = path
        if not isinstance(table, dict):
            raise ConfigError(file, path, f"must be a table, not {_tname(table)}")
        self.table = table

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def error(self, name: str, problem: str) -> ConfigError:
        return ConfigError(self.file, self.key(name), problem)

    def get(self, name: str, kind: type | tuple[type, ...], default: Any) -> Any:
        if name not in self.table:
            return default
        value = self.table[name]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        # bool is an int subclass in Python; TOML keeps them apart, so do we.
        if isinstance(value, bool) and bool not in kinds:
            raise self.error(name, f"must be {_kinds(kinds)}, not a boolean")
        if not isinstance(value, kinds):
            raise self.error(name, f"must be {_kinds(kinds)}, not {_tname(value)}")
        return value

    def number(self, name: str, default: float, *, minimum: float | None = None) -> float:
        value = self.get(name, (int, float), default)
        if minimum is not None and value < minimum:
            raise self.error(name, f"must be >= {minimum}, got {value}")
        return value

    def integer(self, name: str, default: int, *, minimum: int | None = None) -> int:
        value = self.get(name, int, default)
        if minimum is not None and value < minimum:
            raise self.error(name, f"must be >= {minimum}, got {value}")
        return value

    def strings(self, name: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        value = self.get(name, list, None)
        if value is None:
            return default
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise ConfigError(
                    self.file, f"{self.key(name)}[{i}]", f"must be a string, not {_tname(item)}"
                )
        return tuple(value)

    def choice(self, name: str, choices: tuple[str, ...], default: str) -> str:
        value = self.get(name, str, default)
        if value not in choices:
            raise self.error(name, f"must be one of {', '.join(choices)}; got {value!r}")
        return value

    def check_unknown(self, allowed: set[str]) -> None:
        for name in self.table:
            if name not in allowed:
                raise self.error(name, f"unknown key{_hint(name, allowed)}")


def _tname(value: Any) -> str:
    return {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "a boolean",
        list: "an array",
        dict: "a table",
    }.get(type(value), type(value).__name__)


def _kinds(kinds: tuple[type, ...]) -> str:
    names = {
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "a boolean",
        list: "an array",
        dict: "a table",
    }
    if set(kinds) == {int, float}:
        return "a number"
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _dataclass_keys(cls: type) -> set[str]:
    return {f.name for f in fields(cls)}


def load_config(path: str | Path) -> Config:
    """Read and validate a config file; raises ConfigError."""
    file = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise ConfigError(file, "", "no such file") from None
    except OSError as exc:
        raise ConfigError(file, "", f"cannot read: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(file, "", f"not UTF-8 text ({exc.reason})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(file, "", f"invalid TOML: {exc}") from None
    return parse_config(data, file)


def parse_config(data: dict[str, Any], file: str = "<config>") -> Config:
    top = _Reader(file, "", data)
    top.check_unknown(
        {"storage", "engine", "guards", "parsers", "currency_rates", "ui", "web"}
        | {"delivery", "channels", "routes"}
    )

    st = _Reader(file, "storage", top.get("storage", dict, {}))
    st.check_unknown(_dataclass_keys(StorageConfig))
    storage = StorageConfig(
        dir=st.get("dir", str, "var"),
        keep_windows=st.integer("keep_windows", 60, minimum=1),
        keep_days=st.number("keep_days", 30.0, minimum=0),
    )

    en = _Reader(file, "engine", top.get("engine", dict, {}))
    en.check_unknown(_dataclass_keys(EngineConfig))
    engine = EngineConfig(
        lateness=en.number("lateness", 5.0, minimum=0),
        idle_after=en.number("idle_after", 10.0, minimum=0),
        abnormal_memory=en.integer("abnormal_memory", 100_000, minimum=1),
        batch_lines=en.integer("batch_lines", 10_000, minimum=1),
        poll_interval=en.number("poll_interval", 0.25, minimum=0.01),
        glob_interval=en.number("glob_interval", 2.0, minimum=0.1),
    )

    web = _parse_web(_Reader(file, "web", top.get("web", dict, {})))

    ui = _Reader(file, "ui", top.get("ui", dict, {}))
    ui.check_unknown({"theme"})
    theme = ui.get("theme", str, "ansi")

    rates = dict(DEFAULT_CURRENCY_RATES)
    cr = _Reader(file, "currency_rates", top.get("currency_rates", dict, {}))
    for cur in cr.table:
        rates[cur.upper()] = cr.number(cur, 0.0, minimum=0)

    parser_tables = top.get("parsers", list, [])
    parsers: list[ParserConfig] = []
    seen: dict[str, int] = {}
    for i, table in enumerate(parser_tables):
        p = _parse_parser(file, f"parsers[{i}]", table)
        if p.id in seen:
            raise ConfigError(
                file,
                f"parsers[{i}].id",
                f"duplicate parser id {p.id!r} (also parsers[{seen[p.id]}])",
            )
        seen[p.id] = i
        parsers.append(p)

    guards: list[GuardConfig] = []
    for i, table in enumerate(top.get("guards", list, [])):
        guards.append(_parse_guard(file, f"guards[{i}]", table, seen))
    ingest.check_listeners(file, guards)

    from alser_tui.engine.notify.config import parse_delivery  # it imports this module

    delivery = parse_delivery(data, file, seen)

    return Config(
        path=file,
        storage=storage,
        engine=engine,
        guards=tuple(guards),
        parsers=tuple(parsers),
        currency_rates=rates,
        theme=theme,
        delivery=delivery,
        web=web,
    )


def _parse_web(r: _Reader) -> WebConfig:
    r.check_unknown({"listen", "tokens"})
    listen = r.get("listen", str, "")
    tokens = []
    for i, table in enumerate(r.get("tokens", list, [])):
        t = _Reader(r.file, f"web.tokens[{i}]", table)
        t.check_unknown(_dataclass_keys(WebToken))
        token = WebToken(
            token=t.get("token", str, ""),
            token_env=t.get("token_env", str, ""),
            rights=t.choice("rights", WEB_RIGHTS, "read"),
        )
        if bool(token.token) == bool(token.token_env):
            raise t.error("token", "give either token or token_env (the variable holding it)")
        if token.token and len(token.token) < 16:
            raise t.error("token", "at least 16 characters: it is all that guards the page")
        tokens.append(token)
    web = WebConfig(listen, tuple(tokens))
    check_web(web, r.file, r.key("listen"))
    return web


def check_web(web: WebConfig, file: str, key: str) -> None:
    """A listen address that parses, and tokens for any bind other machines can reach."""
    import ipaddress

    if not web.listen:
        return
    _host, sep, port = web.listen.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536 or not _host:
        raise ConfigError(file, key, f"must be host:port, e.g. 127.0.0.1:8421; got {web.listen!r}")
    host, _port = web.address
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback and not web.tokens:
        raise ConfigError(
            file,
            key,
            f"{host} is reachable from other machines: give [[web.tokens]] (rights read or ack)",
        )


def _parse_guard(file: str, path: str, table: Any, parser_ids: dict[str, int]) -> GuardConfig:
    r = _Reader(file, path, table)
    r.check_unknown(_dataclass_keys(GuardConfig))
    g = GuardConfig(
        tail_glob=r.get("tail_glob", str, ""),
        history_glob=r.get("history_glob", str, ""),
        parsers=r.strings("parsers"),
        format=r.choice("format", FORMATS, "als"),
        enabled=r.get("enabled", bool, True),
        name=r.get("name", str, ""),
        **{k: r.get(k, str, "") for k in INGEST_KEYS},
        **ingest.receiver_limits(r),
        silent_after=r.number("silent_after", SILENT_AFTER, minimum=0),
    )
    g = ingest.check_guard(r, g)
    for key in ("tail_glob", "history_glob"):
        value = getattr(g, key)
        if value and ("\0" in value or not _glob_ok(value)):
            raise r.error(key, f"invalid glob {value!r}")
    if not g.parsers:
        raise r.error("parsers", "a guard needs at least one parser id")
    for j, pid in enumerate(g.parsers):
        if pid not in parser_ids:
            raise ConfigError(
                file,
                f"{path}.parsers[{j}]",
                f"parser {pid!r} is not defined{_hint(pid, parser_ids)}",
            )
    if not g.name:
        g = replace(g, name=Path(g.tail_glob or g.history_glob).name)
    return g


INGEST_KEYS = ("listen", "program", "spool_dir", "tables", "dsn", "password_env")


def _glob_ok(pattern: str) -> bool:
    # An unbalanced '[' makes glob match nothing, silently; refuse it instead.
    depth = 0
    for ch in pattern:
        if ch == "[":
            depth += 1
        elif ch == "]" and depth:
            depth -= 1
    return depth == 0


def _parse_parser(file: str, path: str, table: Any) -> ParserConfig:
    r = _Reader(file, path, table)
    r.check_unknown(_dataclass_keys(ParserConfig))
    pid = r.get("id", str, None)
    if pid is None:
        raise r.error("id", "missing (every parser needs an id)")
    if not _IDENT.match(pid):
        raise r.error("id", f"{pid!r} must be letters, digits and _ (it names a table)")
    kind = r.get("kind", str, None)
    if kind is None:
        raise r.error("kind", f"missing (one of {', '.join(PARSER_KINDS)})")
    r.choice("kind", PARSER_KINDS, kind)

    flds: list[FieldConfig] = []
    for j, ft in enumerate(r.get("fields", list, [])):
        flds.append(_parse_field(file, f"{path}.fields[{j}]", ft, kind))
    names = [f.name for f in flds]
    for j, name in enumerate(names):
        if name in ("area", "ts", "raw") or names.index(name) != j:
            raise ConfigError(file, f"{path}.fields[{j}].name", f"column name {name!r} is taken")
    if kind in ("json", "regex") and not flds:
        raise r.error("fields", f"a {kind} parser needs at least one field")
    if kind == "hostline" and flds:
        raise r.error("fields", "hostline parsers have fixed columns (host, data, program, amount)")

    regex = r.get("regex", str, "")
    if kind == "regex":
        if not regex:
            raise r.error("regex", "a regex parser needs a regex")
        try:
            compiled = re.compile(regex)
        except re.error as exc:
            raise r.error("regex", f"invalid regular expression: {exc}") from None
        for j, f in enumerate(flds):
            if not 0 < f.group <= compiled.groups:
                raise ConfigError(
                    file,
                    f"{path}.fields[{j}].group",
                    f"group {f.group} does not exist (the regex has {compiled.groups} groups)",
                )
    elif regex:
        raise r.error("regex", f"only regex parsers take a regex (this one is {kind})")
    regex_timeout = r.number("regex_timeout", 0.05, minimum=0.001)
    if "regex_timeout" in r.table and kind != "regex":
        raise r.error("regex_timeout", f"only regex parsers take it (this one is {kind})")

    p = ParserConfig(
        id=pid,
        kind=kind,
        title=r.get("title", str, ""),
        colors=r.strings("colors"),
        window=r.integer("window", 60, minimum=1),
        regex=regex,
        regex_timeout=regex_timeout,
        aggregate=r.get("aggregate", str, "count"),
        group_by=r.strings("group_by"),
        where=r.get("where", str, ""),
        min_amount=r.number("min_amount", 1),
        limit=r.integer("limit", 10, minimum=0),
        stats_sql=r.get("stats_sql", str, ""),
        beep_threshold=r.number("beep_threshold", 0, minimum=0),
        abnormal_percent=r.number("abnormal_percent", 1.5, minimum=0),
        abnormal_base=r.number("abnormal_base", 10, minimum=0),
        severity=r.number("severity", 1, minimum=0),
        abnormal_severity_factor=r.number("abnormal_severity_factor", 1, minimum=0),
        instant=r.get("instant", str, ""),
        row_format=r.get("row_format", str, ""),
        summary=r.get("summary", bool, False),
        persist=r.get("persist", bool, False),
        enabled=r.get("enabled", bool, True),
        fields=tuple(flds),
    )
    if p.stats_sql:
        p = _with_stats_sql(r, p)
    columns = set(p.column_names)
    agg_kind = p.aggregate_kind
    if agg_kind not in ("count", "count_distinct", "sum"):
        raise r.error(
            "aggregate", f"must be count, count_distinct:FIELD or sum:FIELD; got {p.aggregate!r}"
        )
    if agg_kind == "count" and p.aggregate_field:
        raise r.error("aggregate", "count takes no field")
    if agg_kind != "count":
        if p.aggregate_field not in columns:
            raise r.error(
                "aggregate",
                f"{p.aggregate_field!r} is not a column{_hint(p.aggregate_field, columns)}",
            )
    for j, g in enumerate(p.group_by):
        if g not in columns:
            raise ConfigError(
                file, f"{path}.group_by[{j}]", f"{g!r} is not a column{_hint(g, columns)}"
            )
    for j, f in enumerate(flds):
        if f.type == "money" and not any(g.name == "currency" for g in flds[:j]):
            raise ConfigError(
                file, f"{path}.fields[{j}].type", "money needs a preceding field named 'currency'"
            )
    if not p.row_format:
        p = replace(p, row_format=default_row_format(p))
    _check_format(file, f"{path}.row_format", p.row_format, columns | {"amount"})
    if p.instant:
        _check_format(file, f"{path}.instant", p.instant, columns)
    if p.where:
        _check_where(file, f"{path}.where", p)
    return p


def _with_stats_sql(r: _Reader, p: ParserConfig) -> ParserConfig:
    """Validate a raw SQL aggregate; its select list gives group_by."""
    for key in ("aggregate", "where"):
        if key in r.table:
            raise r.error(key, "not together with stats_sql (say it in the query)")
    try:
        # "ev_" + id: store.events_table (the store imports this module, not the reverse).
        groups = check_stats_sql(p.stats_sql, f"ev_{p.id}", p.column_names)
    except ValueError as exc:
        raise r.error("stats_sql", str(exc)) from None
    if "group_by" in r.table and p.group_by != groups:
        raise r.error("group_by", f"must equal the stats_sql group columns {list(groups)}")
    # The query says what to show: min_amount and limit cut it only when given.
    return replace(
        p,
        group_by=groups,
        min_amount=p.min_amount if "min_amount" in r.table else float("-inf"),
        limit=p.limit if "limit" in r.table else 0,
    )


def default_row_format(p: ParserConfig) -> str:
    parts = ["{amount:>5}"]
    for g in p.group_by:
        parts.append("{area:>3}" if g == "area" else "{" + g + "}")
    return " ".join(parts)


def _check_format(file: str, key: str, fmt: str, names: set[str]) -> None:
    try:
        parsed = list(string.Formatter().parse(fmt))
    except ValueError as exc:
        raise ConfigError(file, key, f"invalid format string: {exc}") from None
    for _, fname, spec, _conv in parsed:
        if fname is None:
            continue
        base = re.split(r"[.\[]", fname, maxsplit=1)[0]
        if base == "" or base.isdigit():
            raise ConfigError(file, key, "use named fields like {area}, not positional {}")
        if base not in names:
            raise ConfigError(file, key, f"unknown field {{{base}}}{_hint(base, names)}")
        if spec and "{" in spec:
            raise ConfigError(file, key, "nested format fields are not supported")


def _check_where(file: str, key: str, p: ParserConfig) -> None:
    import sqlite3

    if ";" in p.where:
        raise ConfigError(file, key, "must be a single SQL condition (no ';')")
    con = sqlite3.connect(":memory:")
    try:
        cols = ", ".join(f'"{c}"' for c in p.column_names)
        con.execute(f"CREATE TABLE t ({cols})")
        con.execute(f"SELECT 1 FROM t WHERE ({p.where})")
    except sqlite3.Error as exc:
        raise ConfigError(file, key, f"invalid SQL condition: {exc}") from None
    finally:
        con.close()


def _parse_field(file: str, path: str, table: Any, kind: str) -> FieldConfig:
    r = _Reader(file, path, table)
    r.check_unknown(_dataclass_keys(FieldConfig))
    name = r.get("name", str, None)
    if name is None:
        raise r.error("name", "missing (every field needs a name)")
    if not _IDENT.match(name):
        raise r.error("name", f"{name!r} must be letters, digits and _ (it names a column)")
    group = r.integer("group", 0, minimum=0)
    if kind == "regex" and group == 0:
        raise r.error("group", "regex fields need the group number (1 or more)")
    if kind != "regex" and "group" in r.table:
        raise r.error("group", "only regex fields take a group")
    fpath = r.get("path", str, "")
    if kind != "json" and fpath:
        raise r.error("path", "only json fields take a path")
    normalize = r.strings("normalize")
    for j, n in enumerate(normalize):
        if n not in NORMALIZERS:
            raise ConfigError(
                file,
                f"{r.key('normalize')}[{j}]",
                f"must be one of {', '.join(NORMALIZERS)}; got {n!r}",
            )
    ignores = r.strings("ignores")
    for j, ig in enumerate(ignores):
        if ig.startswith("regex:"):
            try:
                re.compile(ig[len("regex:") :].strip())
            except re.error as exc:
                raise ConfigError(
                    file, f"{r.key('ignores')}[{j}]", f"invalid regular expression: {exc}"
                ) from None
    return FieldConfig(
        name=name,
        group=group,
        path=fpath,
        type=r.choice("type", FIELD_TYPES, "string"),
        normalize=normalize,
        contains=r.get("contains", str, ""),
        ignores=ignores,
        filters=r.strings("filters"),
        visible=r.get("visible", bool, True),
        maxlen=r.integer("maxlen", 0, minimum=0),
    )
