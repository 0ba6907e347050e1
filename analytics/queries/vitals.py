"""The SQL of the Web Vitals queries: per page p75 and ratings, trend, spread, breakdowns, attribution, releases.

A metric reported again as it changes (CLS, INP: the same ``metric_key``) counts once, with
its latest value in the range, as in the rollups. p75 is ``quantile_cont`` (interpolated); per
release it comes with its 95 % confidence interval, so a page said to be slower since a release
is slower beyond chance.
"""

from __future__ import annotations

from analytics.queries.audience import narrowed
from analytics.queries.fragments import BUCKET
from contracts.vitals import THRESHOLDS

_COLUMNS = "project_id, metric_key, name, value, rating, release, browser, device_type, country, ts, attribution"
#: The range's vitals, the last value of each metric.
VITALS = f"""(SELECT * FROM {narrowed("web_vitals", _COLUMNS)}
    QUALIFY metric_key IS NULL
         OR row_number() OVER (PARTITION BY project_id, metric_key ORDER BY ts DESC, value DESC) = 1)"""
#: Each metric's phases, in the order they happen (the beacon's attribution keys; CLS has none).
PHASES = {
    "TTFB": ("waiting", "dns", "connect", "request"),
    "FCP": ("ttfb", "render_delay"),
    "LCP": ("ttfb", "load_delay", "load_duration", "render_delay"),
    "INP": ("input_delay", "processing", "presentation"),
}
_PHASE_PATHS = " ".join(
    f"WHEN '{m}' THEN json_extract(attribution, {[f'$.{k}' for k in keys]!r})" for m, keys in PHASES.items()
)
_PHASE_NAMES = " ".join(f"WHEN '{m}' THEN {list(keys)!r}" for m, keys in PHASES.items())
#: The 95 % confidence interval of a p75 without assuming a distribution: the sorted samples at the ranks
#: n·0.75 ± 1.96·√(n·0.75·0.25) (the binomial's normal approximation).
_Z = 1.96
_SHARES = """count(*) AS samples, quantile_cont(value, 0.75) AS p75,
    round(avg((rating = 'good')::INTEGER), 4) AS good,
    round(avg((rating = 'needs-improvement')::INTEGER), 4) AS needs_improvement,
    round(avg((rating = 'poor')::INTEGER), 4) AS poor"""
#: Histogram bins: their width by metric, and where the last bin (every value above) starts: twice "poor".
_BIN = "CASE $metric WHEN 'LCP' THEN 250 WHEN 'FCP' THEN 200 WHEN 'TTFB' THEN 100 WHEN 'INP' THEN 25 ELSE 0.02 END"
_LAST = "CASE $metric " + " ".join(f"WHEN '{m}' THEN {2 * poor:g}" for m, (_, poor) in THRESHOLDS.items()) + " END"
#: What an attribution names, by metric: the element, and the LCP's resource or the INP's event type.
_TARGET = "json_extract_string(attribution, '$.target')"
_DETAIL = """CASE $metric WHEN 'LCP' THEN json_extract_string(attribution, '$.url')
    WHEN 'INP' THEN json_extract_string(attribution, '$.event') END"""

SQL = {
    "vitals_pages": (
        f"""WITH v AS {VITALS},
        pages AS (SELECT route FROM v GROUP BY route ORDER BY count(*) DESC, route LIMIT $limit)
        SELECT route, name, {_SHARES} FROM v SEMI JOIN pages USING (route) GROUP BY ALL ORDER BY route, name"""
    ),
    "vitals_summary": f"SELECT name, {_SHARES} FROM {VITALS} GROUP BY name ORDER BY name",
    "vitals_trend": (
        f"""SELECT {BUCKET}, name, count(*) AS samples,
               quantile_cont(value, 0.75) AS p75
        FROM {VITALS} GROUP BY ALL ORDER BY 1, 2"""
    ),
    "vitals_histogram": (
        f"""SELECT least(floor(value / {_BIN}) * {_BIN}, {_LAST}) AS low, {_BIN} AS width, count(*) AS samples
        FROM {VITALS} WHERE name = $metric GROUP BY ALL ORDER BY low"""
    ),
    "vitals_breakdown": (
        f"""SELECT coalesce(nullif(CASE $by WHEN 'browser' THEN browser WHEN 'device' THEN device_type
                                     WHEN 'country' THEN country ELSE release END, ''), '(none)') AS value,
               {_SHARES}
        FROM {VITALS} WHERE name = $metric GROUP BY ALL ORDER BY samples DESC, value LIMIT $limit"""
    ),
    "vitals_attribution": (
        f"""SELECT coalesce(nullif({_TARGET}, ''), '(none)') AS target, coalesce({_DETAIL}, '') AS detail, {_SHARES}
        FROM {VITALS} WHERE name = $metric GROUP BY ALL ORDER BY samples DESC, target, detail LIMIT $limit"""
    ),
    "vitals_phases": (
        # One JSON parse per row for all of a metric's phases (a path list), not a row per attribution key.
        f"""WITH v AS (SELECT CASE $metric {_PHASE_PATHS} END AS found FROM {VITALS} v
                   WHERE v.name = $metric AND v.attribution IS NOT NULL)
        SELECT (CASE $metric {_PHASE_NAMES} END)[i] AS phase, count(TRY_CAST(found[i] AS DOUBLE)) AS samples,
               median(TRY_CAST(found[i] AS DOUBLE)) AS median_ms
        FROM v, range(1, len(found) + 1) t(i)
        GROUP BY i HAVING count(TRY_CAST(found[i] AS DOUBLE)) > 0 ORDER BY i"""
    ),
    "vitals_releases": (
        f"""WITH g AS (
            SELECT route, name, coalesce(release, '') AS release, min(ts) AS first_seen, count(*) AS samples,
                   quantile_cont(value, 0.75) AS p75, list(value ORDER BY value) AS sorted
            FROM {VITALS} WHERE name IN ('LCP', 'INP', 'CLS') GROUP BY ALL)
        SELECT route, name, release, first_seen, samples, p75,
               sorted[greatest(1, floor(samples * 0.75 - {_Z} * sqrt(samples * 0.1875))::INTEGER)] AS p75_low,
               sorted[least(samples, ceil(samples * 0.75 + {_Z} * sqrt(samples * 0.1875))::INTEGER + 1)] AS p75_high
        FROM g ORDER BY route, name, first_seen, release LIMIT $limit"""
    ),
}
