"""Scrubbing: each rule, the Luhn check, URLs, extra patterns, and hostile input in linear time."""

from __future__ import annotations

import time

import pytest

from analytics.scrub import (
    TEXT_CACHE_BUDGET,
    TEXT_CACHE_CHARS,
    URL_CACHE_SIZE,
    Scrubber,
    ScrubSettings,
    sensitive_param,
)
from contracts.settings import ConfigError

WHERE = "vigil.toml [projects.shop.scrub]"
scrub = Scrubber(ScrubSettings())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("paid with 4111 1111 1111 1111 today", "paid with [card] today"),
        ("card=4111-1111-1111-1111", "card=[card]"),
        ("5555555555554444", "[card]"),
        ("amex 3782 822463 10005.", "amex [card]."),  # 15 digits, Amex grouping
        ("visa 4222222222222", "visa [card]"),  # 13 digits
        ("qty 2 4111 1111 1111 1111 12", "qty 2 [card] 12"),  # within a longer run of digit groups
        ("6011111111111117;", "[card];"),
    ],
)
def test_luhn_valid_card_numbers_are_replaced(text, expected):
    assert scrub.text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "4111 1111 1111 1112",  # fails the Luhn check
        "at 1700000000000 ms",  # a 13-digit timestamp, not Luhn-valid
        "order 123456789012",  # 12 digits
        "41111111111111111111111",  # 23 digits: longer than any card
        "id 12345678-1234-1234-1234-123456789012",  # an all-digit UUID
        "at pay (https://shop.example/static/app.js:12:345)",
        "at https://shop.example/app.js:1:2045\n@https://cdn.example.net/vendor.js:2:18840",
        "took 1234 ms, 3.14159, version 1.2.3, 10.0.0.1",
    ],
)
def test_other_numbers_and_stack_positions_stay(text):
    assert scrub.text(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("no account for bob.smith+shop@mail.example.co.uk.", "no account for [email]."),
        ("to: a@b.io, c_d@e.org", "to: [email], [email]"),
        ("user@localhost", "user@localhost"),  # no top-level domain: not an address
        ("at fn@https://shop.example/app.js:1:2", "at fn@https://shop.example/app.js:1:2"),  # Firefox frame
    ],
)
def test_emails(text, expected):
    assert scrub.text(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc-_x=", "Authorization: Bearer [token]"),
        ('{"authorization":"Basic dXNlcjpwYXNz"}', '{"authorization":"Basic [token]"}'),
        ("authorization=sk_live_abc123", "authorization=[token]"),
        ("sent bearer 0a1b2c3d4e5f to api", "sent Bearer [token] to api"),
        ("Invalid bearer credentials", "Invalid bearer credentials"),  # prose
    ],
)
def test_bearer_tokens_and_authorization(text, expected):
    assert scrub.text(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("login failed password=hunter2 for x", "login failed password=[redacted] for x"),
        ("secret: s3cr3t", "secret: [redacted]"),
        ('{"password": "hunter 2", "user": "bob"}', '{"password": "[redacted]", "user": "bob"}'),
        ("client_secret='abc', api_key = k-1;", "client_secret='[redacted]', api_key = [redacted];"),
        ("GET /cb?code=1&access_token=xyz&state=2", "GET /cb?code=1&access_token=[redacted]&state=2"),
        ("PASSWD=x sessionid=y", "PASSWD=[redacted] sessionid=[redacted]"),
        ("see https://bob:pa55@db.example/x", "see https://bob:[redacted]@db.example/x"),
        ("author=bob keyword=hat tokens are fine", "author=bob keyword=hat tokens are fine"),
    ],
)
def test_secret_pairs_in_free_text(text, expected):
    assert scrub.text(text) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://bob:hunter2@shop.example:8443/a", "https://bob:[redacted]@shop.example:8443/a"),
        ("https://bob@shop.example/a", "https://bob@shop.example/a"),
        (
            "https://shop.example/a?q=shoes&token=abc&API_KEY=zz&sort=asc",
            "https://shop.example/a?q=shoes&token=[redacted]&API_KEY=[redacted]&sort=asc",
        ),
        (
            "https://s3.example/o?X-Amz-Credential=AK%2F1&X-Amz-Signature=f00&X-Amz-Expires=60",
            "https://s3.example/o?X-Amz-Credential=[redacted]&X-Amz-Signature=[redacted]&X-Amz-Expires=60",
        ),
        ("/login?user%5Bpassword%5D=x&next=/home", "/login?user%5Bpassword%5D=[redacted]&next=/home"),
        ("https://app.example/cb#access_token=xyz&state=1", "https://app.example/cb#access_token=[redacted]&state=1"),
        ("https://app.example/docs#section-2", "https://app.example/docs#section-2"),
        ("https://shop.example/?key=&sig", "https://shop.example/?key=&sig"),  # nothing to hide
        ("https://shop.example/?email=ann@example.com", "https://shop.example/?email=[email]"),
        ("https://shop.example/p/1?keyword=hat&monkey=1", "https://shop.example/p/1?keyword=hat&monkey=1"),
    ],
)
def test_urls(url, expected):
    assert scrub.url(url) == expected


@pytest.mark.parametrize(
    ("name", "sensitive"),
    [
        ("password", True), ("PWD", True), ("client_secret", True), ("refresh_token", True), ("apiKey", True),
        ("api-key", True), ("sessionid", True), ("PHPSESSID", False), ("sig", True), ("auth", True),
        ("credentials", True), ("key", True), ("q", False), ("keyword", False), ("author", False), ("page", False),
    ],
)  # fmt: skip
def test_sensitive_parameter_names(name, sensitive):
    assert sensitive_param(name) is sensitive


