"""User-Agent parsing: the Rust and the pure-Python parser answer alike; the automatic choice and its cache."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from analytics.enrich import ua
from analytics.enrich.ua import Client, UserAgentParser, parse_user_agent

# Deterministic printable noise, 10 KB: what a fuzzer or a broken client might send.
GARBAGE = "".join(chr(33 + (i * 7919) % 94) for i in range(10_240))

CASES = {
    "chrome_windows": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Safari/537.36",
        Client("Chrome", "124.0.0", "Windows", "10", "desktop", False),
    ),
    "chrome_android": (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.6367.82 Mobile Safari/537.36",
        Client("Chrome Mobile", "124.0.6367", "Android", "14", "mobile", False),
    ),
    "firefox": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
        Client("Firefox", "125.0", "Windows", "10", "desktop", False),
    ),
    "safari_macos": (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.4.1 Safari/605.1.15",
        Client("Safari", "17.4.1", "Mac OS X", "10.15.7", "desktop", False),
    ),
    "safari_ios": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.4.1 Mobile/15E148 Safari/604.1",
        Client("Mobile Safari", "17.4.1", "iOS", "17.4.1", "mobile", False),
    ),
    "ipad": (
        "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/16.6 Mobile/15E148 Safari/604.1",
        Client("Mobile Safari", "16.6", "iOS", "16.6", "tablet", False),
    ),
    "edge": (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.67",
        Client("Edge", "124.0.2478", "Windows", "10", "desktop", False),
    ),
    "googlebot": (
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        Client("Googlebot", "2.1", "Other", "", "bot", True),
    ),
    "bingbot": (
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        Client("bingbot", "2.0", "Other", "", "bot", True),
    ),
    # ua-parser names it but does not call it a spider: the end-to-end tests' Chromium is one.
    "headless_chrome": (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "HeadlessChrome/124.0.6367.29 Safari/537.36",
        Client("HeadlessChrome", "124.0.6367", "Linux", "", "desktop", False),
    ),
    "curl": ("curl/8.5.0", Client("curl", "8.5.0", "Other", "", "other", False)),
    "empty": ("", Client("Other", "", "Other", "", "other", False)),
    "garbage": (GARBAGE, Client("Other", "", "Other", "", "other", False)),
}


@pytest.fixture
def python_only() -> Iterator[None]:
    """Put the fallback behind ``parse_user_agent``, then the automatic choice back."""
    ua.use("python")
    yield
    ua.use("auto")


@pytest.mark.parametrize("name", ["rust", "python"])
@pytest.mark.parametrize("case", CASES)
def test_both_parsers_give_the_expected_client(name, case):
    user_agent, expected = CASES[case]
    parser = UserAgentParser(name)
    assert parser.name == name
    assert parser(user_agent) == expected


def test_auto_takes_the_accelerator_when_it_imports():
    assert UserAgentParser("auto").name == "rust"
    assert ua.PARSER == "rust"


def test_auto_falls_back_without_the_accelerator(monkeypatch):
    # As if ua-parser-rs were not installed: ua_parser.regex is the module that imports it.
    monkeypatch.setitem(sys.modules, "ua_parser.regex", None)
    assert UserAgentParser("auto").name == "python"
    with pytest.raises(RuntimeError, match="ua-parser-rs"):
        UserAgentParser("rust")


def test_forcing_the_fallback(python_only):
    assert ua.PARSER == "python"
    user_agent, expected = CASES["chrome_android"]
    assert parse_user_agent(user_agent) == expected


def test_cache_returns_the_same_client():
    user_agent = CASES["firefox"][0] + " cache-test"
    first = parse_user_agent(user_agent)
    assert parse_user_agent(user_agent) is first


def test_input_is_cut_to_512_characters_before_parsing_and_caching():
    prefix = CASES["safari_ios"][0].ljust(ua.MAX_LENGTH, " ")
    client = parse_user_agent(prefix)
    assert parse_user_agent(prefix + "X" * 5000) is client
    assert UserAgentParser("python")(prefix + " Googlebot/2.1") == UserAgentParser("rust")(prefix) == client


def test_switching_parser_empties_the_cache():
    user_agent = CASES["edge"][0]
    before = parse_user_agent(user_agent)
    ua.use("auto")
    after = parse_user_agent(user_agent)
    assert after == before
    assert after is not before
