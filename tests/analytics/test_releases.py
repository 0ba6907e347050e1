"""Which release is newer: the release names Sentry parses, as a table."""

from __future__ import annotations

from datetime import datetime

import pytest

from analytics.releases import ReleaseOrder
from analytics.store import open_database
from contracts.releases import compare, parse


@pytest.mark.parametrize(
    ("newer", "older"),
    [
        ("shop@2.0.0-rc.1", "shop@1.9.0"),  # once parsed as (1,): an issue resolved in 1.9.0 never regressed
        ("shop@2.0.0", "shop@2.0.0-rc.1"),  # a release is newer than its own pre-releases
        ("shop@2.0.0-rc.2", "shop@2.0.0-rc.1"),
        ("shop@2.0.0-rc.10", "shop@2.0.0-rc.2"),  # numeric identifiers compare as numbers
        ("shop@2.0.0-beta", "shop@2.0.0-alpha"),
        ("shop@1.0.0-alpha.1", "shop@1.0.0-alpha"),  # more identifiers, the rest equal: newer
        ("shop@1.0.0-alpha.beta", "shop@1.0.0-alpha.1"),  # words above numbers
        ("shop@1.10.0", "shop@1.9.2"),
        ("shop@1.0", "shop@1.0rc1"),  # letters right after the numbers start a pre-release
        ("shop@1.2.3.4", "shop@1.2.3"),  # a fourth number, the revision
        ("shop@v2", "shop@v1.9"),
        ("2.0.0", "1.9.9"),  # a bare version
        ("org.example.FooApp@1.0.1+20200101100", "org.example.FooApp@1.0.0+20200101200"),
    ],
)
def test_versions_of_one_package_compare_by_precedence(newer, older):
    assert compare(newer, older) == 1
    assert compare(older, newer) == -1


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("shop@1.2.3+build.45", "shop@1.2.3+build.46"),  # build metadata does not count: first sighting decides
        ("shop@1.2.3", "shop@1.2.3"),
    ],
)
def test_equally_new_versions(a, b):
    assert compare(a, b) == 0


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("app@abc123f", "app@abc123e"),  # commit ids: not versions (once parsed as (123,))
        ("app@0123456789abcdef0123456789abcdef01234567", "app@1.0.0"),  # a 40-digit hash, though it starts with 0
        ("shop@2.0.0", "admin@1.0.0"),  # two packages
        ("nightly-2026-12-01", "nightly-2026-11-30"),
        ("", "shop@1.0"),
    ],
)
def test_releases_that_are_not_versions_of_one_package_do_not_compare(a, b):
    assert compare(a, b) is None


def test_parse_keeps_package_numbers_pre_release_and_build():
    release = parse("shop@1.2.3-rc.1+build.45")
    assert (release.package, release.build) == ("shop", "build.45")
    assert release.version is not None
    assert (release.version.numbers, release.version.final) == ((1, 2, 3, 0), False)
    assert parse("shop@1.2.3").version.final  # type: ignore[union-attr]
    assert parse("app@abc123f").version is None


def test_releases_that_do_not_compare_are_ordered_by_first_sighting(tmp_path):
    con = open_database(tmp_path / "vigil.duckdb")  # with its releases table, empty
    order = ReleaseOrder(con, cache_entries=2)
    new = order.plan([(1, "app@abc123f", datetime(2026, 12, 1)), (1, "app@def456a", datetime(2026, 12, 2))])
    assert new == {(1, "app@abc123f"): datetime(2026, 12, 1), (1, "app@def456a"): datetime(2026, 12, 2)}
    con.executemany("INSERT INTO releases VALUES (?, ?, ?)", [[p, r, t] for (p, r), t in new.items()])
    order.commit(new)
    assert order.newer(1, "app@def456a", "app@abc123f")
    assert not order.newer(1, "app@abc123f", "app@def456a")
    assert order.newer(1, "shop@1.2.3+46", "shop@1.2.3+45") is False  # never seen: cannot say
    # Forgotten by the bounded cache, found again in the table.
    order.commit({(1, f"x{n}"): datetime(2026, 12, 3) for n in range(5)})
    assert len(order._seen) <= 3
    assert order.newer(1, "app@def456a", "app@abc123f")
    assert order.plan([(1, "app@abc123f", datetime(2026, 12, 9))]) == {}  # stored already: not new
    con.close()
