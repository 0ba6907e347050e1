"""The daily error report of a project: one day in its time zone, against the day before and the same day a week
before (docs/reports.md).

``build`` gathers the day's figures as plain data (the JSON form); ``render_html`` turns it
into one self-contained page: inline CSS and SVG charts, no script, no font or image
fetched, every string from events escaped, readable in a mail client. ``due`` says which
projects' reports are owed at a moment: each project's report of a day is made once its
``hour`` of the next day has come in its time zone, and stored in ``daily_reports``; the notifier
(``analytics/notify.py``) mails it to the project's recipients.
"""

from __future__ import annotations

import html
import json
import logging
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import duckdb

from analytics.queries.releases import health_sql
from analytics.store import transaction
from contracts.projects import Project
from contracts.vitals import rating

log = logging.getLogger("vigil.analytics")

#: A report is built for a day no further back than this (a long-stopped service does not fill the past).
CATCH_UP_DAYS = 2
#: Any day's report can be made on demand this far back (the rollups' retention, by default).
MAX_DAYS_BACK = 400
TOP = 10
NEW_ISSUES = 20
PAGES = 5


def window(day: date, zone: Any) -> tuple[datetime, datetime]:
    """The day in ``zone`` as [start, end) in naive UTC (23 or 25 hours on a change of clocks)."""
    start = datetime.combine(day, time(), zone).astimezone(UTC).replace(tzinfo=None)
    end = datetime.combine(day + timedelta(days=1), time(), zone).astimezone(UTC).replace(tzinfo=None)
    return start, end


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    cursor = con.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql})
    columns = [d[0] for d in cursor.description or []]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}


def _headline(con: duckdb.DuckDBPyConnection, project_id: int, start: datetime, end: datetime) -> dict[str, Any]:
    counts = dict(
        con.execute(
            """SELECT kind, sum(count) FROM event_counts_1m WHERE project_id = ? AND minute >= ? AND minute < ?
               AND kind IN ('errors', 'page_views') GROUP BY kind""",
            [project_id, start, end],
        ).fetchall()
    )
    ((sessions, crashed, unhandled),) = con.execute(
        f"""WITH {health_sql(with_release=False)}
            SELECT coalesce(sum(sessions), 0), coalesce(sum(crashed_sessions), 0), coalesce(sum(unhandled_sessions), 0)
            FROM health WHERE project_id = $project_id""",
        {"project": None, "project_id": project_id, "since": start, "until": end},
    ).fetchall()
    errors, views = int(counts.get("errors") or 0), int(counts.get("page_views") or 0)
    return {
        "errors": errors,
        "page_views": views,
        "errors_per_1000_page_views": round(errors * 1000 / views, 2) if views else None,
        "sessions": int(sessions),
        "crash_free_sessions": round(100 * (1 - crashed / sessions), 2) if sessions else None,
        "unhandled_free_sessions": round(100 * (1 - unhandled / sessions), 2) if sessions else None,
    }


