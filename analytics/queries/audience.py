"""What the pages about users' experience share: the rows of one table narrowed to the range and the audience.

Every query of ``vitals``, ``traffic`` and ``network`` takes the range, a project, and the
audience (``contracts.queries.AUDIENCE``: route, release, browser, device class, country);
``narrowed`` is their ``WHERE``, with each row's stored route.
"""

from __future__ import annotations


def narrowed(table: str, columns: str, *, by_route: bool = True) -> str:
    """SQL for ``table``'s rows in the range and the audience, with their ``route``. Without ``by_route`` the
    route is left to the caller to narrow (``$route``), after what it needs of the other pages."""
    route = "AND ($route IS NULL OR route = $route)" if by_route else ""
    return f"""(SELECT {columns}, route FROM {table}
        WHERE ts >= $since AND ts < $until AND ($project IS NULL OR project = $project)
          AND ($release IS NULL OR release = $release) AND ($browser IS NULL OR browser = $browser)
          AND ($device IS NULL OR device_type = $device) AND ($country IS NULL OR country = $country)
          {route})"""
