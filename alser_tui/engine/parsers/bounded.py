"""Regex searches whose cost per line is bounded.

Python's ``re`` backtracks: a pattern like ``^(a|aa)+$`` or ``(.+) (.+),x`` runs for
minutes on one crafted line, and even the production PhpError regex takes ~80 ms on a
4,000-character line of spaces (it grows with the square of the length: hours at 1 MB).
The PyPI ``regex`` module takes a ``timeout`` per call, but the timeout costs ~1.7 µs a
call, about twice a production search, so it is paid only where ``re`` could be slow.

A static look at the pattern (``risk_degree``) gives the degree ``d`` of a polynomial that
bounds ``re``'s work on a line of n characters: one for the start positions of an
unanchored search, one per repeat that can trade characters with what follows it, one for
the final scan. A line longer than ``safe_length(d)`` (about C(n, d) <= STEP_BUDGET, i.e. a
few tens of ms of backtracking at worst) is searched by ``regex`` with the timeout, a
shorter one by ``re``. Nested repeats, alternations under a repeat, backreferences and
conditionals (possibly exponential: no length is safe) always go to ``regex``.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable
from typing import Any

try:  # the stdlib's pattern parser moved in 3.11; both names work there
    from re import _constants as sre_c  # type: ignore[attr-defined]
    from re import _parser as sre_p  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_constants as sre_c  # type: ignore[no-redef]
    import sre_parse as sre_p  # type: ignore[no-redef]

import regex as rx

Groups = tuple[str, ...]

DEFAULT_TIMEOUT = 0.05  # seconds per line and parser
# ~C(n, d) backtracking steps a line may cost re at worst. Measured on 2 cores: ~3-5 ns a
# step, so a line at the safe length costs re some 15-30 ms in the worst case.
STEP_BUDGET = 5_000_000
EXPONENTIAL = math.inf
NO_LIMIT = sys.maxsize
# A repeat of a group with at most this many copies is analysed as its copies in a row.
_UNROLL = 4

_CHARSET = frozenset({sre_c.LITERAL, sre_c.NOT_LITERAL, sre_c.ANY, sre_c.IN})
_REPEATS = frozenset(
    {sre_c.MAX_REPEAT, sre_c.MIN_REPEAT, getattr(sre_c, "POSSESSIVE_REPEAT", sre_c.MAX_REPEAT)}
)
_POSSESSIVE = getattr(sre_c, "POSSESSIVE_REPEAT", None)
_ATOMIC = getattr(sre_c, "ATOMIC_GROUP", None)
_NO_PROOFS = sre_c.SRE_FLAG_IGNORECASE | sre_c.SRE_FLAG_ASCII | sre_c.SRE_FLAG_LOCALE

_C = sre_c
_CAT_MEMBER: dict[Any, Callable[[str], bool]] = {
    _C.CATEGORY_DIGIT: str.isdecimal,
    _C.CATEGORY_NOT_DIGIT: lambda c: not c.isdecimal(),
    _C.CATEGORY_SPACE: str.isspace,
    _C.CATEGORY_NOT_SPACE: lambda c: not c.isspace(),
    _C.CATEGORY_WORD: lambda c: c.isalnum() or c == "_",
    _C.CATEGORY_NOT_WORD: lambda c: not (c.isalnum() or c == "_"),
}
# (a, b): category a is a subset of category b (Unicode semantics, as re uses for str;
# tests check the table against every code point).
_CAT_SUBSET = {
    (_C.CATEGORY_DIGIT, _C.CATEGORY_WORD),
    (_C.CATEGORY_DIGIT, _C.CATEGORY_NOT_SPACE),
    (_C.CATEGORY_WORD, _C.CATEGORY_NOT_SPACE),
    (_C.CATEGORY_SPACE, _C.CATEGORY_NOT_WORD),
    (_C.CATEGORY_SPACE, _C.CATEGORY_NOT_DIGIT),
    (_C.CATEGORY_NOT_WORD, _C.CATEGORY_NOT_DIGIT),
}
_CAT_NOT = {
    _C.CATEGORY_DIGIT: _C.CATEGORY_NOT_DIGIT,
    _C.CATEGORY_SPACE: _C.CATEGORY_NOT_SPACE,
    _C.CATEGORY_WORD: _C.CATEGORY_NOT_WORD,
}
_CAT_NOT.update({v: k for k, v in list(_CAT_NOT.items())})


class _Exponential(Exception):
    pass


class _CharSet:
    """The characters one item matches: the union of its parts (literals, ranges,
    categories), or its complement when ``negated``. Holds only what disjointness needs."""

    __slots__ = ("cats", "chars", "negated", "ranges")

    def __init__(self, negated: bool = False) -> None:
        self.negated = negated
        self.chars: set[str] = set()
        self.ranges: list[tuple[int, int]] = []
        self.cats: set[Any] = set()

    def _in_parts(self, c: str) -> bool:
        if c in self.chars:
            return True
        o = ord(c)
        if any(lo <= o <= hi for lo, hi in self.ranges):
            return True
        return any(_CAT_MEMBER[cat](c) for cat in self.cats)

    def has(self, c: str) -> bool:
        return self._in_parts(c) != self.negated

    def _listed(self) -> list[str] | None:
        """The literal and range parts as characters (None: a range too big to list)."""
        if sum(hi - lo + 1 for lo, hi in self.ranges) > 512:
            return None
        out = list(self.chars)
        for lo, hi in self.ranges:
            out.extend(chr(o) for o in range(lo, hi + 1))
        return out

    def _parts_within(self, other: _CharSet) -> bool:
        """Every character of self's parts is in one of other's parts."""
        listed = self._listed()
        if listed is None or not all(other._in_parts(c) for c in listed):
            return False
        return all(
            cat in other.cats or any((cat, o) in _CAT_SUBSET for o in other.cats)
            for cat in self.cats
        )

    def disjoint(self, other: _CharSet) -> bool:
        """True only when no character is in both (False when it cannot tell)."""
        if self.negated and other.negated:
            return False  # complements of two small sets always share characters
        if self.negated:
            return other._parts_within(self)
        if other.negated:
            return self._parts_within(other)
        mine, theirs = self._listed(), other._listed()
        if mine is None or theirs is None:
            return False
        if any(other.has(c) for c in mine) or any(self.has(c) for c in theirs):
            return False
        # Category against category: a is disjoint from b when a lies in b's complement.
        return all(
            a == _CAT_NOT[b] or (a, _CAT_NOT[b]) in _CAT_SUBSET
            for a in self.cats
            for b in other.cats
        )


def _charset(op: Any, av: Any, dotall: bool) -> _CharSet | None:
    if op is sre_c.LITERAL:
        s = _CharSet()
        s.chars.add(chr(av))
        return s
    if op is sre_c.NOT_LITERAL:
        s = _CharSet(True)
        s.chars.add(chr(av))
        return s
    if op is sre_c.ANY:
        s = _CharSet(True)
        if not dotall:
            s.chars.add("\n")
        return s
    if op is sre_c.IN:
        s = _CharSet()
        for iop, iav in av:
            if iop is sre_c.NEGATE:
                s.negated = True
            elif iop is sre_c.LITERAL:
                s.chars.add(chr(iav))
            elif iop is sre_c.RANGE:
                s.ranges.append(iav)
            elif iop is sre_c.CATEGORY and iav in _CAT_MEMBER:
                s.cats.add(iav)
            else:
                return None
        return s
    return None


class _Analysis:
    def __init__(self, flags: int) -> None:
        self.proofs = not flags & _NO_PROOFS
        self.dotall = bool(flags & sre_c.SRE_FLAG_DOTALL)
        self.repeats = 0
        # $ and \Z: zero-width, true at the end only ($ also before a final "\n").
        self.line_ends: tuple[tuple[Any, Any], ...] = ((sre_c.AT, sre_c.AT_END_STRING),)
        if not flags & sre_c.SRE_FLAG_MULTILINE:
            self.line_ends += ((sre_c.AT, sre_c.AT_END),)

    def flatten(self, items: Any) -> list[tuple[Any, Any]]:
        """Plain groups matter to captures, not to matching: their items join the sequence."""
        out: list[tuple[Any, Any]] = []
        for op, av in items:
            if op is sre_c.SUBPATTERN and not av[1] and not av[2]:
                out.extend(self.flatten(av[3]))
            else:
                out.append((op, av))
        return out

    def first_set(self, item: tuple[Any, Any]) -> list[_CharSet] | None:
        """The sets one of which the item's first character is in (None: unknown)."""
        op, av = item
        if op in _CHARSET:
            s = _charset(op, av, self.dotall)
            return None if s is None else [s]
        if op in _REPEATS:
            lo, _hi, body = av
            flat = self.flatten(body)
            if lo >= 1 and flat:
                return self.first_set(flat[0])
            return None
        if op is sre_c.BRANCH:
            out: list[_CharSet] = []
            for branch in av[1]:
                flat = self.flatten(branch)
                first = self.first_set(flat[0]) if flat else None
                if first is None:
                    return None
                out.extend(first)
            return out
        return None

    def ends_cleanly(self, body: _CharSet, follow: tuple[Any, Any] | None, at_end: bool) -> bool:
        """A repeat of ``body`` followed by ``follow`` has one way to end (no trading)."""
        if follow is None:
            return at_end  # last item of the pattern: the first try is the match
        if follow in self.line_ends:
            return True  # only one place ends it: the end of the line
        if not self.proofs:
            return False
        first = self.first_set(follow)
        return first is not None and all(body.disjoint(f) for f in first)

    def degree(self, items: Any, at_end: bool) -> float:
        """Ambiguous repeats in the sequence (a repeat inside a repeat raises _Exponential)."""
        flat = self.flatten(items)
        total = 0.0
        for k, (op, av) in enumerate(flat):
            follow = flat[k + 1] if k + 1 < len(flat) else None
            if op in _CHARSET or op is sre_c.AT:
                continue
            if op in _REPEATS:
                lo, hi, body = av
                inner = self.flatten(body)
                single = (
                    _charset(*inner[0], self.dotall)
                    if len(inner) == 1 and inner[0][0] in _CHARSET
                    else None
                )
                if single is not None:
                    if hi <= 1 or lo == hi:
                        continue  # no run to trade: at most one way to match
                    self.repeats += 1
                    if op is _POSSESSIVE or self.ends_cleanly(single, follow, at_end):
                        continue
                    total += 1
                    continue
                if self.has_choice(inner):
                    if hi > _UNROLL:
                        raise _Exponential
                    total += hi * self.degree(inner, at_end=False)
                    continue
                if hi > 1:
                    self.repeats += 1  # a repeated fixed sequence: one more way to trade
                    total += 1
                continue
            if op is sre_c.BRANCH:
                total += max(self.degree(b, at_end=False) for b in av[1])
            elif op is sre_c.SUBPATTERN:
                total += self.scoped(av[1], av[3])
            elif _ATOMIC is not None and op is _ATOMIC:
                total += self.degree(av, at_end=False)
            elif op in (sre_c.ASSERT, sre_c.ASSERT_NOT):
                # Tried once per way of reaching it: its choices multiply the others';
                # its scan is the final one counted for every repeat.
                total += self.degree(av[1], at_end=True)
            else:
                raise _Exponential  # backreferences, conditionals, anything unknown
        return total

    def scoped(self, add_flags: int, items: Any) -> float:
        """A group with inline flags, e.g. (?i:...): no proofs under case folding."""
        saved = self.proofs, self.dotall
        self.proofs = self.proofs and not add_flags & _NO_PROOFS
        self.dotall = self.dotall or bool(add_flags & sre_c.SRE_FLAG_DOTALL)
        try:
            return self.degree(items, at_end=False)
        finally:
            self.proofs, self.dotall = saved

    def has_choice(self, items: Any) -> bool:
        """Whether the items can match in more than one way (repeats, alternatives...)."""
        for op, av in self.flatten(items):
            if op in _CHARSET or op is sre_c.AT:
                continue
            if op in _REPEATS:
                if av[1] > 1 or av[0] != av[1] or self.has_choice(av[2]):
                    return True
                continue
            return True
        return False


