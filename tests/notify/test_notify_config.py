"""Delivery config: a full example loads; each mistake names its key path and the problem."""

from __future__ import annotations

import time
import tomllib

import pytest
from notify_support import PARSERS

from alser_tui.engine.config import ConfigError, parse_config
from alser_tui.engine.notify.config import (
    EmailConfig,
    IrcConfig,
    WebhookConfig,
    parse_duration,
)

FULL = """
[delivery]
realert = "30m"
resolve_after = 2
catch_up_lag = "10m"
quiet_hours = "22:00-07:00"
retry_min = 2
retry_max = "5m"
default_channels = ["beep"]

[delivery.parsers.PhpError]
realert = "1h"
resolve_after = 3

[channels.mail]
type = "email"
host = "smtp.example.org"
tls = "tls"
user = "alser"
password_env = "ALSER_SMTP_PASSWORD"
from = "alser@example.org"
to = ["oncall@example.org"]
digest = "pool"
severity_threshold = 5
severity_pool_size = 200
interval = "10m"
suppress_hours = [0, 1, 2, 3, 4, 5, 6]

[channels.ops]
type = "irc"
host = "irc.example.org"
tls = true
nick = "alser"
sasl_user = "alser"
sasl_password_env = "ALSER_IRC_PASSWORD"
channels = ["#ops", "#alarms"]
send_resolved = true
quiet_hours = "00:00-00:01"

[channels.hook]
type = "webhook"
url = "https://hooks.example.org/T000/B000"
template = "slack"
headers = { Authorization = "Bearer x" }

[channels.page]
type = "exec"
command = ["/usr/local/bin/page", "--team", "ops"]

[channels.desk]
type = "desktop"

[channels.beep]
type = "bell"

[[routes]]
parser = "PhpError"
kind = ["threshold", "abnormal"]
min_severity = 10
channels = ["ops", "hook"]
continue = true

[[routes]]
parser = ["PhpError", "Error"]
channels = ["mail"]
"""


def _load(text: str) -> object:
    body = f'{text}\n[storage]\ndir = "var"\n{PARSERS}'
    return parse_config(tomllib.loads(body), "d.toml")


def test_full_example_loads() -> None:
    cfg = _load(FULL)
    d = cfg.delivery  # type: ignore[attr-defined]
    assert d is not None
    assert d.realert == 1800 and d.for_parser("PhpError").realert == 3600
    assert d.for_parser("PhpError").resolve_after == 3 and d.for_parser("Error").resolve_after == 2
    mail = d.channel("mail")
    assert isinstance(mail, EmailConfig)
    assert mail.smtp_port == 465 and mail.per == "digest" and mail.interval == 600
    assert mail.quiet_hours is not None and mail.quiet_hours.spans == tuple(
        (h * 60, h * 60 + 60) for h in range(7)
    )
    assert mail.retry_min == 2 and mail.retry_max == 300
    irc = d.channel("ops")
    assert (
        isinstance(irc, IrcConfig) and irc.irc_port == 6697 and irc.targets == ("#ops", "#alarms")
    )
    hook = d.channel("hook")
    assert isinstance(hook, WebhookConfig) and hook.headers == (("Authorization", "Bearer x"),)
    # The [delivery] default quiet hours apply where a channel names none.
    assert d.channel("hook").quiet_hours.text == "22:00-07:00"  # type: ignore[union-attr]
    # Routing: first match wins unless continue; unmatched alarms take the default route.
    assert d.route("PhpError", "threshold", 50) == ("ops", "hook", "mail")
    assert d.route("PhpError", "threshold", 5) == ("mail",)
    assert d.route("Error", "instant", 1) == ("mail",)
    assert d.route("Other", "instant", 1) == ("beep",)


def test_no_delivery_tables_means_none() -> None:
    assert _load("").delivery is None  # type: ignore[attr-defined]


