"""A page's route: the path of its URL with ids collapsed, so ``/product/42`` and ``/product/7`` are one page.

A segment made of digits, or of 8 or more hex digits and dashes (a UUID, a hash), becomes
``:id``; the query and fragment are dropped; a URL with no path is ``/``, and no URL has no
route. Every event table stores it (``route``, computed by ``route_array`` as rows are stored,
and by ``route_sql`` for rows stored before the column existed), so the pages of the dashboard
group by it without a regular expression per row, and take it back as the ``route`` parameter
of the read API.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

_PATH = r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*(?P<path>[^?#]*)"
_PATH_SQL = _PATH.replace("?P<path>", "")
_ID = r"/([0-9]+|[0-9a-fA-F-]{8,})(/|$)"


def route_sql(column: str = "page_url") -> str:
    """SQL for the route of the URL in ``column``."""
    path = f"regexp_extract({column}, '{_PATH_SQL}', 1)"
    # Twice: a match eats the slash after it, so /1/2 needs a second pass for the 2.
    for _ in range(2):
        path = rf"regexp_replace({path}, '{_ID}', '/:id\2', 'g')"
    return f"CASE WHEN coalesce({column}, '') <> '' THEN coalesce(nullif({path}, ''), '/') END"


ROUTE = route_sql()


def route_array(urls: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """The routes of ``urls``, as ``route_sql`` makes them (both use RE2): for rows as they are stored."""
    extracted = pc.struct_field(pc.extract_regex(urls, _PATH), "path")
    for _ in range(2):
        extracted = pc.replace_substring_regex(extracted, _ID, r"/:id\2")
    empty = pc.fill_null(pc.equal(extracted, ""), True)
    has_url = pc.fill_null(pc.not_equal(urls, ""), False)
    return pc.if_else(has_url, pc.if_else(empty, "/", extracted), pa.scalar(None, pa.string()))
