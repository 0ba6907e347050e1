"""The fleet heat map: one cell per host, grouped by region or service, the worst first, coloured by one measure.

Built server-side into one Plotly heatmap trace (a matrix of ``WIDTH`` cells per row, a
blank row between groups), so 5,000 hosts are one trace of 5,000 numbers rather than 5,000
traces: the browser draws one image, and a click names the host under the pointer.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import plotly.graph_objects as go

from contracts.services import Service
from dashboard.widgets import figure, plotly_text

WIDTH = 50
#: What a cell can be coloured by: (label, unit, the top of its scale; None: the highest value shown).
MEASURES: dict[str, tuple[str, str, float | None]] = {
    "cpu": ("CPU busy", "%", 100.0),
    "memory": ("Memory used", "%", 100.0),
    "disk": ("Fullest disk", "%", 100.0),
    "load1": ("Load (1 min)", "", None),
    "fds": ("Open files", "% of the limit", 100.0),
    "errors": ("Errors of its services", "in the range", None),
    "checks": ("Its services' checks", "", 2.0),
}
GROUPS = {"region": "Region", "service": "Service"}
NO_SERVICE = "(no service)"
CHECK_STATES = {"up": 0.0, "degraded": 1.0, "down": 2.0}
SILENT = -1.0  # a host that stopped reporting: shown grey, first in its group
#: Green until well past half the scale, then amber, orange and red; the grey below zero is for silent hosts.
COLOURS = [[0.0, "#c3c8d0"], [0.049, "#c3c8d0"], [0.05, "#1a7f37"], [0.6, "#7fb03f"], [0.8, "#e3b341"],
           [0.9, "#d9822b"], [1.0, "#b42318"]]  # fmt: skip


@dataclass
class Host:
    name: str
    region: str
    last_seen: Any
    values: dict[str, float | None]
    services: list[str] = field(default_factory=list)

    @property
    def silent(self) -> bool:
        return self.values.get("cpu") is None


def hosts(
    rows: list[dict[str, Any]],
    declared: list[tuple[str, Service]],
    errors: dict[str, int],
    check_states: dict[tuple[str, str], str],
) -> list[Host]:
    """``hosts_now`` rows with the services that declare each host, their errors (by backend project) and the
    worst current state of their checks."""
    by_host: dict[str, list[tuple[str, Service]]] = defaultdict(list)  # each with its project: names repeat across
    for project, service in declared:
        for name in service.hosts:
            by_host[name].append((project, service))
    found = []
    for row in rows:
        services = by_host.get(row["host"], [])
        values: dict[str, float | None] = {k: row[k] for k in ("cpu", "memory", "disk", "load1", "fds")}
        values["errors"] = float(sum(errors.get(p, 0) for _, s in services for p in s.backend_projects))
        states = [CHECK_STATES[st] for project, s in services for c in s.checks
                  if (st := check_states.get((project, c), "")) in CHECK_STATES]  # fmt: skip
        values["checks"] = max(states) if states else None
        found.append(Host(row["host"], row["region"], row["last_seen"], values, [s.name for _, s in services]))
    return found


def worst_first(host: Host, measure: str) -> tuple[int, float, str]:
    """A sort key: silent hosts, then the highest value of ``measure``, then no value; by name between equals."""
    value = host.values.get(measure)
    return (0 if host.silent else 1, -(value if value is not None else -math.inf), host.name)


def grouped(found: list[Host], by: str, measure: str) -> dict[str, list[Host]]:
    """The hosts per region or service (a host of two services is in both), each group worst first; the groups
    with the worst host first."""
    groups: dict[str, list[Host]] = defaultdict(list)
    for host in found:
        for name in (host.services or [NO_SERVICE]) if by == "service" else [host.region or "(no region)"]:
            groups[name].append(host)
    for members in groups.values():
        members.sort(key=lambda h: worst_first(h, measure))
    return dict(sorted(groups.items(), key=lambda g: (worst_first(g[1][0], measure), g[0])))


def described(host: Host, measure: str) -> str:
    """A cell's value in words: ``91.5 %``, ``down``, ``silent since 12:04:10``."""
    if host.silent:
        return f"silent since {str(host.last_seen)[11:19]} UTC"
    value = host.values.get(measure)
    if value is None:
        return "no checks" if measure == "checks" else "—"
    if measure == "checks":
        return {0.0: "up", 1.0: "degraded", 2.0: "down"}[value]
    unit = MEASURES[measure][1]
    return f"{value:,.0f} errors" if measure == "errors" else f"{value:g}{' %' if unit.startswith('%') else ''}"


