"""`alser-tui convert OLD.cf > conf/alser.toml`: TOML on stdout, what did not map on stderr."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from alser_tui.convert.legacy import LegacySyntaxError, loads
from alser_tui.convert.mapping import convert

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


def main(argv: list[str]) -> int:
    """``argv`` starts with "convert" (dispatched from alser_tui.cli.main)."""
    ap = argparse.ArgumentParser(
        prog="alser-tui convert",
        description="Convert the original alser config (ljson) into the TOML schema.",
    )
    ap.add_argument("file", help="the original config, e.g. alser.cf")
    ap.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    ap.add_argument("--force", action="store_true", help="with -o: replace an existing file")
    args = ap.parse_args(argv[1:])
    err = sys.stderr
    if args.output and Path(args.output).exists() and not args.force:
        # A hand-edited config is easily lost to a second run of the same command.
        err.write(f"alser-tui convert: {args.output} exists; add --force to replace it\n")
        return EXIT_USAGE
    try:
        text = Path(args.file).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        err.write(f"alser-tui convert: {args.file}: cannot read: {exc}\n")
        return EXIT_USAGE
    warnings: list[str] = []
    try:
        doc = loads(text, warnings)
    except LegacySyntaxError as exc:
        err.write(f"alser-tui convert: {args.file}: {exc}\n")
        return EXIT_USAGE
    result = convert(doc, source=Path(args.file).name)
    if args.output:
        Path(args.output).write_text(result.text, "utf-8")
    else:
        sys.stdout.write(result.text)
        sys.stdout.flush()
    notes = warnings + result.notes
    if notes:
        err.write(f"alser-tui convert: what did not map exactly ({len(notes)}):\n")
        err.write("".join(f"  - {n}\n" for n in notes))
    invalid = any(n.startswith("output:") for n in result.notes)
    return EXIT_INVALID if invalid else EXIT_OK
