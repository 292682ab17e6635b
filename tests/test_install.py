"""An installed copy works: the wheel built from this tree, installed (not editable) into a
fresh venv, runs the demo from another folder, finds its themes, and cleans up after itself."""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# What a build reads; the rest of the checkout (tests, screenshots, .venv) stays out.
BUILD_IGNORE = shutil.ignore_patterns(
    ".venv", ".git", "__pycache__", "build", "*.egg-info", "var", "tests", "screenshots",
    "bench", "tools", ".pytest_cache", ".ruff_cache",
)  # fmt: skip


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A venv holding the wheel; its dependencies are the test venv's (offline, fast)."""
    tmp = tmp_path_factory.mktemp("install")
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=BUILD_IGNORE)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-index", "--no-build-isolation", "-w", tmp / "dist", src],
        check=True, timeout=120,
    )  # fmt: skip
    (wheel,) = (tmp / "dist").glob("alser_tui-*.whl")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True, timeout=60)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True, timeout=30,
    ).stdout.strip()  # fmt: skip
    # A path line in a .pth only extends sys.path (the test venv's own .pth files, its
    # editable install among them, are not run): the dependencies, never this checkout.
    Path(purelib, "test-venv-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [*pip, "--python", python, "install", "--no-deps", "--no-index", wheel],
        check=True, timeout=120,
    )  # fmt: skip
    yield venv


def _run(venv: Path, code: str, cwd: Path) -> str:
    out = subprocess.run(
        [venv / "bin" / "python", "-c", code],
        cwd=cwd, check=True, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    return out.stdout


def test_the_wheel_installs_its_package_and_data(installed: Path, tmp_path: Path) -> None:
    where = _run(installed, "import alser_tui; print(alser_tui.__file__)", tmp_path)
    assert Path(where).resolve().is_relative_to(installed.resolve()), where
    # The themes load from the shipped copy, without the "no themes/ folder" warning.
    got = _run(
        installed,
        "from alser_tui.ui.themes import load_themes\n"
        "themes, warnings = load_themes()\n"
        "print(sorted(t.name for t in themes), warnings)",
        tmp_path,
    )
    assert got.strip() == "['ansi', 'dark', 'high-contrast', 'light'] []"


class _Demo:
    """``alser-tui --demo --no-ui`` of the installed copy, its stdout lines in a queue."""

    def __init__(self, venv: Path, cwd: Path, *extra: str) -> None:
        self.proc = subprocess.Popen(
            [venv / "bin" / "alser-tui", "--demo", "--no-ui", *extra],
            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "TMPDIR": str(cwd)},
        )  # fmt: skip
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def first_line(self, timeout: float = 40) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                return self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
        self.proc.kill()
        raise AssertionError(f"no output; stderr: {self.proc.communicate()[1][-2000:]}")

    def stop(self) -> tuple[int, Path]:
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.stderr is not None
        err = self.proc.stderr.read()
        code = self.proc.wait(30)
        found = re.search(r"demo logs in (\S+)", err)
        assert found, err
        return code, Path(found.group(1))


@pytest.mark.parametrize("keep", [False, True])
def test_the_installed_demo_runs_and_cleans_up(installed: Path, tmp_path: Path, keep: bool) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    demo = _Demo(installed, elsewhere, *(["--keep"] if keep else []))
    assert demo.first_line()
    code, folder = demo.stop()
    assert code == 0
    assert folder.is_relative_to(elsewhere)  # the temporary folder it named (TMPDIR)
    if keep:
        assert (folder / "alser.toml").is_file() and list((folder / "logs").iterdir())
    else:
        assert not folder.exists()