def heatmap(groups: dict[str, list[Host]], measure: str) -> go.Figure:
    """One heatmap trace: ``WIDTH`` hosts per row, a blank row between groups, each group named at its first row."""
    label, unit, top = MEASURES[measure]
    z: list[list[float | None]] = []
    names: list[list[str]] = []
    shown: list[list[str]] = []
    ticks: dict[int, str] = {}
    for group, members in groups.items():
        ticks[len(z)] = f"{plotly_text(group)} ({len(members)})"
        for start in range(0, len(members), WIDTH):
            chunk = members[start : start + WIDTH]
            pad = WIDTH - len(chunk)
            z.append([SILENT if h.silent else h.values.get(measure) for h in chunk] + [None] * pad)
            names.append([h.name for h in chunk] + [""] * pad)
            shown.append([f"{plotly_text(h.name)}: {described(h, measure)}" for h in chunk] + [""] * pad)
        z.append([None] * WIDTH)
        names.append([""] * WIDTH)
        shown.append([""] * WIDTH)
    highest = max((v for row in z for v in row if v is not None), default=1.0)
    zmax = top if top is not None else max(highest, 1.0)
    zmin = -zmax / 19  # the grey band: below zero, a twentieth of the scale
    count = sum(len(m) for m in groups.values())
    fig = figure(f"{count:,} hosts by {label.lower()}{f' ({unit})' if unit else ''}, worst first",
                 height=max(260, 22 * len(z) + 80))  # fmt: skip
    fig.add_heatmap(
        z=z, customdata=names, text=shown, zmin=zmin, zmax=zmax, colorscale=COLOURS, xgap=2, ygap=2,
        hoverongaps=False, hovertemplate="%{text}<extra></extra>",
        colorbar={"title": {"text": unit or label}, "tickvals": [zmin / 2, 0, zmax / 2, zmax],
                  "ticktext": ["silent", "0", f"{zmax / 2:g}", f"{zmax:g}"]},
    )  # fmt: skip
    fig.update_yaxes(autorange="reversed", tickvals=list(ticks), ticktext=list(ticks.values()), showgrid=False,
                     zeroline=False)  # fmt: skip
    fig.update_xaxes(visible=False)
    fig.update_layout(margin={"l": 150, "r": 10, "t": 40, "b": 10})
    return fig


def series_figure(rows: list[dict[str, Any]], host: str, since: str, until: str) -> go.Figure:
    """One host's CPU, memory, fullest disk and open files (%) per bucket, and its load on a second axis."""
    fig = figure(f"{plotly_text(host)}: CPU, memory, fullest disk and open files (%), and load")
    minutes = [r["minute"] for r in rows]
    for key, name in (("cpu", "CPU busy"), ("memory", "memory"), ("disk", "fullest disk"), ("fds", "open files")):
        fig.add_scatter(x=minutes, y=[r[key] for r in rows], name=name, mode="lines+markers")
    fig.add_scatter(x=minutes, y=[r["load1"] for r in rows], name="load (1 min)", mode="lines+markers", yaxis="y2",
                    line={"dash": "dot"})  # fmt: skip
    fig.update_layout(yaxis={"range": [0, 100], "title": {"text": "%"}},
                      yaxis2={"overlaying": "y", "side": "right", "title": {"text": "load"}, "rangemode": "tozero"},
                      legend={"orientation": "h", "y": -0.22}, margin={"l": 40, "r": 40, "t": 40, "b": 70})  # fmt: skip
    fig.update_xaxes(range=[since.rstrip("Z"), until.rstrip("Z")])
    return fig