def test_extra_patterns():
    settings = ScrubSettings.from_toml({"extra_patterns": [r"ACCT-\d{6,10}", r"(?i)internal-[a-z]+"]}, WHERE)
    assert settings == ScrubSettings(extra_patterns=(r"ACCT-\d{6,10}", r"(?i)internal-[a-z]+"))
    custom = Scrubber(settings)
    assert custom.text("ACCT-1234567 on INTERNAL-host failed") == "[redacted] on [redacted] failed"
    assert custom.url("https://x.example/a/ACCT-1234567?q=1") == "https://x.example/a/[redacted]?q=1"
    assert scrub.text("ACCT-1234567") == "ACCT-1234567"


def test_an_extra_pattern_that_can_match_empty_inserts_nothing():
    assert Scrubber(ScrubSettings(extra_patterns=(r"\bzz\b|\b",))).text("a zz b") == "a [redacted] b"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"patterns": ["x"]}, "unknown scrub setting patterns"),
        ({"extra_patterns": "ACCT-.*"}, "extra_patterns must be a list of strings"),
        ({"extra_patterns": ["a"] * 51}, "extra_patterns has 51 patterns, at most 50 allowed"),
        ({"extra_patterns": ["a" * 501]}, "extra_patterns[0] must be 1 to 500 characters"),
        ({"extra_patterns": ["ok", "(unclosed"]}, "extra_patterns[1] is not a valid pattern: missing ): (unclosed"),
        ({"extra_patterns": [r"(?<=id=)\d+"]}, "extra_patterns[0] is not a valid pattern: invalid perl operator: (?<"),
        ({"extra_patterns": ["x*"]}, "extra_patterns[0] matches the empty string"),
    ],
)
def test_extra_pattern_errors_are_one_line_naming_where_and_key(table, message):
    with pytest.raises(ConfigError) as caught:
        ScrubSettings.from_toml(table, WHERE)
    text = str(caught.value)
    assert text.startswith(f"{WHERE}: {message}")
    assert "\n" not in text


HOSTILE = {
    "letters": "a" * 100_000,
    "spaced digits": "1 " * 50_000,
    "dashed digits": "4-" * 50_000,
    "digits": "4" * 100_000,
    "digit groups": "4111 " * 20_000,
    "short digit groups": "411 " * 25_000,
    "dashed groups": "4111-1111 " * 10_000,
    "words": "x " * 50_000,
    "long local parts": ("a" * 64 + "@") * 1_500,
    "at signs": "a@" * 50_000,
    "dotted": "a." * 50_000 + "@",
    "domain labels": "x@" + "a." * 50_000,
    "pair names": "password=" * 11_000,
    "prefixed names": "x_" * 50_000 + "password",
    "bearer": "bearer " * 14_000,
    "authorization": "Authorization: " * 6_700,
    "userinfo": "://" + "a:" * 50_000,
    "spaces": " " * 100_000,
    "quotes": 'password="' + "x" * 100_000,
    "query": "?" + "token=a&" * 12_500,
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_input_is_scrubbed_in_linear_time(name):
    custom = Scrubber(ScrubSettings(extra_patterns=(r"(a+)+$", r"(\w+\s?)+=")))  # exponential on Python's re
    value = HOSTILE[name]
    started = time.perf_counter()
    custom.text(value)
    custom.url(value)
    assert time.perf_counter() - started < 1.0  # a loose bound: any backtracking blow-up takes far longer


def test_long_input_is_scrubbed_in_full():
    value = "x" * 30_000 + " ann@example.com " + "y" * 30_000 + " 4111111111111111"
    assert scrub.text(value) == "x" * 30_000 + " [email] " + "y" * 30_000 + " [card]"


def test_scrubbed_urls_are_remembered_within_a_bound() -> None:
    scrubber = Scrubber(ScrubSettings())
    secret = "https://shop.example/reset?token=abc123&page=2"
    first = scrubber.url(secret)
    assert "abc123" not in first
    assert scrubber.url(secret) == first  # from memory, the same answer
    for n in range(URL_CACHE_SIZE + 10):
        scrubber.url(f"https://shop.example/p/{n}?email=a{n}@b.example")
    assert len(scrubber._urls) <= URL_CACHE_SIZE
    assert scrubber.url(secret) == first  # forgotten, scrubbed again alike


def test_scrubbed_texts_are_remembered_within_bounds() -> None:
    scrubber = Scrubber(ScrubSettings(extra_patterns=["order-[0-9]+"]))
    stack = "Error: card 4111 1111 1111 1111 for ann@example.com order-42\n    at pay (https://shop.example/app.js:1:2)"
    first = scrubber.text(stack)
    assert first == "Error: card [card] for [email] [redacted]\n    at pay (https://shop.example/app.js:1:2)"
    assert scrubber.text(stack) == first  # from memory, the same answer
    for n in range(TEXT_CACHE_BUDGET // 1000):  # twice the budget: texts whose scrubbed forms are longer
        scrubber.text(f"{n:06d}" + "order-1 " * 100)
        assert sum(len(k) + len(v) for k, v in scrubber._texts.items()) <= TEXT_CACHE_BUDGET
    assert scrubber.text(stack) == first  # forgotten, scrubbed again alike
    long = "x" * TEXT_CACHE_CHARS + " ann@example.com"
    assert scrubber.text(long).endswith(" [email]")
    assert long not in scrubber._texts  # too long to keep
