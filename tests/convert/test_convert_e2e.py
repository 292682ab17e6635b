"""`alser-tui convert` on the LEGACY_SYNTAX.md sample: the output passes --check and a replay of
generated logs gives the windows the original's semantics give (computed here by hand)."""

from __future__ import annotations

import json
import random
import re
import tomllib
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from alser_tui.cli import main

DOCS = Path(__file__).resolve().parents[3] / "shared" / "docs" / "LEGACY_SYNTAX.md"
T0 = 1_800_000_000  # a multiple of 30 and 120: window boundaries of both parsers


def sample() -> str:
    """The fenced block of LEGACY_SYNTAX.md (the doc lives beside the repository)."""
    if not DOCS.exists():
        pytest.skip(f"{DOCS} not found (the shared docs are not beside this checkout)")
    m = re.search(r"```\n(.*?)```", DOCS.read_text("utf-8"), re.S)
    assert m, "no fenced block in LEGACY_SYNTAX.md"
    return m.group(1)


def convert(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    cf = tmp_path / "alser.cf"
    cf.write_text(text)
    code = main(["convert", str(cf)])
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out, out.err


def test_sample_converts_and_passes_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    toml_text, notes = convert(tmp_path, sample(), capsys)
    (tmp_path / "alser.toml").write_text(toml_text)
    assert main(["-c", str(tmp_path / "alser.toml"), "--check"]) == 0
    # (Valid, with a warning per guard whose folders do not exist on this machine.)
    assert "ok (2 parsers, 2 guards" in capsys.readouterr().err
    # The one thing the sample gets wrong: a guard names a parser that does not exist.
    assert "parser 'Orders' is not defined" in notes
    assert notes.count("\n  - ") == 1, notes

    doc = tomllib.loads(toml_text)
    nginx, order = doc["parsers"]
    assert nginx["regex"] == r"(\w+) upstream (.+?) timed out \((\d+)\)"
    assert [(f["name"], f["group"], f.get("type", "string")) for f in nginx["fields"]] == [
        ("level", 1, "string"),
        ("upstream", 2, "string"),
        ("code", 3, "int"),
    ]
    assert nginx["colors"] == ["red", "bold"] and nginx["window"] == 30
    assert nginx["group_by"] == ["area", "upstream"] and nginx["limit"] == 0
    assert nginx["row_format"] == "{amount:>5} {area:>3} {upstream}"
    assert order["aggregate"] == "count_distinct:reason" and order["limit"] == 5
    assert order["instant"] == "OrderFail {area:>3} {reason} {total:>8.2f}"
    assert order["persist"] is True and order["abnormal_percent"] == 0.5
    status, reason, total = order["fields"]
    assert status == {"name": "status", "contains": "FAIL", "visible": False}
    assert reason["path"] == "detail.reason" and reason["normalize"] == ["digits"]
    assert reason["ignores"] == ["test order", r"regex: ^probe-\d+$"]
    assert total == {"name": "total", "path": "detail.total", "type": "float"}
    assert doc["guards"][1] == {
        "tail_glob": "/data/als/orders.*.log",
        "history_glob": "/data/als/history/orders*",
        "parsers": ["OrderFail"],
        "enabled": False,
    }
    mail = doc["channels"]["mail"]
    assert mail["to"] == ["oncall@example.com", "lead@example.com"]
    assert (mail["digest"], mail["transport"], mail["sleep_step"]) == ("adaptive", "sendmail", 25)


# --------------------------------------------------------------------------- generated logs

AREAS = ["us", "de", "br", "fr", "jp", "th", "tr"]


def nginx_lines(rng: random.Random) -> tuple[list[str], list[tuple[int, str, str]]]:
    lines, matched = [], []
    for _ in range(600):
        ts = T0 + rng.randint(0, 299)
        area = rng.choice(AREAS[:3])
        up = rng.choice(["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:8080"])
        if rng.random() < 0.1:
            lines.append(f"{area},{ts},upstream {up} closed the connection")  # no match
            continue
        level = rng.choice(["error", "crit"])
        stamp = ts * 1000 if rng.random() < 0.3 else ts  # some collectors send ms
        lines.append(f"{area},{stamp},{level} upstream {up} timed out ({rng.choice([110, 60])})")
        matched.append((ts, area, up))
    return lines, matched


REASONS = [
    "card 4111 declined",
    "card 5500 declined",
    "out of stock item 77",
    "test order 3",
    "probe-12",
    "probe-x",
    "timeout after 30s talking to gateway " + "x" * 60,
]


def order_lines(rng: random.Random) -> tuple[list[str], list[tuple[int, str, str, float]]]:
    lines, kept = [], []
    for _ in range(900):
        ts = T0 + rng.randint(0, 479)
        area = rng.choice(AREAS)
        status = rng.choice(["PAY_FAIL", "FAIL_STOCK", "OK"])
        reason = rng.choice(REASONS)
        total = round(rng.uniform(1, 100), 2)
        doc: dict[str, Any] = {"status": status, "detail": {"reason": reason, "total": total}}
        if rng.random() < 0.05:
            del doc["detail"]["total"]  # a missing key skips the line
        lines.append(f"{area},{ts},{json.dumps(doc)}")
        # The original's rules, written out: contain, digit normaliser, ignores (on the raw
        # or the normalised value), maxlen.
        norm = re.sub(r"[0-9]+", "?", reason)
        if "FAIL" not in status or "total" not in doc["detail"]:
            continue
        if "test order" in reason or re.search(r"^probe-\d+$", reason):
            continue
        kept.append((ts, area, norm[:80], total))
    return lines, kept


def windows_by_hand(
    keyed: list[tuple[int, tuple[str, ...], Any]], size: int, limit: int, distinct: bool
) -> list[dict[str, Any]]:
    buckets: dict[int, dict[tuple[str, ...], set[Any] | int]] = defaultdict(dict)
    for ts, group, value in keyed:
        b = buckets[ts - ts % size]
        if distinct:
            b.setdefault(group, set()).add(value)  # type: ignore[union-attr]
        else:
            b[group] = b.get(group, 0) + 1  # type: ignore[operator]
    out = []
    for start in sorted(buckets):
        amounts = {g: len(v) if isinstance(v, set) else v for g, v in buckets[start].items()}
        rows = sorted(((a, g) for g, a in amounts.items()), key=lambda r: (-r[0], r[1]))
        out.append(
            {
                "start": start,
                "end": start + size,
                # The engine's total covers every group, also those past the limit.
                "total": sum(amounts.values()),
                "rows": [[a, list(g)] for a, g in (rows[:limit] if limit else rows)],
            }
        )
    return out


def test_converted_sample_replays_to_the_original_windows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The sample's paths point into this test's folder, and its disabled orders guard is
    # switched on so that both parsers see lines.
    text = sample().replace("/data/als", str(tmp_path / "als"))
    text = re.sub(r"^\s*enabled:\s*false\s*$", "", text, flags=re.M)
    toml_text, _ = convert(tmp_path, text, capsys)
    # Never hand a test's alarms to a real sendmail.
    toml_text += "enabled = false\n"
    assert toml_text.rstrip().splitlines()[-2].startswith("sleep_min")  # still in [channels.mail]
    (tmp_path / "alser.toml").write_text(toml_text)

    rng = random.Random(6)
    hist = tmp_path / "als" / "history"
    hist.mkdir(parents=True)
    n_lines, n_kept = nginx_lines(rng)
    o_lines, o_kept = order_lines(rng)
    (hist / "nginx_err.1").write_text("\n".join(n_lines[:300]) + "\n")
    (hist / "nginx_err.2").write_text("\n".join(n_lines[300:]) + "\n")
    (hist / "orders.1").write_text("\n".join(o_lines) + "\nus,1800000001,{broken json\n")

    code = main(["-c", str(tmp_path / "alser.toml"), "--history", "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    events = [json.loads(line) for line in out.out.splitlines()]

    def got(parser: str, groups: tuple[str, ...]) -> list[dict[str, Any]]:
        return [
            {
                "start": e["start"],
                "end": e["end"],
                "total": e["total"],
                "rows": [[r["amount"], [r["group"][k] for k in groups]] for r in e["rows"]],
            }
            for e in events
            if e["type"] == "window" and e["parser"] == parser
        ]

    want_nginx = windows_by_hand([(ts, (a, up), None) for ts, a, up in n_kept], 30, 0, False)
    assert got("NginxErr", ("area", "upstream")) == want_nginx
    assert len(want_nginx) == 10
    want_order = windows_by_hand([(ts, (a,), r) for ts, a, r, _ in o_kept], 120, 5, True)
    assert got("OrderFail", ("area",)) == want_order
    assert any(len(w["rows"]) == 5 for w in want_order), "LIMIT 5 must cut some window"

    # instantf: every kept order line is shown at once, formatted like the original.
    instants = [e for e in events if e["type"] == "alarm" and e["kind"] == "instant"]
    assert len(instants) == len(o_kept)
    _ts, area, reason, total = o_kept[0]
    assert any(e["text"].endswith(f"OrderFail {area:>3} {reason} {total:>8.2f}") for e in instants)


RICHER = r"""
{
    mail: {
        guarded: "ops@example.com"
        severity_threshold: 5
        severity_pool_size: 60
        interval: 900
        suppress_hours: [0, 1, 2, 3]
        abnormal_severity_factor: 2
        smtp_relay: "mx.example.com"
    }
    unguarded_mail: true
    guards: [
        { tail_glob: "logs/pay.*.log", history_glob: "h/pay*", parsers: ["Pay", "Revenue"] }
        { tail_glob: "logs/kernel.*.log", parsers: ["Kernal"] }
        { tables: "log_%", parsers: ["Pay"] }
        { tail_glob: "logs/x.*.log", parsers: ["Broken"] }
    ]
    parsers: [
        {
            id: "Pay", class: "JsonCollectorParser", title: "Payments", sleep: 300
            colors: ["FgGreen", "BgBlue", "Sparkle"]
            keys: [
                { name: "data.status", filters: ["ok"], visible: false }
                { name: "data.currency" }
                { name: "data.amount", type: "money" }
                { name: "_log_info.uri", regex: ["digit", "token", "soundex"], ignores: ["/health"] }
            ]
            insert_stmt: "INSERT INTO %s(area, ts, cur, usd, uri) VALUES(?,?,?,?,?)"
            stats_stmt: "SELECT SUM(usd) AS c, area FROM %s WHERE ts<=? GROUP BY area HAVING c>0 ORDER BY c DESC"
            printf: "%10.2f %3s"
            summary: true
            severity: 3
            mystery: 1
        }
        {
            id: "Revenue", class: "JsonCollectorParser", sleep: 60
            keys: [ { name: "data.currency" }, { name: "data.amount", type: "money" } ]
            create_table: "CREATE TABLE %s (area CHAR(10), ts INT, currency CHAR(3), amount FLOAT, PRIMARY KEY (ts));"
            stats_stmt: "SELECT SUM(amount) AS c, area FROM %s where ts<=? GROUP BY area"
        }
        {
            id: "Kernal", class: "HostLineParser", title: "Kernel", sleep: 60
            keys: [ { name: "data", ignores: ["martian source"] } ]
            instantf: "Kernel %3s %s %s"
            insert_stmt: "INSERT INTO %s(area, ts, dest, num) VALUES(?,?,?,?)"
            stats_stmt: "SELECT SUM(num) AS c, area, dest FROM %s where ts<=? GROUP BY area, dest ORDER BY c DESC"
        }
        {
            id: "Broken", class: "RegexCollectorParser", msg_regex: "(\\pL+) x"
        }
        { id: "Weird", class: "XmlCollectorParser" }
    ]
}
"""


def test_every_key_maps_or_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    toml_text, notes = convert(tmp_path, RICHER, capsys)
    (tmp_path / "alser.toml").write_text(toml_text)
    assert main(["-c", str(tmp_path / "alser.toml"), "--check"]) == 0, capsys.readouterr().err
    doc = tomllib.loads(toml_text)
    pay, revenue, kernal = doc["parsers"]
    # money found its currency: the column was "cur", the new parser needs "currency".
    assert [(f["name"], f.get("path")) for f in pay["fields"]] == [
        ("status", "data.status"),
        ("currency", "data.currency"),
        ("usd", "data.amount"),
        ("uri", "_log_info.uri"),
    ]
    assert pay["fields"][3]["normalize"] == ["digits", "token"]
    assert pay["colors"] == ["green", "on blue"]
    assert pay["abnormal_severity_factor"] == 2  # from the mail section
    # SUM ... HAVING c>0 has no exact min_amount: kept as raw SQL, columns renamed.
    assert pay["stats_sql"] == (
        "SELECT SUM(usd) AS amount, area FROM {table} WHERE {window} GROUP BY area"
        " HAVING amount>0 ORDER BY amount DESC"
    )
    assert pay["row_format"] == "{amount:>10.2f} {area:>3}"
    # A sum without HAVING shows every group, whatever its sum.
    assert revenue["aggregate"] == "sum:amount" and revenue["min_amount"] == float("-inf")
    assert kernal["kind"] == "hostline" and "fields" not in kernal
    assert kernal["aggregate"] == "sum:amount" and kernal["group_by"] == ["area", "program"]
    assert kernal["where"] == "program IS NOT NULL"
    assert kernal["instant"] == "Kernel {area:>3} {host} {data}"
    mail = doc["channels"]["mail"]
    assert (mail["digest"], mail["severity_pool_size"], mail["suppress_hours"]) == (
        "pool",
        60,
        [0, 1, 2, 3],
    )
    assert [g["parsers"] for g in doc["guards"]] == [["Pay", "Revenue"], ["Kernal"], ["Pay"]]
    assert doc["guards"][2] == {
        "tables": "log_%",
        "dsn": "mysql://USER@HOST:3306/DATABASE",
        "enabled": False,
        "parsers": ["Pay"],
    }
    for expected in (
        "unguarded_mail: unknown top-level key",
        "mail.smtp_relay: unknown key",
        "parser Pay.colors: unknown colour 'Sparkle'",
        "parser Pay.keys[3].regex: unknown normaliser 'soundex'",
        "parser Pay.mystery: unknown key",
        "parser Pay.stats_stmt: kept as raw SQL (stats_sql): HAVING amount > N on a sum",
        "parser Kernal.keys: hostline parsers have fixed columns",
        "parser Broken.msg_regex: not a valid Python regex",
        "parser Weird.class: unknown class 'XmlCollectorParser'; parser skipped",
        "guards[2].tables: converted disabled with a placeholder dsn",
        "guards[3]: feeds no converted parser; skipped",
    ):
        assert expected in notes, expected


def test_syntax_error_exits_2_with_line_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cf = tmp_path / "bad.cf"
    cf.write_text('{\n  guards: [\n    { parsers: ["A" "B"] }\n  ]\n}\n')
    assert main(["convert", str(cf)]) == 2
    err = capsys.readouterr().err
    assert "bad.cf: line 3, column 21: expected ','" in err
    assert main(["convert", str(tmp_path / "missing.cf")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_ids_are_made_valid_and_duplicates_left_out() -> None:
    from alser_tui.convert import convert as convert_doc
    from alser_tui.convert import loads

    doc = loads(
        """
        parsers: [
            { id: "A", class: "JsonCollectorParser", keys: [ { name: "x" } ] }
            { id: "A", class: "JsonCollectorParser", keys: [ { name: "y" } ] }
            { id: "web-errors", class: "JsonCollectorParser", keys: [ { name: "z.0.raw" } ] }
        ]
        guards: [ { tail_glob: "x/*", parsers: [ "A", "web-errors" ] } ]
        """
    )
    result = convert_doc(doc)
    parsed = tomllib.loads(result.text)
    assert [p["id"] for p in parsed["parsers"]] == ["A", "web_errors"]
    assert parsed["guards"][0]["parsers"] == ["A", "web_errors"]
    # "raw" is a column the store keeps for itself: the field gets another name.
    assert parsed["parsers"][1]["fields"] == [{"name": "raw_", "path": "z.0.raw"}]
    assert "parser A: a second parser with this id; skipped (the first one is kept)" in result.notes
    assert "parser web-errors.id: renamed to 'web_errors' (ids name SQLite tables)" in result.notes
    assert not any(n.startswith("output:") for n in result.notes)
