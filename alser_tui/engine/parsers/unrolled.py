"""A parser's ``parse`` written out for its own fields, so a line costs no call per field.

The generic ``parse`` methods loop over a plan of fields and call each field's (memoised)
function; on the hot path those calls and the loop cost about as much as the work. Here
the same steps are generated as straight-line Python for one parser's config: each field
reads its group or key, looks its value up in the field's memo cache (a dict lookup, not a
call) and calls the field function only on a miss; the row tuple is built at once. The
steps, their order and every outcome (row, None to skip, REJECTED with its sample) are the
generic method's; tests compare the two on many lines (tests/engine/test_unrolled.py).

Money fields (which need the line's currency) keep the generic method.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from alser_tui.engine.parsers.base import REJECTED
from alser_tui.engine.parsers.fields import _HASHABLE as HASHABLE
from alser_tui.engine.parsers.fields import _MISS as MISS
from alser_tui.engine.parsers.fields import to_text
from alser_tui.engine.parsers.splitplan import SplitPlan, split_plan


def _field_code(k: int, fn: Any, json: bool) -> list[str]:
    """Lines that turn the value in v{k} into the stored one, or return None / REJECTED."""
    out: list[str] = []
    if fn is None:
        if json:  # a string field stores a JSON value's text
            out += [f"    if v{k}.__class__ is not str:", f"        v{k} = to_text(v{k})"]
        return out
    cache = getattr(fn, "cache", None)
    if cache is not None:
        if json:  # objects and arrays are not cached (unhashable)
            out += [f"    r = C{k}(v{k}, MISS) if v{k}.__class__ in HASHABLE else MISS"]
            out += ["    if r is MISS:", f"        r = F{k}(v{k})"]
        else:  # regex groups are always str: the memo's miss, inline (its size rule too)
            out += [
                f"    r = C{k}(v{k}, MISS)",
                "    if r is MISS:",
                f"        r = D{k}(v{k})",
                f"        if len(K{k}) >= {fn.size}:",
                f"            K{k}.clear()",
                f"        K{k}[v{k}] = r",
            ]
    else:
        out += [f"    r = F{k}(v{k})"]
    out += [
        "    if r is None:",
        "        return None",
        "    if r is REJECTED:",
        "        parser.last_reject = msg",
        "        return r",
        f"    v{k} = r",
    ]
    return out


Unrolled = tuple[Callable[[str, int, str], Any], Callable[[str, int, str, str], Any]]


def _build(name: str, lines: list[str], row: list[str], names: dict[str, Any]) -> Unrolled:
    """(parse, parse_row) from the body ``lines``: the same steps, the second returning the
    row with the raw line (Parser.parse_row)."""
    namespace: dict[str, Any] = dict(names)
    namespace.update(REJECTED=REJECTED, MISS=MISS, HASHABLE=HASHABLE, to_text=to_text)
    body = lines[1:]
    source = [
        "def parse(area, ts, msg):",
        *body,
        f"    return ({', '.join(row)},)",
        "def parse_row(area, ts, msg, line):",
        *body,
        f"    return ({', '.join(row)}, line)",
    ]
    exec(compile("\n".join(source) + "\n", f"<unrolled {name}>", "exec"), namespace)
    return namespace["parse"], namespace["parse_row"]


def _fields(
    plan: Any, fetch: Callable[[int, Any], list[str]], json: bool, names: dict[str, Any]
) -> tuple[list[str], list[str]]:
    """The code of every field (``fetch`` gives the lines that put its value in v{k}) and
    the row's expressions. Plan entries end with (field function, visible)."""
    code: list[str] = []
    row = ["area", "ts"]
    for k, entry in enumerate(plan):
        fn, visible = entry[-2], entry[-1]
        code += fetch(k, entry)
        code += _field_code(k, fn, json)
        if fn is not None:
            names[f"F{k}"] = fn
            cache = getattr(fn, "cache", None)
            if cache is not None:
                names[f"C{k}"] = cache.get
                names[f"K{k}"] = cache
                inner = fn.fn
                names[f"D{k}"] = getattr(inner, "str_fast", None) or inner
        if visible:
            row.append(f"v{k}")
    return code, row


