"""Caches outside DuckDB are bounded in memory, not only in entries (docs/analytics.md, Memory and threads)."""

from __future__ import annotations

from analytics.enrich.stack import Frame, parse_line
from analytics.enrich.symbolicate import STACK_MEMO_CHARS, SourceMapCache, symbolicate
from analytics.issue_index import BYTES_PER_ISSUE, cache_entries
from analytics.memo import memo
from analytics.scrub import URL_CACHE_BUDGET, Scrubber, ScrubSettings


def test_a_memo_keeps_only_calls_whose_strings_are_short_and_answers_alike():
    calls: list[str] = []

    @memo(maxsize=100, max_chars=10)
    def upper(text: str, suffix: str = "") -> str:
        calls.append(text)
        return text.upper() + suffix

    assert upper("short", "!") == upper("short", "!") == "SHORT!"
    assert calls == ["short"]  # the second answer came from memory
    long = "x" * 11
    assert upper(long) == upper(long) == "X" * 11
    assert calls == ["short", long, long]  # never kept: computed each time
    assert upper.cache_info().currsize == 1  # type: ignore[attr-defined]


def test_stack_lines_longer_than_the_bound_are_parsed_alike_but_not_kept():
    line = "    at pay (https://shop.example/" + "a" * 600 + ".js:1:2)"
    before = parse_line.cache_info().currsize  # type: ignore[attr-defined]
    assert parse_line(line) == ("pay", "https://shop.example/" + "a" * 600 + ".js", 1, 2, "normal")
    assert parse_line.cache_info().currsize == before  # type: ignore[attr-defined]


def test_remembered_stacks_are_bounded_in_characters():
    cache = SourceMapCache(lambda release, key: None)  # no maps: every frame kept as it came
    context = "x" * 2000
    frames = [Frame("f", f"https://cdn.example/{n}.js", 1, n + 1, False, context=context) for n in range(50)]
    for n in range(200):  # about 100,000 characters each: some 20 million in all, past the bound
        symbolicate([*frames, Frame(f"g{n}", "https://cdn.example/x.js", 1, 1, False)], "r", cache)
        assert cache._stack_chars <= STACK_MEMO_CHARS
    assert 0 < len(cache._stacks) < 200


def test_scrubbed_urls_are_bounded_in_characters():
    scrubber = Scrubber(ScrubSettings())
    for n in range(3000):  # 3,000 URLs of 1,000 characters: 6 million with their scrubbed forms
        scrubber.url(f"https://shop.example/{n}/" + "p" * 980)
        assert scrubber._urls.size <= URL_CACHE_BUDGET


def test_the_issue_cache_is_set_in_bytes():
    assert cache_entries(32_000_000) == 32_000_000 // BYTES_PER_ISSUE
    assert cache_entries(1) == 100  # never so few that every batch looks its issues up
