"""What the demo shop's visitors experience, as the beacon reports it: each page view's timings and Web Vitals,
and what failed on the page that was not a script error (a third party, a broken image, the page's policy).

Each page of the shop has its own shape, so the Web Vitals page has something to say:

- ``/product/42`` is slow to show its photo (LCP around 3.5 s: a 2,400-pixel image);
- ``/checkout`` answered taps fast in ``shop@1.4.2`` and slowly in ``shop@1.5.0`` (INP about
  three times worse on its Pay button): a release that made a page slower;
- ``/`` jumps as its banner loads (CLS), and its old banner image is gone (a 404);
- phones are slower than desktops; the vendor's tracking call times out now and then, its
  browsers report it (NEL), and the checkout's policy blocks an ad script (CSP);
- the cart's own API call is slow now and then, its time spent waiting for the server, and the
  vendor's tracking call is slow too, its phases hidden (no ``Timing-Allow-Origin``).
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass


@dataclass(frozen=True)
class Shape:
    """A page's medians (ms, CLS unitless) and what its attribution names."""

    ttfb: float
    fcp: float
    lcp: float
    cls: float
    inp: float
    lcp_target: str
    lcp_image: str  # the LCP element's image, "" for text
    inp_target: str
    inp_event: str
    cls_target: str


SHAPES = {
    "/": Shape(300, 1000, 1700, 0.14, 110, "div.hero > h1", "", "input#search", "keydown", "div.banner"),
    "/product/42": Shape(350, 1100, 3500, 0.03, 140, "img.product-photo", "/img/kettle-2400.jpg", "button#add",
                         "click", "div.reviews"),
    "/cart": Shape(280, 900, 1400, 0.02, 120, "table.cart", "", "button.remove", "click", "div.summary"),
    "/checkout": Shape(320, 950, 1600, 0.05, 120, "form#payment", "", "button#pay", "click", "div.promo"),
}  # fmt: skip
#: Release 1.5.0 made the checkout's Pay button slow to answer.
SLOWER_IN = {("shop@1.5.0", "/checkout"): {"inp": 3.2}}
COUNTRIES = [("US", 5), ("DE", 3), ("GB", 2), ("FR", 2), ("BR", 2), ("IN", 2), ("JP", 1)]
REFERRERS = [("", 5), ("https://www.google.com/", 4), ("https://news.example/shop-review", 1)]
#: The vendor's tracking call: it times out on this share of page views, and its browsers report it.
VENDOR_TIMEOUTS = 0.03
BROKEN_BANNER = 0.15
BLOCKED_AD = 0.25
#: Share of the cart's page views whose API call takes a second or more (the server's part), and of all page
#: views whose tracking call to the vendor does (its phases hidden).
SLOW_CART = 0.2
SLOW_VENDOR = 0.05


def _around(rng: random.Random, median: float, spread: float = 0.35) -> float:
    """A value near ``median``, skewed right as real timings are (log-normal)."""
    return median * rng.lognormvariate(0, spread)


def _event(kind: str, ts: int, page_url: str, **fields: object) -> dict[str, object]:
    return {"type": kind, "event_id": secrets.token_hex(16), "ts": ts, "page_url": page_url, **fields}


