"""A listening guard's bounds as config keys: max_line, max_connections, queue_lines. Defaults as
before (64 KiB, 64, 100,000), errors that name the key path, and the values reaching the
receiver's real sockets on 127.0.0.1."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import pytest

from alser_tui.engine import ingest
from alser_tui.engine.config import ConfigError, parse_config
from alser_tui.engine.engine import Engine
from alser_tui.engine.sources.receiver import ReceiverSource

WAIT = 10.0
PARSER = {"id": "P", "kind": "json", "fields": [{"name": "x"}]}
GUARD = {"listen": "tcp://127.0.0.1:0", "parsers": ["P"]}


def config(*guards: dict[str, Any], tmp: Path | None = None) -> Any:
    data: dict[str, Any] = {"guards": list(guards), "parsers": [PARSER]}
    if tmp is not None:
        data["storage"] = {"dir": str(tmp / "var")}
    return parse_config(data, "alser.toml")


def test_defaults_are_the_receivers() -> None:
    g = config(GUARD).guards[0]
    assert (g.max_line, g.max_connections, g.queue_lines) == (65536, 64, 100_000)
    src = ingest.open_source(
        g, config(GUARD), history=False, saved=[], first_run=True, clock=time.time
    )
    try:
        assert isinstance(src, ReceiverSource)
        assert (src._listener.max_line, src._listener.max_conn, src.queue_lines) == (
            65536,
            64,
            100_000,
        )
    finally:
        src.close()


@pytest.mark.parametrize(
    ("extra", "key", "problem"),
    [
        ({"max_line": 10}, "guards[0].max_line", "must be 64..16,777,216 bytes, got 10"),
        ({"max_line": 1 << 30}, "guards[0].max_line", "must be 64..16,777,216 bytes"),
        ({"max_line": "64k"}, "guards[0].max_line", "must be an integer, not a string"),
        ({"max_line": 1.5}, "guards[0].max_line", "must be an integer, not a number"),
        ({"max_connections": 0}, "guards[0].max_connections", "must be 1..10,000 connections"),
        ({"max_connections": True}, "guards[0].max_connections", "not a boolean"),
        ({"queue_lines": 0}, "guards[0].queue_lines", "must be 1..10,000,000 lines, got 0"),
        ({"queue_lines": 10**8}, "guards[0].queue_lines", "must be 1..10,000,000 lines"),
        (
            {"listen": "", "tail_glob": "logs/*.log", "queue_lines": 10},
            "guards[0].queue_lines",
            "only a guard with listen takes it",
        ),
        (
            {"listen": "", "tables": "log_%", "dsn": "sqlite://x.db", "max_line": 100},
            "guards[0].max_line",
            "only a guard with listen takes it",
        ),
    ],
)
def test_errors_name_the_key_path(extra: dict[str, Any], key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as err:
        config(GUARD | extra)
    assert err.value.key == key
    assert problem in err.value.problem


def test_guards_sharing_an_address_share_its_bounds() -> None:
    a = {"listen": "udp://127.0.0.1:5514", "program": "a", "parsers": ["P"]}
    b = {"listen": "udp://127.0.0.1:5514", "program": "b", "parsers": ["P"]}
    with pytest.raises(ConfigError) as err:
        config(a, b | {"max_line": 1024})
    assert err.value.key == "guards[1].max_line"
    assert "guards[0] shares the address with max_line = 65536" in err.value.problem
    with pytest.raises(ConfigError) as err:
        config(a | {"max_connections": 8}, b)
    assert err.value.key == "guards[1].max_connections"
    # Each guard has its own queue.
    cfg = config(a | {"queue_lines": 10, "max_line": 512}, b | {"max_line": 512})
    assert [(g.queue_lines, g.max_line) for g in cfg.guards] == [(10, 512), (100_000, 512)]


def _collect(src: ReceiverSource, n: int) -> list[str]:
    got: list[str] = []
    deadline = time.monotonic() + WAIT
    while len(got) < n:
        left = deadline - time.monotonic()
        assert left > 0, f"only {len(got)} of {n} lines"
        if src.wait(left):
            for _path, lines in src.read(n - len(got)):
                got.extend(lines)
    return got


def test_configured_bounds_reach_the_sockets(tmp_path: Path) -> None:
    cfg = config(GUARD | {"max_line": 100, "max_connections": 1, "queue_lines": 7}, tmp=tmp_path)
    engine = Engine(cfg)
    engine.open()
    try:
        [run] = engine.guards
        src = run.source
        assert isinstance(src, ReceiverSource) and src.queue_lines == 7
        host, port = src.address[:2]
        with socket.create_connection((host, port), timeout=WAIT) as a:
            a.sendall(b"us,1," + b"x" * 500 + b"\nus,2,short\n")
            assert _collect(src, 2) == ["us,1," + "x" * 95, "us,2,short"]
            # The one connection allowed is taken: the next is closed at once.
            with socket.create_connection((host, port), timeout=WAIT) as b:
                b.settimeout(WAIT)
                assert b.recv(10) == b""
            assert src._listener.refused == 1
        info = next(f for f in src.files)
        assert info.overlong == 1
    finally:
        engine.close()
