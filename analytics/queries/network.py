"""The SQL of the network and resource queries: what failed or was slow, where it was going, and which pages it hurt.

A failure's class: for the browser's own reports (NEL, ``api = 'nel'``) the first part of
its type (``dns``, ``tcp``, ``tls``, ``http``, ``abandoned``, …); for the beacon's,
``http`` for a 4xx or 5xx answer, ``timeout``, ``abandoned`` (the page aborted it) or
``network`` (no answer, and a page cannot tell why). A target's path is its route, ids
collapsed as for pages.

A slow request's phases (``slow_requests``) are medians over the requests whose server let
the page see them: DNS, connect without TLS, TLS, the server (first byte after the
connection, queueing in the browser included) and the transfer of the answer.
"""

from __future__ import annotations

from analytics.anomalies import netloc_sql
from analytics.queries.audience import narrowed
from analytics.queries.fragments import BUCKET
from analytics.routes import route_sql

CLASS = """CASE WHEN api = 'nel' THEN split_part(coalesce(nullif(nel_type, ''), 'unknown'), '.', 1)
    WHEN failure = 'http_error' THEN 'http' WHEN failure = 'timeout' THEN 'timeout'
    WHEN failure = 'abort' THEN 'abandoned' WHEN failure = 'network_error' THEN 'network'
    ELSE coalesce(nullif(failure, ''), 'unknown') END"""
_TARGET = f"($target IS NULL OR {netloc_sql('url')} = $target)"
_FAILURES = f"""(SELECT * FROM {
    narrowed("network_failures", "ts, url, api, status, failure, nel_type, duration_ms, session_id, page_url")
} WHERE {_TARGET})"""
_SAME_HOST = f"{netloc_sql('url')} = {netloc_sql('page_url')}"

SQL = {
    "network_targets": (
        f"""SELECT {netloc_sql("url")} AS host, {route_sql("url")} AS path, coalesce(status, 0) AS status,
               {CLASS} AS failure_class, count(*) AS failures, count(*) FILTER (WHERE api = 'nel') AS browser_reports,
               count(DISTINCT route) AS pages, count(DISTINCT session_id) AS sessions,
               median(duration_ms) AS median_ms, bool_or({_SAME_HOST}) AS same_host, min(url) AS example_url
        FROM {_FAILURES} GROUP BY ALL ORDER BY failures DESC, host, path, status LIMIT $limit"""
    ),
    "network_trend": (
        f"""SELECT {BUCKET}, {CLASS} AS failure_class,
               count(*) AS failures
        FROM {_FAILURES} GROUP BY ALL ORDER BY 1, 2"""
    ),
    "network_pages": (
        f"""WITH f AS (SELECT route, count(*) AS failures, count(DISTINCT {netloc_sql("url")}) AS hosts,
                              count(DISTINCT session_id) AS sessions FROM {_FAILURES} GROUP BY route),
        pv AS (SELECT route, count(*) AS views FROM {narrowed("page_views", "ts")} GROUP BY route)
        SELECT f.route, f.failures, f.hosts, f.sessions, coalesce(pv.views, 0) AS page_views,
               round(f.failures * 1000 / nullif(pv.views, 0), 2) AS failures_per_1000_views
        FROM f LEFT JOIN pv USING (route) ORDER BY failures DESC, route LIMIT $limit"""
    ),
    "page_load_phases": (
        f"""WITH pv AS {narrowed("page_views", "ts, dns_ms, connect_ms, tls_ms, ttfb_ms, dom_interactive_ms, load_ms")},
        pages AS (
            SELECT route, count(*) AS views, quantile_cont(load_ms, 0.75) AS p75_load,
                   quantile_cont(ttfb_ms, 0.75) AS p75_ttfb
            FROM pv WHERE load_ms IS NOT NULL GROUP BY route ORDER BY views DESC, route LIMIT $limit)
        SELECT pages.route, pages.views, pages.p75_load, pages.p75_ttfb, count(*) AS slow_views,
               median(coalesce(dns_ms, 0)) AS dns, median(greatest(coalesce(connect_ms, 0) - coalesce(tls_ms, 0), 0))
               AS connect, median(coalesce(tls_ms, 0)) AS tls,
               median(greatest(ttfb_ms - coalesce(dns_ms, 0) - coalesce(connect_ms, 0), 0)) AS server,
               median(greatest(dom_interactive_ms - ttfb_ms, 0)) AS dom,
               median(greatest(load_ms - dom_interactive_ms, 0)) AS rest
        FROM pv JOIN pages USING (route) WHERE pv.load_ms >= pages.p75_load
        GROUP BY ALL ORDER BY pages.p75_load DESC, pages.route"""
    ),
    "slow_requests": (
        f"""SELECT {netloc_sql("url")} AS host, {route_sql("url")} AS path, count(*) AS requests,
               count(DISTINCT route) AS pages, count(DISTINCT session_id) AS sessions,
               median(duration_ms) AS median_ms, quantile_cont(duration_ms, 0.75) AS p75_ms,
               count(ttfb_ms) AS timed, median(dns_ms) FILTER (WHERE ttfb_ms IS NOT NULL) AS dns,
               median(greatest(connect_ms - coalesce(tls_ms, 0), 0)) FILTER (WHERE ttfb_ms IS NOT NULL) AS connect,
               median(coalesce(tls_ms, 0)) FILTER (WHERE ttfb_ms IS NOT NULL) AS tls,
               median(greatest(ttfb_ms - coalesce(dns_ms, 0) - coalesce(connect_ms, 0), 0))
                   FILTER (WHERE ttfb_ms IS NOT NULL) AS server,
               median(greatest(duration_ms - ttfb_ms, 0)) FILTER (WHERE ttfb_ms IS NOT NULL) AS transfer,
               bool_or({_SAME_HOST}) AS same_host, min(url) AS example_url
        FROM {
            narrowed("slow_requests", "ts, url, duration_ms, dns_ms, connect_ms, tls_ms, ttfb_ms, session_id, page_url")
        }
        WHERE {_TARGET} GROUP BY ALL ORDER BY requests DESC, host, path LIMIT $limit"""
    ),
    "csp_violations": (
        f"""SELECT regexp_replace(coalesce(nullif(blocked_uri, ''), '(none)'), '[?#].*$', '') AS blocked,
               coalesce(nullif(effective_directive, ''), violated_directive) AS directive,
               count(*) AS violations, bool_or(disposition = 'enforce') AS enforced,
               count(*) FILTER (WHERE source = 'reporting_api') AS browser_reports,
               count(DISTINCT route) AS pages, count(DISTINCT session_id) AS sessions
        FROM {
            narrowed(
                "reports",
                "ts, report_type, blocked_uri, effective_directive, violated_directive, disposition, "
                "source, session_id",
            )
        }
        WHERE report_type = 'csp' GROUP BY ALL ORDER BY violations DESC, blocked, directive LIMIT $limit"""
    ),
    "resource_failures_by_url": (
        f"""SELECT regexp_replace(url, '[?#].*$', '') AS url, {netloc_sql("url")} AS host, element,
               count(*) AS failures, mode(status) AS status, count(DISTINCT route) AS pages,
               count(DISTINCT session_id) AS sessions, bool_or({_SAME_HOST}) AS same_host
        FROM {narrowed("resource_failures", "ts, url, element, status, session_id, page_url")}
        WHERE {_TARGET} GROUP BY ALL ORDER BY failures DESC, url, element LIMIT $limit"""
    ),
}
