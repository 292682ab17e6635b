"""Throughput benchmark: `alser-tui --no-ui --history --json` end to end, as a user runs it.

    .venv/bin/python bench/bench.py                 # 1,000,000 lines per parser kind
    .venv/bin/python bench/bench.py --lines 200000 --kinds php

For each kind it generates the log files once (cached under bench/out/), writes a config
holding only the parser under test (taken verbatim from conf/alser.toml), runs the real
command in a child process with its stdout to /dev/null, and prints wall time, lines/s and
the child's peak RSS. Rows are stored for drill-down, windows closed, alarms evaluated.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import gen  # noqa: E402  (bench/gen.py, beside this file)

PARSER = {"php": "PhpError", "json": "Error", "phpx": "PhpError"}

# The engine issue's example PhpError (its regex and fields), for a like-for-like figure.
PHPX_PARSER = """
[[parsers]]
id = "PhpError"
kind = "regex"
title = "PhpErr"
window = 60
regex = '\\[(.+)\\] (.+?): (.+) - (.+) \\[(.+)\\],(.+)'
group_by = ["area", "file", "line", "msg"]
row_format = "{amount:>5} {area:>3} {file}:{line} {msg}"

[[parsers.fields]]
name = "level"
group = 2
[[parsers.fields]]
name = "msg"
group = 3
normalize = ["digits"]
[[parsers.fields]]
name = "file"
group = 4
type = "base_file"
[[parsers.fields]]
name = "line"
group = 5
type = "int"
"""


def parser_block(parser_id: str) -> str:
    """The [[parsers]] table of one parser, copied verbatim from the production config."""
    text = (ROOT / "conf" / "alser.toml").read_text()
    blocks = re.split(r"(?m)^(?=\[\[parsers\]\]\s*$)", text)
    for block in blocks:
        if re.search(rf'(?m)^id = "{parser_id}"\s*$', block):
            # Stop before the next section that is not a field table.
            return re.split(r"(?m)^(?=# -{5,}|# ={5,}|\[\[guards\]\])", block)[0]
    raise SystemExit(f"parser {parser_id} not found in conf/alser.toml")


def ensure_files(kind: str, lines: int, files: int) -> Path:
    out = HERE / "out" / f"{kind}-{lines}-{files}"
    done = out / ".done"
    if not done.exists():
        out.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        gen.generate(kind, lines, files, out, seed=1)
        done.write_text("ok")
        print(f"  generated {lines:,} {kind} lines in {time.perf_counter() - t:.1f}s -> {out}")
    return out


def run_one(kind: str, lines: int, files: int, extra: list[str]) -> dict[str, float]:
    data = ensure_files(kind, lines, files)
    pid = PARSER[kind]
    with tempfile.TemporaryDirectory(prefix="alser-bench-") as tmp:
        cfg = Path(tmp) / "bench.toml"
        cfg.write_text(
            f'[storage]\ndir = "{tmp}/var"\n\n[[guards]]\n'
            f'history_glob = "{data}/{gen.FAMILY[kind]}.*.log"\nparsers = ["{pid}"]\n\n'
            + (PHPX_PARSER if kind == "phpx" else parser_block(pid))
        )
        cmd = [
            sys.executable,
            "-m",
            "alser_tui",
            "-c",
            str(cfg),
            "--no-ui",
            "--history",
            "--json",
            *extra,
        ]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wall = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
        summary = proc.stderr.strip().splitlines()
        parsed = re.search(r"parsed ([\d,]+)", summary[0] if summary else "")
        return {
            "wall": wall,
            "lines_per_s": lines / wall,
            "peak_rss_mb": after.ru_maxrss / 1024,  # Linux: KiB; the child's peak
            "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "parsed": int(parsed.group(1).replace(",", "")) if parsed else -1,
        }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--files", type=int, default=4)
    ap.add_argument("--kinds", default="php,json,phpx")
    ap.add_argument("--repeat", type=int, default=1, help="runs per kind; the best is reported")
    ap.add_argument("extra", nargs="*", help="extra alser-tui arguments (after --)")
    args = ap.parse_args()
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()},"
        f" {platform.platform(terse=True)}"
    )
    for kind in args.kinds.split(","):
        best: dict[str, float] | None = None
        for _ in range(args.repeat):
            r = run_one(kind, args.lines, args.files, args.extra)
            if best is None or r["wall"] < best["wall"]:
                best = r
        assert best is not None
        print(
            f"{kind:<5} {PARSER[kind]:<9} {args.lines:>9,} lines  {best['wall']:6.2f}s"
            f"  {best['lines_per_s']:>9,.0f} lines/s  cpu {best['cpu']:.2f}s"
            f"  peak RSS {best['peak_rss_mb']:.0f} MB  rows {best['parsed']:,}"
        )


if __name__ == "__main__":
    main()
