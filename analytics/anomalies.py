"""Client-side anomalies: which of a project's client series is out of line with its own recent past.

Every minute, each series is counted over the last ``WINDOW`` (5 minutes, a setting: whole
minutes, the last one ended ``INGEST_LAG`` ago) and tested against its baseline, the
``BASELINE`` (24 hours) before the window:

- ``js_errors``: errors per page view (per minute where a project has no page views: a
  backend's SDK);
- ``failed_requests``: failed fetch/XHR calls per page view, per target host and class
  (``network``, ``timeout``, ``http_5xx``, ``http_4xx``; aborted calls are the user's doing
  and do not count);
- ``nel``: the browser's Network Error Logging reports per page view, per host and class
  (``dns``, ``tcp``, ``tls``, ``http``, …: the first part of the NEL type);
- ``resource_failures``: sub-resources that failed to load, per page view and host;
- ``vital``: the p75 of each Core Web Vital.

The statistic, for the counts: the baseline rate is the median of the 24 hourly rates when
at least ``MEDIAN_HOURS`` of them had traffic (so one bad hour yesterday does not raise the
bar), else the rate over the whole baseline. The window's expected count is that rate times
the window's page views (at least ``MIN_EXPECTED``), and the window is anomalous when its
count is at least ``MIN_EVENTS``, at least ``MIN_RATIO`` times the expected count, and
unlikely by chance: the exact conditional test of two Poisson rates (the window's events
among the window's and the baseline's, a binomial) gives a probability under ``P_VALUE``.
That test is what keeps low traffic quiet: a few errors where one is expected is ordinary
at 20 page views an hour, and a baseline of a few minutes is too uncertain to be out of
line with, where a ratio alone would not say so.

A project is judged once its baseline holds page views (or errors) in ``MIN_HISTORY_MINUTES``
(10) distinct minutes: a site that just started sending has no past to be out of line with.

For a vital: the window's p75 (from the ``vitals_1m`` histogram, within 2 %) is anomalous
when it and the baseline's p75 each rest on at least ``VITAL_MIN_SAMPLES`` values (one page
load before the window is no past to be out of line with), it is at least ``VITAL_RATIO``
times the baseline's, and past the vital's "good" threshold.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import duckdb

from analytics.rollups import value_of
from contracts.services import host_of
from contracts.vitals import THRESHOLDS

WINDOW = timedelta(minutes=5)
BASELINE = timedelta(hours=24)
MIN_EVENTS = 5
MIN_RATIO = 2.0
MIN_EXPECTED = 0.5
P_VALUE = 1e-4
MEDIAN_HOURS = 12
#: The window is whole minutes, ending at the last minute begun this long ago: events still on their way are
#: not missed, and a minute is never compared half-full.
INGEST_LAG = timedelta(seconds=10)
#: A project with less of a past is not judged (``detect``).
MIN_HISTORY_MINUTES = 10
VITAL_MIN_SAMPLES = 20
VITAL_RATIO = 1.5
#: The upper bound of "good" per vital (web.dev): a p75 under it is never an anomaly.
GOOD = {metric: good for metric, (good, _) in THRESHOLDS.items()}

#: What each count series is, in words.
KINDS = {
    "js_errors": "errors",
    "failed_requests": "failed requests",
    "nel": "network errors reported by browsers (NEL)",
    "resource_failures": "failed resource loads",
}
CLASSES = {
    "network": "connection failures",
    "timeout": "timeouts",
    "http_5xx": "5xx answers",
    "http_4xx": "4xx answers",
    "dns": "DNS failures",
    "tcp": "TCP failures",
    "tls": "TLS failures",
    "http": "HTTP errors",
}
#: Classes that say the request never reached a server that answered.
NETWORK_CLASSES = frozenset({"network", "timeout", "dns", "tcp", "tls"})

_FAILURE_CLASS = """CASE WHEN api = 'nel' THEN split_part(coalesce(nullif(nel_type, ''), 'unknown'), '.', 1)
    WHEN failure = 'network_error' THEN 'network' WHEN failure = 'timeout' THEN 'timeout'
    WHEN failure = 'http_error' AND status >= 500 THEN 'http_5xx'
    WHEN failure = 'http_error' AND status >= 400 THEN 'http_4xx' END"""


def netloc_sql(column: str) -> str:
    """SQL for the host and port of the URL in ``column`` (``host_of`` then drops a default port)."""
    return f"lower(regexp_extract({column}, '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/?#]*@)?([^/?#]*)', 1))"


_NETLOC = netloc_sql("url")


@dataclasses.dataclass
class Anomaly:
    """One client series out of line in the window."""

    kind: str  # js_errors, failed_requests, nel, resource_failures, vital
    key: str  # what it is of: host and class, the vital's name, or "" for errors
    label: str
    observed: float  # the window's count, or a vital's p75
    expected: float  # the count the baseline expects, or the baseline's p75
    p_value: float | None
    first_minute: datetime
    host: str = ""
    failure_class: str = ""

    @property
    def ratio(self) -> float:
        return self.observed / self.expected if self.expected else math.inf

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "key": self.key, "label": self.label, "observed": round(self.observed, 3),
            "expected": round(self.expected, 3), "ratio": round(min(self.ratio, 1e6), 2),
            "p_value": None if self.p_value is None else float(f"{self.p_value:.3g}"),
            "first_minute": self.first_minute.isoformat(), "host": self.host, "class": self.failure_class,
        }  # fmt: skip


def binomial_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p), summed in log space from k up (terms fall once past n·p)."""
    if k <= 0:
        return 1.0
    if k > n or p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    if k <= n * p:
        return 1.0  # at or below the mean: never out of line
    log_p, log_q, total = math.log(p), math.log1p(-p), 0.0
    for i in range(k, n + 1):
        term = math.exp(math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_p + (n - i) * log_q)
        total += term
        if term < total * 1e-12:
            break
    return min(1.0, total)


