"""Core Web Vitals: the published thresholds between good, needs improvement and poor (web.dev/articles/vitals).

Analytics and the dashboard rate a page's p75 by these, as the web-vitals library rates one
value: at or below ``good`` is good, above ``poor`` is poor, in between needs improvement.
"""

from __future__ import annotations

from typing import Literal

Metric = Literal["LCP", "INP", "CLS", "FCP", "TTFB"]
METRICS: tuple[Metric, ...] = ("LCP", "INP", "CLS", "FCP", "TTFB")
#: (good up to, poor above); milliseconds, except CLS (unitless).
THRESHOLDS: dict[str, tuple[float, float]] = {
    "LCP": (2500, 4000),
    "INP": (200, 500),
    "CLS": (0.1, 0.25),
    "FCP": (1800, 3000),
    "TTFB": (800, 1800),
}
#: What each metric measures, in a few words.
MEANINGS = {
    "LCP": "Largest Contentful Paint: when the main content shows",
    "INP": "Interaction to Next Paint: how fast the page answers a tap or click",
    "CLS": "Cumulative Layout Shift: how much the page jumps around",
    "FCP": "First Contentful Paint: when anything shows",
    "TTFB": "Time to First Byte: how fast the server answers",
}


def rating(metric: str, value: float) -> str:
    """good, needs-improvement or poor for ``value`` of ``metric``."""
    good, poor = THRESHOLDS[metric]
    return "good" if value <= good else "poor" if value > poor else "needs-improvement"
