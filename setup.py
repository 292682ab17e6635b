"""Only what pyproject.toml cannot say: the wheel carries the checkout's conf/ and themes/
as package data (alser_tui/data/), where alser_tui/resources.py finds them installed."""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
DATA_DIRS = ("conf", "themes")


class BuildPyWithData(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout's folders themselves
        for name in DATA_DIRS:
            dest = Path(self.build_lib) / "alser_tui" / "data" / name
            shutil.rmtree(dest, ignore_errors=True)
            shutil.copytree(HERE / name, dest, ignore=shutil.ignore_patterns(".*", "*~"))


setup(cmdclass={"build_py": BuildPyWithData})
