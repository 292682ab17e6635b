"""Every key of the original's config (see ORIGINAL.md) onto the TOML schema.

What maps exactly is written; what maps approximately is written with a note; what cannot
be mapped is left out with a note. Each parser is checked on its own with the real config
validator, so one bad parser is reported (and left out) without sinking the others.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from typing import Any

from alser_tui.convert import toml_out
from alser_tui.convert.formats import color_to_style, printf_to_format
from alser_tui.convert.sqlstmt import StmtError, declarative, parse, to_stats_sql
from alser_tui.engine.config import FIELD_TYPES, ConfigError, parse_config
from alser_tui.engine.stats_sql import check_stats_sql

CLASSES = {
    "JsonCollectorParser": "json",
    "RegexCollectorParser": "regex",
    "HostLineParser": "hostline",
}
NORMALIZERS = {"digit": "digits", "digits": "digits", "token": "token"}
# Parser keys that carry over under the same name.
SAME_PARSER_KEYS = (
    "title",
    "enabled",
    "beep_threshold",
    "abnormal_base",
    "abnormal_percent",
    "severity",
    "abnormal_severity_factor",
    "summary",
)
# Used to name and type the columns; the new store makes its own tables.
TABLE_KEYS = ("create_table", "insert_stmt", "dbname")
PARSER_KEY_ORDER = (
    "id", "kind", "title", "enabled", "colors", "window", "regex", "aggregate", "stats_sql",
    "group_by", "where", "min_amount", "limit", "beep_threshold", "abnormal_percent",
    "abnormal_base", "severity", "abnormal_severity_factor", "instant", "row_format",
    "summary", "persist",
)  # fmt: skip
FIELD_KEY_ORDER = (
    "name", "group", "path", "type", "normalize", "contains", "ignores", "filters",
    "visible", "maxlen",
)  # fmt: skip
LEGACY_PERIOD = 10  # seconds: a parser's period in the original when it had no `sleep`
MAIL_2013 = ("backoff_threshold", "line_threshold", "sleep_start", "sleep_step", "sleep_max",
             "sleep_min")  # fmt: skip
MAIL_POOL = ("severity_threshold", "severity_pool_size", "interval", "suppress_hours")
RESERVED = ("area", "ts", "raw")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_INSERT = re.compile(r"INSERT\s+(?:OR\s+\w+\s+)?INTO\s+%s\s*\(([^)]*)\)", re.I)
_CREATE = re.compile(
    r"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?%s\s*\((.*)\)\s*;?\s*$", re.I | re.S
)


@dataclass
class Conversion:
    text: str
    notes: list[str] = field(default_factory=list)


@dataclass
class _Parser:
    old_id: str
    values: dict[str, Any]
    fields: list[dict[str, Any]]
    comments: list[str]


def convert(doc: dict[str, Any], source: str = "") -> Conversion:
    """The TOML text for an ljson document, with notes on what did not map."""
    return _Converter(source).run(doc)


def sanitize_name(text: str, taken: set[str]) -> str:
    """A column / parser id: letters, digits and _; unique in ``taken`` (which it joins)."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", text).strip("_") or "field"
    if name[0].isdigit():
        name = "f_" + name
    if name.lower() in RESERVED:
        name += "_"
    base, n = name, 2
    while name in taken:
        name = f"{base}_{n}"
        n += 1
    taken.add(name)
    return name


def _split_top(text: str) -> list[str]:
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


def table_columns(t: dict[str, Any]) -> list[str] | None:
    """Column names of the original's table, from insert_stmt (else create_table)."""
    ins = t.get("insert_stmt")
    if isinstance(ins, str) and (m := _INSERT.search(ins)):
        return [c.strip().strip('`"') for c in m.group(1).split(",") if c.strip()]
    ct = t.get("create_table")
    if isinstance(ct, str) and (m := _CREATE.search(ct)):
        cols = []
        for part in _split_top(m.group(1)):
            word = part.split()[0].strip('`"')
            if word.upper() not in ("PRIMARY", "KEY", "INDEX", "UNIQUE", "CONSTRAINT"):
                cols.append(word)
        return cols
    return None