def page_view(rng: random.Random, site: str, route: str, ts: int, referrer: str, release: str, mobile: bool,
              vendor: str) -> list[dict[str, object]]:  # fmt: skip
    """One page view of ``route``: the view with its timings, its Web Vitals, and what else failed on it."""
    shape = SHAPES[route]
    slower = {**SLOWER_IN.get((release, route), {})}
    phone = 1.6 if mobile else 1.0
    url = site + route
    ttfb = _around(rng, shape.ttfb * phone)
    fcp = max(ttfb + 50, _around(rng, shape.fcp * phone))
    lcp = max(fcp, _around(rng, shape.lcp * phone))
    cls = max(0.0, _around(rng, shape.cls, 0.6) - 0.01)
    inp = _around(rng, shape.inp * slower.get("inp", 1.0) * (1.8 if mobile else 1.0), 0.45)
    dns, connect = rng.uniform(0, 30), rng.uniform(15, 60)
    events = [
        _event("pageview", ts, url, navigation="navigate", referrer=referrer, dns=round(dns, 1),
               connect=round(connect, 1), tls=round(connect * 0.6, 1), ttfb=round(ttfb, 1),
               dom_interactive=round(fcp + 120, 1), load=round(lcp + 250, 1)),
    ]  # fmt: skip

    def vital(name: str, value: float, after_ms: int, **attribution: object) -> None:
        rounded = round(value, 4) if name == "CLS" else round(value, 1)
        events.append(_event("vital", ts + after_ms, url, name=name, value=rounded,
                             metric_id=f"v5-{secrets.token_hex(8)}", navigation_type="navigate",
                             attribution={k: v for k, v in attribution.items() if v not in ("", None)}))  # fmt: skip

    vital("TTFB", ttfb, int(ttfb), dns=round(dns, 1), connect=round(connect, 1), request=round(ttfb - dns - connect, 1),
          waiting=0.0)  # fmt: skip
    vital("FCP", fcp, int(fcp), ttfb=round(ttfb, 1), render_delay=round(fcp - ttfb, 1))
    load_delay = (lcp - ttfb) * 0.3 if shape.lcp_image else 0.0
    load_duration = (lcp - ttfb) * 0.5 if shape.lcp_image else 0.0
    vital("LCP", lcp, int(lcp), target=shape.lcp_target, url=site + shape.lcp_image if shape.lcp_image else "",
          ttfb=round(ttfb, 1), load_delay=round(load_delay, 1), load_duration=round(load_duration, 1),
          render_delay=round(lcp - ttfb - load_delay - load_duration, 1))  # fmt: skip
    vital("CLS", cls, 5000, target=shape.cls_target, largest_shift_value=round(cls * 0.7, 4), largest_shift_time=1200.0)
    if rng.random() < 0.8:  # some visitors leave without a tap
        vital("INP", inp, 6000, target=shape.inp_target, event=shape.inp_event, input_delay=round(inp * 0.15, 1),
              processing=round(inp * 0.6, 1), presentation=round(inp * 0.25, 1))  # fmt: skip
    if route == "/" and rng.random() < BROKEN_BANNER:
        events.append(_event("resource", ts + 900, url, url=site + "/img/banner-2019.png", element="img",
                             source="resource_timing", status=404, duration=round(rng.uniform(20, 80), 1)))  # fmt: skip
    if route == "/checkout" and rng.random() < BLOCKED_AD:
        events.append(_event("csp", ts + 400, url, blocked_uri="https://ads.tracker.example/pixel.js",
                             effective_directive="script-src-elem", disposition="enforce",
                             original_policy="script-src 'self' " + vendor))  # fmt: skip
    # Slow calls draw from their own generator (seeded by the view), so the shapes above stay as they were.
    calls = random.Random(ts)
    if route == "/cart" and calls.random() < SLOW_CART:
        server, transfer = _around(calls, 1500 * phone, 0.25), _around(calls, 60 * phone)
        events.append(_event("slow_request", ts + 700, url, api="fetch", url=site + "/api/cart", status=200,
                             duration=round(server + transfer, 1), dns=0.0, connect=0.0,
                             ttfb=round(server, 1)))  # fmt: skip
    if calls.random() < SLOW_VENDOR:
        events.append(_event("slow_request", ts + 2000, url, api="xmlhttprequest", url=vendor + "/track",
                             duration=round(_around(calls, 1800 * phone, 0.3), 1)))  # fmt: skip
    if rng.random() < VENDOR_TIMEOUTS:
        events.append(_event("network", ts + 10_000, url, api="fetch", method="POST", url=vendor + "/track",
                             status=0, duration=10000.0, failure="timeout", nel_phase="application",
                             nel_type="abandoned"))  # fmt: skip
    return events


def nel_report(vendor: str, page_url: str, user_agent: str) -> dict[str, object]:
    """The browser's own report (Network Error Logging) of the vendor's tracking call timing out."""
    return {
        "type": "network-error", "age": 0, "url": vendor + "/track", "user_agent": user_agent,
        "body": {"type": "tcp.timed_out", "phase": "connection", "elapsed_time": 10000, "method": "POST",
                 "status_code": 0, "referrer": page_url, "sampling_fraction": 1.0},
    }  # fmt: skip
