"""The per-field value pipeline: type, contains, normalisers, ignores, filters, maxlen.

Each FieldConfig is compiled once into a plain function ``fn(value) -> result`` where the
result is the stored value, ``None`` (a condition skips the line) or ``REJECTED`` (the
value does not have the field's type); no function at all when the value is stored as it
is. ``money`` fields take the line's currency as a second argument. Parser kinds extract
the values and loop over ``compile_fields``. Values are str (regex groups) or any JSON
value; text fields see non-str JSON values as their compact JSON text (``to_text``).

Conditions on base_file fields look at the base name (the converted value). Conditions
on numeric fields (int, float, money) look at the number's string form
(``str(12)``, ``str(1.5)``; for money the amount before the exchange rate, as a float:
``'12.0'``); the stored value stays numeric and ``maxlen`` does not apply to it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, NamedTuple

import orjson

from alser_tui.engine.config import FieldConfig
from alser_tui.engine.parsers.base import REJECTED

# SQLite INTEGER is 64-bit: a larger int would make the batched insert fail later.
INT_MIN = -(2**63)
INT_MAX = 2**63 - 1

# ASCII digits only, like the original's Go regexp (Python's \d also matches other scripts).
_DIGITS = re.compile(r"[0-9]+")
_TOKEN = re.compile(r"pre: [^;]*; current: \S*")


def normalize_digits(text: str) -> str:
    """Every run of digits becomes '?', so 'uid 123 in 45ms' groups with 'uid 9 in 7ms'."""
    return _DIGITS.sub("?", text)


def normalize_token(text: str) -> str:
    """'pre: abc123; current: def456' becomes 'pre cur' (session tokens differ per line)."""
    return _TOKEN.sub("pre cur", text)


NORMALIZER_FUNCS: dict[str, Callable[[str], str]] = {
    "digits": normalize_digits,
    "token": normalize_token,
}
_STR_FAST: dict[Callable[[str], str], Callable[[str], str]] = {
    normalize_digits: partial(_DIGITS.sub, "?"),
    normalize_token: partial(_TOKEN.sub, "pre cur"),
}


# --------------------------------------------------------------------------- converters
# to_int/to_float return the number or REJECTED. Their input is a str (regex groups) or
# any JSON value; JSON null never gets here (the json parser treats it as missing).


def to_text(value: Any) -> str:
    """A string as is; any other JSON value as its compact JSON text."""
    if type(value) is str:
        return value
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # orjson only writes 64-bit ints; loads never makes bigger ones
        return str(value)


def base_name(text: str) -> str:
    """The last path component, whether the path uses / or \\ separators."""
    text = text.rpartition("/")[2]
    if "\\" in text:
        return text.rpartition("\\")[2]
    return text


def to_int(value: Any) -> Any:
    t = type(value)
    if t is int:
        v = value
    elif t is str:
        # int() also accepts '1_000'; log data with underscores is not a number.
        if "_" in value:
            return REJECTED
        try:
            v = int(value)
        except ValueError:
            f = _str_to_float(value)
            if f is REJECTED or not f.is_integer():
                return REJECTED
            v = int(f)
    elif t is float:
        if not value.is_integer():  # also False for inf and nan
            return REJECTED
        v = int(value)
    else:  # bool, containers, anything else
        return REJECTED
    if v < INT_MIN or v > INT_MAX:
        return REJECTED
    return v


def _str_to_float(value: str) -> Any:
    if "_" in value:
        return REJECTED
    try:
        f = float(value)
    except ValueError:
        return REJECTED
    # 'nan' and 'inf' parse, but are not amounts (SQLite stores NaN as NULL).
    return f if math.isfinite(f) else REJECTED


def to_float(value: Any) -> Any:
    t = type(value)
    if t is float:
        return value if math.isfinite(value) else REJECTED
    if t is int:
        try:
            return float(value)
        except OverflowError:
            return REJECTED
    if t is str:
        return _str_to_float(value)
    return REJECTED


CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "int": to_int,
    "float": to_float,
    "money": to_float,  # the amount; the exchange rate is applied by the money pipeline
}


# --------------------------------------------------------------------------- pipeline


def _ignore_tests(ignores: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    """(substrings, compiled regex .search methods) from the ignores list."""
    subs: list[str] = []
    searches: list[Any] = []
    for entry in ignores:
        if entry.startswith("regex:"):
            searches.append(re.compile(entry[len("regex:") :].strip()).search)
        else:
            subs.append(entry)
    return tuple(subs), tuple(searches)


def _conditions(fc: FieldConfig, numeric: bool) -> Callable[[Any], Any] | None:
    """fn(raw) -> final text, or None when a condition skips the line.

    raw is a str or, from a JSON message, any JSON value (conditions see its JSON text).
    None (no function) when the field has nothing to check or change.
    """
    contains = fc.contains
    norms = tuple(NORMALIZER_FUNCS[n] for n in fc.normalize)
    subs, searches = _ignore_tests(fc.ignores)
    filters = frozenset(fc.filters) if fc.filters else None
    maxlen = 0 if numeric else fc.maxlen
    checks = bool(contains or subs or searches or filters is not None)
    if not checks and (numeric or not (norms or maxlen)):
        # Nothing to check, nothing to change (a number's normalised form is only checked).
        return None

    # The common case (normalisers and/or maxlen, no condition) gets its own small function.
    if not checks:
        if len(norms) == 1 and not maxlen:
            norm = norms[0]

            def normalise_one(raw: Any) -> str:
                return norm(raw if type(raw) is str else to_text(raw))

            # The same for a str, as one C call (unrolled regex parsers use it on a miss).
            normalise_one.str_fast = _STR_FAST.get(norm)  # type: ignore[attr-defined]
            return normalise_one

        def normalise_only(raw: Any) -> str:
            if type(raw) is not str:
                raw = to_text(raw)
            for norm in norms:
                raw = norm(raw)
            if maxlen and len(raw) > maxlen:
                return raw[:maxlen]
            return raw

        return normalise_only

    def check(raw: Any) -> Any:
        if type(raw) is not str:
            raw = to_text(raw)
        if contains and contains not in raw:
            return None
        text = raw
        for norm in norms:
            text = norm(text)
        # An ignore matches either form: raw catches exact ids, normalised catches shapes.
        normalised = text is not raw
        for sub in subs:
            if sub in raw or (normalised and sub in text):
                return None
        for search in searches:
            if search(raw) is not None or (normalised and search(text) is not None):
                return None
        if filters is not None and text not in filters:
            return None
        if maxlen and len(text) > maxlen:
            return text[:maxlen]
        return text

    return check


def compile_field(fc: FieldConfig) -> Callable[[Any], Any] | None:
    """fn(value) -> stored value | None (skip the line) | REJECTED, for a non-money field.

    value is a str (regex groups) or any JSON value. No function (None) for a string field
    with no option: the caller stores the text as it is (JSON callers apply ``to_text``).
    """
    if fc.type == "money":
        raise ValueError("money fields need the currency: use compile_money")
    numeric = fc.type in ("int", "float")
    cond = _conditions(fc, numeric)
    if fc.type == "string":
        return cond
    if fc.type == "base_file":

        def base_file_field(value: Any) -> Any:
            name = base_name(value if type(value) is str else to_text(value))
            return name if cond is None else cond(name)

        return base_file_field

    convert = CONVERTERS[fc.type]
    if cond is None:
        return convert

    def number_field(value: Any) -> Any:
        v = convert(value)
        if v is REJECTED:
            return v
        return None if cond(str(v)) is None else v

    return number_field


def compile_money(fc: FieldConfig, rates: Mapping[str, float]) -> Callable[[Any, Any], Any]:
    """fn(amount, currency) -> amount in USD | None | REJECTED (bad amount, unknown currency)."""
    cond = _conditions(fc, True)
    rate_of = dict(rates).get

    def money_field(value: Any, currency: Any) -> Any:
        amount = to_float(value)
        if amount is REJECTED:
            return amount
        code = currency if type(currency) is str else str(currency)
        rate = rate_of(code.strip().upper())
        if rate is None:
            return REJECTED
        if cond is not None and cond(str(amount)) is None:
            return None
        return amount * rate

    return money_field


# Roles of a compiled field in its parser's loop.
PLAIN = 0
CURRENCY = 1  # its final value is the currency of later money fields
MONEY = 2  # fn takes (value, currency)


class CompiledField(NamedTuple):
    name: str
    fn: Callable[..., Any] | None  # None: store the text as it is (JSON: to_text first)
    visible: bool
    role: int


def compile_fields(
    fields: tuple[FieldConfig, ...], rates: Mapping[str, float]
) -> tuple[CompiledField, ...]:
    """The pipeline of each field, in config order (money needs the currency before it)."""
    out: list[CompiledField] = []
    for fc in fields:
        if fc.type == "money":
            fn: Callable[..., Any] | None = compile_money(fc, rates)
            role = MONEY
        else:
            fn = compile_field(fc)
            if fn is not None:
                fn = memoize(fn)
            role = CURRENCY if fc.name == "currency" else PLAIN
        out.append(CompiledField(fc.name, fn, fc.visible, role))
    return tuple(out)


_MISS: Any = object()


def memoize(fn: Callable[[Any], Any], size: int = 4096) -> Callable[[Any], Any]:
    """Remember a field function's answers for the last few thousand distinct values.

    Log fields repeat (hosts, levels, files, line numbers, normalised shapes): a dict hit
    replaces the conversion, normalisers and ignore searches. Values that never repeat cost
    one failed lookup. Unhashable JSON values (objects, arrays) bypass the cache. The cache
    is emptied when full, which keeps memory bounded without LRU bookkeeping on the hot path.
    """
    cache: dict[Any, Any] = {}
    get = cache.get

    def memo(value: Any) -> Any:
        r = get(value, _MISS) if value.__class__ in _HASHABLE else _MISS
        if r is _MISS:
            r = fn(value)
            if value.__class__ in _HASHABLE:
                if len(cache) >= size:
                    cache.clear()
                cache[value] = r
        return r

    # Read directly by unrolled.py, which inlines the lookup and the store.
    memo.cache, memo.size, memo.fn = cache, size, fn  # type: ignore[attr-defined]
    return memo


# bool is excluded: True == 1 would share a cache slot with the integer 1.
_HASHABLE = frozenset({str, int, float})
