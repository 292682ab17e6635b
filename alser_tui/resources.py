"""The project's data folders (conf/, themes/) for a source checkout and an installed copy.

They live at the top of the checkout, beside the package; a wheel ships them inside it as
``alser_tui/data/`` (setup.py copies them at build time). An installed copy has only the
latter, and its parent folder (site-packages) is nobody's checkout: the shipped copy is
looked for first.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def data_dirs(name: str) -> list[Path]:
    """Where the ``name`` folder may be, in the order to try."""
    return [PACKAGE / "data" / name, PACKAGE.parent / name]


def data_file(folder: str, name: str) -> Path:
    """The first ``folder/name`` that exists (else the checkout's path, for the error)."""
    candidates = [d / name for d in data_dirs(folder)]
    return next((p for p in candidates if p.is_file()), candidates[-1])
