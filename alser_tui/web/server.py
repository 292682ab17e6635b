"""The guard's web view and ``/metrics`` (``[web] listen``), on a thread of the guard.

aiohttp serves both: one asyncio library for HTTP, websockets and static files, maintained
and without a framework on top (the guard already runs its console socket on asyncio).

- ``/`` and ``/static/…``: the page (plain HTML, CSS, JS; no build step). It carries no data.
- ``/ws``: the page's websocket. Its first message is ``{"op": "auth", "token": …}``; then
  the guard pushes the view (alarm strip and list, parser list, silences, status) whenever
  it changes — at most ``MAX_RATE`` times a second, conflated, so a slow phone only ever
  gets the newest view — and the top-N of the parser the page chose. Requests: ``scope``,
  ``events``, ``alarm_events``, and for a token with the ``ack`` right ``ack``, ``ack_all``,
  ``silence``, ``unsilence``.
- ``/metrics``: Prometheus text (web/metrics.py); ``Authorization: Bearer <token>`` when
  tokens are configured.

What the page shows is computed here by the console's own model (web/view.py). Without
tokens (loopback only: the config refuses anything else) the page is read-only; with
tokens every request needs one. A websocket from another origin is refused (a web page
elsewhere cannot read the guard through the user's browser).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import os
import time
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web

from alser_tui import __version__
from alser_tui.engine.config import WebConfig
from alser_tui.engine.events import AlarmRaised, Event, Stats, WindowClosed
from alser_tui.guard.loop_thread import LoopThread
from alser_tui.ui.model import ConsoleModel
from alser_tui.web.theme import parser_colors
from alser_tui.web.view import events_doc, scope_doc, text, view_doc

STATIC = Path(__file__).with_name("static")
MAX_RATE = 5.0  # views pushed per second at most
FIRST_PUSH = 0.05  # seconds after the first change: an alarm shows at once, a burst once
REFRESH = 1.0  # seconds: open totals and status are read this often
DELIVERY_EVERY = 2.0  # seconds: acks and silences reread (another shell may change them)
SCOPE_EVERY = 2.0  # seconds: a chosen parser's top-N is pushed again this often
BACKLOG_SECONDS = 86_400.0
BACKLOG_ALARMS = 500
MAX_MESSAGE = 64 << 10  # the longest request a page sends
SECURITY_HEADERS = {
    # No inline script, nothing from elsewhere: a log line that slipped through as markup
    # could still not run.
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class _Page:
    """One open websocket."""

    __slots__ = ("rights", "rows", "scope", "sender", "wake", "ws")

    def __init__(self, ws: web.WebSocketResponse, rights: str) -> None:
        self.ws = ws
        self.rights = rights
        self.scope: tuple[str, int | None] | None = None  # (parser, window start or None: live)
        # The groups of the top-N last sent, as stored (the page got them cleaned for
        # showing: it names a row by its index, never by values it may not hold exactly).
        self.rows: tuple[str, int, int, list[dict[str, Any]]] | None = None
        self.wake = asyncio.Event()
        self.sender: asyncio.Task[None] | None = None


class WebServer(LoopThread):
    """Started by the guard host; ``publish`` and ``delivery_changed`` from any thread."""

    def __init__(self, host: Any, web_config: WebConfig) -> None:
        super().__init__()
        self.host = host
        self.web = web_config
        self._runner: web.AppRunner | None = None
        self.address = ""  # host:port actually bound (port 0 in tests: the one chosen)
        self._pages: set[_Page] = set()
        self._tasks: set[asyncio.Future[None]] = set()
        # Loop thread only, from here on.
        self.model = ConsoleModel(host.config)
        self._colors = parser_colors(host.config)  # per config: not on every push
        self._seeded = False
        self._pending: list[tuple[Event, bool]] = []
        self._seen_ids: deque[int] = deque(maxlen=5_000)
        self._seen_set: set[int] = set()
        self._view = ""  # the newest view, encoded
        self._view_version = 0
        self._push_at = 0.0  # loop time of the next push; 0.0: none planned
        self._last_push = 0.0
        self._status: dict[str, Any] = {}
        self.alarm_counts: Counter[tuple[str, str]] = Counter()
        self.window_counts: Counter[str] = Counter()
        # Delivery reads and writes in order, on one thread: a read begun before an ack
        # never lands after it.
        self._io = ThreadPoolExecutor(1, thread_name_prefix="web-delivery")
        self._tokens = [(t.secret(), t.rights) for t in web_config.tokens]

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self.start_loop("guard-web", 15)

    async def _serve(self) -> None:
        app = web.Application(client_max_size=MAX_MESSAGE)
        app.router.add_get("/", self._index)
        app.router.add_get("/ws", self._websocket)
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/theme.css", self._theme)
        app.router.add_get("/favicon.ico", self._no_icon)
        app.router.add_static("/static", STATIC, show_index=False, follow_symlinks=False)
        app.on_response_prepare.append(self._headers)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        bind, port = self.web.address
        site = web.TCPSite(self._runner, bind, port, reuse_address=True)
        await site.start()
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            name = sockets[0].getsockname()
            self.address = f"{name[0]}:{name[1]}"
        else:
            self.address = self.web.listen
        await self._seed()
        self._ready.set()
        ticker = asyncio.create_task(self._tick())
        try:
            await asyncio.Event().wait()  # until stop() cancels us
        finally:
            ticker.cancel()
            for page in list(self._pages):
                with contextlib.suppress(Exception):
                    await page.ws.close(code=1001, message=b"the guard stops")
            await self._runner.cleanup()

    def stop(self) -> None:
        self.stop_loop()
        self._io.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------ engine side

    def publish(self, event: Event) -> None:
        """Engine thread: hand the event to the loop; never blocks."""
        self.call_soon(self._take, event, False)

    def delivery_changed(self, origin: str) -> None:
        """Acks or silences changed (a console, this page, the CLI): read them now."""
        self.call_soon(self._read_delivery)

    def reloaded(self) -> None:
        """The guard runs a new config: a new model for it, filled again from the store."""
        loop = self.loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):
                asyncio.run_coroutine_threadsafe(self._reseed(), loop)

    async def _reseed(self) -> None:
        self.model = ConsoleModel(self.host.config)
        self._colors = parser_colors(self.host.config)
        self._seen_ids.clear()
        self._seen_set.clear()
        self._seeded = False
        await self._seed()

    async def _seed(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            past = await loop.run_in_executor(
                None, self.host.backlog, BACKLOG_SECONDS, BACKLOG_ALARMS
            )
        except Exception:  # the store is busy: the page starts with what comes live
            past = []
        for event, is_past in past:
            self._fold(event, is_past)
        self._seeded = True
        pending, self._pending = self._pending, []
        for event, is_past in pending:
            self._fold(event, is_past)
        self._read_delivery()
        self._changed()

    def _take(self, event: Event, past: bool) -> None:
        if not self._seeded:
            self._pending.append((event, past))
            return
        self._fold(event, past)
        if isinstance(event, Stats):
            # Every second: the status words change, but a view for them alone can wait.
            self._changed(soon=False)
        else:
            self._changed()

    def _fold(self, event: Event, past: bool) -> None:
        if isinstance(event, AlarmRaised):
            if event.id is not None:
                if event.id in self._seen_set:
                    return  # the backlog held it already
                if len(self._seen_ids) == self._seen_ids.maxlen:
                    self._seen_set.discard(self._seen_ids[0])
                self._seen_ids.append(event.id)
                self._seen_set.add(event.id)
            if not past:
                self.alarm_counts[(event.alarm.parser, event.alarm.kind)] += 1
        elif isinstance(event, WindowClosed) and not past:
            self.window_counts[event.parser] += 1
            for page in self._pages:
                if page.scope is not None and page.scope[0] == event.parser:
                    self._send_scope(page)
        self.model.apply(event)

    # ------------------------------------------------------------------ pushing

    def _changed(self, soon: bool = True) -> None:
        """Something the view shows changed: push it, at most MAX_RATE times a second."""
        loop = self.loop
        if loop is None:
            return
        now = loop.time()
        at = max(now + (FIRST_PUSH if soon else 1.0), self._last_push + 1.0 / MAX_RATE)
        if self._push_at and self._push_at <= at:
            return
        self._push_at = at
        loop.call_at(at, self._push, at)

    def _push(self, planned: float) -> None:
        if planned != self._push_at:
            return  # replaced by an earlier one
        assert self.loop is not None
        self._push_at = 0.0
        self._last_push = self.loop.time()
        self.model.take_dirty()
        if not self._pages:
            # Nobody looks: the model stays current (for /metrics), the page view waits
            # for the next page, which asks for one as it comes.
            self._view = ""
            return
        doc = view_doc(self.model, self._colors, self._status)
        self._view = json.dumps(doc, separators=(",", ":"), default=str)
        self._view_version += 1
        for page in self._pages:
            page.wake.set()

    async def _sender(self, page: _Page) -> None:
        """Sends the newest view whenever there is one the page has not had: a page that
        reads slowly skips views, it never makes the guard queue them."""
        sent = 0
        while not page.ws.closed:
            await page.wake.wait()
            page.wake.clear()
            if self._view_version == sent or not self._view:
                continue
            sent = self._view_version
            try:
                await page.ws.send_str(self._view)
            except (ConnectionError, RuntimeError):
                return

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        last_delivery = last_scope = 0.0
        while True:
            await asyncio.sleep(REFRESH)
            engine = self.host.engine
            if engine is not None:
                try:
                    totals = await loop.run_in_executor(None, engine.open_totals)
                except Exception:  # a busy store or an engine reloading: next second
                    totals = None
                if totals is not None:
                    self.model.set_open_totals(totals)
            now = loop.time()
            if now - last_delivery >= DELIVERY_EVERY:
                last_delivery = now
                self._read_delivery()
            if now - last_scope >= SCOPE_EVERY:
                last_scope = now
                for page in list(self._pages):
                    if page.scope is not None and page.scope[1] is None:
                        self._send_scope(page)
            self._changed(soon=False)

    # ------------------------------------------------------------------ delivery

    def _read_delivery(self) -> None:
        loop = self.loop
        if loop is None:
            return
        fut = loop.run_in_executor(self._io, self._delivery_snapshot)
        fut.add_done_callback(self._delivery_read)

    def _delivery_snapshot(self) -> tuple[Any, Any, dict[str, Any]]:
        from alser_tui.engine.notify.lifecycle import Silences

        status = _short_status(self.host)
        d = self.host.delivery
        if d is None:
            return None, None, status
        return Silences(d.db).list(time.time()), set(d.acked()), status

    def _delivery_read(self, fut: asyncio.Future[Any]) -> None:
        if fut.cancelled() or fut.exception() is not None:
            return
        silences, acks, status = fut.result()
        self._status = status
        if silences is not None:
            self.model.set_silences(silences)
            self.model.sync_acked(acks)
        self._changed()

    async def _write_delivery(self, fn: Any) -> Any:
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(self._io, fn)
        self.host.delivery_changed("web")
        return result

    # ------------------------------------------------------------------ HTTP

    async def _headers(self, request: web.Request, response: web.StreamResponse) -> None:
        for k, v in SECURITY_HEADERS.items():
            response.headers.setdefault(k, v)

    async def _index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html")

    async def _no_icon(self, request: web.Request) -> web.Response:
        return web.Response(status=204)

    async def _theme(self, request: web.Request) -> web.Response:
        from alser_tui.web.theme import theme_css

        return web.Response(text=theme_css(self.host.config.theme), content_type="text/css")

    def rights_of(self, token: str) -> str | None:
        """ "ack", "read", or None: refused. Without tokens: read-only for everyone (the
        listener is on loopback then; the config makes sure)."""
        if not self._tokens:
            return "read"
        best = None
        for secret, rights in self._tokens:
            if secret and hmac.compare_digest(secret.encode(), token.encode()):
                best = "ack" if rights == "ack" else best or "read"
        return best

    async def _metrics(self, request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        token = auth[7:] if auth.lower().startswith("bearer ") else request.query.get("token", "")
        if self.rights_of(token) is None:
            return web.Response(status=401, text="a token is needed: Authorization: Bearer …\n")
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        from alser_tui.web.metrics import registry_for

        body = generate_latest(registry_for(self.host, self._counts))
        resp = web.Response(body=body)
        resp.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return resp

    def _counts(self) -> dict[str, Any]:
        # Scrapes run on the loop thread: the model is read where it is written.
        m = self.model
        return {
            "alarms": Counter(self.alarm_counts),
            "windows": Counter(self.window_counts),
            "open": sum(1 for v in m.parsers.values() if v.open_window is not None),
            "firing": len(m.firing()),
            "unacked": m.unacked(),
        }

    # ------------------------------------------------------------------ the websocket

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin is not None and urlsplit(origin).netloc != request.host:
            return web.Response(status=403, text="another site's page may not read this guard\n")
        ws = web.WebSocketResponse(heartbeat=30, max_msg_size=MAX_MESSAGE)
        await ws.prepare(request)
        page: _Page | None = None
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    break
                try:
                    req = json.loads(msg.data)
                    if not isinstance(req, dict):
                        raise ValueError("a request is a JSON object")
                except ValueError as exc:
                    await ws.send_json({"type": "error", "error": f"bad request: {exc}"})
                    continue
                if page is None:
                    page = await self._auth(ws, req)
                    if page is None:
                        break
                    continue
                reply = await self._answer(page, req)
                if reply is not None:
                    await ws.send_str(json.dumps(reply, separators=(",", ":"), default=str))
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            if page is not None:
                self._pages.discard(page)
                if page.sender is not None:
                    page.sender.cancel()
            await ws.close()
        return ws

    async def _auth(self, ws: web.WebSocketResponse, req: dict[str, Any]) -> _Page | None:
        rights = self.rights_of(str(req.get("token") or "")) if req.get("op") == "auth" else None
        if rights is None:
            await ws.send_json({"type": "denied", "error": "a valid token is needed"})
            await ws.close(code=4401, message=b"token")
            return None
        page = _Page(ws, rights)
        host = self.host
        await ws.send_json(
            {
                "type": "hello",
                "version": __version__,
                "rights": rights,
                "pid": os.getpid(),
                "started": host.started,
                "config": text(host.config.path or "", 500),
            }
        )
        self._pages.add(page)
        page.sender = asyncio.create_task(self._sender(page))
        if self._view:
            page.wake.set()
        else:
            self._changed()  # the first page since nobody looked: build a view now
        return page

    async def _answer(self, page: _Page, req: dict[str, Any]) -> dict[str, Any] | None:
        op = req.get("op")
        rid = req.get("id")
        try:
            if op == "scope":
                parser = str(req["parser"])
                if parser not in self.model.parsers:
                    raise ValueError(f"no parser {parser!r}")
                start = req.get("start")
                page.scope = (parser, int(start) if start is not None else None)
                self._send_scope(page)
                return None
            if op == "unscope":
                page.scope = None
                return None
            if op == "events":
                return await self._events(page, req)
            if op == "alarm_events":
                return await self._alarm_events(req)
            if op in ("ack", "ack_all", "silence", "unsilence"):
                if page.rights != "ack":
                    raise PermissionError("this token may look, not ack or silence")
                return {"type": "done", "id": rid, "op": op, "result": await self._act(op, req)}
            raise ValueError(f"unknown op {op!r}")
        except PermissionError as exc:
            return {"type": "error", "id": rid, "op": op, "error": str(exc)}
        except (KeyError, TypeError, ValueError) as exc:
            return {"type": "error", "id": rid, "op": op, "error": f"{op}: {exc}"}
        except Exception as exc:
            return {"type": "error", "id": rid, "op": op, "error": f"{op}: {exc!r}"}

    def _send_scope(self, page: _Page) -> None:
        if page.scope is None:
            return
        task = asyncio.ensure_future(self._scope(page, page.scope))
        self._tasks.add(task)  # held until done: a bare task may be collected mid-way
        task.add_done_callback(self._tasks.discard)

    async def _scope(self, page: _Page, want: tuple[str, int | None]) -> None:
        from alser_tui.ui.query import build_scope

        engine = self.host.engine
        if engine is None or want[0] not in getattr(engine, "runs", {}):
            return
        loop = asyncio.get_running_loop()
        try:
            scope = await loop.run_in_executor(None, build_scope, engine, want[0], want[1])
        except Exception as exc:
            doc: dict[str, Any] = {"type": "error", "op": "scope", "error": f"scope: {exc}"}
        else:
            if page.scope != want or want[0] not in self.model.parsers:
                return  # the page chose another since
            doc = scope_doc(self.model, scope)
            if scope.start is not None and scope.end is not None:
                page.rows = (scope.parser, scope.start, scope.end, [r.group for r in scope.rows])
        with contextlib.suppress(ConnectionError, RuntimeError):
            await page.ws.send_str(json.dumps(doc, separators=(",", ":"), default=str))

    async def _events(self, page: _Page, req: dict[str, Any]) -> dict[str, Any]:
        """A group's raw lines: ``row`` (an index into the top-N last sent) or ``seq`` (an
        alarm's window and group)."""
        from alser_tui.ui.query import fetch_events

        engine = self._engine()
        if "seq" in req:
            entry = self.model.alarm(int(req["seq"]))
            if entry is None:
                raise ValueError("that alarm is no longer listed")
            a = entry.alarm
            parser, start, end, group = a.parser, a.start, a.end, a.group
        else:
            if page.rows is None:
                raise ValueError("choose a parser first")
            parser, start, end, groups = page.rows
            group = groups[int(req["row"])]
        fn = partial(fetch_events, engine, parser, start, end, dict(group), limit=1_000)
        events = await asyncio.get_running_loop().run_in_executor(None, fn)
        return {**events_doc(events), "id": req.get("id")}

    async def _alarm_events(self, req: dict[str, Any]) -> dict[str, Any]:
        from alser_tui.ui.query import fetch_alarm_events

        entry = self.model.alarm(int(req["seq"]))
        if entry is None:
            raise ValueError("that alarm is no longer listed")
        a = entry.alarm
        fn = partial(fetch_alarm_events, self._engine(), a, a.group, limit=1_000)
        events = await asyncio.get_running_loop().run_in_executor(None, fn)
        return {**events_doc(events), "id": req.get("id")}

    def _engine(self) -> Any:
        engine = self.host.engine
        if engine is None:
            raise ValueError("the guard's engine is restarting (a config reload): ask again")
        return engine

    async def _act(self, op: str, req: dict[str, Any]) -> Any:
        d = self.host.delivery
        if d is None:
            raise ValueError("this guard keeps no delivery.db: nothing can be acked")
        m = self.model
        if op == "ack":
            entry = m.alarm(int(req["seq"]))
            if entry is None:
                raise ValueError("that alarm is no longer listed")
            entries = [] if entry.acked else [entry]
        elif op == "ack_all":
            entries = list({e.key: e for e in reversed(m.alarms) if not e.acked}.values())
        elif op == "silence":
            from alser_tui.link.local import group_matchers

            entry = m.alarm(int(req["seq"]))
            if entry is None:
                raise ValueError("that alarm is no longer listed")
            seconds = float(req.get("seconds", 3600))
            if not 60 <= seconds <= 30 * 86_400:
                raise ValueError("a silence lasts from 1 minute to 30 days")
            a = entry.alarm
            fn = partial(
                d.silence, parser=a.parser, matchers=group_matchers(a.group), duration=seconds,
                comment="from the web view",
            )  # fmt: skip
            s = await self._write_delivery(fn)
            m.set_silences([*m.silences, s])
            self._changed()
            return {"sid": s.id, "until": s.until}
        else:  # unsilence
            sid = int(req["sid"])
            done = await self._write_delivery(partial(d.unsilence, sid))
            m.set_silences([s for s in m.silences if s.id != sid])
            self._changed()
            return {"lifted": bool(done)}
        if entries:
            alarms = [e.alarm for e in entries]
            await self._write_delivery(partial(_ack_all, d, alarms))
            m.set_acked({e.key for e in entries})
            self._changed()
        return {"acked": len(entries)}


def _ack_all(d: Any, alarms: list[Any]) -> int:
    for a in alarms:
        d.ack(a)
    return len(alarms)


def _short_status(host: Any) -> dict[str, Any]:
    """The page's status line: who runs, since when, how fast, each channel's state."""
    st = host.last_stats
    doc = host.status_head()
    doc["config"] = text(doc["config"], 500)
    if st is not None:
        doc.update(
            lines=st.lines,
            lines_per_s=st.lines_per_s,
            rejected=st.rejected,
            late=st.late,
            errors=[text(e, 300) for e in st.errors[-5:]],
            warnings=[text(w, 300) for w in st.warnings[-5:]],
            sources=len(st.files),
        )
    d = host.delivery
    if d is not None:
        with contextlib.suppress(Exception):
            doc["channels"] = [text(c.line(), 200) for c in d.status().values()]
    return doc
