"""Inbound filters: each one on by default, each one can be turned off, config errors name where and what."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import pytest

from analytics.enrich.stack import Frame
from analytics.filters import DEFAULT_MIN_VERSIONS, FILTERS, NEVER, FilterSettings, filter_reason
from contracts.settings import ConfigError

WHERE = "vigil.toml [projects.shop.filters]"
PAGE = "https://shop.example/cart"
APP_FRAME = Frame("pay", "https://shop.example/static/app.js", 1, 20, True)


def reason(settings: FilterSettings | None = None, **event: Any) -> str | None:
    """``filter_reason`` for an ordinary error from a current Chrome, changed by ``event``."""
    base: dict[str, Any] = {
        "kind": "error", "page_url": PAGE, "browser": "Chrome", "browser_version": "124.0.0", "is_bot": False,
        "error_type": "TypeError", "message": "x is undefined", "frames": (APP_FRAME,),
    }  # fmt: skip
    return filter_reason(settings or FilterSettings(), **(base | event))


def test_an_ordinary_event_is_kept():
    assert reason() is None
    assert reason(kind="network", error_type="", message="", frames=()) is None


def test_defaults_turn_every_built_in_filter_on():
    settings = FilterSettings()
    assert (settings.browser_extensions, settings.crawlers, settings.localhost, settings.legacy_browsers) == (
        True, True, True, True,
    )  # fmt: skip
    assert settings.legacy_min_versions == DEFAULT_MIN_VERSIONS
    assert (settings.message_globs, settings.url_globs) == ((), ())
    assert FILTERS == ("browser_extension", "crawler", "localhost", "legacy_browser", "message", "url")


@pytest.mark.parametrize(
    "url",
    [
        "chrome-extension://abcdefghijklmnop/content.js",
        "moz-extension://2d7c1f0e-1b2a-4c3d-9e8f-0a1b2c3d4e5f/inject.js",
        "safari-extension://com.example.ext-ABCDE12345/script.js",
        "safari-web-extension://1D2C3B4A-0000-1111-2222-333344445555/content.js",
        "ms-browser-extension://Ext_1234/script.js",
    ],
)
def test_a_frame_from_an_extension_drops_the_error(url):
    extension = Frame("inject", url, 1, 2, False)
    assert reason(frames=(APP_FRAME, extension)) == "browser_extension"  # anywhere in the stack
    assert reason(frames=(extension,)) == "browser_extension"  # the top frame


@pytest.mark.parametrize(
    ("error_type", "message"),
    [
        ("Error", "Extension context invalidated."),
        ("Error", "Could not establish connection. Receiving end does not exist."),
        ("TypeError", "Cannot read properties of undefined (reading 'top.GLOBALS')"),
        ("ReferenceError", "Can't find variable: _gCrWeb"),
        ("Error", "Failed to load chrome-extension://abc/x.js"),
    ],
)
def test_extension_messages_drop_the_error(error_type, message):
    assert reason(error_type=error_type, message=message) == "browser_extension"


def test_browser_extension_filter_off_or_not_an_error():
    extension = (Frame("inject", "chrome-extension://abc/content.js", 1, 2, False),)
    assert reason(FilterSettings(browser_extensions=False), frames=extension) is None
    assert reason(kind="resource", message="Extension context invalidated", frames=extension) is None


def test_crawlers():
    assert reason(is_bot=True) == "crawler"
    assert reason(FilterSettings(crawlers=False), is_bot=True) is None


@pytest.mark.parametrize(
    "page_url",
    [
        "http://localhost:3000/cart",
        "http://LOCALHOST./",
        "https://shop.localhost/",
        "http://127.0.0.1:8000/",
        "http://127.8.9.10/",
        "http://[::1]:8080/",
        "http://0.0.0.0:5000/",
        "http://[::ffff:127.0.0.1]/",
    ],
)
def test_localhost_pages(page_url):
    assert reason(page_url=page_url) == "localhost"
    assert reason(FilterSettings(localhost=False), page_url=page_url) is None


@pytest.mark.parametrize(
    "page_url",
    [
        "http://localhost.example.com/",
        "https://mylocalhost/",
        "http://10.0.0.1/",
        "http://[::1",
        "file:///tmp/a.html",
        "",
    ],
)
def test_pages_that_are_not_localhost(page_url):
    assert reason(page_url=page_url) is None


@pytest.mark.parametrize(
    ("browser", "version", "expected"),
    [
        ("Chrome", "79.0.3945", "legacy_browser"),
        ("Chrome", "80.0.3987", None),
        ("Chrome Mobile", "61.0", "legacy_browser"),
        ("Firefox", "77.0", "legacy_browser"),
        ("Firefox", "78.0", None),
        ("Safari", "12.1.2", "legacy_browser"),
        ("Mobile Safari", "13.0", None),
        ("Edge", "18.17763", "legacy_browser"),  # EdgeHTML
        ("IE", "11.0", "legacy_browser"),
        ("IE", "", "legacy_browser"),  # never allowed, version or not
        ("Chrome", "", None),  # no version, no verdict
        ("Yandex Browser", "1.0", None),  # families not in the table pass
        ("Other", "", None),
    ],
)
def test_legacy_browsers(browser, version, expected):
    assert reason(browser=browser, browser_version=version) == expected
    assert reason(FilterSettings(legacy_browsers=False), browser=browser, browser_version=version) is None


def test_legacy_minimums_from_config_are_merged_over_the_defaults():
    settings = FilterSettings.from_toml({"legacy_min_versions": {"Chrome": 100, "IE": 0}}, WHERE)
    assert settings.legacy_min_versions == {**DEFAULT_MIN_VERSIONS, "Chrome": 100, "IE": 0}
    assert reason(settings, browser_version="99.0") == "legacy_browser"
    assert reason(settings, browser="IE", browser_version="11.0") is None
    assert reason(settings, browser="Firefox", browser_version="60.0") == "legacy_browser"
    assert DEFAULT_MIN_VERSIONS["IE"] == NEVER


def test_message_globs_match_type_and_message_case_insensitively():
    settings = FilterSettings(message_globs=("*resizeobserver loop*", "ChunkLoadError: *"))
    assert reason(settings, error_type="Error", message="ResizeObserver loop limit exceeded") == "message"
    assert reason(settings, error_type="ChunkLoadError", message="Loading chunk 7 failed.") == "message"
    assert reason(settings, error_type="Error", message="Loading chunk 7 failed.") is None
    assert reason(settings, error_type="", message="ResizeObserver loop completed") == "message"
    # Only errors carry a message to filter on.
    assert reason(settings, kind="report", error_type="", message="ResizeObserver loop") is None


def test_url_globs_match_the_page_url():
    settings = FilterSettings(url_globs=("https://staging.*", "*?preview=*"))
    assert reason(settings, page_url="https://STAGING.shop.example/cart") == "url"
    assert reason(settings, page_url="https://shop.example/p/1?preview=1", kind="vital") == "url"
    assert reason(settings, page_url=PAGE) is None


def test_the_first_filter_in_order_wins():
    extension = (Frame("inject", "chrome-extension://abc/content.js", 1, 2, False),)
    settings = FilterSettings(message_globs=("*",), url_globs=("*",))
    event: dict[str, Any] = {
        "frames": extension, "is_bot": True, "page_url": "http://localhost/", "browser": "IE", "browser_version": "9",
    }  # fmt: skip
    assert reason(settings, **event) == "browser_extension"
    settings = dataclasses.replace(settings, browser_extensions=False)
    assert reason(settings, **event) == "crawler"
    settings = dataclasses.replace(settings, crawlers=False)
    assert reason(settings, **event) == "localhost"
    settings = dataclasses.replace(settings, localhost=False)
    assert reason(settings, **event) == "legacy_browser"
    settings = dataclasses.replace(settings, legacy_browsers=False)
    assert reason(settings, **event) == "message"
    assert reason(settings, **(event | {"kind": "pageview"})) == "url"


def test_a_hostile_glob_on_a_long_message_stays_fast():
    settings = FilterSettings(message_globs=("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b",))
    started = time.perf_counter()
    assert reason(settings, error_type="", message="a" * 100_000) is None
    assert time.perf_counter() - started < 1.0  # a loose bound: backtracking would take hours


def test_only_the_first_8192_characters_of_a_message_are_matched():
    settings = FilterSettings(message_globs=("*secret-tail",))
    assert reason(settings, error_type="", message="x" * 8192 + "secret-tail") is None
    assert reason(settings, error_type="", message="x" * 8000 + "secret-tail") == "message"


def test_from_toml_reads_every_setting():
    table = {
        "browser_extensions": False, "crawlers": False, "localhost": False, "legacy_browsers": False,
        "legacy_min_versions": {"Opera": 90}, "message_globs": ["Script error.*"], "url_globs": ["*/admin/*"],
    }  # fmt: skip
    assert FilterSettings.from_toml(table, WHERE) == FilterSettings(
        browser_extensions=False, crawlers=False, localhost=False, legacy_browsers=False,
        legacy_min_versions={**DEFAULT_MIN_VERSIONS, "Opera": 90}, message_globs=("Script error.*",),
        url_globs=("*/admin/*",),
    )  # fmt: skip
    assert FilterSettings.from_toml({}, WHERE) == FilterSettings()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"crawlers": "yes"}, "crawlers must be true or false, got 'yes'"),
        ({"localhost": 1}, "localhost must be true or false, got 1"),
        ({"bots": True}, "unknown filter setting bots"),
        ({"legacy_min_versions": [80]}, "legacy_min_versions must be a table of browser = major version, got [80]"),
        ({"legacy_min_versions": {"Chrome": "80"}}, "legacy_min_versions.Chrome must be a major version"),
        ({"legacy_min_versions": {"Chrome": -1}}, "legacy_min_versions.Chrome must be a major version"),
        ({"legacy_min_versions": {"Chrome": True}}, "legacy_min_versions.Chrome must be a major version"),
        ({"message_globs": "*boom*"}, "message_globs must be a list of strings, got '*boom*'"),
        ({"url_globs": ["ok", 3]}, "url_globs must be a list of strings"),
        ({"message_globs": ["*"] * 51}, "message_globs has 51 globs, at most 50 allowed"),
        ({"url_globs": ["a" * 201]}, "url_globs has a glob of 201 characters, at most 200"),
        ({"url_globs": [""]}, "url_globs has an empty glob"),
    ],
)
def test_from_toml_errors_are_one_line_naming_where_and_key(table, message):
    with pytest.raises(ConfigError) as caught:
        FilterSettings.from_toml(table, WHERE)
    text = str(caught.value)
    assert text.startswith(f"{WHERE}: {message}")
    assert "\n" not in text


def test_a_project_served_from_loopback_keeps_its_loopback_events(tmp_path):
    """A site created with --origin http://127.0.0.1:8480 had every event dropped while the collector said 202."""
    from analytics.project_settings import parse

    document = {"projects": [
        {"id": 1, "origins": ["http://127.0.0.1:8480"]},
        {"id": 2, "origins": ["https://shop.example"]},
        {"id": 3, "origins": ["http://localhost:3000"], "filters": {"localhost": True}},  # said outright: kept
    ]}  # fmt: skip
    settings = parse(document, tmp_path / "vigil.toml")
    assert [settings[n].filters.localhost for n in (1, 2, 3)] == [False, True, True]