def unroll_regex(parser: Any) -> Unrolled | None:
    """RegexParser.parse for this parser's fields (None: keep the generic method)."""
    if parser._money:
        return None
    names: dict[str, Any] = {"parser": parser}
    code = ["def parse(area, ts, msg):"]
    plan = split_plan(parser.config.regex) if parser._split is not None else None
    if plan is not None:
        names["slow"] = parser.bounded.groups
        count = len(plan.pairs)
        code += _inline_split(plan, {idx for idx, _, _ in parser._plain_plan})
        code += [
            "    if not ok:",
            "        try:",
            "            groups = slow(msg)",
            "        except TimeoutError:",
            "            return parser._timed_out(msg)",
            "        if groups is None:",
            "            parser.last_reject = msg",
            "            return REJECTED",
            f"        {', '.join(f'g{i}' for i in range(count))}, = groups",
        ]
    else:
        names.update(search=parser._search, guarded=parser._guarded, safe_len=parser._safe_len)
        code += [
            "    try:",
            "        m = search(msg) if len(msg) <= safe_len else guarded(msg)",
            "    except TimeoutError:",
            "        return parser._timed_out(msg)",
            "    if m is None:",
            "        parser.last_reject = msg",
            "        return REJECTED",
            '    groups = m.groups("")',
        ]
    group = "g{}" if plan is not None else "groups[{}]"
    fields, row = _fields(
        parser._plain_plan,
        lambda k, entry: [f"    v{k} = {group.format(entry[0])}"],
        False,
        names,
    )
    code += fields
    return _build(parser.config.id, code, row, names)


def _inline_split(plan: SplitPlan, used: set[int]) -> list[str]:
    """splitplan's first attempt written into the parser: g0..gN and ok = True when it
    succeeds, ok = False to ask the regex (``slow``), REJECTED where splitplan says no
    match (the leading literal is missing). Same steps as splitplan._generate; only the
    groups some field ``used`` are cut out of the message."""
    out = ["    ok = False", "    s = msg", "    if '\\n' not in s:"]
    ind = "        "
    head = plan.head
    if head:
        if plan.anchored_start:
            out += [f"{ind}if not s.startswith({head!r}):"]
            out += [f"{ind}    parser.last_reject = msg", f"{ind}    return REJECTED"]
            out += [f"{ind}p = {len(head)}"]
        else:
            out += [f"{ind}p = s.find({head!r})", f"{ind}if p < 0:"]
            out += [f"{ind}    parser.last_reject = msg", f"{ind}    return REJECTED"]
            out += [f"{ind}p += {len(head)}"]
    else:
        out += [f"{ind}p = 0"]
    for k, (greedy, sep) in enumerate(plan.pairs):
        last = k == len(plan.pairs) - 1
        if not sep:
            out += [f"{ind}if len(s) - p >= 1:"]
            ind += "    "
            if k in used:
                whole = greedy or plan.anchored_end
                out += [f"{ind}g{k} = s[p:]" if whole else f"{ind}g{k} = s[p : p + 1]"]
            continue
        find = "rfind" if greedy else "find"
        out += [f"{ind}e = s.{find}({sep!r}, p + 1)", f"{ind}if e >= 0:"]
        ind += "    "
        if k in used:
            out += [f"{ind}g{k} = s[p:e]"]
        out += [f"{ind}p = e + {len(sep)}"]
        if last and plan.anchored_end:
            out += [f"{ind}if p == len(s):"]
            ind += "    "
    out += [f"{ind}ok = True"]
    return out


def unroll_json(parser: Any) -> Unrolled | None:
    """JsonParser.parse for this parser's fields (None: keep the generic method)."""
    if parser._money:
        return None
    from alser_tui.engine.parsers.json import _DecodeError, _loads, lookup

    names: dict[str, Any] = {
        "parser": parser,
        "loads": _loads,
        "DecodeError": _DecodeError,
        "lookup": lookup,
    }
    code = [
        "def parse(area, ts, msg):",
        "    try:",
        "        obj = loads(msg)",
        "    except DecodeError:",
        "        parser.last_reject = msg",
        "        return REJECTED",
        "    if obj.__class__ is not dict:",
        "        parser.last_reject = msg",
        "        return REJECTED",
        "    get = obj.get",
    ]

    def fetch(k: int, entry: Any) -> list[str]:
        key, steps = entry[0], entry[1]
        if steps is None:
            value = f"get({key!r})"
        else:
            names[f"S{k}"] = steps
            value = f"lookup(obj, S{k})"
        return [f"    v{k} = {value}", f"    if v{k} is None:", "        return None"]

    fields, row = _fields(parser._plain_plan, fetch, True, names)
    code += fields
    return _build(parser.config.id, code, row, names)
