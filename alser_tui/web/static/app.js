// The alser-tui web view: draws what the guard pushes over the websocket. No logic about
// alarms lives here (the guard computes it with the console's own model), and every text
// goes into the page through textContent only: a log line is never markup.
"use strict";

const SPARK = "▁▂▃▄▅▆▇█";
const state = { ws: null, rights: "read", view: null, scope: null, events: null, retry: 1000,
  reqId: 0, chosenAlarm: null };

function token() {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
  const fromQuery = new URLSearchParams(location.search).get("token");
  const t = fromHash || fromQuery;
  if (t) { sessionStorage.setItem("alser-token", t); return t; }
  return sessionStorage.getItem("alser-token") || "";
}

function $(id) { return document.getElementById(id); }

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function clock(ts) {
  if (ts === null || ts === undefined) return "";
  const d = new Date(ts * 1000);
  return d.toLocaleTimeString([], { hour12: false });
}

function day(ts) {
  const d = new Date(ts * 1000);
  return d.toLocaleString([], { hour12: false });
}

function span(s) {
  s = Math.max(0, Math.floor(s));
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  return `${m}m ${s % 60}s`;
}

function amount(v) {
  if (v === null || v === undefined) return "–";
  if (!Number.isInteger(v)) return v.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  return v.toLocaleString("en-US");
}

function sparkline(values) {
  if (!values.length) return "";
  const max = Math.max(...values);
  return values.map(v => SPARK[max > 0 ? Math.min(7, Math.floor((v / max) * 7.999)) : 0]).join("");
}

function groupWords(group) {
  const parts = Object.entries(group).map(([k, v]) => `${k}=${v}`);
  return parts.length ? parts.join(" ") : "every group";
}

// Rows are rebuilt only when what they show changed: a row under the pointer stays the same
// element across pushes, so a click on it is never lost to a redraw.
function syncRows(body, items, keyOf, build) {
  const old = new Map();
  for (const tr of body.rows) old.set(tr.dataset.key, tr);
  const rows = items.map((item) => {
    const key = String(keyOf(item));
    const sig = JSON.stringify(item);
    const have = old.get(key);
    if (have && have.dataset.sig === sig) return have;
    const tr = build(item);
    tr.dataset.key = key;
    tr.dataset.sig = sig;
    return tr;
  });
  const same = rows.length === body.rows.length && rows.every((tr, i) => body.rows[i] === tr);
  if (!same) body.replaceChildren(...rows);
}

function notice(words, error) {
  const n = $("notice");
  n.textContent = words;
  n.className = error ? "notice error" : "notice";
  clearTimeout(notice.timer);
  notice.timer = setTimeout(() => { n.textContent = ""; }, 6000);
}

function send(doc) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) {
    doc.id = ++state.reqId;
    state.ws.send(JSON.stringify(doc));
  }
}

// ------------------------------------------------------------------ the link

function connect() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${proto}//${location.host}/ws`);
  state.ws = ws;
  ws.onopen = () => ws.send(JSON.stringify({ op: "auth", token: token() }));
  ws.onmessage = (msg) => {
    let doc;
    try { doc = JSON.parse(msg.data); } catch (e) { return; }
    handle(doc);
  };
  ws.onclose = (ev) => {
    const link = $("link");
    link.className = "link down";
    if (ev.code === 4401) {
      link.textContent = "✗ refused: open the page with #token=… (a token of the guard's [web] config)";
      return;
    }
    link.textContent = "✗ guard unreachable · reconnecting";
    document.body.dataset.link = "down";
    setTimeout(connect, state.retry);
    state.retry = Math.min(5000, state.retry * 2);
  };
}

function handle(doc) {
  switch (doc.type) {
    case "hello":
      state.retry = 1000;
      state.rights = doc.rights;
      $("link").className = "link";
      $("link").textContent = `guard pid ${doc.pid}`;
      document.body.dataset.link = "up";
      $("rights").textContent = doc.rights === "ack" ? "you may ack and silence" : "read-only";
      $("ack-all").hidden = doc.rights !== "ack";
      if (state.scope) send({ op: "scope", parser: state.scope.parser, start: state.scope.live ? null : state.scope.start });
      break;
    case "view": state.view = doc; drawView(doc); break;
    case "scope": drawScope(doc); break;
    case "events": drawEvents(doc); break;
    case "done": done(doc); break;
    case "error": notice(doc.error, true); break;
    case "denied": notice(doc.error, true); break;
  }
}