def risk_degree(pattern: str) -> float:
    """The degree d such that re's search costs O(n**d) on an n-character line, at most
    (EXPONENTIAL: no polynomial bound; an invalid pattern also counts as that)."""
    try:
        parsed = sre_p.parse(pattern)
    except re.error:
        return EXPONENTIAL
    flags = parsed.state.flags
    a = _Analysis(flags)
    try:
        ambiguous = a.degree(list(parsed), at_end=True)
    except _Exponential:
        return EXPONENTIAL
    flat = a.flatten(list(parsed))
    anchored = bool(flat) and (
        flat[0] == (sre_c.AT, sre_c.AT_BEGINNING_STRING)
        or (flat[0] == (sre_c.AT, sre_c.AT_BEGINNING) and not flags & sre_c.SRE_FLAG_MULTILINE)
    )
    return (0 if anchored else 1) + ambiguous + (1 if a.repeats else 0)


def safe_length(degree: float) -> int:
    """The longest line re may search for a pattern of that degree (-1: none)."""
    if degree == EXPONENTIAL:
        return -1
    d = int(degree)
    if d <= 1:
        return NO_LIMIT  # linear: the line length cap bounds it
    return int((STEP_BUDGET * math.factorial(d)) ** (1 / d))


class BoundedSearch:
    """``pattern``'s search with a bounded cost: ``re`` up to ``safe_len`` characters, the
    ``regex`` module with ``timeout`` beyond (raises TimeoutError). Same groups either way
    for the patterns re accepts (up to Unicode-table differences in \\w and \\s)."""

    __slots__ = ("degree", "guarded", "pattern", "safe_len", "search", "timeout")

    def __init__(self, pattern: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.pattern = pattern
        self.timeout = timeout
        self.search = re.compile(pattern).search
        self.degree = risk_degree(pattern)
        self.safe_len = safe_length(self.degree)
        try:
            compiled = rx.compile(pattern)
        except (rx.error, ValueError):  # pragma: no cover - re syntax regex refuses
            compiled = None
            self.safe_len = NO_LIMIT
        self.guarded: Callable[[str], Any] | None = None
        if compiled is not None and self.safe_len != NO_LIMIT:
            csearch = compiled.search

            def guarded(s: str) -> Any:
                # concurrent: the GIL is released while it runs (the console stays live).
                return csearch(s, concurrent=True, timeout=timeout)

            self.guarded = guarded

    def match(self, s: str) -> Any:
        """The match object (or None); raises TimeoutError past the timeout."""
        if len(s) <= self.safe_len:
            return self.search(s)
        return self.guarded(s)  # type: ignore[misc]

    def groups(self, s: str) -> Groups | None:
        m = self.match(s)
        return None if m is None else m.groups("")
