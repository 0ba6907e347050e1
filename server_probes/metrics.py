"""The agent's latest results in the Prometheus text format, on an optional ``/metrics`` endpoint.

Names follow blackbox_exporter's where they mean the same (``probe_success``,
``probe_http_duration_seconds`` by phase), prefixed ``vigil_``.
"""

from __future__ import annotations

import threading
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Gauge, start_http_server

from contracts.probes import CheckResult


class ProbeMetrics:
    def __init__(self, region: str) -> None:
        self.registry = CollectorRegistry()
        labels = ["check", "type", "region"]
        self.region = region
        self.success = Gauge(
            "vigil_probe_success", "1 when the last run was up, 0 when down or unknown", labels, registry=self.registry
        )
        self.unknown = Gauge(
            "vigil_probe_unknown",
            "1 when the last run failed while the self-check failed",
            labels,
            registry=self.registry,
        )
        self.duration = Gauge(
            "vigil_probe_duration_seconds", "Last run's duration by phase", [*labels, "phase"], registry=self.registry
        )
        self.status_code = Gauge(
            "vigil_probe_http_status_code", "Last HTTP status (0: none)", labels, registry=self.registry
        )
        self.cert_days = Gauge(
            "vigil_probe_cert_days_left", "Days until the server certificate expires", labels, registry=self.registry
        )
        self.last_run = Gauge(
            "vigil_probe_last_run_timestamp_seconds", "When the last run started", labels, registry=self.registry
        )
        self.self_check = Gauge(
            "vigil_probe_self_check_success", "1 when the agent's own network works", registry=self.registry
        )
        self.spooled = Gauge("vigil_probe_spooled_batches", "Batches waiting on disk", registry=self.registry)
        self.dropped = Gauge(
            "vigil_probe_dropped_records", "Records dropped by the full spool since start", registry=self.registry
        )
        self.sent = Gauge(
            "vigil_probe_sent_records", "Records the collector accepted since start", registry=self.registry
        )
        self._server: tuple[WSGIServer, threading.Thread] | None = None

    def observe(self, result: CheckResult) -> None:
        labels = (result.check, result.check_type, self.region)
        self.success.labels(*labels).set(1 if result.status == "up" else 0)
        self.unknown.labels(*labels).set(1 if result.status == "unknown" else 0)
        self.duration.labels(*labels, "total").set(result.duration_ms / 1000)
        if result.phases is not None:
            for phase in ("dns", "connect", "tls", "processing", "transfer"):
                self.duration.labels(*labels, phase).set(getattr(result.phases, phase) / 1000)
        if result.check_type == "http":
            self.status_code.labels(*labels).set(result.http_status or 0)
        if result.cert_days_left is not None:
            self.cert_days.labels(*labels).set(result.cert_days_left)
        self.last_run.labels(*labels).set(result.ts / 1000)

    def serve(self, host: str, port: int) -> int:
        """Start ``/metrics`` in a thread; returns the port (useful with 0 in tests)."""
        self._server = start_http_server(port, host, registry=self.registry)
        return int(self._server[0].server_port)

    def close(self) -> None:
        if self._server is not None:
            server, thread = self._server
            server.shutdown()
            server.server_close()
            thread.join(5)
            self._server = None
