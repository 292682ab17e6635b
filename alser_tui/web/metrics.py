"""``/metrics``: the guard's own health in the Prometheus text format, so the monitor itself
can be monitored (a scrape every 15-60 s; alert on ``alser_source_last_line_age_seconds`` or
``alser_outbox_queued``).

prometheus_client writes the exposition format (escaping of label values, HELP/TYPE lines,
counters' ``_total``): a hostile file name in a label cannot break a scrape. A collector is
asked on each scrape; nothing here keeps state but the alarm counters the server feeds.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from alser_tui.sanitize import clean


def _label(value: Any) -> str:
    return clean(str(value))[:500]


class GuardCollector(Collector):
    """Reads the guard host (its last stats, its delivery) and the web view's model."""

    def __init__(self, host: Any, counts: Callable[[], dict[str, Any]]) -> None:
        self.host = host
        self.counts = counts  # alarms by parser and kind, windows closed, firing (the server)

    def collect(self) -> Iterator[Metric]:
        host = self.host
        now = time.time()
        yield _gauge("alser_up", "1 while the guard's engine runs (0: restarting)",
                     1 if host.engine is not None else 0)  # fmt: skip
        yield _gauge("alser_uptime_seconds", "seconds since the guard started", now - host.started)
        yield _gauge("alser_config_reloads", "config reloads since start", host.reloads)
        yield _gauge(
            "alser_config_refused",
            "1 when the last config reload was refused (the running config is older)",
            1 if host.config_broken else 0,
        )
        st = host.last_stats
        if st is not None:
            yield _counter("alser_lines_read", "lines read from every source", st.lines)
            yield _counter("alser_lines_malformed", "lines not in the ALS format", st.malformed)
            yield _counter("alser_lines_filtered", "lines no parser wanted", st.filtered)
            yield _gauge("alser_lines_per_second", "lines read per second", st.lines_per_s)
            yield _gauge("alser_rss_bytes", "the guard's resident memory", st.rss)
            parsed = CounterMetricFamily("alser_parser_parsed", "rows parsed", labels=["parser"])
            rejected = CounterMetricFamily(
                "alser_parser_rejected", "lines rejected (no match, bad field)", labels=["parser"]
            )
            late = CounterMetricFamily(
                "alser_parser_late", "rows for a window already closed", labels=["parser"]
            )
            for pid, ps in st.parsers.items():
                parsed.add_metric([_label(pid)], ps.parsed)
                rejected.add_metric([_label(pid)], ps.rejected)
                late.add_metric([_label(pid)], ps.late)
            yield from (parsed, rejected, late)
            lines = CounterMetricFamily(
                "alser_source_lines", "lines read from a source", labels=["source", "kind"]
            )
            lag = GaugeMetricFamily(
                "alser_source_lag_bytes", "bytes written and not read yet", labels=["source"]
            )
            age = GaugeMetricFamily(
                "alser_source_last_line_age_seconds",
                "seconds since the source last gave a line (absent before its first)",
                labels=["source"],
            )
            followed = GaugeMetricFamily(
                "alser_source_followed", "0: matched but not followed (open-file limit)",
                labels=["source"],
            )  # fmt: skip
            seen: set[str] = set()
            for f in st.files:
                name = _label(f.path)
                if name in seen:
                    continue  # a closed connection and its successor: one series
                seen.add(name)
                lines.add_metric([name, f.kind], f.lines)
                lag.add_metric([name], f.lag)
                followed.add_metric([name], 1 if f.followed else 0)
                if f.last_line:
                    age.add_metric([name], max(0.0, now - f.last_line))
            yield from (lines, lag, age, followed)
            guards = GaugeMetricFamily(
                "alser_guard_healthy", "1: delivering; 0: no source or silent",
                labels=["guard", "state"],
            )  # fmt: skip
            for g in st.guards:
                guards.add_metric([_label(g.name), g.state], 1 if g.state == "ok" else 0)
            yield guards
        counts = self.counts()
        alarms = CounterMetricFamily(
            "alser_alarms", "alarms raised since the guard started", labels=["parser", "kind"]
        )
        for (parser, kind), n in sorted(counts.get("alarms", Counter()).items()):
            alarms.add_metric([_label(parser), kind], n)
        yield alarms
        closed = CounterMetricFamily(
            "alser_windows_closed", "windows closed since the guard started", labels=["parser"]
        )
        for parser, n in sorted(counts.get("windows", Counter()).items()):
            closed.add_metric([_label(parser)], n)
        yield closed
        yield _gauge("alser_windows_open", "parsers with an open window", counts.get("open", 0))
        yield _gauge("alser_alarms_firing", "alarms firing now", counts.get("firing", 0))
        yield _gauge(
            "alser_alarms_unacked", "alarms asking for attention", counts.get("unacked", 0)
        )
        yield from self._delivery()

    def _delivery(self) -> Iterator[Metric]:
        d = self.host.delivery
        if d is None:
            return
        try:
            channels = d.status()
        except Exception:  # a busy delivery.db: this scrape goes without
            return
        families = [
            (cls(name, doc, labels=["channel", "type"]), value)
            for cls, name, doc, value in CHANNEL_METRICS
        ]
        for c in channels.values():
            labels = [_label(c.name), c.type]
            for family, value in families:
                family.add_metric(labels, value(c))
        yield from (family for family, _value in families)


# Per channel: (family, name, help, value of its ChannelStatus).
CHANNEL_METRICS: tuple[tuple[type[Any], str, str, Callable[[Any], float]], ...] = (
    (GaugeMetricFamily, "alser_outbox_queued", "messages waiting to be sent", lambda c: c.queued),
    (GaugeMetricFamily, "alser_outbox_held", "alarms held for a digest or the morning",
     lambda c: c.held),
    (CounterMetricFamily, "alser_delivery_failed", "sends that failed (each retried)",
     lambda c: c.failed),
    (CounterMetricFamily, "alser_delivery_sent", "messages sent", lambda c: c.sent),
    (GaugeMetricFamily, "alser_channel_ok", "1: the channel's last send worked or nothing to send",
     lambda c: 1 if c.state in ("ok", "sending", "quiet hours") else 0),
)  # fmt: skip


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


def _counter(name: str, doc: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, doc, value=value)


def registry_for(host: Any, counts: Callable[[], dict[str, Any]]) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(GuardCollector(host, counts))
    return registry