class _Converter:
    def __init__(self, source: str) -> None:
        self.source = source
        self.notes: list[str] = []
        self.ids: dict[str, str] = {}  # old parser id -> new id (converted parsers only)
        self.taken_ids: set[str] = set()

    def note(self, where: str, message: str) -> None:
        self.notes.append(f"{where}: {message}")

    # ------------------------------------------------------------------ document

    def run(self, doc: dict[str, Any]) -> Conversion:
        for k in doc:
            if k not in ("mail", "guards", "parsers", "line_threshold"):
                self.note(k, "unknown top-level key, not mapped")
        parsers: list[_Parser] = []
        raw_parsers = doc.get("parsers", [])
        if not isinstance(raw_parsers, list):
            self.note("parsers", "must be an array; no parser converted")
            raw_parsers = []
        for i, t in enumerate(raw_parsers):
            p = self.parser(i, t)
            if p is not None:
                parsers.append(p)
        mail = doc.get("mail")
        channel: dict[str, Any] | None = None
        delivery: dict[str, Any] = {}
        if isinstance(mail, dict):
            channel = self.mail(mail, parsers, doc.get("line_threshold"))
            delivery = self.unguarded(mail, channel)
        elif mail is not None:
            self.note("mail", "must be an object; not mapped")
        guards = []
        raw_guards = doc.get("guards", [])
        if not isinstance(raw_guards, list):
            self.note("guards", "must be an array; no guard converted")
            raw_guards = []
        for i, t in enumerate(raw_guards):
            g = self.guard(i, t)
            if g is not None:
                guards.append(g)
        fed = {pid for g in guards for pid in g["parsers"]}
        for p in parsers:
            if p.values["id"] not in fed:
                self.note(f"parser {p.old_id}", "no guard feeds it (converted anyway)")
        text = self.write(guards, parsers, channel, delivery)
        try:
            parse_config(tomllib.loads(text), "<converted>")
        except (ConfigError, tomllib.TOMLDecodeError) as exc:  # a converter bug: say so
            self.note("output", f"does not pass --check: {exc}")
        return Conversion(text, self.notes)

    # ------------------------------------------------------------------ guards

    def guard(self, i: int, t: Any) -> dict[str, Any] | None:
        where = f"guards[{i}]"
        if not isinstance(t, dict):
            self.note(where, "not an object; skipped")
            return None
        out: dict[str, Any] = {}
        for k in ("tail_glob", "history_glob"):
            if isinstance(t.get(k), str) and t[k]:
                out[k] = t[k]
        if isinstance(t.get("tables"), str) and t["tables"]:
            out.pop("tail_glob", None)  # one live source per guard: the tables
            out["tables"] = t["tables"]
            dsn = t.get("dsn")
            if isinstance(dsn, str) and dsn:
                out["dsn"] = dsn
            else:
                # The original's database settings were not part of its config file.
                out["dsn"] = "mysql://USER@HOST:3306/DATABASE"
                out["enabled"] = False
                self.note(
                    f"{where}.tables",
                    "converted disabled with a placeholder dsn: set dsn (and password_env"
                    " for the password), then remove enabled = false",
                )
        if not out:
            self.note(where, "no tail_glob, history_glob or tables; skipped")
            return None
        ids = []
        for pid in t.get("parsers", []) if isinstance(t.get("parsers"), list) else []:
            if pid in self.ids:
                ids.append(self.ids[pid])
            else:
                self.note(
                    f"{where}.parsers", f"parser {pid!r} is not defined (or not converted); dropped"
                )
        if not ids:
            self.note(where, "feeds no converted parser; skipped")
            return None
        out["parsers"] = ids
        if isinstance(t.get("enabled"), bool) and not t["enabled"]:
            out["enabled"] = False
        for k in t:
            if k not in ("tail_glob", "history_glob", "parsers", "enabled", "tables", "dsn"):
                self.note(f"{where}.{k}", "unknown key, not mapped")
        return out

    # ------------------------------------------------------------------ parsers

    def parser(self, i: int, t: Any) -> _Parser | None:
        where = f"parsers[{i}]"
        if not isinstance(t, dict):
            self.note(where, "not an object; skipped")
            return None
        old_id = t.get("id")
        if not isinstance(old_id, str) or not old_id:
            self.note(where, "no id; skipped")
            return None
        where = f"parser {old_id}"
        cls = t.get("class")
        kind = CLASSES.get(cls) if isinstance(cls, str) else None
        if kind is None:
            self.note(f"{where}.class", f"unknown class {cls!r}; parser skipped")
            return None
        if old_id in self.ids or old_id in self.taken_ids:
            self.note(where, "a second parser with this id; skipped (the first one is kept)")
            return None
        new_id = sanitize_name(old_id, self.taken_ids) if not _IDENT.match(old_id) else old_id
        if new_id != old_id:
            self.note(f"{where}.id", f"renamed to {new_id!r} (ids name SQLite tables)")
        self.taken_ids.add(new_id)
        v: dict[str, Any] = {"id": new_id, "kind": kind}
        comments = [f"--- {old_id} ({cls})"]
        for k in SAME_PARSER_KEYS:
            if k in t:
                v[k] = t[k]
        if "sleep" in t:
            sleep = t["sleep"]
            if isinstance(sleep, int | float) and not isinstance(sleep, bool) and sleep >= 1:
                v["window"] = round(sleep)
                if sleep != int(sleep):
                    self.note(f"{where}.sleep", f"{sleep} rounded to {v['window']} s")
            else:
                self.note(f"{where}.sleep", f"not a number of seconds >= 1: {sleep!r}")
        else:
            # The original's period without `sleep` (ORIGINAL.md), not alser-tui's default.
            v["window"] = LEGACY_PERIOD
        if "colors" in t:
            v["colors"] = self.colors(where, t["colors"])
        if t.get("persistdb"):
            v["persist"] = True

        rename: dict[str, str] = {}  # the original's SQL column (lower) -> field name
        fields: list[dict[str, Any]] = []
        if kind == "json":
            fields = self.json_fields(where, t, rename)
        elif kind == "regex":
            fields = self.regex_fields(where, t, v, rename)
        else:
            self.hostline(where, t, rename)
        visible = [f["name"] for f in fields if f.get("visible", True)]
        columns = ("host", "data", "program", "amount") if kind == "hostline" else tuple(visible)

        shown = self.stats(where, t, v, rename, ("area", "ts", *columns))
        if isinstance(t.get("printf"), str):
            fmt, problems = printf_to_format(t["printf"], ["amount", *shown])
            v["row_format"] = fmt
            for p in problems:
                self.note(f"{where}.printf", p)
        if isinstance(t.get("instantf"), str):
            names = ["area", "host", "data"] if kind == "hostline" else ["area", *visible]
            fmt, problems = printf_to_format(t["instantf"], names)
            v["instant"] = fmt
            for p in problems:
                self.note(f"{where}.instantf", p)
        known = {"id", "class", "sleep", "colors", "persistdb", "printf", "instantf"}
        known |= {"stats_stmt", "keys", "msg_regex", "msg_regex_keys"}
        known |= set(SAME_PARSER_KEYS) | set(TABLE_KEYS)
        if ("indexer" in t or "indexing" in t) and t.get("indexing", True) is not False:
            self.note(
                f"{where}.indexer",
                "Elasticsearch indexing has no equivalent here: its rows stay in SQLite"
                " (drill-down, --json) and nothing is sent to an index",
            )
        for k in t:
            if k not in known and k not in ("indexer", "indexing"):
                self.note(f"{where}.{k}", "unknown key, not mapped")
        if isinstance(t.get("stats_stmt"), str):
            comments.append(f"stats_stmt: {' '.join(t['stats_stmt'].split())}")
        p = self.checked(_Parser(old_id, v, fields, comments))
        if p is not None:
            self.ids[old_id] = p.values["id"]
        return p

    def colors(self, where: str, value: Any) -> list[str]:
        names = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        out = []
        for name in names:
            style = color_to_style(str(name))
            if style is None:
                self.note(f"{where}.colors", f"unknown colour {name!r}, left out")
            elif style and style not in out:
                out.append(style)
        return out

    def visible_names(self, where: str, t: dict[str, Any], count: int) -> list[str] | None:
        """The table's column names for the visible values, in order (None: unknown)."""
        cols = table_columns(t)
        if cols is None:
            if count:
                self.note(where, "no insert_stmt/create_table: column names made up from the keys")
            return None
        lowered = [c.lower() for c in cols]
        if lowered[:2] == ["area", "ts"]:
            cols = cols[2:]
        else:
            self.note(where, "the table does not start with (area, ts); columns taken as they are")
            cols = [c for c in cols if c.lower() not in ("area", "ts")]
        if len(cols) != count:
            self.note(
                where,
                f"the table has {len(cols)} value columns but {count} visible keys:"
                " column names made up from the keys",
            )
            return None
        return cols

    def json_fields(
        self, where: str, t: dict[str, Any], rename: dict[str, str]
    ) -> list[dict[str, Any]]:
        keys = t.get("keys")
        if not isinstance(keys, list) or not keys:
            self.note(f"{where}.keys", "missing: a json parser needs keys")
            return []
        entries = [{"name": k} if isinstance(k, str) else k for k in keys]
        entries = [e for e in entries if isinstance(e, dict) and isinstance(e.get("name"), str)]
        if len(entries) != len(keys):
            self.note(f"{where}.keys", "entries without a name were left out")
        visible = [e for e in entries if e.get("visible", True) is not False]
        sql_names = self.visible_names(where, t, len(visible))
        taken: set[str] = set()
        out = []
        vi = 0
        for j, e in enumerate(entries):
            path = e["name"]
            is_visible = e.get("visible", True) is not False
            if is_visible and sql_names is not None:
                wanted = sql_names[vi]
            else:
                wanted = next((p for p in reversed(path.split(".")) if not p.isdigit()), path)
            vi += is_visible
            f = self.field_options(f"{where}.keys[{j}]", e)
            f["path"] = path
            name = sanitize_name(wanted, taken)
            f = {"name": name, **f}
            if is_visible:
                rename[wanted.lower()] = name
            out.append(f)
        self.money_currency(where, out, rename)
        for f in out:
            if f["path"] == f["name"]:
                del f["path"]  # the path defaults to the name
        return out

    def field_options(self, where: str, e: dict[str, Any]) -> dict[str, Any]:
        f: dict[str, Any] = {}
        for k, val in e.items():
            if k == "name":
                continue
            if k == "type":
                if val in FIELD_TYPES:
                    if val != "string":
                        f["type"] = val
                else:
                    self.note(f"{where}.type", f"unknown type {val!r}; kept as string")
            elif k == "contain":
                f["contains"] = str(val)
            elif k == "visible":
                if val is False:
                    f["visible"] = False
            elif k == "regex":
                norms = []
                for n in val if isinstance(val, list) else [val]:
                    if str(n).lower() in NORMALIZERS:
                        norms.append(NORMALIZERS[str(n).lower()])
                    else:
                        self.note(f"{where}.regex", f"unknown normaliser {n!r}, left out")
                if norms:
                    f["normalize"] = norms
            elif k in ("ignores", "filters"):
                items = val if isinstance(val, list) else [val]
                f[k] = [str(x) for x in items]
            elif k == "maxlen":
                if isinstance(val, int) and not isinstance(val, bool) and val >= 0:
                    if val:
                        f["maxlen"] = val
                else:
                    self.note(f"{where}.maxlen", f"not a length: {val!r}")
            else:
                self.note(f"{where}.{k}", "unknown key, not mapped")
        return f

    def money_currency(self, where: str, out: list[dict[str, Any]], rename: dict[str, str]) -> None:
        """money needs a preceding field named 'currency' (the new parser finds it by name)."""
        for j, f in enumerate(out):
            if f.get("type") != "money":
                continue
            if any(g["name"] == "currency" for g in out[:j]):
                continue
            cur = next(
                (g for g in reversed(out[:j]) if "currency" in g.get("path", g["name"]).lower()),
                None,
            )
            if cur is None or any(g["name"] == "currency" for g in out):
                self.note(
                    where, f"money field {f['name']!r} has no preceding currency: kept as float"
                )
                f["type"] = "float"
                continue
            for old, new in list(rename.items()):
                if new == cur["name"]:
                    rename[old] = "currency"
            cur["path"] = cur.get("path", cur["name"])
            cur["name"] = "currency"

    def regex_fields(
        self, where: str, t: dict[str, Any], v: dict[str, Any], rename: dict[str, str]
    ) -> list[dict[str, Any]]:
        regex = t.get("msg_regex")
        if not isinstance(regex, str) or not regex:
            self.note(f"{where}.msg_regex", "missing: a regex parser needs it")
            return []
        try:
            groups = re.compile(regex).groups
        except re.error as exc:
            self.note(f"{where}.msg_regex", f"not a valid Python regex ({exc}); rewrite it by hand")
            return []
        v["regex"] = regex
        keys = t.get("msg_regex_keys")
        if not isinstance(keys, list) or not keys:
            keys = [str(n) for n in range(1, groups + 1)]
            self.note(f"{where}.msg_regex_keys", "missing: every group taken as a string")
        sql_names = self.visible_names(where, t, len(keys))
        taken: set[str] = set()
        out = []
        for j, k in enumerate(keys):
            num, _, ftype = str(k).partition(":")
            if not num.strip().isdigit() or not 0 < int(num) <= groups:
                self.note(
                    f"{where}.msg_regex_keys[{j}]", f"{k!r} is not a group of the regex; left out"
                )
                continue
            wanted = sql_names[j] if sql_names is not None else f"g{num.strip()}"
            name = sanitize_name(wanted, taken)
            rename[wanted.lower()] = name
            f: dict[str, Any] = {"name": name, "group": int(num)}
            ftype = ftype.strip()
            if ftype and ftype not in FIELD_TYPES:
                self.note(f"{where}.msg_regex_keys[{j}]", f"unknown type {ftype!r}; kept as string")
            elif ftype and ftype != "string":
                f["type"] = ftype
            out.append(f)
        self.money_currency(where, out, rename)
        return out

    def hostline(self, where: str, t: dict[str, Any], rename: dict[str, str]) -> None:
        if t.get("keys"):
            self.note(
                f"{where}.keys",
                "hostline parsers have fixed columns: the keys (and their ignores) are not mapped",
            )
        cols = table_columns(t)
        # Its statistics rows were (area, ts, NAME, N): the new columns program and amount.
        if cols and [c.lower() for c in cols[:2]] == ["area", "ts"] and len(cols) == 4:
            rename[cols[2].lower()] = "program"
            rename[cols[3].lower()] = "amount"
        elif t.get("stats_stmt"):
            self.note(where, "cannot tell which columns are the program and the count")

    def stats(
        self,
        where: str,
        t: dict[str, Any],
        v: dict[str, Any],
        rename: dict[str, str],
        columns: tuple[str, ...],
    ) -> list[str]:
        """Map stats_stmt into v; returns the group columns a row shows after the amount."""
        text = t.get("stats_stmt")
        if not isinstance(text, str) or not text.strip():
            return []
        try:
            stmt = parse(text)
        except StmtError as exc:
            self.note(f"{where}.stats_stmt", f"not mapped ({exc}); the default count is used")
            return []
        try:
            d = declarative(stmt, rename)
        except StmtError as why:
            try:
                sql = to_stats_sql(stmt, rename)
                groups = check_stats_sql(sql, f"ev_{v['id']}", columns)
            except (StmtError, ValueError) as exc:
                self.note(f"{where}.stats_stmt", f"not mapped ({why}; as stats_sql: {exc})")
                return []
            self.note(f"{where}.stats_stmt", f"kept as raw SQL (stats_sql): {why}")
            v["stats_sql"] = sql
            return list(groups)
        if d.aggregate != "count":
            v["aggregate"] = d.aggregate
        v["group_by"] = list(d.group_by)
        cond = d.where
        if v["kind"] == "hostline":
            # Its ordinary lines are rows too here; the original only stored statistics.
            cond = "program IS NOT NULL" + (f" AND ({cond})" if cond else "")
        if cond:
            v["where"] = cond
        if d.min_amount is not None:
            v["min_amount"] = d.min_amount
        v["limit"] = d.limit
        return list(d.group_by)

    def checked(self, p: _Parser) -> _Parser | None:
        """Validate one parser alone; leave out (with a note) each key the validator refuses."""
        for _ in range(20):
            table = {**p.values, "fields": p.fields} if p.fields else dict(p.values)
            try:
                parse_config({"parsers": [table]}, "<converted>")
                return p
            except ConfigError as exc:
                m = re.match(r"parsers\[0\]\.(?:fields\[(\d+)\]\.)?(\w+)", exc.key)
                where = f"parser {p.old_id}"
                if (
                    not m
                    or m.group(2) in ("id", "kind")
                    or (m.group(2) == "fields" and not m.group(1))
                ):
                    self.note(where, f"does not validate ({exc.problem}); parser skipped")
                    return None
                j, k = m.group(1), m.group(2)
                if j is not None:
                    f = p.fields[int(j)]
                    if k == "name" or k not in f:
                        self.note(where, f"field {f.get('name')}: {exc.problem}; parser skipped")
                        return None
                    self.note(f"{where}.keys[{j}].{k}", f"{exc.problem}; left out")
                    del f[k]
                elif k in p.values and k not in ("regex",):
                    self.note(f"{where}.{k}", f"{exc.problem}; left out")
                    del p.values[k]
                else:
                    self.note(where, f"does not validate ({exc}); parser skipped")
                    return None
        return None

    # ------------------------------------------------------------------ mail

    def unguarded(self, t: dict[str, Any], channel: dict[str, Any] | None) -> dict[str, Any]:
        """``mail.unguarded``: empty or absent, the original mailed no unguarded-file notice."""
        to = t.get("unguarded")
        addrs = [a.strip() for a in to.split(",") if a.strip()] if isinstance(to, str) else []
        if not addrs:
            return {"unguarded_notices": False}
        if channel is not None and sorted(addrs) != sorted(channel["to"]):
            self.note(
                "mail.unguarded",
                f"unguarded-file notices go to the mail channel's recipients, not only to"
                f" {', '.join(addrs)}",
            )
        return {}

    def mail(
        self, t: dict[str, Any], parsers: list[_Parser], top_lines: Any = None
    ) -> dict[str, Any] | None:
        where = "mail"
        to = t.get("guarded")
        addrs = [a.strip() for a in to.split(",") if a.strip()] if isinstance(to, str) else []
        if isinstance(to, list):
            addrs = [str(a).strip() for a in to if str(a).strip()]
        if not addrs:
            self.note(f"{where}.guarded", "no recipients: the mail channel is not converted")
            return None
        ch: dict[str, Any] = {
            "type": "email",
            # The original handed its mail to the local `sendmail -t`.
            "transport": "sendmail",
            "to": addrs,
        }
        pool = [k for k in MAIL_POOL if k in t]
        ch["digest"] = "pool" if pool else "adaptive"
        for k in (*MAIL_2013, *MAIL_POOL):
            if k in t:
                ch[k] = t[k]
        if ch["digest"] == "adaptive":
            # What the original's mail loop really used (ORIGINAL.md): line_threshold from
            # the top level of the config (default 10), backoff_threshold default 10.
            lines = top_lines if isinstance(top_lines, int) and top_lines > 0 else 10
            if "line_threshold" in t and t["line_threshold"] != lines:
                self.note(
                    f"{where}.line_threshold",
                    f"not read by the original (it read the top-level line_threshold); its"
                    f" effective {lines} is kept",
                )
            ch["line_threshold"] = lines
            ch.setdefault("backoff_threshold", 10)
        if "from" in t:
            ch["from"] = t["from"]
        if "abnormal_severity_factor" in t:
            for p in parsers:
                p.values.setdefault("abnormal_severity_factor", t["abnormal_severity_factor"])
            self.note(
                f"{where}.abnormal_severity_factor", "set on every parser that had none of its own"
            )
        for k in t:
            if k not in (*MAIL_2013, *MAIL_POOL, "guarded", "unguarded", "from",
                         "abnormal_severity_factor"):  # fmt: skip
                self.note(f"{where}.{k}", "unknown key, not mapped")
        try:
            parse_config({"channels": {"mail": ch}}, "<converted>")
        except ConfigError as exc:
            self.note(where, f"the mail channel does not validate ({exc.problem}); not converted")
            return None
        return ch

    # ------------------------------------------------------------------ output

    def write(
        self,
        guards: list[dict[str, Any]],
        parsers: list[_Parser],
        channel: dict[str, Any] | None,
        delivery: dict[str, Any] | None = None,
    ) -> str:
        src = f" from {self.source}" if self.source else ""
        lines = [
            f"# Converted{src} by `alser-tui convert`.",
            "# Check it with `alser-tui -c FILE --check`; see conf/alser.toml for every option.",
            "# create_table / insert_stmt / dbname are not needed any more: they named and",
            "# typed the columns below. `sleep` is `window`, `printf` is `row_format`.",
            "",
            "[storage]",
            "# Where the SQLite database lives (relative to this file).",
            'dir = "var"',
        ]
        for g in guards:
            lines += ["", *toml_out.table("[[guards]]", g)]
        for p in parsers:
            ordered = {k: p.values[k] for k in PARSER_KEY_ORDER if k in p.values}
            lines += ["", *toml_out.table("[[parsers]]", ordered, p.comments)]
            for f in p.fields:
                fo = {k: f[k] for k in FIELD_KEY_ORDER if k in f}
                lines += ["", *toml_out.table("[[parsers.fields]]", fo)]
        if delivery:
            note = "the original mailed no notice of unguarded files (mail.unguarded was empty)"
            lines += ["", *toml_out.table("[delivery]", delivery, [note])]
        if channel is not None:
            lines += [
                "",
                *toml_out.table("[channels.mail]", channel, ["the original's alarm mail"]),
            ]
        return "\n".join(lines) + "\n"
