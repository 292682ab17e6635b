"""The web view in a real headless browser (Debian's chromium) against a real guard process:
the page loads, an alarm shows within a second of the guard raising it, an ack round-trips
between the page and an attached console, hostile log text stays text, tokens are enforced,
and /metrics scrapes."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import chromium, have_browser
from torture_support import CONFIG, Ids, ev_parser, wait_for, wait_started

from alser_tui.guard.client import GuardClient
from alser_tui.guard.server import socket_path
from alser_tui.guard.wire import decode

pytestmark = pytest.mark.skipif(
    not have_browser(),
    reason="needs Debian's chromium and chromium-driver (run-tests installs them)",
)

ACK_TOKEN = "ack-token-0123456789abcdef"
READ_TOKEN = "read-token-0123456789abcdef"
WEB = f"""
[web]
listen = "127.0.0.1:0"
[[web.tokens]]
token = "{ACK_TOKEN}"
rights = "ack"
[[web.tokens]]
token = "{READ_TOKEN}"
rights = "read"
"""
# Any text up to " id=": the group carries whatever a line says.
PARSER = ev_parser(regex=r"^(.+?) id=(\d+)").replace(
    'group_by = ["kind"]', 'group_by = ["kind"]\nbeep_threshold = 5'
)
HOSTILE = (
    '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
    "[bold red]markup[/] \x1b[31mred"
)


class Guard:
    def __init__(self, root: Path, proc: subprocess.Popen[bytes], url: str) -> None:
        self.root = root
        self.proc = proc
        self.url = url
        self.ids = Ids()
        self.log = root / "logs" / "app.log"

    def write(self, n: int, kind: str, *, now: bool = False) -> None:
        """In a window the clock has passed (10 s windows, lateness 2): it closes at once;
        ``now``: in the open window (it closes within 12 s)."""
        ts = int(time.time()) if now else int(time.time()) // 10 * 10 - 20
        self.ids.append(self.log, n, ts=ts, kind=kind)


@pytest.fixture
def guard(tmp_path: Path) -> Iterator[Guard]:
    conf = tmp_path / "alser.toml"
    conf.write_text(CONFIG.format(glob="logs/*.log", batch=10_000) + PARSER + WEB)
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "app.log").touch()
    err = (tmp_path / "guard.err").open("wb")
    cmd = [sys.executable, "-m", "alser_tui", "-c", str(conf), "--no-ui"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
    try:
        assert wait_started(tmp_path / "var" / "alser.db"), proc
        found: list[str] = []

        def listening() -> bool:
            m = re.search(r"web view on (http://[\d.:]+/)", (tmp_path / "guard.err").read_text())
            if m:
                found.append(m.group(1))
            return bool(m)

        assert wait_for(listening), (tmp_path / "guard.err").read_text()
        assert wait_for(lambda: socket_path(tmp_path / "var").exists())
        yield Guard(tmp_path, proc, found[0])
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(20)
        err.close()


@pytest.fixture
def browser() -> Iterator[Any]:
    driver = chromium()
    try:
        yield driver
    finally:
        driver.quit()


def poll(fn: Any, timeout: float = 15.0, every: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(every)
    return None


def rows(driver: Any) -> list[dict[str, str]]:
    """The alarm list as the page shows it."""
    script = """return [...document.querySelectorAll('#alarms tbody tr')].map(tr => ({
        seq: tr.dataset.seq, state: tr.dataset.state,
        text: tr.children[5].textContent, buttons: tr.querySelectorAll('button').length}))"""
    return driver.execute_script(script)


def click(driver: Any, selector: str) -> None:
    """Click in the page itself (a row the next push replaced is never a stale handle)."""
    assert driver.execute_script(
        "const e = document.querySelector(arguments[0]); if (!e) return false; e.click(); return true",
        selector,
    ), selector


def raised(msgs: Iterator[dict[str, Any]], timeout: float = 20) -> tuple[Any, float, dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = next(msgs)
        if m["type"] == "event" and m["event"]["@"] == "AlarmRaised" and not m.get("past"):
            return decode(m["event"]), time.monotonic(), m["event"]["alarm"]
    raise AssertionError("no alarm raised")


def test_alarms_show_within_a_second_and_acks_round_trip(guard: Guard, browser: Any) -> None:
    browser.get(f"{guard.url}#token={ACK_TOKEN}")
    assert poll(lambda: browser.execute_script("return document.body.dataset.link") == "up")
    assert "you may ack" in browser.find_element("id", "rights").text
    assert poll(lambda: "nothing firing" in browser.find_element("id", "strip").text)
    console = GuardClient(socket_path(guard.root / "var"))
    msgs = console.messages()
    assert next(m for m in msgs if m["type"] == "caught_up")

    # An alarm: seen by the console socket, then on the page within a second.
    delays = []
    for kind in ("Boom", "Bang"):
        guard.write(7, kind, now=kind == "Bang")
        event, at, wire_alarm = raised(msgs, 30)
        assert event.alarm.group == {"kind": kind}
        assert poll(lambda k=kind: any(k in r["text"] for r in rows(browser)), 5)
        delays.append(time.monotonic() - at)
    assert max(delays) < 1.0, delays
    assert "firing" in browser.find_element("id", "strip").text

    # Ack from the page: stored by the guard, announced to the console.
    boom = next(r for r in rows(browser) if "Boom" in r["text"])
    assert boom["state"] == "unacked" and boom["buttons"] == 2
    click(browser, f'#alarms tr[data-seq="{boom["seq"]}"] button.ack')
    assert poll(lambda: any(
        r["seq"] == boom["seq"] and r["state"] == "acked" for r in rows(browser)
    ))  # fmt: skip
    assert poll(lambda: next(m for m in msgs if m["type"] == "delivery_changed"), 10)
    acks = console.ask("delivery")["acks"]
    assert any("Boom" in k for k in acks) and not any("Bang" in k for k in acks)

    # Ack from the console: the page shows it without being reloaded.
    bang = [m for m in (wire_alarm,)]
    assert console.send("ack", alarms=bang) > 0
    assert poll(lambda: all(r["state"] == "acked" for r in rows(browser)), 10), rows(browser)
    assert "all acked" in browser.find_element("id", "strip").text
    console.close()

    # Drill-down: the alarm's group and its raw lines.
    click(browser, f'#alarms tr[data-seq="{boom["seq"]}"] td.text')
    assert poll(lambda: browser.find_element("id", "events-pane").is_displayed(), 10)
    assert poll(lambda: "7 lines" in browser.find_element("id", "events-title").text, 10)
    scope = browser.find_element("id", "scope").text
    assert "Boom" in scope and "7" in scope and "over" in scope


def test_hostile_log_text_stays_text(guard: Guard, browser: Any) -> None:
    browser.get(f"{guard.url}#token={READ_TOKEN}")
    assert poll(lambda: browser.execute_script("return document.body.dataset.link") == "up")
    guard.write(6, HOSTILE)
    assert poll(lambda: rows(browser), 20)
    shown = rows(browser)[0]
    assert "<img src=x onerror=" in shown["text"] and "[bold red]markup[/]" in shown["text"]
    assert "\x1b" not in shown["text"]  # control characters are shown harmless
    assert browser.execute_script("return window.__pwned") is None
    assert browser.find_elements("css selector", "#alarms img, #alarms script") == []
    # Drilled into, the raw lines are text too.
    click(browser, "#alarms tbody tr td.text")
    assert poll(lambda: "6 lines" in browser.find_element("id", "events-title").text, 10)
    assert browser.find_elements("css selector", "#events img, #events script") == []
    assert browser.execute_script("return window.__pwned") is None


def test_a_read_token_looks_and_no_token_is_refused(guard: Guard, browser: Any) -> None:
    guard.write(6, "Boom")
    browser.get(f"{guard.url}#token={READ_TOKEN}")
    assert poll(lambda: rows(browser), 20)
    assert rows(browser)[0]["buttons"] == 0
    assert browser.find_element("id", "ack-all").is_displayed() is False
    assert "read-only" in browser.find_element("id", "rights").text
    # Asked anyway (a hand-made request): refused, nothing acked.
    browser.execute_script("send({op: 'ack', seq: Number(arguments[0])})", rows(browser)[0]["seq"])
    assert poll(lambda: "may look, not ack" in browser.find_element("id", "notice").text, 10)
    assert rows(browser)[0]["state"] == "unacked"

    browser.execute_script("sessionStorage.clear()")
    browser.get(guard.url.rstrip("/") + "/?fresh=1")
    assert poll(lambda: "refused" in browser.find_element("id", "link").text, 10)
    assert rows(browser) == []


def test_metrics_scrape_needs_a_token_and_counts(guard: Guard) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(guard.url + "metrics", timeout=10)
    assert refused.value.code == 401
    guard.write(7, "Boom")
    req = urllib.request.Request(
        guard.url + "metrics", headers={"Authorization": f"Bearer {READ_TOKEN}"}
    )

    def scrape() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.headers["Content-Type"].startswith("text/plain")
            body = resp.read().decode()
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(body)
            for s in fam.samples
        }

    assert poll(lambda: scrape().get(
        ("alser_alarms_total", (("kind", "threshold"), ("parser", "Ev")))) == 1, 20)  # fmt: skip
    # The counters come with the engine's next stats (about once a second).
    parsed = ("alser_parser_parsed_total", (("parser", "Ev"),))
    assert poll(lambda: scrape().get(parsed) == 7, 10)
    m = scrape()
    assert m[("alser_up", ())] == 1
    assert m[("alser_windows_closed_total", (("parser", "Ev"),))] >= 1
    source = str(guard.log)
    assert m[("alser_source_lines_total", (("kind", "file"), ("source", source)))] == 7
    assert m[("alser_source_lag_bytes", (("source", source),))] == 0
    assert m[("alser_source_last_line_age_seconds", (("source", source),))] < 60
    assert ("alser_outbox_queued", ()) not in m  # no channel configured: no series


def test_a_page_of_another_site_cannot_read_the_guard(guard: Guard) -> None:
    import asyncio

    import aiohttp

    async def attempt(origin: str) -> int:
        async with aiohttp.ClientSession() as s:
            try:
                async with s.ws_connect(guard.url + "ws", headers={"Origin": origin}) as ws:
                    await ws.send_str(json.dumps({"op": "auth", "token": ACK_TOKEN}))
                    msg = await ws.receive(timeout=10)
                    return 101 if "hello" in str(msg.data) else 0
            except aiohttp.WSServerHandshakeError as exc:
                return exc.status

    assert asyncio.run(attempt("http://evil.example")) == 403
    assert asyncio.run(attempt(guard.url.rstrip("/"))) == 101


def test_a_config_reload_keeps_the_page_and_its_alarms(guard: Guard) -> None:
    import asyncio

    import aiohttp

    async def view(pred: Any, timeout: float = 20) -> dict[str, Any]:
        async with aiohttp.ClientSession() as s, s.ws_connect(guard.url + "ws") as ws:
            await ws.send_str(json.dumps({"op": "auth", "token": READ_TOKEN}))
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                m = json.loads((await ws.receive(timeout=timeout)).data)
                if m["type"] == "view" and pred(m):
                    return m
        raise AssertionError("no such view")

    def texts(m: dict[str, Any]) -> list[str]:
        return [a["text"] for a in m["alarms"]]

    guard.write(7, "Boom")
    asyncio.run(view(lambda m: any("Boom" in t for t in texts(m))))
    conf = guard.root / "alser.toml"
    conf.write_text(conf.read_text().replace("beep_threshold = 5", "beep_threshold = 3"))
    guard.proc.send_signal(signal.SIGHUP)
    err = guard.root / "guard.err"
    assert wait_for(lambda: "config reloaded" in err.read_text())
    # The page's model is rebuilt on the new config and filled again from the store.
    after = asyncio.run(view(lambda m: m["status"].get("reloads") == 1))
    assert any("Boom" in t for t in texts(after)), texts(after)
    guard.write(4, "Bang", now=True)  # over the new threshold only
    seen = asyncio.run(view(lambda m: any("Bang" in t for t in texts(m)), 30))
    assert sum("Boom" in t for t in texts(seen)) == 1  # not doubled by the reload
