"""Acks and silences written from the console's thread reach the dispatcher's view at once;
a replay never erases the live run's acknowledgements."""

from __future__ import annotations

import time
from pathlib import Path

from alser_tui.engine.notify.config import DeliveryConfig
from alser_tui.engine.notify.db import DeliveryDB
from alser_tui.engine.notify.lifecycle import Lifecycle


def test_own_writes_refresh_the_cached_view(tmp_path: Path) -> None:
    db = DeliveryDB(tmp_path / "delivery.db")
    life = Lifecycle(DeliveryConfig(), db, {})
    now = time.time()
    assert life.active_silences(now) == []  # caches the current data_version
    s = life.add_silence(parser="P", matchers=(("file", "a.php"),), duration=60, now=now)
    assert [x.id for x in life.active_silences(now)] == [s.id]
    assert life.remove_silence(s.id)
    assert life.active_silences(now) == []


def test_replay_keeps_live_acks(tmp_path: Path) -> None:
    db = DeliveryDB(tmp_path / "delivery.db")
    live = Lifecycle(DeliveryConfig(), db, {})
    live.ack("P|threshold|x", time.time())
    replay = Lifecycle(DeliveryConfig(), db, {}, persist=False)
    replay._drop("P|threshold|x")  # the replay saw that alarm resolve
    assert {r["key"] for r in db.query("SELECT key FROM acks")} == {"P|threshold|x"}
