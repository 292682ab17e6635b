"""Replay workers start inside the console too, where Textual has replaced sys.stderr with
an object whose fileno() is -1 (multiprocessing failed: "bad value(s) in fds_to_keep")."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import sys
from alser_tui.engine.config import load_config
from alser_tui.engine.parallel import ParsePool

class Captured:  # what Textual puts in sys.stderr while the app runs
    def write(self, text): return len(text)
    def flush(self): pass
    def fileno(self): return -1

config = load_config(sys.argv[1])
sys.stderr = Captured()
pool = ParsePool(config, frozenset(), 1)
pool.submit(0, ["us,1700000000,hello"], 1700000000)
result = pool.get()
clean = pool.close()
sys.stdout.write(f"{result.lines} {clean}")
"""


def test_workers_start_while_stderr_has_no_file(tmp_path: Path) -> None:
    config = tmp_path / "alser.toml"
    config.write_text(
        '[storage]\ndir = "var"\n\n[[guards]]\nhistory_glob = "h/*"\nparsers = ["Raw"]\n\n'
        '[[parsers]]\nid = "Raw"\nkind = "regex"\nregex = "(.+)"\n'
        '[[parsers.fields]]\nname = "msg"\ngroup = 1\n'
    )
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "1 True"
