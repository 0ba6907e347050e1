"""The read API's named queries: their names, what each answers, and their typed, bounded parameters.

These are the only reads the network may ask for (besides the token-guarded ``vigil sql``).
The analytics service gives each declared query its SQL (``analytics/queries/``) and
refuses to start if one is missing; the dashboard asks for them by these names. A
request's parameters are checked against the declaration by ``contracts.binding.bind`` and
bound as SQL parameters, never pasted into SQL text.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from contracts.vitals import METRICS

#: An issue's statuses (docs/analytics.md, Issues); ``regressed`` is set by analytics, never by a user.
ISSUE_STATUSES = (
    "unresolved", "resolved", "resolved_next_release", "resolved_in_release", "ignored", "regressed", "merged",
)  # fmt: skip
MAX_PARAM = 200


@dataclasses.dataclass(frozen=True)
class Param:
    name: str
    kind: Literal["str", "int", "time", "date"]
    doc: str
    default: Any = None
    minimum: int = 0
    maximum: int = 0
    choices: tuple[str, ...] = ()  # for a "str" parameter: the only values it may take, when given


@dataclasses.dataclass(frozen=True)
class Query:
    name: str
    doc: str
    params: tuple[Param, ...] = ()


class QueryError(ValueError):
    """Unknown query or bad parameter; the message is one line for a 400."""


PROJECT = Param("project", "str", "Project name; all projects when absent.")
SINCE = Param("since", "time", "Start of the range, ISO-8601 UTC; an hour ago when absent.")
UNTIL = Param("until", "time", "End of the range, ISO-8601 UTC; now when absent.")
RANGE = (PROJECT, SINCE, UNTIL)
STATUS = Param("status", "str", f"{', '.join(ISSUE_STATUSES[:-1])} or {ISSUE_STATUSES[-1]}; any when absent.")
ISSUE = Param("issue_id", "int", "The issue.", None, 1, 2**53)
SORTS = ("last_seen", "events", "users", "first_seen")
SORT = Param("sort", "str", f"Order: {', '.join(SORTS)} (the most first).", "last_seen", choices=SORTS)
SEARCH = Param("search", "str", "Words found in the type, title, culprit or one event's message (any case).")
TAG = Param("tag", "str", "key:value: only events with this tag.")
FACETS = (
    Param("release", "str", "Only events of this release."),
    Param("environment", "str", "Only events of this environment."),
    Param("browser", "str", "Only events from this browser family."),
)
BREAKDOWNS = ("browser", "os", "device", "release", "environment", "page", "country")
BY = Param("by", "str", f"What to count by: {', '.join(BREAKDOWNS)}.", "browser", choices=BREAKDOWNS)
EVENT = Param("event_id", "str", "The event; the issue's latest when absent.")
BUCKET = Param("bucket_seconds", "int", "Bucket width in seconds.", 60, 60, 86_400)
INCIDENT = Param("incident_id", "int", "The incident.", None, 1, 2**53)
INCIDENT_STATUS = Param(
    "incident_status", "str", "open or closed; either when absent.", None, choices=("open", "closed")
)
DAY = Param("day", "date", "A day, YYYY-MM-DD, in the project's time zone.")
RULE = Param("rule", "str", "Only this alert rule.")
KIND = Param(
    "kind", "str", "Only this kind (errors, network_failures, resource_failures, web_vitals, page_views, reports)."
)


def limit(default: int) -> Param:
    return Param("limit", "int", "Most rows returned.", default, 1, 1000)


ROUTE = Param("route", "str", "Only this page: its route, the URL path with ids collapsed (/product/:id).")
#: What users see, narrowed like the issues: a page, a release, a browser, a device class, a country.
AUDIENCE = (
    ROUTE,
    Param("release", "str", "Only events of this release."),
    Param("browser", "str", "Only events from this browser family."),
    Param("device", "str", "Only events from this device class (desktop, mobile, tablet)."),
    Param("country", "str", "Only events from this country (ISO code)."),
)
METRIC = Param("metric", "str", f"The Web Vital: {', '.join(METRICS)}.", "LCP", choices=METRICS)
VITAL_BREAKDOWNS = ("browser", "device", "country", "release")
VITAL_BY = Param("by", "str", f"What to break down by: {', '.join(VITAL_BREAKDOWNS)}.", "browser",
                 choices=VITAL_BREAKDOWNS)  # fmt: skip
CHECK = Param("check", "str", "Only this check, by name.")
TARGET = Param(
    "target", "str", "Only requests to this host, with its port when the URL has one (cdn.example, 127.0.0.1:8475)."
)
TRAFFIC_BREAKDOWNS = ("country", "browser", "device", "os", "referrer")
TRAFFIC_BY = Param("by", "str", f"What to count by: {', '.join(TRAFFIC_BREAKDOWNS)}.", "country",
                   choices=TRAFFIC_BREAKDOWNS)  # fmt: skip


_DECLARED = [
    # The overview.
    Query("projects", "Projects that have sent errors, by name."),
    Query("totals", "Errors, distinct messages, pages and sessions in the range.", RANGE),
    Query("errors_by_type", "Error events per error type, most frequent first.", (*RANGE, limit(20))),
    Query(
        "top_messages",
        "The most frequent error messages with their type, pages, browsers and last time seen.",
        (*RANGE, limit(20)),
    ),
    Query(
        "not_stored",
        "What was not stored as sent, in the range, by outcome and reason: refused by a collector, filtered, "
        "skipped, or stored changed (clamped time, grouped into the overflow issue).",
        (*RANGE, limit(50)),
    ),
    # Issues.
    Query(
        "issues",
        "Issues with events in the range (those matching the search and filters), in the order asked for: events, "
        "users and sessions in the range, and all-time.",
        (*RANGE, STATUS, SEARCH, TAG, *FACETS, SORT, limit(50)),
    ),
    Query(
        "error_facets",
        "The releases, environments and browsers of the errors in the range, each with its events, the most first.",
        (*RANGE, limit(50)),
    ),
    Query("issue", "One issue, with users and sessions affected all-time.", (ISSUE,)),
    Query(
        "issue_activity",
        "Who did what to an issue and when (triage, regressions), the latest first.",
        (ISSUE, limit(100)),
    ),
    Query(
        "issue_breakdown",
        "An issue's events in the range by one dimension, the most frequent values first, with their share.",
        (ISSUE, SINCE, UNTIL, BY, limit(10)),
    ),
    Query(
        "issue_event",
        "One event of an issue (the latest when no event_id is given), whole, with its newer and older events.",
        (ISSUE, EVENT),
    ),
    Query(
        "issue_events",
        "An issue's latest events, with their frames (symbolicated when a source map was there).",
        (ISSUE, PROJECT, limit(50)),
    ),
    # Releases.
    Query(
        "releases",
        "Each release with sessions in the range: first seen, sessions and users (the beacon's and Sentry SDKs'), "
        "adoption, crash-free sessions and users, errors per session, new and regressed issues.",
        (*RANGE, limit(200)),
    ),
    # The per-minute rollups: cheap for any range, days or months.
    Query(
        "events_per_minute",
        "Error events per time bucket (a minute by default), from the per-minute rollups.",
        (*RANGE, BUCKET),
    ),
    Query("event_counts", "Events per time bucket and kind, from the per-minute rollups.", (*RANGE, BUCKET, KIND)),
    Query(
        "event_counts_by",
        "Events in the range per release and browser for one kind (errors by default), from the rollups.",
        (*RANGE, KIND, limit(50)),
    ),
    Query("issue_events_per_minute", "Events of one issue per time bucket, from the rollups.", (*RANGE, BUCKET, ISSUE)),
    Query(
        "vitals_percentiles",
        "p50, p75 and p95 of each Core Web Vital in the range (within 2 %), the last value of each page's metric.",
        RANGE,
    ),
    Query(
        "audience_facets",
        "The pages (routes), releases, browsers, device classes and countries of the page views in the range, each "
        "with its views, the most first.",
        (*RANGE, limit(50)),
    ),
    # Web Vitals (the last value of each page's metric: CLS and INP are reported again as they change).
    Query(
        "vitals_pages",
        "Per page and Web Vital: samples, p75, and the shares rated good, needs improvement and poor; the pages "
        "with the most samples.",
        (*RANGE, *AUDIENCE, limit(50)),
    ),
    Query(
        "vitals_summary",
        "Per Web Vital over every page narrowed to: samples, p75, and the shares rated good, needs improvement "
        "and poor.",
        (*RANGE, *AUDIENCE),
    ),
    Query("vitals_trend", "p75 and samples of each Web Vital per time bucket.", (*RANGE, *AUDIENCE, BUCKET)),
    Query(
        "vitals_histogram",
        "How one Web Vital's values spread: samples per bin (the last bin holds every value above it).",
        (*RANGE, *AUDIENCE, METRIC),
    ),
    Query(
        "vitals_breakdown",
        "One Web Vital by browser, device class, country or release: samples, p75 and the share rated poor.",
        (*RANGE, *AUDIENCE, METRIC, VITAL_BY, limit(20)),
    ),
    Query(
        "vitals_attribution",
        "What made one Web Vital slow: the LCP element and its resource, the INP target and event type, the "
        "element that shifted most (CLS); with samples, p75 and the share rated poor.",
        (*RANGE, *AUDIENCE, METRIC, limit(20)),
    ),
    Query(
        "vitals_phases",
        "Where one Web Vital's time went: the median of each phase of its attribution (e.g. LCP's load delay).",
        (*RANGE, *AUDIENCE, METRIC),
    ),
    Query(
        "vitals_releases",
        "Per page, Web Vital (LCP, INP, CLS) and release: when the release was first seen (in the range), samples, "
        "p75, and the 95 % confidence interval of the p75 (p75_low, p75_high).",
        (*RANGE, *AUDIENCE, limit(500)),
    ),
    # Traffic: the denominators of every rate.
    Query(
        "traffic_totals",
        "Page views, sessions, users and errors in the range, and errors per 1,000 page views.",
        (*RANGE, *AUDIENCE),
    ),
    Query("traffic_trend", "Page views, sessions and users per time bucket.", (*RANGE, *AUDIENCE, BUCKET)),
    Query(
        "traffic_pages",
        "Per page: views, entries (a session's first view), sessions, users, errors and errors per 1,000 views.",
        (*RANGE, *AUDIENCE, limit(50)),
    ),
    Query(
        "traffic_by",
        "Page views, sessions and users by country, browser, device class, operating system or referring host.",
        (*RANGE, *AUDIENCE, TRAFFIC_BY, limit(20)),
    ),
    # Network and resource failures.
    Query(
        "network_targets",
        "Failed requests by target host, path pattern, status and failure class (dns, tcp, tls, http, timeout, …): "
        "failures, browser reports (NEL) among them, pages, sessions, median duration, and whether the "
        "host is the page's own, and one of its URLs (to tell a declared service's from a third party's).",
        (*RANGE, *AUDIENCE, TARGET, limit(100)),
    ),
    Query(
        "network_trend",
        "Failed requests per time bucket and failure class.",
        (*RANGE, *AUDIENCE, TARGET, BUCKET),
    ),
    Query(
        "network_pages",
        "Per page: failed requests, hosts failing, sessions hurt, page views, and failures per 1,000 views.",
        (*RANGE, *AUDIENCE, TARGET, limit(50)),
    ),
    Query(
        "resource_failures_by_url",
        "Failed images, scripts, styles, fonts and media by URL (without its query): the element, host, failures, "
        "the most common status, pages, sessions, and whether the host is the page's own.",
        (*RANGE, *AUDIENCE, TARGET, limit(100)),
    ),
    Query(
        "page_load_phases",
        "The slowest quarter of each page's loads (load at or above the page's p75) and where their time went: the "
        "median of DNS, connect, TLS, the server's answer, building the DOM and loading the rest, in ms.",
        (*RANGE, *AUDIENCE, limit(20)),
    ),
    Query(
        "slow_requests",
        "Requests of the pages' code (fetch, XHR) that took a second or more, by target host and path pattern: "
        "requests, pages, sessions, median and p75 duration, how many carried their phases (a cross-origin server "
        "must send Timing-Allow-Origin), the median of each phase in ms (DNS, connect, TLS, the server's first "
        "byte, the transfer), whether the host is the page's own, and one of its URLs.",
        (*RANGE, *AUDIENCE, TARGET, limit(100)),
    ),
    Query(
        "csp_violations",
        "What the pages' Content Security Policy blocked: per blocked URI (without its query; inline, eval) and "
        "directive, the violations (the beacon's and the browser's reports), whether the policy enforced it, pages "
        "and sessions.",
        (*RANGE, *AUDIENCE, limit(50)),
    ),
    # Hosts: the fleet.
    Query(
        "hosts_now",
        "Every host that reported in the hour before until: its last report, and its state in the 5 minutes before "
        "until (CPU busy on average; memory, fullest disk, 1-minute load and open files at their highest, in %); "
        "no values when it went silent.",
        (PROJECT, UNTIL),
    ),
    Query(
        "host_series",
        "One host's CPU, memory, fullest disk, load, open files and network per time bucket.",
        (*RANGE, BUCKET, Param("host", "str", "The host, as its probe agent names it.")),
    ),
    Query("errors_by_project", "Error events per project in the range, from the rollups.", RANGE),
    # Incidents (correlation).
    Query(
        "incidents",
        "Incidents during the range, the latest first: verdict, confidence, summary, when, the user's feedback, and "
        "how many client series were out of line.",
        (*RANGE, INCIDENT_STATUS, limit(100)),
    ),
    Query(
        "incident",
        "One incident whole: its client signals and its evidence (checks, hosts, server errors, releases, "
        "concentration) as JSON.",
        (INCIDENT,),
    ),
    Query(
        "incident_activity",
        "An incident's history: opened, verdict changes, closed, feedback; the latest first.",
        (INCIDENT, limit(100)),
    ),
    Query(
        "failures_per_minute",
        "Failed requests (fetch/XHR and NEL, aborts left out) and failed resources per time bucket, by target host "
        "(the hosts with the most failures) and kind (request, nel, resource).",
        (*RANGE, BUCKET, limit(5)),
    ),
    Query(
        "vitals_per_minute",
        "Each Core Web Vital's p75 per time bucket (within 2 %), from the rollups.",
        (*RANGE, BUCKET),
    ),
    Query(
        "check_results_per_minute",
        "Probe results per time bucket, check and region: up, down, and the median duration.",
        (*RANGE, BUCKET),
    ),
    Query(
        "host_metrics_per_minute",
        "Host metrics per time bucket and host: CPU busy (average), memory, fullest disk and open files (highest, %).",
        (*RANGE, BUCKET),
    ),
    # Alerts.
    Query(
        "alerts",
        "Alerts fired, resolved or changed during the range, the latest first, each with how its channels were "
        "told (waiting, pending, sent or failed, attempts and last error) as JSON, and the silence that kept it quiet.",
        (*RANGE, RULE, limit(200)),
    ),
    Query(
        "alert_messages",
        "Messages made for the channels during the range, the latest first: how many alerts each holds, its "
        "status (pending, sent or failed), attempts, next attempt and last error.",
        (*RANGE, RULE, limit(200)),
    ),
    Query("alerts_firing", "What fires now: each rule's subjects that have not resolved, since when.", (PROJECT, RULE)),
    Query(
        "silences",
        "Silences in force or ended during the range (active first): what they keep quiet, until when, who made "
        "them, and how many alerts they kept quiet.",
        (*RANGE, limit(200)),
    ),
    # Daily reports.
    Query(
        "daily_reports",
        "The daily reports made, the latest day first: the day's headline figures, and whether the mail went.",
        (PROJECT, limit(100)),
    ),
    Query("daily_report", "One stored daily report whole: as JSON and as its HTML page.", (PROJECT, DAY)),
    # Probe agents' results.
    Query("checks", "The current state of every check per region, and across its regions (region '*').", (PROJECT,)),
    Query(
        "check_history",
        "Every change of a check's state (per region, and '*' across regions) or an agent's (check empty).",
        (*RANGE, CHECK),
    ),
    Query(
        "check_reachability",
        "Per project, check, region and UTC day: runs with a conclusive result, how many were up, and their share.",
        RANGE,
    ),
    Query(
        "check_uptime",
        "Per project, check and UTC day: of the minutes with a conclusive result, the share with a region up.",
        RANGE,
    ),
    Query(
        "check_phases",
        "One check's runs per time bucket and region: the median of each phase (dns, connect, tls, processing: to "
        "the first byte, transfer) and of the whole run, in ms, and how many runs were up and down.",
        (*RANGE, BUCKET, CHECK),
    ),
    Query("agents", "Every probe agent (region and host): its last heartbeat and whether it is lost.", (PROJECT,)),
]
QUERIES: dict[str, Query] = {q.name: q for q in _DECLARED}
if len(QUERIES) != len(_DECLARED):  # pragma: no cover (a developer's mistake: one query would replace another)
    raise RuntimeError("a query is declared twice")
