"""The original's ``stats_stmt`` (SQL over ``%s``, the window bound as ``ts<=?``) into either
the declarative aggregate/group_by/where/min_amount/limit, or a ``stats_sql`` that says the
same with safe placeholders when the declarative form cannot.

Only the shape the original used is read: one SELECT over ``%s`` with WHERE, GROUP BY,
HAVING, ORDER BY and LIMIT clauses. Anything else is not guessed at: the caller is told why.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

_TOKEN = re.compile(
    r"""
     (?P<ws>\s+)
    |(?P<str>'(?:[^']|'')*')
    |(?P<qid>"(?:[^"]|"")*"|`[^`]*`)
    |(?P<ph>%s)
    |(?P<q>\?)
    |(?P<num>[0-9]+(?:\.[0-9]+)?)
    |(?P<word>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<op><=|>=|<>|!=|==|\|\||[-+*/%(),.;=<>])
    """,
    re.X,
)
_CLAUSES = ("select", "from", "where", "group", "having", "order", "limit")


@dataclass(frozen=True, slots=True)
class Tok:
    kind: str
    text: str
    start: int
    end: int

    @property
    def word(self) -> str:
        """Lower-case word, or the unquoted identifier; '' for other tokens."""
        if self.kind == "word":
            return self.text.lower()
        if self.kind == "qid":
            return self.text[1:-1].replace('""', '"').lower()
        return ""

    @property
    def ident(self) -> str:
        """The identifier as written (case kept, quotes removed)."""
        if self.kind == "qid":
            return self.text[1:-1].replace('""', '"')
        return self.text


class StmtError(ValueError):
    pass


@dataclass(slots=True)
class Stmt:
    text: str
    tokens: list[Tok]
    clauses: dict[str, list[Tok]]  # body tokens of each clause, by its first keyword
    starts: dict[str, int]  # where each clause's keyword starts in the text


def tokenize(text: str) -> list[Tok]:
    out: list[Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise StmtError(f"cannot read the SQL at {text[pos : pos + 10]!r}")
        kind = m.lastgroup or ""
        if kind != "ws":
            out.append(Tok(kind, m.group(), m.start(), m.end()))
        pos = m.end()
    while out and out[-1].text == ";":
        out.pop()
    return out


def parse(text: str) -> Stmt:
    tokens = tokenize(text)
    if not tokens or tokens[0].word != "select":
        raise StmtError("not a SELECT")
    clauses: dict[str, list[Tok]] = {}
    starts: dict[str, int] = {}
    current = ""
    depth = 0
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t.text == "(":
            depth += 1
        elif t.text == ")":
            depth -= 1
        if depth == 0 and t.kind == "word" and t.word in _CLAUSES:
            if t.word in ("group", "order"):
                if i + 1 >= len(tokens) or tokens[i + 1].word != "by":
                    raise StmtError(f"{t.text} without BY")
                i += 1
            if t.word in clauses:
                raise StmtError(f"two {t.text.upper()} clauses (a subquery or UNION?)")
            current = t.word
            clauses[current] = []
            starts[current] = t.start
        elif depth == 0 and t.kind == "word" and t.word in ("union", "join", "offset", "window"):
            raise StmtError(f"{t.text.upper()} is not supported")
        else:
            clauses[current].append(t)
        i += 1
    if depth != 0:
        raise StmtError("unbalanced parentheses")
    if [t.text for t in clauses.get("from", [])] != ["%s"]:
        raise StmtError("FROM must be exactly %s (the parser's table)")
    return Stmt(text, tokens, clauses, starts)


def split_top(tokens: Sequence[Tok], sep: str) -> list[list[Tok]]:
    """Split at a top-level separator (',' or a keyword such as 'and')."""
    parts: list[list[Tok]] = [[]]
    depth = 0
    for t in tokens:
        if t.text == "(":
            depth += 1
        elif t.text == ")":
            depth -= 1
        if depth == 0 and (t.text == sep or t.word == sep):
            parts.append([])
        else:
            parts[-1].append(t)
    return parts


def _is_window_bound(c: Sequence[Tok]) -> bool:
    """``ts <= ?`` / ``ts < ?`` / ``? >= ts``: the original's window bound."""
    texts = [t.text for t in c]
    if len(c) != 3:
        return False
    return (c[0].word == "ts" and texts[1] in ("<=", "<") and c[2].kind == "q") or (
        c[0].kind == "q" and texts[1] in (">=", ">") and c[2].word == "ts"
    )