def test_without_routes_every_channel_gets_everything() -> None:
    cfg = _load('[channels.a]\ntype = "bell"\n[channels.b]\ntype = "bell"\n')
    assert cfg.delivery.route("X", "instant", 0) == ("a", "b")  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ('[channels.m]\ntype = "fax"', "channels.m.type", "must be one of"),
        ("[channels.m]\nhost = 'x'", "channels.m.type", "missing"),
        ('[channels.m]\ntype = "email"\nto = ["a@b"]\nhots = "x"', "channels.m.hots", "did you mean 'host'"),
        ('[channels.m]\ntype = "email"\nto = ["a@b"]\npassword = "hunter2"', "channels.m.password", "environment variable"),
        ('[channels.m]\ntype = "email"', "channels.m.to", "missing"),
        ('[channels.m]\ntype = "email"\nto = ["nobody"]', "channels.m.to[0]", "not an address"),
        ('[channels.m]\ntype = "email"\nto = ["a@b"]\ntls = "ssl"', "channels.m.tls", "must be one of"),
        ('[channels.m]\ntype = "email"\nto = ["a@b"]\nper = "alarm"', "channels.m.per", "always sends digests"),
        ('[channels.m]\ntype = "email"\nto = ["a@b"]\nsleep_min = 900\nsleep_max = 600', "channels.m.sleep_min", "<= sleep_max"),
        ('[channels.m]\ntype = "email"\nto = ["a@b"]\npassword_env = "X"', "channels.m.user", "needs a user"),
        ('[channels.m]\ntype = "email"\nto = ["a@b"]\npassword_env = "not ok"\nuser="u"', "channels.m.password_env", "environment variable"),
        ('[channels.m]\ntype = "email"\nto = ["a@b"]\nquiet_hours = "25:00-07:00"', "channels.m.quiet_hours", "not a time of day"),
        ('[channels.m]\ntype = "email"\nto = ["a@b"]\nsuppress_hours = [1, 24]', "channels.m.suppress_hours[1]", "0..23"),
        ('[channels.m]\ntype = "email"\nto = ["a@b"]\ninterval = "soon"', "channels.m.interval", "not a duration"),
        ('[channels.i]\ntype = "irc"', "channels.i.channels", "missing"),
        ('[channels.i]\ntype = "irc"\nchannels = ["ops"]', "channels.i.channels[0]", "not an IRC channel"),
        ('[channels.i]\ntype = "irc"\nchannels = ["#ops"]\nnick = "9lives"', "channels.i.nick", "not a valid IRC nick"),
        ('[channels.i]\ntype = "irc"\nchannels = ["#ops"]\nsasl_user = "u"', "channels.i.sasl_user", "both"),
        ('[channels.i]\ntype = "irc"\nchannels = ["#ops"]\nrate = 0', "channels.i.rate", ">= 0.01"),
        ('[channels.w]\ntype = "webhook"\nurl = "ftp://x"', "channels.w.url", "http"),
        ('[channels.w]\ntype = "webhook"\nurl = "http://x"\ntemplate = "teams"', "channels.w.template", "must be one of"),
        ('[channels.w]\ntype = "webhook"\nurl = "http://x"\nheaders = { A = 1 }', "channels.w.headers.A", "must be a string"),
        ('[channels.x]\ntype = "exec"', "channels.x.command", "missing"),
        ('[channels.b]\ntype = "bell"\nretry_min = 10\nretry_max = 5', "channels.b.retry_max", ">= retry_min"),
        ('[channels."a b"]\ntype = "bell"', "channels.a b", "channel name"),
        ('[channels.beep]\ntype = "bell"\n[[routes]]\nchannels = ["bepe"]', "routes[0].channels[0]", "did you mean 'beep'"),
        ('[channels.b]\ntype = "bell"\n[[routes]]\nparser = "PhpErorr"\nchannels = ["b"]', "routes[0].parser", "did you mean 'PhpError'"),
        ('[channels.b]\ntype = "bell"\n[[routes]]\nkind = ["threshold", "spike"]\nchannels = ["b"]', "routes[0].kind[1]", "must be one of"),
        ('[channels.b]\ntype = "bell"\n[[routes]]\nparser = "Error"', "routes[0].channels", "missing"),
        ('[channels.b]\ntype = "bell"\n[[routes]]\nchannels = ["b"]\nstop = true', "routes[0].stop", "unknown key"),
        ('[delivery]\ndefault_channels = ["nope"]', "delivery.default_channels[0]", "no channel"),
        ('[delivery]\nrealert = -1', "delivery.realert", ">= 0"),
        ('[delivery]\nresolve_after = 0', "delivery.resolve_after", ">= 1"),
        ('[delivery]\ncatchup = true', "delivery.catchup", "did you mean 'catch_up'"),
        ('[delivery.parsers.Nope]\nrealert = 1', "delivery.parsers.Nope", "not defined"),
        ('[delivery.parsers.Error]\nrealret = 1', "delivery.parsers.Error.realret", "unknown key"),
        ("channels = 3", "channels", "must be a table"),
    ],
)  # fmt: skip
def test_errors_name_the_key_path(text: str, key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as err:
        _load(text)
    assert err.value.file == "d.toml"
    assert err.value.key == key, str(err.value)
    assert problem in err.value.problem, str(err.value)


def test_durations() -> None:
    assert parse_duration("90") == 90 and parse_duration("5m") == 300
    assert parse_duration("1.5h") == 5400 and parse_duration("2d") == 172800
    with pytest.raises(ValueError):
        parse_duration("1 fortnight")


def test_quiet_hours_over_midnight() -> None:
    cfg = _load('[channels.b]\ntype = "bell"\nquiet_hours = "22:30-06:00"')
    q = cfg.delivery.channel("b").quiet_hours  # type: ignore[attr-defined]
    night = time.mktime((2026, 11, 25, 23, 0, 0, 0, 0, -1))
    morning = time.mktime((2026, 11, 26, 6, 0, 0, 0, 0, -1))
    assert q.contains(night) and q.contains(morning - 60) and not q.contains(morning)
    assert q.ends_after(night) == morning


def test_delivery_never_imports_textual() -> None:
    import subprocess
    import sys

    code = (
        "import sys, alser_tui.engine.notify.manager, alser_tui.engine.notify.irc, "
        "alser_tui.engine.notify.webhook, alser_tui.engine.notify.exec, "
        "alser_tui.engine.notify.desktop, alser_tui.notify_cli; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'notifypy')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
