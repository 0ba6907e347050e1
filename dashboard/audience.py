"""The audience filter the experience pages share (Web Vitals, Traffic, Network): a page, a release, a browser, a
device class, a country; ids ``{prefix}-{facet}``, options from the read API's ``audience_facets``."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from dash import html

from contracts.read_api import ReadClient
from dashboard.widgets import bounded, choice, records

FACETS = ("route", "release", "browser", "device", "country")
LABELS = {"route": "Any page", "release": "Any release", "browser": "Any browser", "device": "Any device",
          "country": "Any country"}  # fmt: skip


def values(given: dict[str, str | None]) -> dict[str, str | None]:
    """The audience of a URL's query: each facet's value, bounded; absent or empty is everyone."""
    return {facet: bounded(given.get(facet)) for facet in FACETS}


def dropdowns(prefix: str, chosen: dict[str, str | None]) -> html.Div:
    """One dropdown per facet, holding the chosen value until the options arrive."""
    return html.Div(
        [choice(f"{prefix}-{facet}", chosen.get(facet), LABELS[facet]) for facet in FACETS],
        className="filters audience",
    )


def options(read: ReadClient, project: str | None, since: str, until: str, chosen: dict[str, str | None]) -> list[Any]:
    """Each facet's options (the busiest values in the range, the chosen one kept), in ``FACETS`` order."""
    found: dict[str, list[str]] = defaultdict(list)
    for row in records(read.query("audience_facets", project=project, since=since, until=until, limit=50)):
        found[row["facet"]].append(row["value"])
    listed = []
    for facet in FACETS:
        names = found[facet] + [v for v in [chosen.get(facet)] if v and v not in found[facet]]
        listed.append([{"label": v, "value": v} for v in names])
    return listed