def _text(stmt: Stmt, toks: Sequence[Tok], repl: Mapping[int, str] | None = None) -> str:
    """The original text of a run of tokens, with some tokens (by start offset) replaced."""
    if not toks:
        return ""
    out = []
    for i, t in enumerate(toks):
        if i:
            out.append(" " if toks[i - 1].end != t.start else "")
        out.append((repl or {}).get(t.start, t.text))
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Declarative:
    aggregate: str  # count | count_distinct:COL | sum:COL
    group_by: tuple[str, ...]
    where: str
    min_amount: float | None  # None: keep the default
    limit: int


def _aggregate(item: list[Tok]) -> tuple[str, str, int]:
    """(kind, column, tokens used) of COUNT(*), COUNT(DISTINCT x), COUNT(DISTINCT(x)), SUM(x)."""
    words = [t.word or t.text for t in item]
    if words[:4] == ["count", "(", "*", ")"]:
        return "count", "", 4
    if words[:3] == ["count", "(", "distinct"]:
        if words[3:6] == ["(", words[4], ")"] and words[6:7] == [")"] and item[4].word:
            return "count_distinct", item[4].ident, 7
        if words[4:5] == [")"] and item[3].word:
            return "count_distinct", item[3].ident, 5
    if words[:2] == ["sum", "("] and words[3:4] == [")"] and item[2].word:
        return "sum", item[2].ident, 4
    raise StmtError(f"aggregate {' '.join(t.text for t in item)!r} has no declarative form")


def _alias(item: list[Tok], used: int) -> str:
    rest = item[used:]
    if not rest:
        return ""
    if rest[0].word == "as" and len(rest) == 2 and rest[1].word:
        return rest[1].ident
    if len(rest) == 1 and rest[0].word:
        return rest[0].ident
    raise StmtError("the aggregate is part of an expression")


def select_columns(stmt: Stmt) -> tuple[str, list[str]]:
    """(the first item's alias or '', the plain column names after it; '' for expressions)."""
    items = split_top(stmt.clauses["select"], ",")
    alias = ""
    try:
        _, _, used = _aggregate(items[0])
        alias = _alias(items[0], used)
    except StmtError:
        pass
    names = []
    for item in items[1:]:
        if len(item) == 1 and item[0].word:
            names.append(item[0].ident)
        elif len(item) == 3 and item[1].word == "as" and item[0].word and item[2].word:
            names.append(item[2].ident)
        else:
            names.append("")
    return alias, names


def _renamed(stmt: Stmt, toks: Sequence[Tok], rename: Mapping[str, str]) -> str:
    """Tokens as text with column names renamed (``rename`` keys are lower case)."""
    repl = {}
    for i, t in enumerate(toks):
        nxt = toks[i + 1].text if i + 1 < len(toks) else ""
        if t.word in rename and nxt != "(":
            repl[t.start] = rename[t.word]
    return _text(stmt, toks, repl)


