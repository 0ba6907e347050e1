"""A Sentry event as its SDK sent it, turned into a Vigil error event by analytics (``analytics/sentry/``)."""

from __future__ import annotations

import json

import msgspec
import pytest

from analytics.rows import details
from analytics.sentry import schema as sentry_schema
from analytics.sentry.convert import PART_BYTES, _details, formatted, stream_entry, to_batch
from contracts.beacon import MAX_DETAILS
from contracts.stream import SentryEventEntry


def test_details_are_cut_to_their_bounds_whatever_an_sdk_sends():
    deep: dict[str, object] = {"leaf": "x"}
    for level in range(8):
        deep = {f"l{level}": deep}
    event = sentry_schema.Event(
        extra={"deep": deep, "long": "y" * 5000, "many": list(range(500)),
               **{f"k{n}": "v" * 400 for n in range(200)}},
        contexts={"browser": {"name": "Chrome", "version": "131"}, "huge": {str(n): "z" * 900 for n in range(40)}},
    )  # fmt: skip
    details = json.loads(text := _details(event, str))  # str: nothing scrubbed
    assert len(text) <= MAX_DETAILS
    nested = details["extra"]["deep"]
    for level in reversed(range(4)):
        nested = nested[f"l{level + 4}"]
    assert nested == "{…}"  # five levels kept, the rest cut
    assert len(details["extra"]["long"]) == 1024
    assert len(details["extra"]["many"]) == 50
    assert details["extra"]["…"].endswith(f"(over {PART_BYTES['extra']} bytes)")
    assert details["contexts"]["browser"] == {"name": "Chrome", "version": "131"}


def test_details_that_are_not_a_json_object_are_left_out_not_fatal():
    assert details("x") == details("[1]") == details("") == (None, None, None)
    assert details('{"extra": {"a": 1}}') == ('{"a":1}', None, None)


def test_a_synthetic_message_keeps_every_real_exception_as_a_cause():
    event = sentry_schema.event_decoder.decode(json.dumps({
        "message": "retrying checkout",
        "exception": {"values": [
            {"type": "TimeoutError", "value": "socket"}, {"type": "ConnectionError", "value": "upstream"},
            {"value": "retrying checkout", "mechanism": {"type": "generic", "synthetic": True}},
        ]},
    }).encode())  # fmt: skip
    batch, _ = to_batch(event, "e" * 32, "", 1_700_000_000_000, None, str)
    [error] = batch.events
    assert (error.error_type, error.mechanism) == ("Message", "message")
    assert [c.error_type for c in error.causes] == ["ConnectionError", "TimeoutError"]  # outermost first


@pytest.mark.parametrize(
    ("template", "params", "text"),
    [
        ("Payment %s failed", [42], "Payment 42 failed"),  # the JavaScript SDK's parameterize sends no formatted
        ("%s paid %d of %s", ["alice", 3, {"cur": "EUR"}], 'alice paid 3 of {"cur":"EUR"}'),
        ("%(user)s left at %(pct)d%%", {"user": "bob", "pct": 80}, "bob left at 80%"),
        ("only %s here %s", ["one"], "only one here %s"),  # a placeholder without its param stays
        ("no params %s", None, "no params %s"),
        ("%s", ["x" * 5000], "x" * 1024),  # each param bounded
        ("%(a)s" * 3000, {"a": "y" * 5000}, "y" * 8192),  # a param named again and again: made once, cut at the bound
    ],
)
def test_a_log_entry_without_formatted_text_is_formatted_from_its_params(template, params, text):
    assert formatted(template, params) == text


def record(event: object, **fields: object) -> SentryEventEntry:
    return SentryEventEntry(
        project_id=2, project="shop", received_at=1_764_072_000_000, event_id="c" * 32, user_agent="curl/8",
        event=msgspec.Raw(json.dumps(event).encode()), **fields,  # type: ignore[arg-type]
    )  # fmt: skip


