"""A stored daily report, served whole (``/reports/shop/2026-12-06.html`` or ``.json``).

The page is the one mailed (analytics/report.py): self-contained, with no script. It is
served under a policy that allows none at all, nor anything fetched, so even a string an
escape had missed could not run.
"""

from __future__ import annotations

import re

import flask

from contracts.read_api import ReadApiError
from dashboard.data import client

REPORT_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def stored(project: str, day: str, form: str) -> flask.Response:
    if form not in ("html", "json") or not _DAY.fullmatch(day) or len(project) > 63:
        return flask.Response("No such report: /reports/PROJECT/YYYY-MM-DD.html or .json\n", 404, mimetype="text/plain")
    try:
        result = client().query("daily_report", project=project, day=day)
    except ReadApiError as e:
        return flask.Response(f"The report cannot be read: {e}\n", 503, mimetype="text/plain")
    if not result.rows:
        return flask.Response(f"No report of {project} for {day} yet.\n", 404, mimetype="text/plain")
    row = dict(zip(result.columns, result.rows[0], strict=True))
    if form == "json":
        return flask.Response(row["report_json"], mimetype="application/json")
    response = flask.Response(row["report_html"], mimetype="text/html")
    response.headers["Content-Security-Policy"] = REPORT_POLICY
    return response