def baseline_rate(hourly: list[tuple[float, float]]) -> float:
    """Events per unit of exposure from (count, exposure) per baseline hour: the median of the hours with traffic
    when there are enough of them, else the pooled rate."""
    rated = [c / e for c, e in hourly if e > 0]
    if len(rated) >= MEDIAN_HOURS:
        return statistics.median(rated)
    exposure = sum(e for _, e in hourly)
    return sum(c for c, _ in hourly) / exposure if exposure else 0.0


def judge_count(count: float, exposure: float, rate: float, baseline_exposure: float) -> tuple[bool, float, float]:
    """(anomalous, expected count, p-value) of ``count`` events over ``exposure``, against ``rate`` over a
    baseline of ``baseline_exposure``.

    The p-value is the exact conditional test of two Poisson rates: were both rates the same,
    the window would hold each of the window's and the baseline's events with probability
    exposure / (exposure + baseline exposure). A short or quiet baseline is uncertain, and the
    test accounts for it: the same count is less surprising against one minute than against a day.
    """
    expected = max(rate * exposure, MIN_EXPECTED)
    if count < MIN_EVENTS or count < MIN_RATIO * expected:
        return False, expected, 1.0
    share = exposure / (exposure + baseline_exposure) if exposure + baseline_exposure > 0 else 1.0
    total = round(count) + round(rate * baseline_exposure)
    p = binomial_tail(round(count), total, share)
    return p < P_VALUE, expected, p


