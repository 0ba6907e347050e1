"""A check up close: where each run's time went per region, and its states over time, as pictures."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.widgets import every, plotly_text

PHASES = (("dns", "DNS"), ("connect", "connect"), ("tls", "TLS"), ("processing", "first byte"),
          ("transfer", "transfer"))  # fmt: skip
PHASE_COLOURS = {"dns": "#7aa6e0", "connect": "#4a7bd0", "tls": "#8a63c9", "processing": "#e3a33b",
                 "transfer": "#3fa37a"}  # fmt: skip
STATE_COLOURS = {"up": "#1a7f37", "degraded": "#e3b341", "down": "#b42318", "unknown": "#c3c8d0"}
OVERALL = "*"  # the region that stands for a check's state across its regions (docs/probes.md)


def phases_figure(rows: list[dict[str, Any]], check: str, bucket_seconds: int, since: str, until: str) -> go.Figure:
    """One panel per region, stacked bars of the median of each phase per bucket; runs that failed marked red."""
    regions = sorted({r["region"] for r in rows}) or [""]
    fig = make_subplots(rows=len(regions), cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=[plotly_text(r) for r in regions])  # fmt: skip
    width = bucket_seconds * 900
    for n, region in enumerate(regions, start=1):
        points = [r for r in rows if r["region"] == region]
        minutes = [p["minute"] for p in points]
        for key, name in PHASES:
            fig.add_bar(x=minutes, y=[p[key] or 0 for p in points], name=name, legendgroup=key, showlegend=n == 1,
                        marker_color=PHASE_COLOURS[key], width=width, row=n, col=1,
                        hovertemplate=f"{name}: %{{y:.0f}} ms<extra>{plotly_text(region)}</extra>")  # fmt: skip
        failed = [p for p in points if p["down"]]
        if failed:
            fig.add_scatter(x=[p["minute"] for p in failed], y=[p["duration"] or 0 for p in failed], mode="markers",
                            marker={"color": STATE_COLOURS["down"], "symbol": "x", "size": 9}, name="runs down",
                            legendgroup="down", showlegend=n == 1, row=n, col=1,
                            customdata=[p["down"] for p in failed],
                            hovertemplate="%{customdata} down<extra></extra>")  # fmt: skip
        fig.update_yaxes(title_text="ms", rangemode="tozero", row=n, col=1)
    fig.update_layout(
        title=f"{plotly_text(check)}: where each run's time went, median per {every(bucket_seconds)}, by region",
        barmode="stack", template="plotly_white", height=140 + 190 * len(regions),
        margin={"l": 50, "r": 10, "t": 70, "b": 30}, legend={"orientation": "h", "y": 1.06},
    )  # fmt: skip
    fig.update_xaxes(range=[since.rstrip("Z"), until.rstrip("Z")])
    return fig


def _time(value: object) -> datetime:
    """A time as the read API sends it (ISO-8601 text), or one already parsed."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value).rstrip("Z"))


def states_figure(changes: list[dict[str, Any]], check: str, since: str, until: str) -> go.Figure:
    """Each region's state over the range (and across regions, "all regions"), as coloured spans."""
    by_region: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for change in changes:
        by_region[change["region"]].append(change)
    start, end = _time(since), _time(until)
    fig = go.Figure()
    names = sorted(by_region, key=lambda r: (r != OVERALL, r))
    shown: set[str] = set()
    for region in names:
        label = "all regions" if region == OVERALL else plotly_text(region)
        spans = by_region[region]
        first = spans[0]
        if first["previous"] in ("up", "degraded", "down"):  # the state before the first change in the range
            spans = [{**first, "ts": start, "state": first["previous"]}, *spans]
        for span, after in zip(spans, [*spans[1:], None], strict=True):
            begins = max(span["ts"] if isinstance(span["ts"], datetime) else _time(str(span["ts"])), start)
            ends = (
                end if after is None else after["ts"] if isinstance(after["ts"], datetime) else _time(str(after["ts"]))
            )
            state = span["state"] if span["state"] in STATE_COLOURS else "unknown"
            fig.add_bar(y=[label], x=[(ends - begins).total_seconds() * 1000], base=[begins], orientation="h",
                        marker_color=STATE_COLOURS[state], name=state, legendgroup=state,
                        showlegend=state not in shown,
                        hovertemplate=f"{state} from %{{base|%H:%M:%S}}<extra>{label}</extra>")  # fmt: skip
            shown.add(state)
    fig.update_layout(title=f"{plotly_text(check)}: state over the range, per region", template="plotly_white",
                      barmode="overlay", height=120 + 40 * max(1, len(names)), xaxis={"type": "date"},
                      margin={"l": 110, "r": 10, "t": 40, "b": 30}, legend={"orientation": "h", "y": 1.15})  # fmt: skip
    fig.update_xaxes(range=[start.isoformat(), end.isoformat()])
    fig.update_yaxes(autorange="reversed")
    return fig