function done(doc) {
  const r = doc.result || {};
  if (doc.op === "ack" || doc.op === "ack_all") notice(r.acked ? `acknowledged (${r.acked})` : "already acknowledged");
  else if (doc.op === "silence") notice(`⊘ silenced until ${day(r.until)} (#${r.sid})`);
  else if (doc.op === "unsilence") notice(r.lifted ? "silence lifted" : "that silence had ended");
}

// ------------------------------------------------------------------ the main view

function drawView(v) {
  const strip = $("strip");
  strip.className = `strip ${v.strip.state}`;
  strip.dataset.firing = v.strip.firing;
  $("strip-words").textContent = v.strip.words;
  $("strip-last").textContent = v.strip.last ? `· last: ${v.strip.last} ${clock(v.strip.last_ts)}` : "";
  const st = v.status || {};
  const parts = [];
  if (st.uptime !== undefined) parts.push(`up ${span(st.uptime)}`);
  if (st.lines_per_s !== undefined) parts.push(`${Math.round(st.lines_per_s).toLocaleString("en-US")} lines/s`);
  if (st.sources !== undefined) parts.push(`${st.sources} sources`);
  if (st.engine === "restarting") parts.push("engine restarting (config reload)");
  if (st.config_broken) parts.push("✗ config reload refused");
  for (const c of st.channels || []) parts.push(c);
  $("status").textContent = parts.join(" · ");
  document.title = v.strip.firing ? `(${v.strip.firing}) alser-tui` : "alser-tui";
  drawParsers(v.parsers);
  drawAlarms(v);
  drawSilences(v.silences);
}

function drawParsers(parsers) {
  const body = $("parsers").tBodies[0];
  const chosen = state.scope ? state.scope.parser : null;
  syncRows(body, parsers.map(p => ({ ...p, chosen: p.id === chosen })), p => p.id, (p) => {
    const tr = el("tr");
    tr.dataset.parser = p.id;
    if (p.chosen) tr.className = "chosen";
    const title = el("td", p.label);
    if (p.style.color) title.style.color = p.style.color;
    if (p.style.background) title.style.background = p.style.background;
    if (p.style.bold) title.style.fontWeight = "bold";
    tr.append(title, el("td", p.open_words, "num"), el("td", sparkline(p.trend), "dim"),
      el("td", p.state, p.level));
    tr.onclick = () => openScope(p.id, null);
    return tr;
  });
}

function drawAlarms(v) {
  const body = $("alarms").tBodies[0];
  const ack = state.rights === "ack";
  $("alarms-title").textContent = v.alarm_count > v.alarms.length
    ? `alarms · newest ${v.alarms.length} of ${v.alarm_count.toLocaleString("en-US")}` : "alarms";
  $("alarms-empty").hidden = v.alarms.length > 0;
  const items = v.alarms.map(a => ({ ...a, chosen: state.chosenAlarm === a.seq, ack }));
  syncRows(body, items, a => a.seq, (a) => {
    const tr = el("tr");
    tr.dataset.seq = a.seq;
    tr.dataset.state = a.silenced ? "silenced" : a.acked ? "acked" : "unacked";
    tr.className = `${tr.dataset.state}${a.firing ? " firing" : ""}${a.chosen ? " chosen" : ""}`;
    const text = el("td", a.text, "text");
    text.title = groupWords(a.group);
    const acts = el("td");
    if (ack && !a.acked) {
      const b = el("button", "ack", "act ack");
      b.onclick = (e) => { e.stopPropagation(); send({ op: "ack", seq: a.seq }); };
      acts.append(b);
    }
    if (ack && !a.silenced && !a.condition) {
      const b = el("button", "silence 1 h", "act silence");
      b.onclick = (e) => { e.stopPropagation(); send({ op: "silence", seq: a.seq, seconds: 3600 }); };
      acts.append(b);
    }
    tr.append(el("td", a.mark), el("td", clock(a.ts)), el("td", Math.round(a.severity), "num"),
      el("td", a.label), el("td", a.kind), text, acts);
    tr.onclick = () => openAlarm(a);
    return tr;
  });
}

