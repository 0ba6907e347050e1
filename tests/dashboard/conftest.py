"""A real dashboard process reading from the test's real analytics service."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import _service
from tests.helpers import Service


@pytest.fixture
def dashboard(data_dir, analytics) -> Iterator[Service]:
    service = _service(
        "dashboard",
        data_dir,
        {"VIGIL_DASHBOARD_ANALYTICS_URL": analytics.url, "VIGIL_DASHBOARD_REFRESH_SECONDS": "1"},
        "/healthz",
    )
    yield service
    service.stop()
