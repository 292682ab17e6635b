"""The README says what is true: its short configuration is a valid one, nothing is "(soon)"."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def _section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end >= 0 else len(text)]


def test_the_configuration_in_short_passes_check(tmp_path: Path) -> None:
    block = re.search(r"```toml\n(.*?)```", _section("Configuration"), re.S)
    assert block, "no ```toml block under ## Configuration"
    (tmp_path / "alser.toml").write_text(block.group(1), encoding="utf-8")
    cli = Path(sys.executable).parent / "alser-tui"
    done = subprocess.run(
        [cli, "-c", tmp_path / "alser.toml", "--check"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert ": ok (" in done.stderr


def test_nothing_is_announced_for_later() -> None:
    assert "(soon)" not in README.read_text(encoding="utf-8")
