"""[storage] keep_days: a guard that runs for months forgets old windows, alarms and the
positions of files long gone, and nothing it still needs."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from torture_support import BASE, Clock, write_config

from alser_tui.engine.alarms import Alarm
from alser_tui.engine.config import load_config
from alser_tui.engine.engine import Engine
from alser_tui.engine.store import Aggregate

DAY = 86_400


def test_old_windows_alarms_and_gone_files_are_forgotten(tmp_path: Path) -> None:
    conf = write_config(tmp_path)
    text = conf.read_text().replace("keep_windows = 100000", "keep_windows = 100000\nkeep_days = 2")
    conf.write_text(text)
    idle = tmp_path / "logs" / "idle.log"
    idle.write_text(f"us,{BASE},A id=1\n")
    engine = Engine(load_config(conf), clock=Clock(BASE + 1))
    engine.open()  # the idle file's position is stored now
    try:
        store = engine.store
        assert store is not None
        old, recent = BASE - 5 * DAY, BASE - DAY
        for start in (old, recent):
            store.save_window("Ev", start, start + 10, Aggregate((), 0, 0), start + 10)
        alarm = Alarm("Ev", "threshold", 1, 1, {"kind": "A"}, old, old + 10, old + 10, "t")
        stored = store.save_alarms([alarm, alarm, alarm])
        long_ago = time.time() - 5 * DAY
        con = sqlite3.connect(tmp_path / "var" / "alser.db", isolation_level=None)
        con.execute("UPDATE alarms SET created = ?", (long_ago,))
        # A position of a file gone long ago, and the idle file's: both written long ago.
        con.execute(
            "INSERT INTO offsets VALUES (1, 2, 'fp', '/nowhere/gone.log', 10, ?, '')", (long_ago,)
        )
        con.execute("UPDATE offsets SET updated = ? WHERE path = ?", (long_ago, str(idle)))
        assert engine.forget_old() == {"windows": 1, "alarms": 2, "offsets": 1}
        starts = [r[0] for r in con.execute("SELECT start FROM windows WHERE parser = 'Ev'")]
        assert old not in starts and recent in starts
        # The newest alarm stays, whatever its age: new ids follow it.
        assert [r[0] for r in con.execute("SELECT id FROM alarms")] == [max(stored)]
        # An idle file keeps its position however old (read again, it would count twice).
        paths = [r[0] for r in con.execute("SELECT path FROM offsets")]
        assert str(idle) in paths and "/nowhere/gone.log" not in paths
        con.close()
    finally:
        engine.close()
