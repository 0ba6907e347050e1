"""The Web Vitals page's pieces that are pure functions of the read API's rows."""

from __future__ import annotations

from datetime import datetime

from dashboard.vitals_view import shown, slower_releases, summary_tiles


def release(name: str, p75: float, low: float, high: float, samples: int = 50, minute: int = 0, metric: str = "INP"):
    return {"route": "/checkout", "name": metric, "release": name, "first_seen": datetime(2026, 12, 1, 12, minute),
            "samples": samples, "p75": p75, "p75_low": low, "p75_high": high}  # fmt: skip


def test_values_read_in_their_units():
    assert [shown("LCP", 2412.0), shown("INP", 180.4), shown("CLS", 0.123), shown("TTFB", None)] == [
        "2.41 s", "180 ms", "0.12", "—",
    ]  # fmt: skip


def test_a_release_slower_beyond_chance_is_named_with_the_one_before():
    rows = [release("1.0", 150, 140, 160), release("1.1", 160, 150, 175, minute=5),
            release("1.2", 480, 430, 520, minute=9)]  # fmt: skip
    [slower] = slower_releases(rows)
    assert (slower.release, slower.before, slower.metric) == ("1.2", "1.1", "INP")
    assert slower.text() == "1.2: INP 160 ms → 480 ms (+200 % over 1.1)"


def test_noise_few_samples_and_small_changes_are_not_called_slower():
    overlapping = [release("1.0", 150, 120, 200), release("1.1", 240, 190, 300, minute=5)]
    few = [release("1.0", 150, 140, 160, samples=9), release("1.1", 400, 380, 420, samples=9, minute=5)]
    small = [release("1.0", 100, 98, 102), release("1.1", 130, 128, 132, minute=5)]  # +30 % but only 30 ms
    assert slower_releases(overlapping) == slower_releases(few) == slower_releases(small) == []


def test_the_summary_keeps_every_metric_in_order_even_without_samples():
    tiles = summary_tiles([{"name": "CLS", "samples": 3, "p75": 0.3, "good": 0.0, "needs_improvement": 0.0,
                            "poor": 1.0}])  # fmt: skip
    assert [(t["metric"], t["p75"], t["rating"]) for t in tiles] == [
        ("LCP", "—", "none"), ("INP", "—", "none"), ("CLS", "0.30", "poor"), ("FCP", "—", "none"),
        ("TTFB", "—", "none"),
    ]  # fmt: skip
