"""Webhooks against a real HTTP server on 127.0.0.1: per alarm, per digest, Slack and generic
templates, 500s retried with back-off, timeouts, 4xx marked failed."""

from __future__ import annotations

from pathlib import Path

from notify_support import T0, Clock, HttpServer, alarm, make_config

from alser_tui.engine.events import AlarmRaised
from alser_tui.engine.notify.manager import Delivery


def hook_toml(url: str, **extra: object) -> str:
    lines = "".join(
        f"{k} = {v!r}\n".replace("'", '"')
        if not isinstance(v, bool)
        else f"{k} = {str(v).lower()}\n"
        for k, v in extra.items()
    )
    return (
        f'[channels.hook]\ntype = "webhook"\nurl = "{url}"\nretry_min = 2\nretry_max = 60\n{lines}'
        "[delivery]\ncatch_up = false\nrealert = 0\n"
    )


def test_generic_json_per_alarm_with_retries_on_500(tmp_path: Path, http: HttpServer) -> None:
    clock = Clock(T0 + 65)
    d = Delivery(make_config(tmp_path, hook_toml(http.url)), clock=clock)
    d.start(threads=False)
    http.script = [(500, 0), (503, 0)]
    d.handle(AlarmRaised(alarm(amount=12)))
    assert d.pump() == 0
    assert d.status()["hook"].last_error == "HTTP 500 Internal Server Error: boom"
    clock.advance(2)
    assert d.pump() == 0
    assert d.status()["hook"].state == "retrying in 4s"
    clock.advance(4)
    assert d.pump() == 1
    [req] = http.wait(1)
    body = req["json"]
    assert body["source"] == "alser-tui" and body["type"] == "alarm"
    assert body["alarm"]["group"] == {"area": "us", "file": "map.php"}
    assert body["alarm"]["severity"] == 12 and body["summary"].startswith("[threshold sev 12]")
    assert req["headers"]["Content-Type"] == "application/json"
    assert req["headers"]["Idempotency-Key"] == f"hook.1.{d.db.site}"
    d.stop()


def test_timeout_is_retried_and_4xx_is_failed(tmp_path: Path, http: HttpServer) -> None:
    clock = Clock(T0 + 65)
    d = Delivery(make_config(tmp_path, hook_toml(http.url, timeout=0.3)), clock=clock)
    d.start(threads=False)
    http.script = [(200, 1.0), (404, 0)]  # the first answer comes too late
    d.handle(AlarmRaised(alarm()))
    assert d.pump() == 0
    assert d.status()["hook"].last_error == "timed out after 0.3s"
    clock.advance(2)
    d.pump()
    st = d.status()["hook"]
    assert st.failed == 1 and st.queued == 0 and st.last_error.startswith("HTTP 404")
    d.stop()


def test_slack_digest(tmp_path: Path, http: HttpServer) -> None:
    clock = Clock(T0 + 65)
    cfg = make_config(tmp_path, hook_toml(http.url, template="slack", per="digest", interval=60))
    d = Delivery(cfg, clock=clock)
    d.start(threads=False)
    for i in range(4):
        d.handle(AlarmRaised(alarm(file=f"{i}.php", amount=10 + i)))
    d.tick()
    assert d.pump() == 0
    clock.advance(60)
    d.tick()
    assert d.pump() == 1
    [req] = http.wait(1)
    text = req["json"]["text"]
    assert set(req["json"]) == {"text"}
    head, _, rest = text.partition("\n")
    assert head.startswith("digest: 4 alarms in 4 groups, worst severity 13")
    assert rest.startswith("```") and rest.index("3.php") < rest.index("0.php")
    d.stop()


def test_unreachable_webhook_keeps_the_message(tmp_path: Path) -> None:
    from notify_support import free_port

    clock = Clock(T0 + 65)
    url = f"http://127.0.0.1:{free_port()}/hook"
    d = Delivery(make_config(tmp_path, hook_toml(url)), clock=clock)
    d.start(threads=False)
    d.handle(AlarmRaised(alarm()))
    d.pump()
    st = d.status()["hook"]
    assert st.queued == 1 and "refused" in st.last_error.lower()
    d.stop()