def test_a_queued_event_becomes_a_one_event_batch_with_what_the_collector_read_of_it():
    event = {
        "event_id": "ignored-the-collector-chose", "timestamp": 1_764_071_999.5, "release": "shop@3", "level": "fatal",
        "exception": {"values": [{"type": "TypeError", "value": "x is undefined",
                                  "stacktrace": {"frames": [{"filename": "https://shop.example/app.js",
                                                             "function": "pay", "lineno": 1, "colno": 9}]}}]},
        "request": {"url": "https://shop.example/cart", "headers": {"User-Agent": "Mozilla/5.0 Firefox/133.0"}},
        "user": {"id": "alice", "ip_address": "203.0.113.7"},
    }  # fmt: skip
    entry = stream_entry(record(event, sent_at=1_764_071_999_900, user_id="keyed", client_ip="203.0.113.0"), str)
    [error] = entry.batch.events
    assert (entry.project_id, entry.project, entry.received_at) == (2, "shop", 1_764_072_000_000)
    assert (error.event_id, entry.batch.batch_id) == ("c" * 32, "c" * 32)  # what the SDK was answered
    assert (error.ts, entry.batch.sent_at) == (1_764_071_999_500, 1_764_071_999_900)
    assert (error.error_type, error.level, error.file, error.column) == ("TypeError", "fatal",
                                                                        "https://shop.example/app.js", 9)  # fmt: skip
    # The user as the collector keyed and anonymized it; the event's own never read here.
    assert (entry.batch.user_id, entry.client_ip) == ("keyed", "203.0.113.0")
    assert entry.user_agent == "Mozilla/5.0 Firefox/133.0"  # the page's, over the sender's (a server SDK)
    assert stream_entry(record({"message": "hi"}), str).user_agent == "curl/8"


@pytest.mark.parametrize("event", [{"exception": 5}, {"breadcrumbs": "x"}, {"timestamp": [1]}, 7])
def test_an_event_the_collector_took_as_json_but_of_the_wrong_shape_is_counted_invalid_not_fatal(event):
    from analytics.pipeline import PROCESSORS
    from contracts.stream import EVENTS_STREAM, encode_record

    rows = PROCESSORS[EVENTS_STREAM](encode_record(record(event)))
    [outcome] = rows["outcomes"]
    assert outcome[4:] == (2, "shop", "invalid", "sentry_event", "event", 1)
    assert set(rows) == {"outcomes"}
    good = PROCESSORS[EVENTS_STREAM](encode_record(record({"message": "fine"})))
    assert [row[0] for row in good["errors"]] == ["c" * 32]


def test_a_sentry_events_details_are_scrubbed_as_they_are_bounded():
    from analytics.pipeline import PROCESSORS
    from analytics.scrub import Scrubber, ScrubSettings
    from contracts.stream import EVENTS_STREAM, encode_record

    event = {
        "message": "checkout failed",
        "extra": {
            "buyer": "ann@example.com",
            "nested": {"card": "4111 1111 1111 1111"},
            "lines": 3,
            "as_number": 4111111111111111,
            "order": 100000000042,
        },
        "contexts": {"app": {"note": "mail bob@example.com"}},
        "request": {"method": "POST", "headers": {"X-Customer": "carl@example.com"}},
    }
    entry = stream_entry(record(event), Scrubber(ScrubSettings()).text)
    details = json.loads(entry.batch.events[0].details)
    assert details["extra"] == {
        "buyer": "[email]",
        "nested": {"card": "[card]"},
        "lines": 3,
        "as_number": "[card]",
        "order": 100000000042,
    }  # a long number with nothing in it stays a number
    assert details["contexts"] == {"app": {"note": "mail [email]"}}
    assert details["request"]["headers"] == {"X-Customer": "[email]"}
    # Stored: nothing of any of them in any column of the row.
    [row] = PROCESSORS[EVENTS_STREAM](encode_record(record(event)))["errors"]
    stored = json.dumps([str(value) for value in row])
    assert "@example.com" not in stored
    assert "4111" not in stored
