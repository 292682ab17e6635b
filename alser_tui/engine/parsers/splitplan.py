"""A str-method fast path for the commonest log regexes: literals separated by (.+) / (.+?).

Patterns such as ``\\[(.+)\\] (.+?): (.+) - (.+) \\[(.+)\\],(.+)`` spend most of their time in
the regex engine's backtracking over greedy ``.+`` runs. For exactly this shape, the match
the engine finds first is, on ordinary lines, the one made of each separator's first
candidate in the engine's own order: the rightmost occurrence for a greedy group, the
leftmost for a lazy one, after the first occurrence of the leading literal. Straight-line
``str.find``/``str.rfind`` code computes that attempt; whenever it fails, the regex decides
(it may backtrack), so the groups are always the regex's (a property test compares them).

Any other construct (classes, alternations, counted repeats, flags...) gets no plan and the
caller keeps using the compiled regex.

The plan itself is a fixed number of ``find``/``rfind`` calls: linear in the line. The
regex it falls back to is not (``(.+) (.+),x`` backtracks cubically on a line of spaces):
callers pass ``slow``, a search with a bounded cost (bounded.BoundedSearch.groups).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, NamedTuple

try:  # the stdlib's pattern parser moved in 3.11; both names work there
    from re import _constants as sre_c  # type: ignore[attr-defined]
    from re import _parser as sre_p  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_constants as sre_c  # type: ignore[no-redef]
    import sre_parse as sre_p  # type: ignore[no-redef]


Groups = tuple[str, ...]


class SplitPlan(NamedTuple):
    head: str  # the literal before the first group ("" when none)
    pairs: tuple[tuple[bool, str], ...]  # (greedy group?, the literal after it)
    anchored_start: bool
    anchored_end: bool


def compile_split_plan(
    pattern: str, slow: Callable[[str], Groups | None] | None = None
) -> Callable[[str], Groups | None] | None:
    """fn(text) -> the groups re.search(pattern, text) would give (None: no match), or
    None when the pattern is not of the supported shape. ``slow(text)`` gives them when the
    first attempt fails (default: re's search, unbounded)."""
    plan = split_plan(pattern)
    if plan is None:
        return None
    return _generate(pattern, *plan, slow)


def split_plan(pattern: str) -> SplitPlan | None:
    """The pattern's literals and groups, when it has the supported shape (else None)."""
    try:
        parsed = sre_p.parse(pattern)
    except re.error:
        return None
    if parsed.state.flags & ~sre_c.SRE_FLAG_UNICODE:
        return None  # (?i), (?s), (?m)...: leave them to the regex engine
    anchored_start = anchored_end = False
    items = list(parsed)
    if items and items[0] == (sre_c.AT, sre_c.AT_BEGINNING):
        anchored_start = True
        items = items[1:]
    if items and items[-1] == (sre_c.AT, sre_c.AT_END):
        anchored_end = True
        items = items[:-1]
    # Elements: a literal string, or a group (True: greedy, False: lazy).
    elements: list[str | bool] = []
    next_group = 1
    for op, av in items:
        if op is sre_c.LITERAL:
            if elements and isinstance(elements[-1], str):
                elements[-1] += chr(av)
            else:
                elements.append(chr(av))
        elif op is sre_c.SUBPATTERN:
            group, add_flags, del_flags, sub = av
            if group != next_group or add_flags or del_flags or len(sub) != 1:
                return None
            rop, rav = sub[0]
            if rop not in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT):
                return None
            lo, hi, body = rav
            if lo != 1 or hi != sre_c.MAXREPEAT or list(body) != [(sre_c.ANY, None)]:
                return None
            if elements and isinstance(elements[-1], bool):
                return None  # two groups side by side: their split is not a separator's
            elements.append(rop is sre_c.MAX_REPEAT)
            next_group += 1
        else:
            return None
    if next_group == 1:
        return None  # no group: nothing to gain
    head = ""
    if elements and isinstance(elements[0], str):
        head = elements.pop(0)
    # Pairs of (greedy, separator after the group); the last separator may be "".
    pairs: list[tuple[bool, str]] = []
    i = 0
    while i < len(elements):
        greedy = elements[i]
        assert isinstance(greedy, bool)
        sep = elements[i + 1] if i + 1 < len(elements) else ""
        assert isinstance(sep, str)
        pairs.append((greedy, sep))
        i += 2
    if "\n" in head or any("\n" in s for _, s in pairs):
        return None
    return SplitPlan(head, tuple(pairs), anchored_start, anchored_end)


def _generate(
    pattern: str,
    head: str,
    plan: tuple[tuple[bool, str], ...],
    anchored_start: bool,
    anchored_end: bool,
    slow: Callable[[str], Groups | None] | None = None,
) -> Callable[[str], Groups | None]:
    """Straight-line code for the engine's FIRST attempt (first head occurrence, then the
    first candidate at each group: the rightmost separator for a greedy group, the leftmost
    for a lazy one). When that attempt succeeds it is the regex's match, since the engine
    explores candidates in the same order; when it fails anywhere, the engine itself is asked
    (it may backtrack or try a later start)."""
    lines = ["def groups(s):", "    if '\\n' in s:", "        return slow(s)"]
    if head:
        if anchored_start:
            lines += [f"    if not s.startswith({head!r}):", "        return None"]
            lines += [f"    p = {len(head)}"]
        else:
            lines += [f"    p = s.find({head!r})", "    if p < 0:", "        return None"]
            lines += [f"    p += {len(head)}"]
    else:
        if anchored_start:
            pass  # a leading (.+) at 0 is the same with or without ^
        lines += ["    p = 0"]
    names = []
    for k, (greedy, sep) in enumerate(plan):
        g = f"g{k}"
        names.append(g)
        last = k == len(plan) - 1
        if not sep:
            lines += ["    if len(s) - p < 1:", "        return slow(s)"]
            if greedy or anchored_end:
                lines += [f"    {g} = s[p:]"]
            else:
                lines += [f"    {g} = s[p : p + 1]"]
            continue
        find = "rfind" if greedy else "find"
        lines += [f"    e = s.{find}({sep!r}, p + 1)", "    if e < 0:", "        return slow(s)"]
        lines += [f"    {g} = s[p:e]", f"    p = e + {len(sep)}"]
        if last and anchored_end:
            lines += ["    if p != len(s):", "        return slow(s)"]
    lines += [f"    return ({', '.join(names)},)"]
    if slow is None:
        search = re.compile(pattern).search

        def slow(s: str) -> Groups | None:
            m = search(s)
            return None if m is None else m.groups("")

    namespace: dict[str, Any] = {"slow": slow}
    exec(compile("\n".join(lines) + "\n", f"<split plan {pattern!r}>", "exec"), namespace)
    fn: Callable[[str], Groups | None] = namespace["groups"]
    return fn