def build(con: duckdb.DuckDBPyConnection, project: Project, day: date, now: datetime | None = None) -> dict[str, Any]:
    """The report of ``project`` for ``day`` in its time zone, as JSON-ready data."""
    zone = project.report.zone
    start, end = window(day, zone)
    p = {"p": project.id, "start": start, "end": end, "top": TOP}
    tables = _tables(con)
    headline = _headline(con, project.id, start, end)
    before = _headline(con, project.id, *window(day - timedelta(days=1), zone))
    week_ago = _headline(con, project.id, *window(day - timedelta(days=7), zone))
    hourly = _rows(
        con,
        """SELECT time_bucket(INTERVAL 1 HOUR, minute, $start) AS hour, sum(count) AS errors FROM event_counts_1m
           WHERE project_id = $p AND kind = 'errors' AND minute >= $start AND minute < $end GROUP BY 1 ORDER BY 1""",
        p,
    )
    hours = {r["hour"]: int(r["errors"]) for r in hourly}
    by_hour = [hours.get(start + timedelta(hours=h), 0) for h in range(int((end - start).total_seconds() // 3600))]
    issues = "issues" in tables
    new_issues = (
        _rows(
            con,
            """SELECT i.issue_id, i.error_type, i.title, i.culprit, i.first_release AS release,
                      (SELECT count(*) FROM errors e WHERE e.issue_id = i.issue_id AND e.ts >= $start AND e.ts < $end)
                      AS events
               FROM issues i WHERE i.project_id = $p AND i.first_seen >= $start AND i.first_seen < $end
                 AND i.merged_into IS NULL ORDER BY events DESC, i.issue_id LIMIT $n""",
            {**p, "n": NEW_ISSUES},
        )
        if issues
        else []
    )
    new_count = (
        con.execute(
            "SELECT count(*) FROM issues WHERE project_id = ? AND first_seen >= ? AND first_seen < ? "
            "AND merged_into IS NULL",
            [project.id, start, end],
        ).fetchall()[0][0]
        if issues
        else 0
    )
    top = (
        _rows(
            con,
            """SELECT e.issue_id, any_value(i.title) AS title, any_value(i.culprit) AS culprit, any_value(i.status)
                      AS status, count(DISTINCT nullif(e.user_id, '')) AS users, count(*) AS events
               FROM errors e JOIN issues i USING (issue_id)
               WHERE e.project_id = $p AND e.ts >= $start AND e.ts < $end
               GROUP BY e.issue_id ORDER BY users DESC, events DESC, e.issue_id LIMIT $top""",
            p,
        )
        if issues
        else []
    )
    regressions = (
        _rows(
            con,
            # Stamped when stored, and, for an issue still regressed, at the event that brought it back: a day's
            # events stored later (a beacon's retry, a replay) still count in their day.
            """SELECT a.issue_id, any_value(i.title) AS title, arg_max(a.release, a.ts) AS release, max(a.ts) AS ts
               FROM issue_activity a JOIN issues i USING (issue_id)
               WHERE i.project_id = $p AND a.action = 'regressed'
                 AND ((a.ts >= $start AND a.ts < $end)
                      OR (i.status = 'regressed' AND i.status_changed_at >= $start AND i.status_changed_at < $end))
               GROUP BY a.issue_id ORDER BY ts LIMIT $top""",
            p,
        )
        if issues
        else []
    )
    vitals = _rows(
        con,
        # A metric reported again as it grows (CLS, INP) counts once, with its last value, as on the Web Vitals page.
        f"""WITH v AS (SELECT route AS page, name, value, ts FROM web_vitals
                       WHERE project_id = $p AND ts >= $week AND ts < $end AND name IN ('LCP', 'INP', 'CLS')
                       QUALIFY metric_key IS NULL
                            OR row_number() OVER (PARTITION BY metric_key ORDER BY ts DESC, value DESC) = 1),
                 pages AS (SELECT route AS page, count(*) AS views FROM page_views
                           WHERE project_id = $p AND ts >= $start AND ts < $end GROUP BY 1
                           ORDER BY views DESC, page LIMIT {PAGES})
            SELECT pages.page, pages.views, v.name,
                   quantile_cont(v.value, 0.75) FILTER (WHERE v.ts >= $start) AS p75,
                   quantile_cont(v.value, 0.75) FILTER (WHERE v.ts < $start) AS p75_week_before,
                   count(*) FILTER (WHERE v.ts >= $start) AS samples
            FROM pages JOIN v USING (page) GROUP BY ALL ORDER BY pages.views DESC, pages.page, v.name""",
        {**p, "week": start - timedelta(days=7)},
    )
    uptime = (
        _rows(
            con,
            """SELECT "check", region, count(*) FILTER (WHERE status IN ('up', 'down')) AS runs,
                      round(100.0 * count(*) FILTER (WHERE status = 'up')
                            / nullif(count(*) FILTER (WHERE status IN ('up', 'down')), 0), 2) AS uptime
               FROM probe_results WHERE project_id = $p AND ts >= $start AND ts < $end
               GROUP BY ALL ORDER BY "check", region""",
            p,
        )
        if "probe_results" in tables
        else []
    )
    incidents = _rows(
        con,
        """SELECT incident_id, verdict, confidence, summary, status, started_at, closed_at, feedback FROM incidents
           WHERE project_id = $p AND started_at >= $start AND started_at < $end ORDER BY started_at""",
        p,
    )
    dropped = _rows(
        con,
        """SELECT outcome, coalesce(reason, '') AS reason, sum(count) AS count FROM outcomes
           WHERE project_id = $p AND window_start >= $start AND window_start < $end AND outcome <> 'accepted'
           GROUP BY ALL
           UNION ALL
           SELECT 'dropped by the browser', reason, sum(count) FROM client_drops
           WHERE project_id = $p AND received_at >= $start AND received_at < $end GROUP BY ALL
           ORDER BY count DESC LIMIT 20""",
        p,
    )
    return {
        "version": 1,
        "project": project.name,
        "day": day.isoformat(),
        "timezone": project.report.timezone,
        "from": start.isoformat() + "Z",
        "until": end.isoformat() + "Z",
        "made_at": (now or datetime.now(UTC).replace(tzinfo=None)).isoformat() + "Z",
        "headline": headline,
        "previous_day": before,
        "same_day_last_week": week_ago,
        "errors_by_hour": by_hour,
        "new_issues_total": int(new_count),
        "new_issues": new_issues,
        "top_issues_by_users": top,
        "regressions": regressions,
        "vitals": vitals,
        "uptime": uptime,
        "incidents": incidents,
        "dropped": dropped,
    }


def due(con: duckdb.DuckDBPyConnection, projects: dict[int, Project], now: datetime) -> list[tuple[Project, date]]:
    """The reports owed at ``now`` (naive UTC): each project's days whose next day's report hour has come, from
    ``CATCH_UP_DAYS`` back, that are not stored yet."""
    oldest = now.date() - timedelta(days=CATCH_UP_DAYS + 2)
    stored = set(con.execute("SELECT project_id, day FROM daily_reports WHERE day >= ?", [oldest]).fetchall())
    owed = []
    for project in projects.values():
        local = now.replace(tzinfo=UTC).astimezone(project.report.zone)
        last = local.date() - timedelta(days=1 if local.hour >= project.report.hour else 2)
        for back in range(CATCH_UP_DAYS - 1, -1, -1):
            day = last - timedelta(days=back)
            if (project.id, day) not in stored:
                owed.append((project, day))
    return owed


def make_due(
    con: duckdb.DuckDBPyConnection, projects: dict[int, Project], now: datetime, dashboard_url: str = ""
) -> list[tuple[str, date]]:
    """Build and store the reports owed at ``now``; returns which (project, day) were made."""
    made = []
    for project, day in due(con, projects, now):
        try:
            store(con, project, build(con, project, day, now), now, dashboard_url)
        except Exception:
            log.exception("reports: the report of %s for %s failed (tried again in a minute)", project.name, day)
            continue
        made.append((project.name, day))
    return made


def store(
    con: duckdb.DuckDBPyConnection, project: Project, report: dict[str, Any], now: datetime, dashboard_url: str = ""
) -> None:
    """Keep a report (replacing the same day's); it is owed to the project's recipients, if any."""
    day = date.fromisoformat(report["day"])
    mail = "pending" if project.report.email else "none"
    with transaction(con):
        con.execute("DELETE FROM daily_reports WHERE project_id = ? AND day = ?", [project.id, day])
        con.execute(
            "INSERT INTO daily_reports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, NULL, NULL)",
            [project.id, project.name, day, project.report.timezone, now, json.dumps(report, default=str),
             render_html(report, dashboard_url), ",".join(project.report.email), mail,
             now if project.report.email else None],
        )  # fmt: skip


# The page.

E = html.escape
CSS = """body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#1f2933;max-width:860px;margin:0 auto;
padding:16px}h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:26px 0 8px;border-bottom:1px solid #d9e2ec;
padding-bottom:4px}table{border-collapse:collapse;width:100%;font-size:13px}th,td{text-align:left;padding:4px 6px;
border-bottom:1px solid #eef2f6;vertical-align:top}th{color:#52606d;font-weight:600}.kpis td{font-size:14px}
.muted{color:#7b8794}.worse{color:#c62828}.better{color:#2e7d32}.empty{color:#7b8794;font-style:italic}"""


def _change(now: float | None, then: float | None, lower_is_better: bool = True) -> str:
    if now is None or then is None:
        return '<span class="muted">&ndash;</span>'
    if then == 0:
        return '<span class="muted">was 0</span>' if now else '<span class="muted">=</span>'
    change = (now - then) / then * 100
    worse = change > 0 if lower_is_better else change < 0
    css = "worse" if worse and abs(change) >= 5 else "better" if abs(change) >= 5 else "muted"
    return f'<span class="{css}">{change:+.0f}% (was {then:,.6g})</span>'


def _bars(values: list[int], width: int = 820, height: int = 120) -> str:
    """Errors per hour as an inline SVG bar chart, with its scale written out."""
    most = max(values, default=0) or 1
    step = width / max(len(values), 1)
    bars = "".join(
        f'<rect x="{i * step + 1:.1f}" y="{height - 18 - v / most * (height - 30):.1f}" width="{step - 2:.1f}" '
        f'height="{v / most * (height - 30):.1f}" fill="#3b6fb6"><title>{i:02d}:00 {v} errors</title></rect>'
        for i, v in enumerate(values)
    )
    labels = "".join(
        f'<text x="{i * step + step / 2:.1f}" y="{height - 4}" font-size="10" text-anchor="middle" fill="#7b8794">'
        f"{i:02d}</text>"
        for i in range(0, len(values), 3)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="Errors per hour"><text x="0" y="10" font-size="10" fill="#7b8794">{most:,} errors</text>'
        f"{bars}{labels}</svg>"
    )


def _table(headers: list[str], rows: list[list[str]], empty: str) -> str:
    if not rows:
        return f'<p class="empty">{E(empty)}</p>'
    head = "".join(f"<th>{E(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _vital(name: str, value: float | None) -> str:
    if value is None:
        return '<span class="muted">&ndash;</span>'
    css = {"good": "better", "poor": "worse"}.get(rating(name, value), "")
    shown = f"{value:.3f}" if name == "CLS" else f"{value:,.0f} ms"
    return f'<span class="{css}">{shown}</span>'


def render_html(report: dict[str, Any], dashboard_url: str = "") -> str:
    """The report as one self-contained HTML page (no script; every string from events escaped)."""
    h, d1, d7 = report["headline"], report["previous_day"], report["same_day_last_week"]
    base = dashboard_url.rstrip("/")

    def issue_link(issue_id: int, text: str | None) -> str:
        label = E(text or f"issue {issue_id}")
        return f'<a href="{E(base)}/issues/{int(issue_id)}">{label}</a>' if base else label

    kpis = [
        ["Errors", f"{h['errors']:,}", _change(h["errors"], d1["errors"]), _change(h["errors"], d7["errors"])],
        ["Errors per 1,000 page views", str(h["errors_per_1000_page_views"] or "&ndash;"),
         _change(h["errors_per_1000_page_views"], d1["errors_per_1000_page_views"]),
         _change(h["errors_per_1000_page_views"], d7["errors_per_1000_page_views"])],
        ["Page views", f"{h['page_views']:,}", _change(h["page_views"], d1["page_views"], False),
         _change(h["page_views"], d7["page_views"], False)],
        *[[name, f"{h[key]}%" if h.get(key) is not None else "&ndash;", _change(h.get(key), d1.get(key), False),
           _change(h.get(key), d7.get(key), False)]
          for name, key in (("Unhandled-free sessions", "unhandled_free_sessions"),
                            ("Crash-free sessions", "crash_free_sessions"))],
    ]  # fmt: skip
    new = [[issue_link(i["issue_id"], i["title"] or i["error_type"]), E(i["culprit"] or ""), E(i["release"] or ""),
            f"{i['events']:,}"] for i in report["new_issues"]]  # fmt: skip
    more = report["new_issues_total"] - len(report["new_issues"])
    top = [[issue_link(i["issue_id"], i["title"]), E(i["culprit"] or ""), f"{i['users']:,}", f"{i['events']:,}",
            E(i["status"] or "")] for i in report["top_issues_by_users"]]  # fmt: skip
    regressed = [[issue_link(r["issue_id"], r["title"]), E(r["release"] or ""), E(str(r["ts"])[11:16])]
                 for r in report["regressions"]]  # fmt: skip
    vitals = [[E(v["page"]), E(v["name"]), _vital(v["name"], v["p75"]), _vital(v["name"], v["p75_week_before"]),
               _change(v["p75"], v["p75_week_before"]), f"{v['samples']:,}"] for v in report["vitals"]]  # fmt: skip
    uptime = [[E(u["check"]), E(u["region"]), "&ndash;" if u["uptime"] is None else f"{u['uptime']}%", f"{u['runs']:,}"]
              for u in report["uptime"]]  # fmt: skip
    incidents = [[f"#{int(i['incident_id'])}", E(i["verdict"].replace("_", " ")), f"{float(i['confidence']):.0%}",
                  E(i["summary"]), E(str(i["started_at"])[11:16]) + " UTC", E(i["status"])]
                 for i in report["incidents"]]  # fmt: skip
    dropped = [[E(x["outcome"]), E(x["reason"] or ""), f"{int(x['count']):,}"] for x in report["dropped"]]
    title = f"{report['project']}: errors on {report['day']}"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{E(title)}</title><style>{CSS}</style></head><body>
<h1>{E(title)}</h1>
<p class="muted">The day in {E(report["timezone"])} ({E(report["from"])} to {E(report["until"])}), against the day
before and the same day a week before. Made {E(report["made_at"][:16].replace("T", " "))} UTC by Vigil.</p>
<h2>The day in figures</h2>
{_table(["", report["day"], "against the day before", "against a week before"], [[E(k[0]), *k[1:]] for k in kpis], "")}
<h2>Errors per hour</h2>
{_bars(report["errors_by_hour"])}
<h2>New issues ({report["new_issues_total"]:,})</h2>
{_table(["Issue", "Where", "First release", "Events"], new, "No new issue: nothing the site had not thrown before.")}
{f'<p class="muted">… and {more:,} more.</p>' if more > 0 else ""}
<h2>Issues that affected the most users</h2>
{_table(["Issue", "Where", "Users", "Events", "Status"], top, "No error this day.")}
<h2>Regressions</h2>
{_table(["Issue", "Back in release", "At (UTC)"], regressed, "No resolved issue came back.")}
<h2>Web Vitals p75 of the busiest pages, against the week before</h2>
{_table(["Page", "Metric", "p75", "Week before", "Change", "Samples"], vitals, "No Web Vitals reported this day.")}
<h2>Uptime per check and region</h2>
{_table(["Check", "Region", "Uptime", "Runs"], uptime, "No probe check ran for this project.")}
<h2>Incidents</h2>
{_table(["", "Verdict", "Confidence", "Summary", "Started", "Status"], incidents, "No incident: nothing spiked.")}
<h2>Dropped or filtered</h2>
{_table(["What", "Why", "Events"], dropped, "Nothing was dropped or filtered.")}
</body></html>
"""
