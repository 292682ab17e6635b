"""The engine and the headless mode never import Textual (the console is optional)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_headless_run_loads_no_textual(tmp_path: Path) -> None:
    code = f"""
import sys
from alser_tui.cli import main
rc = main(["-c", {str(ROOT / "conf" / "demo.toml")!r}, "--no-ui", "--history", "--json",
           "--data-dir", {str(tmp_path)!r}])
assert rc == 0, rc
print(sorted(m for m in sys.modules if m.split(".")[0] == "textual" or m.startswith("alser_tui.ui")))
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "[]"


def test_engine_modules_have_no_textual_import() -> None:
    for path in (ROOT / "alser_tui" / "engine").rglob("*.py"):
        text = path.read_text()
        assert "import textual" not in text and "from textual" not in text, path
