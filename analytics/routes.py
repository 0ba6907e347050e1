"""A page's route: the path of its URL with ids collapsed, so ``/product/42`` and ``/product/7`` are one page.

A segment made of digits, or of 8 or more hex digits and dashes (a UUID, a hash), becomes
``:id``; the query and fragment are dropped; a URL with no path is ``/``, and no URL has no route. The pages of the
dashboard group by it, and take it back as the ``route`` parameter of the read API.
"""

from __future__ import annotations


def route_sql(column: str = "page_url") -> str:
    """SQL for the route of the URL in ``column``."""
    path = f"regexp_extract({column}, '^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*([^?#]*)', 1)"
    # Twice: a match eats the slash after it, so /1/2 needs a second pass for the 2.
    for _ in range(2):
        path = rf"regexp_replace({path}, '/([0-9]+|[0-9a-fA-F-]{{8,}})(/|$)', '/:id\2', 'g')"
    return f"CASE WHEN coalesce({column}, '') <> '' THEN coalesce(nullif({path}, ''), '/') END"


ROUTE = route_sql()
