"""What the Web Vitals page shows, built from the read API's rows: values in their units, ratings, the releases
that made a page slower, and the figures. Pure functions of rows, so each is tested without a browser."""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go

from contracts.vitals import MEANINGS, METRICS, THRESHOLDS, rating
from dashboard.widgets import every, figure, plotly_text

COLOURS = {"good": "#1a7f37", "needs-improvement": "#c77700", "poor": "#b42318"}
RATING_WORDS = {"good": "good", "needs-improvement": "needs improvement", "poor": "poor"}
#: A release is said to have made a page slower when its p75 is this much above the release before it ...
SLOWER_BY = 0.2
#: ... by at least this much (ms, or CLS units) ...
SLOWER_AT_LEAST = {"LCP": 100.0, "INP": 50.0, "CLS": 0.02, "FCP": 100.0, "TTFB": 50.0}
#: ... and both had at least this many samples, and the p75's confidence intervals (95 %) do not overlap:
#: slower beyond chance.
MIN_SAMPLES = 10


def shown(metric: str, value: float | None) -> str:
    """A value in its unit: ``2.41 s``, ``180 ms``, ``0.12``; a dash when there is none."""
    if value is None:
        return "—"
    if metric == "CLS":
        return f"{value:.2f}"
    return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.0f} ms"


def share(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.0f} %"


@dataclass(frozen=True)
class Slower:
    """A release after which one page's metric got worse."""

    route: str
    metric: str
    release: str
    before: str
    p75_before: float
    p75: float

    def text(self) -> str:
        return (
            f"{self.release}: {self.metric} {shown(self.metric, self.p75_before)} → {shown(self.metric, self.p75)} "
            f"(+{100 * (self.p75 / self.p75_before - 1):.0f} % over {self.before})"
        )


def slower_releases(rows: list[dict[str, Any]]) -> list[Slower]:
    """Each release that made a page's metric slower than the release before it (by first seen), the worst
    change first; rows are ``vitals_releases``'."""
    by_page: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["release"] and row["samples"] >= MIN_SAMPLES:
            by_page[(row["route"], row["name"])].append(row)
    found = []
    for (route, metric), releases in by_page.items():
        releases.sort(key=lambda r: r["first_seen"])
        for before, after in itertools.pairwise(releases):
            grew = after["p75"] - before["p75"]
            beyond_chance = after["p75_low"] > before["p75_high"]
            if grew >= SLOWER_AT_LEAST[metric] and after["p75"] >= (1 + SLOWER_BY) * before["p75"] and beyond_chance:
                found.append(Slower(route, metric, after["release"], before["release"], before["p75"], after["p75"]))
    return sorted(found, key=lambda s: (-(s.p75 / s.p75_before), s.route, s.metric))


def rating_class(metric: str) -> dict[str, str]:
    """ag-grid cell classes colouring a p75 cell of ``metric`` by its rating (the cell holds the raw number)."""
    good, poor = THRESHOLDS[metric]
    field = f"params.data.{metric}_p75"
    return {
        "rating rating-good": f"{field} != null && {field} <= {good}",
        "rating rating-needs-improvement": f"{field} != null && {field} > {good} && {field} <= {poor}",
        "rating rating-poor": f"{field} != null && {field} > {poor}",
    }


def summary_tiles(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per metric, in the usual order: its p75 shown, its rating, and the shares of good / needs improvement / poor."""
    by_name = {r["name"]: r for r in rows}
    tiles: list[dict[str, Any]] = []
    for metric in METRICS:
        row = by_name.get(metric)
        if row is None:
            tiles.append({"metric": metric, "p75": "—", "rating": "none", "samples": 0, "shares": []})
            continue
        tiles.append({
            "metric": metric, "p75": shown(metric, row["p75"]), "rating": rating(metric, row["p75"]),
            "samples": row["samples"],
            "shares": [(r, row[r.replace("-", "_")]) for r in ("good", "needs-improvement", "poor")],
        })  # fmt: skip
    return tiles


def trend_figure(
    rows: list[dict[str, Any]], metric: str, where: str, bucket_seconds: int, since: str, until: str
) -> go.Figure:
    """The metric's p75 per time bucket over the whole range, with the lines where good and poor begin."""
    points = [r for r in rows if r["name"] == metric]
    fig = figure(f"{metric} p75 per {every(bucket_seconds)}, {plotly_text(where)}")
    fig.add_scatter(x=[r["minute"] for r in points], y=[r["p75"] for r in points], mode="lines+markers",
                    name=f"{metric} p75", customdata=[r["samples"] for r in points],
                    hovertemplate="%{y} at %{x}<br>%{customdata} samples<extra></extra>")  # fmt: skip
    good, poor = THRESHOLDS[metric]
    fig.add_hline(y=good, line_dash="dot", line_color=COLOURS["good"], annotation_text="good up to here")
    fig.add_hline(y=poor, line_dash="dot", line_color=COLOURS["poor"], annotation_text="poor above")
    fig.update_yaxes(title_text="ms" if metric != "CLS" else "layout shift", rangemode="tozero")
    fig.update_xaxes(range=[since.rstrip("Z"), until.rstrip("Z")])
    return fig


def histogram_figure(rows: list[dict[str, Any]], metric: str, where: str) -> go.Figure:
    """Samples per bin of the metric's values, each bar coloured by the rating of the values in it."""
    fig = figure(f"How {metric} spreads, {plotly_text(where)} (samples per bin)")
    if rows:
        last = rows[-1]["low"]
        labels = [shown(metric, r["low"]) + ("+" if r["low"] == last and len(rows) > 1 else "") for r in rows]
        fig.add_bar(x=labels, y=[r["samples"] for r in rows], name=metric,
                    marker_color=[COLOURS[rating(metric, r["low"])] for r in rows],
                    hovertemplate="from %{x}: %{y} samples<extra></extra>")  # fmt: skip
    fig.update_xaxes(title_text=MEANINGS[metric].split(":")[0], type="category")
    fig.update_yaxes(title_text="samples")
    return fig


def phases_figure(rows: list[dict[str, Any]], metric: str) -> go.Figure:
    """The median of each phase of the metric's attribution, as one stacked bar: where the time goes."""
    fig = figure(f"Where {metric}'s time goes (median of each phase, ms)", height=200)
    for row in rows:
        fig.add_bar(y=[metric], x=[row["median_ms"]], name=plotly_text(row["phase"]).replace("_", " "),
                    orientation="h", hovertemplate="%{x:.0f} ms<extra>%{fullData.name}</extra>")  # fmt: skip
    fig.update_layout(barmode="stack", legend={"orientation": "h", "y": -0.45, "traceorder": "normal"})
    return fig
