"""Caches outside DuckDB are bounded in memory, not only in entries (docs/analytics.md, Memory and threads)."""

from __future__ import annotations

from analytics.enrich.stack import Frame, parse_line
from analytics.enrich.symbolicate import STACK_MEMO_CHARS, SourceMapCache, symbolicate
from analytics.issue_index import BYTES_PER_ISSUE, cache_entries
from analytics.scrub import URL_CACHE_BUDGET, Scrubber, ScrubSettings
from contracts.memo import memo


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


def test_quiet_for_long_enough_duckdb_drops_its_cached_blocks_once(tmp_path):
    import duckdb

    from analytics.idle import FLOOR_BYTES, IdleMemory

    path, config = str(tmp_path / "x.duckdb"), {"memory_limit": "256MB", "threads": "1"}
    with duckdb.connect(path, config=config) as filling:
        filling.execute(
            "CREATE TABLE t AS SELECT i, md5(i::VARCHAR) || md5((i + 1)::VARCHAR) AS s FROM range(2500000) r(i)"
        )
    con = duckdb.connect(path, config=config)  # as the service opens its file
    now = [0.0]
    idle = IdleMemory(30, 256_000_000, clock=lambda: now[0])
    stored = [0]
    job = idle.job(lambda: stored[0])

    def usage() -> int:
        return int(con.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchone()[0])

    con.execute("SELECT max(length(s)) FROM t").fetchall()
    held = usage()
    assert held > 2 * FLOOR_BYTES  # the table's blocks, cached
    job(con, None)  # the first look: where things stand
    now[0] = 29.0
    job(con, None)
    assert (idle.released, usage()) == (0, held)  # not quiet long enough
    with idle.reading():  # a read answered
        pass
    now[0] = 40.0
    job(con, None)
    stored[0] = 100_000  # a batch stored
    now[0] = 75.0
    job(con, None)
    assert idle.released == 0  # each restarted the quiet spell
    stored[0] += 300  # a probe agent's trickle goes on: still quiet
    now[0] = 106.0
    job(con, None)
    assert idle.released == 1
    assert usage() <= FLOOR_BYTES < held / 2
    assert con.execute("SELECT current_setting('memory_limit')").fetchone() == ("244.1 MiB",)  # set back
    now[0] = 500.0
    job(con, None)
    assert idle.released == 1  # once per quiet spell
    with idle.reading():  # the limit is the whole database's: never lowered under a running read
        assert idle.release(con) is None
    assert idle.release(con) is not None
    assert con.execute("SELECT current_setting('memory_limit')").fetchone() == ("244.1 MiB",)
    con.close()
