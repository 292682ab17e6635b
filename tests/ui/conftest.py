"""Console tests: a real engine over generated log files in tmp_path, driven through Pilot."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from console_support import CONFIG, Root, err_history, php_history


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Times on screen are local: pin the zone so assertions and snapshots hold anywhere."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    # As over SSH: no desktop session, so no desktop notification (the status line says so).
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS"):
        monkeypatch.delenv(name, raising=False)
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def root(tmp_path: Path) -> Root:
    (tmp_path / "alser.toml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "history").mkdir()
    (tmp_path / "logs").mkdir()
    (tmp_path / "history" / "php.1.log").write_text("\n".join(php_history()) + "\n")
    (tmp_path / "history" / "err.1.log").write_text("\n".join(err_history()) + "\n")
    (tmp_path / "logs" / "php.1.log").touch()
    (tmp_path / "logs" / "err.1.log").touch()
    return Root(tmp_path)
