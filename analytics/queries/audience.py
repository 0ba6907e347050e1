"""What the pages about users' experience share: the rows of one table narrowed to the range and the audience.

Every query of ``vitals``, ``traffic`` and ``network`` takes the range, a project, and the
audience (``contracts.queries.AUDIENCE``: route, release, browser, device class, country);
``narrowed`` is their ``WHERE``, with each row's stored route. A session or user id sent
empty (the beacon sends ``""`` when it has none) comes out NULL, so it counts as no one.
"""

from __future__ import annotations

from analytics.queries.fragments import WHERE

_IDS = ("session_id", "user_id")


def narrowed(table: str, columns: str, *, by_route: bool = True) -> str:
    """SQL for ``table``'s rows in the range and the audience, with their ``route``. Without ``by_route`` the
    route is left to the caller to narrow (``$route``), after what it needs of the other pages."""
    route = "AND ($route IS NULL OR route = $route)" if by_route else ""
    selected = ", ".join(f"nullif({c}, '') AS {c}" if c in _IDS else c for c in (c.strip() for c in columns.split(",")))
    return f"""(SELECT {selected}, route FROM {table}
        WHERE {WHERE}
          AND ($release IS NULL OR release = $release) AND ($browser IS NULL OR browser = $browser)
          AND ($device IS NULL OR device_type = $device) AND ($country IS NULL OR country = $country)
          {route})"""
