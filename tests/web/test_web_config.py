"""``[web]`` and ``--web``: bad values name the key and what is wrong."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from alser_tui.engine.config import ConfigError, parse_config


def web(text: str) -> dict:
    import tomllib

    return tomllib.loads(text)


def test_off_by_default_and_a_loopback_listen_needs_no_token() -> None:
    assert parse_config({}).web.listen == ""
    c = parse_config(web('[web]\nlisten = "127.0.0.1:8421"'))
    assert c.web.address == ("127.0.0.1", 8421) and c.web.tokens == ()
    assert parse_config(web('[web]\nlisten = "[::1]:8421"')).web.address == ("::1", 8421)


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ('[web]\nlisten = "0.0.0.0:8421"', "web.listen", "reachable from other machines"),
        ('[web]\nlisten = "10.1.2.3:80"', "web.listen", "[[web.tokens]]"),
        ('[web]\nlisten = "8421"', "web.listen", "must be host:port"),
        ('[web]\nlisten = "127.0.0.1:99999"', "web.listen", "must be host:port"),
        ('[web]\nport = 1', "web.port", "unknown key"),
        ('[[web.tokens]]\ntoken = "short"', "web.tokens[0].token", "at least 16"),
        ('[[web.tokens]]\nrights = "ack"', "web.tokens[0].token", "either token or token_env"),
        ('[[web.tokens]]\ntoken = "0123456789abcdef0"\nrights = "admin"', "web.tokens[0].rights",
         "one of read, ack"),
    ],
)  # fmt: skip
def test_bad_web_config_names_the_key(text: str, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(web(text), "x.toml")
    assert err.value.key == key and words in str(err.value), str(err.value)


def test_a_token_may_live_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    c = parse_config(web('[web]\nlisten = "0.0.0.0:1"\n[[web.tokens]]\ntoken_env = "T"'))
    monkeypatch.setenv("T", "from-the-environment")
    assert c.web.tokens[0].secret() == "from-the-environment"


def test_web_flag_is_checked_and_needs_no_ui(tmp_path: Path) -> None:
    conf = tmp_path / "a.toml"
    conf.write_text("")
    run = [sys.executable, "-m", "alser_tui", "-c", str(conf)]
    wide = subprocess.run([*run, "--no-ui", "--web", "0.0.0.0:8421"], capture_output=True,
                          text=True, timeout=30)  # fmt: skip
    assert wide.returncode == 2 and "--web" in wide.stderr and "reachable" in wide.stderr
    console = subprocess.run([*run, "--web", "127.0.0.1:8421"], capture_output=True, text=True,
                             timeout=30, stdin=subprocess.DEVNULL)  # fmt: skip
    assert console.returncode == 2 and "add --no-ui" in console.stderr
