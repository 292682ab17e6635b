"""Generate large ALS log files for the benchmarks.

    python bench/gen.py --kind php  --lines 1000000 --files 4 --out /tmp/als   # phperror.N.log
    python bench/gen.py --kind json --lines 1000000 --files 4 --out /tmp/als   # error.N.log

kind php writes lines for the PhpError regex parser of conf/alser.toml, kind json lines for
the Error JSON parser (whose digit normaliser folds the numbers back into groups). About
500 message sites x 8 areas give a few thousand distinct groups, with a heavy head like
real error logs. Timestamps spread over a few hours, increasing within each file.
Deterministic for a given seed.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

KINDS = ("php", "json", "phpx")
# phpx: the line shape of the engine issue's example PhpError regex
#   [date] PHP Level: msg - /path/file.php [line],METHOD /uri
FAMILY = {"php": "phperror", "json": "error", "phpx": "phpx"}
DEFAULT_START = 1_372_636_800  # 2013-07-01 00:00 UTC, the original's era
CHUNK = 50_000  # lines joined per write() call

AREAS = ("us", "de", "fr", "br", "th", "tr", "vn", "id")
_AREA_WEIGHTS = (30, 14, 10, 16, 9, 8, 7, 6)
APP = "/mnt/htdocs/farm/v2"
_NOUNS = (
    "User", "Farm", "Gift", "Friend", "Mission", "Item", "Shop", "Rank", "Quest", "Building",
    "Animal", "Crop", "Neighbor", "Event", "Achievement", "Inventory", "Mail", "Guild",
    "Trade", "Reward",
)  # fmt: skip
_LAYERS = (("controllers", "Controller"), ("models", "Model"), ("services", "Service"))

# PHP message shapes: {X} a noun, {x} a lower-case noun; %d slots are filled per line.
_PHP_SHAPES = (
    ("Warning", "Invalid argument supplied for foreach()"),
    ("Warning", "array_merge(): Argument #%d is not an array"),
    ("Warning", "Division by zero"),
    ("Warning", "Missing argument %d for {X}Controller::updateAction()"),
    ("Warning", "Memcache::get(): Server 10.0.3.%d (tcp 11211, udp 0) failed with: Connection refused (111)"),
    ("Warning", "MongoCollection::update() expects parameter 1 to be array, null given"),
    ("Warning", "in_array() expects parameter 2 to be array, null given"),
    ("Notice", "Undefined index: {x}_id"),
    ("Notice", "Undefined offset: %d"),
    ("Notice", "Undefined variable: {x}List"),
    ("Notice", "Trying to get property of non-object"),
    ("Notice", "unserialize(): Error at offset %d of %d bytes"),
    ("Fatal error", "Allowed memory size of 268435456 bytes exhausted (tried to allocate %d bytes)"),
    ("Fatal error", "Maximum execution time of 30 seconds exceeded"),
    ("Fatal error", "Call to a member function get{X}() on a non-object"),
    ("Fatal error", "Call to undefined method {X}Model::find{X}ById()"),
    ("Catchable fatal error", "Object of class {X} could not be converted to string"),
)  # fmt: skip

# JSON exception shapes: (class, message); {X}/{x} as above, %d per line.
_JSON_SHAPES = (
    ("{X}NotFoundException", "{X} %d not found for user %d"),
    ("InsufficientCoinsException", "User %d needs %d coins for {x} %d, has %d"),
    ("{X}LimitException", "User %d reached the {x} limit of %d"),
    ("InvalidRequestException", "Missing parameter: {x}_id"),
    ("{X}ExpiredException", "{X} %d expired %d seconds ago"),
    ("LockException", "Could not acquire lock {x}_%d after %d ms"),
    ("MongoCursorException", "E11000 duplicate key error index: farm.{x}s.$_id_  dup key: { : %d }"),
    ("StateException", "{X} %d is in state %d, expected %d"),
    ("SessionException", "Session expired"),
)  # fmt: skip
_JSON_LEVELS = ("error",) * 16 + ("critical", "warning", "warning", "warning")


def _sites(kind: str, rng: random.Random, count: int = 500) -> list[tuple[str, str, int]]:
    """(head, message template with %d slots, slot count): one per throwing site."""
    shapes = _PHP_SHAPES if kind == "php" else _JSON_SHAPES
    sites = []
    seen: set[tuple[str, str]] = set()
    while len(sites) < count:
        head, text = rng.choice(shapes)
        noun = rng.choice(_NOUNS)
        layer, suffix = rng.choice(_LAYERS)
        path = f"{APP}/app/{layer}/{rng.choice(_NOUNS)}{suffix}.php"
        text = text.replace("{X}", noun).replace("{x}", noun.lower())
        head = head.replace("{X}", noun)
        if (head, text + path) in seen:
            continue
        seen.add((head, text + path))
        line = rng.randint(12, 900)
        if kind == "php":
            tpl = f"PHP {head}:  {text} in {path} on line {line}"
        else:
            tpl = (
                '"class":"' + head + '","level":"%s","message":"' + text + '",'
                '"trace":[{"file":"' + path + '","line":' + str(line) + "},"
                '{"file":"' + APP + '/index.php","line":42}]}'
            )
        sites.append((head, tpl, text.count("%d")))
    return sites


def _writer_php(rng: random.Random) -> Callable[[str, int], str]:
    sites = _sites("php", rng)
    n = len(sites)
    rnd, rbits = rng.random, rng.getrandbits
    dates: dict[int, str] = {}

    def msg(area: str, ts: int) -> str:
        date = dates.get(ts)
        if date is None:
            dates.clear()  # timestamps only grow within a file: keep one entry
            date = dates[ts] = time.strftime("%d-%b-%Y %H:%M:%S UTC", time.gmtime(ts))
        _, tpl, slots = sites[int(n * rnd() ** 3)]  # a heavy head: few sites dominate
        if slots:
            tpl = tpl % tuple(rbits(20) for _ in range(slots))
        return f"web-{area}-{rbits(2) + 1:02d} [{date}] {tpl}"

    return msg


def _writer_phpx(rng: random.Random) -> Callable[[str, int], str]:
    sites = _sites("php", rng)
    n = len(sites)
    rnd, rbits = rng.random, rng.getrandbits
    dates: dict[int, str] = {}
    shaped = []
    for _head, tpl, slots in sites:
        # "PHP Level:  text in /path on line N" -> "PHP Level: text - /path [N]"
        body, _, where = tpl.partition(" in /")
        path, _, line = where.rpartition(" on line ")
        shaped.append((body.replace(":  ", ": ", 1) + f" - /{path} [{line}]", slots))

    def msg(area: str, ts: int) -> str:
        date = dates.get(ts)
        if date is None:
            dates.clear()
            date = dates[ts] = time.strftime("%d-%b-%Y %H:%M:%S UTC", time.gmtime(ts))
        tpl, slots = shaped[int(n * rnd() ** 3)]
        if slots:
            tpl = tpl % tuple(rbits(20) for _ in range(slots))
        return f"[{date}] {tpl},POST /api/?uid={rbits(24)}"

    return msg


def _writer_json(rng: random.Random) -> Callable[[str, int], str]:
    sites = _sites("json", rng)
    n = len(sites)
    rnd, rbits, choice = rng.random, rng.getrandbits, rng.choice

    def msg(area: str, ts: int) -> str:
        _, tpl, slots = sites[int(n * rnd() ** 3)]
        uid = 10_000_000 + rbits(22)
        body = tpl % (choice(_JSON_LEVELS), *(rbits(20) for _ in range(slots)))
        return (
            f'{{"_log_info":{{"uid":{uid},"host":"web-{area}-{rbits(2) + 1:02d}",'
            f'"uri":"/api/?class=User&method=sync&uid={uid}"}},{body}'
        )

    return msg


def generate(
    kind: str,
    lines: int,
    files: int,
    out: Path | str,
    seed: int = 1,
    *,
    hours: float = 3.0,
    start: int = DEFAULT_START,
) -> list[Path]:
    """Write `lines` ALS lines over `files` files in `out`; returns the file paths."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if files < 1 or lines < 0:
        raise ValueError("need files >= 1 and lines >= 0")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    make = {"php": _writer_php, "json": _writer_json, "phpx": _writer_phpx}[kind](rng)
    area_pool = [a for a, w in zip(AREAS, _AREA_WEIGHTS, strict=True) for _ in range(w)]
    pool_len = len(area_pool)
    span = max(1, int(hours * 3600))
    paths = []
    for f in range(files):
        count = lines // files + (1 if f < lines % files else 0)
        path = out / f"{FAMILY[kind]}.{f + 1}.log"
        paths.append(path)
        with path.open("w", encoding="utf-8", buffering=1 << 20) as fh:
            buf: list[str] = []
            for i in range(count):
                ts = start + i * span // max(count, 1)
                area = area_pool[int(rng.random() * pool_len)]
                buf.append(f"{area},{ts},{make(area, ts)}\n")
                if len(buf) >= CHUNK:
                    fh.write("".join(buf))
                    buf.clear()
            fh.write("".join(buf))
    return paths


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kind", choices=KINDS, required=True)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--files", type=int, default=4)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--hours", type=float, default=3.0, help="timestamp span (default 3)")
    ap.add_argument("--start", type=int, default=DEFAULT_START, help="first unix timestamp")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    paths = generate(
        args.kind, args.lines, args.files, args.out, args.seed, hours=args.hours, start=args.start
    )
    took = time.perf_counter() - t0
    size = sum(p.stat().st_size for p in paths)
    print(
        f"{args.lines} {args.kind} lines in {len(paths)} files, {size / 1e6:.1f} MB, "
        f"{took:.2f} s ({args.lines / max(took, 1e-9):,.0f} lines/s) -> {args.out}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
