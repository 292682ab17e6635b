"""The delivery part of the TOML config: `[delivery]`, `[channels.NAME]`, `[[routes]]`.

Same contract as engine/config.py: frozen dataclasses, every error names the file, the key
path and the problem, unknown keys are refused with a "did you mean" hint. Durations are
seconds or "90s" / "5m" / "1h" / "2d"; quiet hours are local "HH:MM-HH:MM" spans or a list
of hours. A short example::

    [delivery]
    realert = "1h"              # same (parser, kind, group) not sent again within this
    resolve_after = 1           # windows closed without it before it counts as resolved
    catch_up_lag = "10m"        # alarms older than this (or a --history replay) are pooled
    quiet_hours = "22:00-07:00" # default for every channel
    default_channels = ["mail"] # where alarms no route matches go (default: all channels
                                # when there are no routes, else none)
    unguarded_notices = true    # a notice when files no guard covers appear (and the
                                # list once at start); routed as kind "notice"
    [delivery.parsers.PhpError]
    realert = "30m"

    [channels.mail]
    type = "email"              # email | irc | webhook | exec | desktop | bell
    host = "smtp.example.org"
    tls = "starttls"            # starttls | tls | none
    user = "alser"
    password_env = "ALSER_SMTP_PASSWORD"
    to = ["oncall@example.org"]
    digest = "adaptive"         # or "pool" (severity_threshold, severity_pool_size, interval)

    [channels.ops]
    type = "irc"
    host = "irc.example.org"
    tls = true
    channels = ["#ops"]
    send_resolved = true

    [[routes]]
    parser = "PhpError"         # a parser id or a list; absent: any
    kind = ["threshold"]        # threshold | abnormal | instant | dropped | silent | notice
    min_severity = 10
    channels = ["ops", "mail"]
    continue = false            # true: later routes may add channels

Notices (kind "notice": an unguarded file appeared, a guard has had no source for a while,
a file's clock is far off) have no parser and severity 0, so only routes without ``parser``
and ``min_severity`` (or with ``kind = "notice"``) take them; otherwise they go to
``default_channels``. They wait out quiet hours and join a digest channel's next digest, but
have no lifecycle: a ``no_source`` or ``skew`` notice is sent once, and a second notice says
when it cleared (whatever ``send_resolved`` says: it is not an alarm's resolution).

A ``silent`` alarm (a guard's sources stopped delivering, engine/health.py) is routed like
any alarm, with its guard's first parser and the severity of that parser's least threshold
alarm; it fires until the next line, which resolves it (sent where ``send_resolved``).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from alser_tui.engine.config import ConfigError, _hint, _Reader

TOP_KEYS = ("delivery", "channels", "routes")
CHANNEL_TYPES = ("email", "irc", "webhook", "exec", "desktop", "bell")
ALARM_KINDS = ("threshold", "abnormal", "instant", "dropped", "silent")
# What a route may select: the alarm kinds and notices (not alarms: no lifecycle).
ROUTE_KINDS = (*ALARM_KINDS, "notice")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, None: 1}


def parse_duration(text: str) -> float:
    """'90', '90s', '5m', '1.5h', '2d' -> seconds; ValueError otherwise."""
    m = _DURATION.match(text)
    if not m:
        raise ValueError(f"not a duration: {text!r} (use e.g. 90s, 5m, 1h, 2d)")
    return float(m.group(1)) * _UNITS[m.group(2)]


@dataclass(frozen=True, slots=True)
class QuietHours:
    """Minutes of the local day during which a channel holds its mail for the morning."""

    spans: tuple[tuple[int, int], ...]  # [start, end) in minutes after midnight, no wrap
    text: str = ""

    def contains(self, ts: float) -> bool:
        t = time.localtime(ts)
        minute = t.tm_hour * 60 + t.tm_min
        return any(a <= minute < b for a, b in self.spans)

    def ends_after(self, ts: float) -> float:
        """The first moment after ``ts`` that is outside the quiet hours."""
        t = ts
        # Minute steps are exact across DST changes; a day has at most 1440 of them.
        for _ in range(1441):
            if not self.contains(t):
                return t
            lt = time.localtime(t)
            t = t - lt.tm_sec - (t % 1) + 60
        return ts


@dataclass(frozen=True, slots=True)
class ChannelConfig:
    name: str
    type: str
    enabled: bool = True
    send_resolved: bool = False
    quiet_hours: QuietHours | None = None
    # Alarms at least this severe go out even in quiet hours (0: none do).
    quiet_min_severity: float = 0
    retry_min: float = 5.0
    retry_max: float = 600.0
    # 0: retry forever; otherwise the message is marked failed (and shown) after this many.
    max_attempts: int = 0
    # How this channel receives alarms: one message per alarm, or digests every `interval`.
    per: str = "alarm"
    interval: float = 300.0


@dataclass(frozen=True, slots=True)
class EmailConfig(ChannelConfig):
    transport: str = "smtp"
    host: str = "localhost"
    port: int = 0  # 0: 587 for starttls, 465 for tls, 25 for none
    tls: str = "starttls"
    verify: bool = True
    ca_file: str = ""
    user: str = ""
    password_env: str = ""
    sender: str = "alser-tui@localhost"
    to: tuple[str, ...] = ()
    timeout: float = 30.0
    sendmail: tuple[str, ...] = ("/usr/sbin/sendmail", "-t", "-oi")
    subject_prefix: str = "ALS Alarm"
    digest: str = "adaptive"
    # The 2013 adaptive period.
    sleep_start: float = 300.0
    sleep_step: float = 60.0
    sleep_min: float = 60.0
    sleep_max: float = 1800.0
    line_threshold: int = 1
    backoff_threshold: int = 50
    # The later severity pool.
    severity_threshold: float = 0
    severity_pool_size: float = 100
    pool_max_wait: float = 3600.0
    max_groups: int = 200

    @property
    def smtp_port(self) -> int:
        return self.port or {"starttls": 587, "tls": 465}.get(self.tls, 25)


@dataclass(frozen=True, slots=True)
class IrcConfig(ChannelConfig):
    host: str = "localhost"
    port: int = 0  # 0: 6697 with tls, 6667 without
    tls: bool = False
    verify: bool = True
    ca_file: str = ""
    nick: str = "alser"
    realname: str = "alser-tui alarms"
    password_env: str = ""
    sasl_user: str = ""
    sasl_password_env: str = ""
    targets: tuple[str, ...] = ()
    rate: float = 0.5  # lines per second once the burst is spent
    burst: int = 4
    max_line: int = 400  # bytes of text per PRIVMSG
    max_lines: int = 3  # lines per alarm; the rest is cut with an ellipsis
    colors: bool = False
    timeout: float = 15.0

    @property
    def irc_port(self) -> int:
        return self.port or (6697 if self.tls else 6667)


@dataclass(frozen=True, slots=True)
class WebhookConfig(ChannelConfig):
    url: str = ""
    template: str = "generic"
    timeout: float = 10.0
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ExecConfig(ChannelConfig):
    command: tuple[str, ...] = ()
    timeout: float = 10.0


@dataclass(frozen=True, slots=True)
class DesktopConfig(ChannelConfig):
    app_name: str = "alser-tui"


@dataclass(frozen=True, slots=True)
class BellConfig(ChannelConfig):
    min_interval: float = 1.0


@dataclass(frozen=True, slots=True)
class RouteConfig:
    channels: tuple[str, ...]
    parsers: tuple[str, ...] = ()  # empty: any parser
    kinds: tuple[str, ...] = ()  # empty: any kind
    min_severity: float = 0
    continue_: bool = False

    def matches(self, parser: str, kind: str, severity: float) -> bool:
        return (
            (not self.parsers or parser in self.parsers)
            and (not self.kinds or kind in self.kinds)
            and severity >= self.min_severity
        )


@dataclass(frozen=True, slots=True)
class ParserDelivery:
    realert: float
    resolve_after: int


@dataclass(frozen=True, slots=True)
class DeliveryConfig:
    channels: tuple[ChannelConfig, ...] = ()
    routes: tuple[RouteConfig, ...] = ()
    default_channels: tuple[str, ...] = ()
    realert: float = 3600.0
    resolve_after: int = 1
    catch_up: bool = True
    catch_up_lag: float = 600.0
    db: str = "delivery.db"
    parsers: dict[str, ParserDelivery] = field(default_factory=dict)
    unguarded_notices: bool = True

    def channel(self, name: str) -> ChannelConfig:
        for c in self.channels:
            if c.name == name:
                return c
        raise KeyError(name)

    def for_parser(self, parser: str) -> ParserDelivery:
        return self.parsers.get(parser) or ParserDelivery(self.realert, self.resolve_after)

    def route(self, parser: str, kind: str, severity: float) -> tuple[str, ...]:
        """Channel names for an alarm: first matching route wins unless it says continue."""
        out: list[str] = []
        matched = False
        for r in self.routes:
            if r.matches(parser, kind, severity):
                matched = True
                out.extend(c for c in r.channels if c not in out)
                if not r.continue_:
                    break
        if not matched:
            out = list(self.default_channels)
        enabled = {c.name for c in self.channels if c.enabled}
        return tuple(c for c in out if c in enabled)


# --------------------------------------------------------------------------- parsing

_COMMON = {
    "type",
    "enabled",
    "send_resolved",
    "quiet_hours",
    "quiet_min_severity",
    "retry_min",
    "retry_max",
    "max_attempts",
    "per",
    "interval",
}
_EXTRA: dict[str, set[str]] = {
    "email": {
        "transport", "host", "port", "tls", "verify", "ca_file", "user", "password_env",
        "from", "to", "timeout", "sendmail", "subject_prefix", "digest", "sleep_start",
        "sleep_step", "sleep_min", "sleep_max", "line_threshold", "backoff_threshold",
        "severity_threshold", "severity_pool_size", "suppress_hours", "pool_max_wait",
        "max_groups",
    },
    "irc": {
        "host", "port", "tls", "verify", "ca_file", "nick", "realname", "password_env",
        "sasl_user", "sasl_password_env", "channels", "rate", "burst", "max_line",
        "max_lines", "colors", "timeout",
    },
    "webhook": {"url", "template", "timeout", "headers"},
    "exec": {"command", "timeout"},
    "desktop": {"app_name"},
    "bell": {"min_interval"},
}  # fmt: skip


def parse_delivery(
    data: dict[str, Any], file: str, parser_ids: set[str] | dict[str, Any]
) -> DeliveryConfig | None:
    """The delivery config from the top-level tables, or None when there is none."""
    if not any(k in data for k in TOP_KEYS):
        return None
    top = _Reader(file, "", data)
    d = _Reader(file, "delivery", top.get("delivery", dict, {}))
    d.check_unknown(
        {
            "default_channels", "realert", "resolve_after", "catch_up", "catch_up_lag",
            "quiet_hours", "quiet_min_severity", "retry_min", "retry_max", "db", "parsers",
            "unguarded_notices",
        }
    )  # fmt: skip
    defaults = {
        "quiet_hours": _quiet(d, "quiet_hours", None),
        "quiet_min_severity": d.number("quiet_min_severity", 0, minimum=0),
        "retry_min": _duration(d, "retry_min", 5.0, minimum=0.01),
        "retry_max": _duration(d, "retry_max", 600.0, minimum=0.01),
    }
    if defaults["retry_max"] < defaults["retry_min"]:
        raise d.error("retry_max", "must be >= retry_min")

    ct = _Reader(file, "channels", top.get("channels", dict, {}))
    channels: list[ChannelConfig] = []
    for name in ct.table:
        if not _NAME.match(name):
            raise ct.error(name, "a channel name must be letters, digits, _ and -")
        channels.append(_parse_channel(file, f"channels.{name}", name, ct.table[name], defaults))
    names = {c.name for c in channels}

    def check_names(r: _Reader, key: str, values: tuple[str, ...]) -> None:
        for i, v in enumerate(values):
            if v not in names:
                where = f"{r.key(key)}[{i}]"
                raise ConfigError(file, where, f"no channel {v!r}{_hint(v, names)}")

    routes: list[RouteConfig] = []
    for i, table in enumerate(top.get("routes", list, [])):
        r = _Reader(file, f"routes[{i}]", table)
        r.check_unknown({"parser", "kind", "min_severity", "channels", "continue"})
        parsers = _one_or_many(r, "parser")
        for j, p in enumerate(parsers):
            if p not in parser_ids:
                where = r.key("parser") + (f"[{j}]" if isinstance(r.table["parser"], list) else "")
                raise ConfigError(file, where, f"parser {p!r} is not defined{_hint(p, parser_ids)}")
        kinds = _one_or_many(r, "kind")
        for j, k in enumerate(kinds):
            if k not in ROUTE_KINDS:
                where = r.key("kind") + (f"[{j}]" if isinstance(r.table["kind"], list) else "")
                raise ConfigError(
                    file, where, f"must be one of {', '.join(ROUTE_KINDS)}; got {k!r}"
                )
        chans = r.strings("channels")
        if "channels" not in r.table:
            raise r.error("channels", "missing (the channels this route sends to)")
        check_names(r, "channels", chans)
        routes.append(
            RouteConfig(
                channels=chans,
                parsers=parsers,
                kinds=kinds,
                min_severity=r.number("min_severity", 0, minimum=0),
                continue_=r.get("continue", bool, False),
            )
        )

    # Without routes every channel gets every alarm; with routes, only what they choose.
    default_channels = d.strings(
        "default_channels", () if routes else tuple(c.name for c in channels)
    )
    check_names(d, "default_channels", default_channels)

    realert = _duration(d, "realert", 3600.0, minimum=0)
    resolve_after = d.integer("resolve_after", 1, minimum=1)
    per_parser: dict[str, ParserDelivery] = {}
    pt = _Reader(file, "delivery.parsers", d.get("parsers", dict, {}))
    for pid in pt.table:
        if pid not in parser_ids:
            raise pt.error(pid, f"parser {pid!r} is not defined{_hint(pid, parser_ids)}")
        pr = _Reader(file, f"delivery.parsers.{pid}", pt.table[pid])
        pr.check_unknown({"realert", "resolve_after"})
        per_parser[pid] = ParserDelivery(
            realert=_duration(pr, "realert", realert, minimum=0),
            resolve_after=pr.integer("resolve_after", resolve_after, minimum=1),
        )

    db = d.get("db", str, "delivery.db")
    if not db or "\0" in db:
        raise d.error("db", "must name a file")
    return DeliveryConfig(
        channels=tuple(channels),
        routes=tuple(routes),
        default_channels=default_channels,
        realert=realert,
        resolve_after=resolve_after,
        catch_up=d.get("catch_up", bool, True),
        catch_up_lag=_duration(d, "catch_up_lag", 600.0, minimum=0),
        db=db,
        parsers=per_parser,
        unguarded_notices=d.get("unguarded_notices", bool, True),
    )


def _parse_channel(
    file: str, path: str, name: str, table: Any, defaults: dict[str, Any]
) -> ChannelConfig:
    r = _Reader(file, path, table)
    ctype = r.get("type", str, None)
    if ctype is None:
        raise r.error("type", f"missing (one of {', '.join(CHANNEL_TYPES)})")
    r.choice("type", CHANNEL_TYPES, ctype)
    if "password" in r.table or "sasl_password" in r.table:
        key = "password" if "password" in r.table else "sasl_password"
        raise r.error(
            key,
            f"passwords are never read from the config; name an environment variable in {key}_env",
        )
    r.check_unknown(_COMMON | _EXTRA[ctype])
    common: dict[str, Any] = {
        "name": name,
        "type": ctype,
        "enabled": r.get("enabled", bool, True),
        "send_resolved": r.get("send_resolved", bool, False),
        "quiet_hours": _quiet(r, "quiet_hours", defaults["quiet_hours"]),
        "quiet_min_severity": r.number(
            "quiet_min_severity", defaults["quiet_min_severity"], minimum=0
        ),
        "retry_min": _duration(r, "retry_min", defaults["retry_min"], minimum=0.01),
        "retry_max": _duration(r, "retry_max", defaults["retry_max"], minimum=0.01),
        "max_attempts": r.integer("max_attempts", 0, minimum=0),
        "per": r.choice("per", ("alarm", "digest"), "digest" if ctype == "email" else "alarm"),
        "interval": _duration(r, "interval", 300.0 if ctype != "email" else 600.0, minimum=0),
    }
    if common["retry_max"] < common["retry_min"]:
        raise r.error("retry_max", "must be >= retry_min")
    if ctype == "email":
        return _parse_email(r, common)
    if ctype == "irc":
        return _parse_irc(r, common)
    if ctype == "webhook":
        url = r.get("url", str, "")
        if not re.match(r"^https?://[^/\s]+", url):
            raise r.error("url", f"must be an http:// or https:// URL; got {url!r}")
        ht = _Reader(file, r.key("headers"), r.get("headers", dict, {}))
        headers = tuple((k, ht.get(k, str, "")) for k in ht.table)
        return WebhookConfig(
            **common,
            url=url,
            template=r.choice("template", ("generic", "slack"), "generic"),
            timeout=_duration(r, "timeout", 10.0, minimum=0.01),
            headers=headers,
        )
    if ctype == "exec":
        command = r.strings("command")
        if not command:
            raise r.error("command", "missing (an array: the program and its arguments)")
        return ExecConfig(
            **common, command=command, timeout=_duration(r, "timeout", 10.0, minimum=0.01)
        )
    if ctype == "desktop":
        return DesktopConfig(**common, app_name=r.get("app_name", str, "alser-tui"))
    return BellConfig(**common, min_interval=_duration(r, "min_interval", 1.0, minimum=0))


def _parse_email(r: _Reader, common: dict[str, Any]) -> EmailConfig:
    if common["per"] != "digest":
        # The original's promise: never one mail per event.
        raise r.error("per", "email always sends digests")
    if "suppress_hours" in r.table:
        if "quiet_hours" in r.table:
            raise r.error("suppress_hours", "give either quiet_hours or suppress_hours")
        common["quiet_hours"] = _quiet(r, "suppress_hours", None)
    transport = r.choice("transport", ("smtp", "sendmail"), "smtp")
    to = r.strings("to")
    if not to:
        raise r.error("to", "missing (an array of recipient addresses)")
    for i, addr in enumerate(to):
        if "@" not in addr or any(c in addr for c in "\r\n,"):
            raise ConfigError(r.file, f"{r.key('to')}[{i}]", f"not an address: {addr!r}")
    sender = r.get("from", str, "alser-tui@localhost")
    password_env = _env_name(r, "password_env")
    user = r.get("user", str, "")
    if password_env and not user:
        raise r.error("user", "password_env needs a user")
    sendmail = r.strings("sendmail", ("/usr/sbin/sendmail", "-t", "-oi"))
    if not sendmail:
        raise r.error("sendmail", "must name the program")
    cfg = EmailConfig(
        **common,
        transport=transport,
        host=r.get("host", str, "localhost"),
        port=r.integer("port", 0, minimum=0),
        tls=r.choice("tls", ("starttls", "tls", "none"), "starttls"),
        verify=r.get("verify", bool, True),
        ca_file=r.get("ca_file", str, ""),
        user=user,
        password_env=password_env,
        sender=sender,
        to=to,
        timeout=_duration(r, "timeout", 30.0, minimum=0.01),
        sendmail=sendmail,
        subject_prefix=r.get("subject_prefix", str, "ALS Alarm"),
        digest=r.choice("digest", ("adaptive", "pool"), "adaptive"),
        sleep_start=_duration(r, "sleep_start", 300.0, minimum=0),
        sleep_step=_duration(r, "sleep_step", 60.0, minimum=0),
        sleep_min=_duration(r, "sleep_min", 60.0, minimum=0),
        sleep_max=_duration(r, "sleep_max", 1800.0, minimum=0),
        line_threshold=r.integer("line_threshold", 1, minimum=1),
        backoff_threshold=r.integer("backoff_threshold", 50, minimum=1),
        severity_threshold=r.number("severity_threshold", 0, minimum=0),
        severity_pool_size=r.number("severity_pool_size", 100, minimum=0),
        pool_max_wait=_duration(r, "pool_max_wait", 3600.0, minimum=0),
        max_groups=r.integer("max_groups", 200, minimum=1),
    )
    if cfg.sleep_min > cfg.sleep_max:
        raise r.error("sleep_min", f"must be <= sleep_max ({cfg.sleep_max:g})")
    if not cfg.sleep_min <= cfg.sleep_start <= cfg.sleep_max:
        raise r.error("sleep_start", "must lie between sleep_min and sleep_max")
    return cfg


def _parse_irc(r: _Reader, common: dict[str, Any]) -> IrcConfig:
    targets = r.strings("channels")
    if not targets:
        raise r.error("channels", 'missing (the IRC channels to join, e.g. ["#ops"])')
    for i, t in enumerate(targets):
        if not re.match(r"^[#&+!][^\x00\x07\r\n ,:]{1,50}$", t):
            raise ConfigError(r.file, f"{r.key('channels')}[{i}]", f"not an IRC channel: {t!r}")
    nick = r.get("nick", str, "alser")
    if not re.match(r"^[A-Za-z\[\]\\`_^{|}][A-Za-z0-9\[\]\\`_^{|}-]{0,29}$", nick):
        raise r.error("nick", f"not a valid IRC nick: {nick!r}")
    sasl_user = r.get("sasl_user", str, "")
    sasl_env = _env_name(r, "sasl_password_env")
    if bool(sasl_user) != bool(sasl_env):
        raise r.error("sasl_user", "SASL needs both sasl_user and sasl_password_env")
    return IrcConfig(
        **common,
        host=r.get("host", str, "localhost"),
        port=r.integer("port", 0, minimum=0),
        tls=r.get("tls", bool, False),
        verify=r.get("verify", bool, True),
        ca_file=r.get("ca_file", str, ""),
        nick=nick,
        realname=r.get("realname", str, "alser-tui alarms"),
        password_env=_env_name(r, "password_env"),
        sasl_user=sasl_user,
        sasl_password_env=sasl_env,
        targets=targets,
        rate=r.number("rate", 0.5, minimum=0.01),
        burst=r.integer("burst", 4, minimum=1),
        max_line=r.integer("max_line", 400, minimum=40),
        max_lines=r.integer("max_lines", 3, minimum=1),
        colors=r.get("colors", bool, False),
        timeout=_duration(r, "timeout", 15.0, minimum=0.01),
    )


def _env_name(r: _Reader, key: str) -> str:
    name = r.get(key, str, "")
    if name and not _ENV.match(name):
        raise r.error(key, f"must name an environment variable, got {name!r}")
    return name


def _one_or_many(r: _Reader, key: str) -> tuple[str, ...]:
    value = r.table.get(key)
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return r.strings(key)


def _duration(r: _Reader, key: str, default: float, *, minimum: float = 0) -> float:
    value = r.get(key, (int, float, str), default)
    if isinstance(value, str):
        try:
            value = parse_duration(value)
        except ValueError as exc:
            raise r.error(key, str(exc)) from None
    if value < minimum:
        raise r.error(key, f"must be >= {minimum:g} seconds, got {value:g}")
    return float(value)


_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def _quiet(r: _Reader, key: str, default: QuietHours | None) -> QuietHours | None:
    """'22:00-07:00' (local time), a list of such spans, or the original's list of hours."""
    value = r.get(key, (str, list), None)
    if value is None:
        return default
    items = [value] if isinstance(value, str) else value
    spans: list[tuple[int, int]] = []
    for i, item in enumerate(items):
        where = r.key(key) if isinstance(value, str) else f"{r.key(key)}[{i}]"
        if isinstance(item, int) and not isinstance(item, bool):
            if not 0 <= item <= 23:
                raise ConfigError(r.file, where, f"an hour must be 0..23, got {item}")
            spans.append((item * 60, item * 60 + 60))
            continue
        m = _SPAN.match(item) if isinstance(item, str) else None
        if not m:
            raise ConfigError(r.file, where, f"must be 'HH:MM-HH:MM' or an hour, got {item!r}")
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        if h1 > 24 or h2 > 24 or m1 > 59 or m2 > 59:
            raise ConfigError(r.file, where, f"not a time of day: {item!r}")
        a, b = h1 * 60 + m1, h2 * 60 + m2
        if a == b:
            raise ConfigError(r.file, where, "an empty span (start equals end)")
        # A span over midnight is two spans.
        spans.extend([(a, b)] if a < b else [(a, 1440), (0, b)])
    if not spans:
        return default
    text = value if isinstance(value, str) else ", ".join(str(v) for v in value)
    return QuietHours(tuple(sorted(spans)), text)