function drawSilences(silences) {
  $("silences-pane").hidden = !silences.length;
  const body = $("silences").tBodies[0];
  syncRows(body, silences.map(s => ({ ...s, ack: state.rights === "ack" })), s => s.id, (s) => {
    const tr = el("tr");
    const matches = s.matchers.map(([k, v]) => `${k}=${v}`).join(" ") || (s.kind ? `kind=${s.kind}` : "every group");
    const acts = el("td");
    if (s.ack) {
      const b = el("button", "lift", "act");
      b.onclick = () => send({ op: "unsilence", sid: s.id });
      acts.append(b);
    }
    tr.append(el("td", s.id), el("td", s.parser || "every parser"), el("td", matches),
      el("td", day(s.until)), el("td", s.comment), acts);
    return tr;
  });
}

// ------------------------------------------------------------------ drilling down

function openScope(parser, start) {
  state.scope = { parser, start, live: start === null };
  send({ op: "scope", parser, start });
}

function openAlarm(a) {
  state.chosenAlarm = a.seq;
  if (a.kind === "instant" || a.kind === "dropped") {
    openScope(a.parser, null);
    send({ op: "alarm_events", seq: a.seq });
  } else if (!a.condition) {
    openScope(a.parser, a.start);
    send({ op: "events", seq: a.seq });
  }
  if (state.view) drawAlarms(state.view);
}

function drawScope(s) {
  state.scope = { parser: s.parser, start: s.start, end: s.end, live: s.live };
  $("scope-pane").hidden = false;
  $("scope-title").textContent = s.label;
  const when = s.start === null ? "no data yet"
    : `${s.live ? "open window" : "window"} ${clock(s.start)} ~ ${clock(s.end)} · total ${s.total_words} · ${s.groups} groups${s.pruned ? " · as stored at close" : ""}`;
  $("scope-window").textContent = when;
  const hist = $("histogram");
  const max = Math.max(1, ...s.windows.map(w => w[1]));
  hist.replaceChildren(...s.windows.map(([start, total]) => {
    const b = el("span");
    b.style.height = `${Math.max(2, (total / max) * 100)}%`;
    b.title = `${clock(start)}: ${amount(total)}`;
    if (start === s.start) b.className = "open";
    b.onclick = () => openScope(s.parser, start);
    return b;
  }));
  const head = $("scope").tHead.rows[0];
  head.replaceChildren(...s.fields.map(f => el("th", f)), el("th", "amount", "num"), el("th", "vs last", "num"), el("th", ""));
  const body = $("scope").tBodies[0];
  $("scope-empty").hidden = s.rows.length > 0;
  body.replaceChildren(...s.rows.map((r, index) => {
    const tr = el("tr");
    for (const f of s.fields) tr.append(el("td", r.group[f], "text"));
    tr.append(el("td", r.amount_words, "num"));
    tr.append(el("td", r.growth === null ? "" : `${r.growth >= 0 ? "+" : ""}${Math.round(r.growth * 100)}%`, "num dim"));
    const marks = [];
    if (r.threshold) marks.push(["● over", "mark-over"]);
    if (r.abnormal) marks.push(["▲ abnormal", "mark-abn"]);
    if (r.silenced) marks.push(["⊘ silenced", "dim"]);
    const td = el("td");
    for (const [w, c] of marks) td.append(el("span", `${w} `, c));
    tr.append(td);
    tr.onclick = () => send({ op: "events", row: index });
    return tr;
  }));
  if (state.view) drawParsers(state.view.parsers);
}

function drawEvents(ev) {
  $("events-pane").hidden = false;
  $("events-title").textContent = `${ev.parser} › ${groupWords(ev.group)} · ${clock(ev.start)} ~ ${clock(ev.end)} · ${ev.rows.length} lines`;
  const cols = [];
  for (const r of ev.rows) for (const k of Object.keys(r)) if (!cols.includes(k)) cols.push(k);
  $("events").tHead.rows[0].replaceChildren(...cols.map(c => el("th", c)));
  $("events").tBodies[0].replaceChildren(...ev.rows.map((r) => {
    const tr = el("tr");
    for (const c of cols) tr.append(el("td", c === "ts" ? day(r[c]) : r[c], "text"));
    return tr;
  }));
  $("events-more").hidden = !ev.more;
}

window.addEventListener("DOMContentLoaded", () => {
  $("ack-all").onclick = () => send({ op: "ack_all" });
  $("scope-close").onclick = () => { state.scope = null; $("scope-pane").hidden = true; send({ op: "unscope" }); };
  $("events-close").onclick = () => { $("events-pane").hidden = true; };
  connect();
});