@dataclasses.dataclass
class _Series:
    """One count series: per baseline hour and per window minute."""

    hours: dict[datetime, float] = dataclasses.field(default_factory=lambda: defaultdict(float))
    minutes: dict[datetime, float] = dataclasses.field(default_factory=lambda: defaultdict(float))


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` with the ``params`` it names (DuckDB refuses others)."""
    return con.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql}).fetchall()


def detect(
    con: duckdb.DuckDBPyConnection,
    now: datetime,
    min_history: int = MIN_HISTORY_MINUTES,
    window: timedelta = WINDOW,
) -> dict[int, list[Anomaly]]:
    """The anomalies of every project in the ``window`` ending at ``now`` (naive UTC), by project id.

    A project is judged once its baseline holds page views (or, without page views, errors)
    in at least ``min_history`` distinct minutes: before that, it has no past to be out of line with.
    """
    window_end = (now - INGEST_LAG).replace(second=0, microsecond=0)
    window_start = window_end - window
    params = {"low": window_start - BASELINE, "window": window_start, "now": window_end}
    exposure: dict[int, _Series] = defaultdict(_Series)
    series: dict[tuple[int, str, str, str], _Series] = defaultdict(_Series)  # (project, kind, host, class)
    history: dict[int, set[datetime]] = defaultdict(set)  # the baseline's minutes with page views or errors

    def add(target: _Series, minute: datetime, count: float) -> None:
        if minute >= window_start:
            target.minutes[minute] += count
        else:
            target.hours[minute.replace(minute=0)] += count

    for project_id, kind, minute, count in rows(
        con,
        """SELECT project_id, kind, minute, sum(count) FROM event_counts_1m
           WHERE minute >= $low AND minute < $now AND kind IN ('errors', 'page_views') GROUP BY ALL""",
        params,
    ):
        add(exposure[project_id] if kind == "page_views" else series[(project_id, "js_errors", "", "")], minute, count)
        if minute < window_start:
            history[project_id].add(minute)
    for project_id, netloc, failure_class, api, minute, count in rows(
        con,
        f"""SELECT project_id, {_NETLOC} AS netloc, {_FAILURE_CLASS} AS failure_class, api = 'nel',
                   time_bucket(INTERVAL 1 MINUTE, ts) AS minute, count(*)
            FROM network_failures WHERE ts >= $low AND ts < $now GROUP BY ALL HAVING failure_class IS NOT NULL""",
        params,
    ):
        host = host_of(f"http://{netloc}/") if netloc else ""
        add(series[(project_id, "nel" if api else "failed_requests", host, failure_class)], minute, count)
    for project_id, netloc, minute, count in rows(
        con,
        f"""SELECT project_id, {_NETLOC} AS netloc, time_bucket(INTERVAL 1 MINUTE, ts) AS minute, count(*)
            FROM resource_failures WHERE ts >= $low AND ts < $now GROUP BY ALL""",
        params,
    ):
        add(
            series[(project_id, "resource_failures", host_of(f"http://{netloc}/") if netloc else "", "")], minute, count
        )

    low, hour = params["low"], timedelta(hours=1)
    hours, h = [], low.replace(minute=0, second=0, microsecond=0)
    while h < window_start:
        hours.append(h)
        h += hour
    # Minutes of each hour inside the baseline (the first and last are partly outside it).
    minutes_in = {h: (min(h + hour, window_start) - max(h, low)) / timedelta(minutes=1) for h in hours}
    found: dict[int, list[Anomaly]] = defaultdict(list)
    for (project_id, kind, host, failure_class), counted in series.items():
        count = sum(counted.minutes.values())
        if count < MIN_EVENTS or len(history[project_id]) < min_history:
            continue
        views = exposure.get(project_id)
        per_view = views is not None and sum(views.hours.values()) + sum(views.minutes.values()) > 0
        if per_view:
            assert views is not None
            hourly = [(counted.hours.get(h, 0.0), views.hours.get(h, 0.0)) for h in hours]
            window_exposure = sum(views.minutes.values())
        else:  # no page views: events per minute
            hourly = [(counted.hours.get(h, 0.0), minutes_in[h]) for h in hours]
            window_exposure = window / timedelta(minutes=1)
        anomalous, expected, p = judge_count(count, window_exposure, baseline_rate(hourly), sum(e for _, e in hourly))
        if anomalous:
            per_minute = expected / (window / timedelta(minutes=1))
            first = min((m for m, c in counted.minutes.items() if c > MIN_RATIO * per_minute), default=window_start)
            label = _label(kind, host, failure_class, per_view)
            key = f"{host} {failure_class}".strip()
            found[project_id].append(Anomaly(kind, key, label, count, expected, p, first, host, failure_class))
    for project_id, anomaly in _vitals(con, params, window_start):
        if len(history[project_id]) >= min_history:
            found[project_id].append(anomaly)
    for anomalies in found.values():
        anomalies.sort(key=lambda a: (a.first_minute, -a.observed))
    return dict(found)


def _label(kind: str, host: str, failure_class: str, per_view: bool) -> str:
    if kind == "js_errors":
        return "error rate" if per_view else "errors per minute"
    what = CLASSES.get(failure_class, failure_class) if failure_class else KINDS[kind]
    return f"{what} to {host or 'an unknown host'}" + (" (NEL)" if kind == "nel" else "")


def _vitals(
    con: duckdb.DuckDBPyConnection, params: dict[str, datetime], window_start: datetime
) -> list[tuple[int, Anomaly]]:
    histograms: dict[tuple[int, str, bool], dict[int, float]] = defaultdict(lambda: defaultdict(float))
    for project_id, name, in_window, bucket, count in rows(
        con,
        """SELECT project_id, name, minute >= $window, bucket, sum(count) FROM vitals_1m
           WHERE minute >= $low AND minute < $now GROUP BY ALL HAVING sum(count) > 0""",
        params,
    ):
        histograms[(project_id, name, in_window)][bucket] += count
    found = []
    for (project_id, name, in_window), window in histograms.items():
        baseline = histograms.get((project_id, name, False))
        if not in_window or not baseline or name not in GOOD:
            continue
        if min(sum(window.values()), sum(baseline.values())) < VITAL_MIN_SAMPLES:
            continue
        now_p75, before_p75 = _p75(window), _p75(baseline)
        if now_p75 > GOOD[name] and now_p75 >= VITAL_RATIO * before_p75:
            label = f"{name} p75 {_vital_text(name, now_p75)} against {_vital_text(name, before_p75)}"
            found.append((project_id, Anomaly("vital", name, label, now_p75, before_p75, None, window_start)))
    return found


def _p75(histogram: dict[int, float]) -> float:
    total, below = sum(histogram.values()), 0.0
    for bucket in sorted(histogram):
        below += histogram[bucket]
        if below >= 0.75 * total:
            return value_of(bucket)
    return 0.0


def _vital_text(name: str, value: float) -> str:
    if name == "CLS":
        return f"{value:.2f}"
    return f"{value / 1000:.1f} s" if value >= 1000 else f"{value:.0f} ms"