def declarative(stmt: Stmt, rename: Mapping[str, str]) -> Declarative:
    """The declarative form (column names renamed by ``rename``, lower-case keys), or
    StmtError saying why there is none."""
    items = split_top(stmt.clauses["select"], ",")
    kind, column, used = _aggregate(items[0])
    alias = _alias(items[0], used)
    agg_words = [t.word or t.text for t in items[0][:used]]
    groups: list[str] = []
    for item in items[1:]:
        if len(item) != 1 or not item[0].word:
            raise StmtError("a selected column is an expression")
        groups.append(item[0].ident)
    by = [p for p in split_top(stmt.clauses.get("group", []), ",") if p]
    if any(len(p) != 1 or not p[0].word for p in by):
        raise StmtError("GROUP BY an expression")
    if {p[0].word for p in by} != {g.lower() for g in groups} or len(by) != len(groups):
        raise StmtError("GROUP BY and the selected columns differ")

    def is_amount(toks: Sequence[Tok]) -> bool:
        if len(toks) == 1 and alias and toks[0].word == alias.lower():
            return True
        return [t.word or t.text for t in toks] == agg_words

    # WHERE: drop the window bound, keep the rest.
    kept: list[list[Tok]] = []
    where = stmt.clauses.get("where", [])
    if where:
        for c in split_top(where, "and"):
            if _is_window_bound(c):
                continue
            if any(t.kind == "q" for t in c):
                if any(t.word == "or" for t in c):
                    raise StmtError("WHERE mixes OR with the window bound")
                raise StmtError("another ? parameter besides the window bound")
            kept.append(c)
    cond = " AND ".join(
        f"({_renamed(stmt, c, rename)})" if len(kept) > 1 else _renamed(stmt, c, rename)
        for c in kept
    )

    min_amount: float | None = None
    having = stmt.clauses.get("having", [])
    if having:
        ops = [t.text for t in having]
        if len(having) < 3 or ops[-2] not in (">", ">=") or having[-1].kind != "num":
            raise StmtError("HAVING is not 'amount > N' or 'amount >= N'")
        if not is_amount(having[:-2]):
            raise StmtError("HAVING tests something other than the amount")
        n = float(having[-1].text)
        if ops[-2] == ">=":
            min_amount = n
        elif kind != "sum" and n.is_integer():
            min_amount = n + 1  # counts are integers: > N is >= N + 1
        else:
            raise StmtError("HAVING amount > N on a sum has no exact min_amount")
    elif kind == "sum":
        # The original showed every group whatever its sum (zero and negative too).
        min_amount = float("-inf")
    min_amount = (
        int(min_amount) if min_amount is not None and min_amount.is_integer() else min_amount
    )

    order = [p for p in split_top(stmt.clauses.get("order", []), ",") if p]
    if order:
        first = order[0]
        if not (first and first[-1].word == "desc" and is_amount(first[:-1])):
            raise StmtError("ORDER BY is not the amount, descending")
        # Later keys only break ties; the declarative order breaks them by group_by.
        tail = [[t for t in p if t.word != "asc"] for p in order[1:]]
        if any(len(p) != 1 for p in tail) or [p[0].word for p in tail] != [
            g.lower() for g in groups[: len(tail)]
        ]:
            raise StmtError("ORDER BY breaks ties differently")

    limit = 0
    lim = stmt.clauses.get("limit", [])
    if lim:
        if len(lim) != 1 or lim[0].kind != "num" or "." in lim[0].text:
            raise StmtError("LIMIT is not a number")
        limit = int(lim[0].text)

    def new(name: str) -> str:
        return rename.get(name.lower(), name)

    agg = kind if kind == "count" else f"{kind}:{new(column)}"
    return Declarative(agg, tuple(new(g) for g in groups), cond, min_amount, limit)


def to_stats_sql(stmt: Stmt, rename: Mapping[str, str]) -> str:
    """The statement as a stats_sql: %s -> {table}, the ts bound -> {window}, the first
    column named amount, renamed columns renamed. StmtError when another ? remains."""
    items = split_top(stmt.clauses["select"], ",")
    first = items[0]
    repl: dict[int, str] = {}
    alias = ""
    # The first item's alias (or a new one) becomes "amount".
    if len(first) >= 2 and first[-1].word and (first[-2].word == "as" or first[-2].text == ")"):
        alias = first[-1].ident
        repl[first[-1].start] = "amount" if first[-2].word == "as" else "AS amount"
    else:
        repl[first[-1].start] = first[-1].text + " AS amount"
    tokens = stmt.tokens
    bound = False
    for i, t in enumerate(tokens):
        if t.kind == "ph":
            repl[t.start] = "{table}"
        elif t.kind == "q":
            continue
        elif t.kind in ("word", "qid"):
            nxt = tokens[i + 1].text if i + 1 < len(tokens) else ""
            if t.start in repl or nxt == "(":
                continue
            if alias and t.word == alias.lower():
                repl[t.start] = "amount"
            elif t.word in rename:
                repl[t.start] = rename[t.word]
    for i in range(len(tokens) - 2):
        if _is_window_bound(tokens[i : i + 3]):
            repl[tokens[i].start] = "{window}"
            repl[tokens[i + 1].start] = ""
            repl[tokens[i + 2].start] = ""
            bound = True
    if any(t.kind == "q" and repl.get(t.start) != "" for t in tokens):
        raise StmtError("a ? parameter other than the window bound")
    text = _text(stmt, tokens, repl)
    text = re.sub(r"\{window\}\s+", "{window} ", text)
    text = re.sub(r"\s+", " ", text).strip()
    if not bound:
        # Every row of the original's table was in the window (it deleted them after).
        text = _add_window(text)
    return text


def _add_window(text: str) -> str:
    """Bound a query that has no ``ts <= ?`` to the window."""
    body = text.replace("{table}", "%s")
    stmt = parse(body)
    where = stmt.clauses.get("where")
    if where:
        a, b = where[0].start, where[-1].end
        body = body[:a] + "{window} AND (" + body[a:b] + ")" + body[b:]
    else:
        later = [stmt.starts[n] for n in ("group", "having", "order", "limit") if n in stmt.starts]
        cut = min(later, default=len(body))
        body = (body[:cut].rstrip() + " WHERE {window} " + body[cut:]).strip()
    return body.replace("%s", "{table}")
