"""Prometheus metrics (prometheus-client), counted only when EMBEDDED_METRICS or
EMBEDDED_METRICS_PORT is set.

The collectors live once per process on prometheus-client's default registry (so that several
apps in one process add up, and gunicorn's workers can be merged with PROMETHEUS_MULTIPROC_DIR).
Every label takes values from a closed or bounded set: audit reasons, route names, Okta's
endpoint paths (`idx_client.endpoint_label`), limit names.
"""

from __future__ import annotations

import os
from typing import Any

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

# Seconds: from a cached page render to an Identity Engine that takes its time.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
MAX_LABEL_VALUES = 64  # per label: beyond this many distinct values, "other"


class Metrics:
    def __init__(self, registry: CollectorRegistry = REGISTRY):
        def counter(name: str, doc: str, labels: tuple[str, ...] = ()) -> Counter:
            return Counter(name, doc, labels, registry=registry)

        self.started = counter("embedded_signins_started", "Sign-in transactions started, by journey", ("journey",))
        self.completed = counter("embedded_signins_completed", "Sign-ins completed (ID token validated, session made)")
        self.failed = counter("embedded_signins_failed", "Sign-in failures, by audit reason", ("reason",))
        self.signouts = counter("embedded_signouts", "Sign-outs")
        self.refused = counter(
            "embedded_rate_limit_refusals", "Requests the app's own limits refused (429), by limit", ("limit",)
        )
        self.idx = Histogram(
            "embedded_idx_request_seconds",
            "Identity Engine calls: latency by endpoint and HTTP status "
            "(timeout, error: no answer; unusable: an answer too big, too deep or undecodable)",
            ("endpoint", "status"),
            buckets=BUCKETS,
            registry=registry,
        )
        self.steps = Histogram(
            "embedded_step_seconds",
            "Time to answer the package's own routes (a step post includes its Identity Engine call)",
            ("route", "method"),
            buckets=BUCKETS,
            registry=registry,
        )
        self.active = Gauge(
            "embedded_active_transactions",
            "Sign-in transactions under way (sampled; shared by every instance on Redis)",
            registry=registry,
            multiprocess_mode="livemax",
        )
        self.store_unavailable = counter(
            "embedded_store_unavailable", "Requests answered 503 because the session store did not answer"
        )
        self.redis = counter(
            "embedded_redis_round_trips",
            "Round trips to Redis (a script or a command each), by what the request path asked for",
            ("operation",),
        )
        self._seen: dict[str, set[str]] = {}

    def bounded(self, label: str, value: str) -> str:
        """`value`, or "other" once a label has MAX_LABEL_VALUES distinct ones."""
        seen = self._seen.setdefault(label, set())
        if value in seen or len(seen) < MAX_LABEL_VALUES:
            seen.add(value)
            return value
        return "other"

    def event(self, event: str, fields: dict[str, Any]) -> None:
        """One audit event (`web.context.audit`), counted."""
        if event == "signin.started":
            self.started.labels(self.bounded("journey", str(fields.get("journey", "sign-in")))).inc()
        elif event == "signin.succeeded":
            self.completed.inc()
        elif event == "signin.failed":
            self.failed.labels(self.bounded("reason", str(fields.get("reason", "unknown")))).inc()
        elif event == "signout":
            self.signouts.inc()

    def upstream(self, endpoint: str, status: str, seconds: float) -> None:
        self.idx.labels(self.bounded("endpoint", endpoint), status).observe(seconds)

    def step(self, route: str, method: str, seconds: float) -> None:
        self.steps.labels(route, method).observe(seconds)

    def redis_round_trip(self, operation: str) -> None:
        self.redis.labels(operation).inc()

    def refusal(self, limit: str) -> None:
        self.refused.labels(limit).inc()


METRICS = web.AppKey("embedded.metrics", Metrics)  # on the application only when metrics are on
_metrics: Metrics | None = None


def get() -> Metrics:
    """The process's collectors, made on first use."""
    global _metrics
    if _metrics is None:
        _metrics = Metrics()
    return _metrics


def exposition() -> tuple[bytes, str]:
    """The text Prometheus scrapes: this process's collectors, or every gunicorn worker's when
    PROMETHEUS_MULTIPROC_DIR is set (prometheus-client's multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
