"""Fixtures the analytics tests share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from analytics.notify import Smtp
from tests.helpers import self_signed_certificate
from tests.receivers import SMTP_PASSWORD, SMTP_USER, Mailbox, smtp_server


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[tuple[Mailbox, Smtp]]:
    cert, key = self_signed_certificate(tmp_path)
    controller, mailbox, port = smtp_server(cert, key)
    try:
        yield (
            mailbox,
            Smtp("127.0.0.1", port, "starttls", SMTP_USER, SMTP_PASSWORD, "vigil@shop.example", str(cert), 10),
        )
    finally:
        controller.stop()
