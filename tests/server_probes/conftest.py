from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import free_port
from tests.server_probes.receiver import TOKEN, Receiver
from tests.server_probes.targets import Certs, dns_server, http_server, make_certs, tls_context


@pytest.fixture(scope="module")
def http_port() -> Iterator[int]:
    with http_server() as port:
        yield port


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def tls_ports(certs: Certs) -> Iterator[dict[str, int]]:
    with (
        http_server(tls_context(certs.valid)) as valid,
        http_server(tls_context(certs.expired)) as expired,
        http_server(tls_context(certs.self_signed)) as self_signed,
        http_server(tls_context(certs.other_name)) as other_name,
    ):
        yield {"valid": valid, "expired": expired, "self_signed": self_signed, "other_name": other_name}


@pytest.fixture(scope="module")
def dns_port() -> Iterator[int]:
    with dns_server({"shop.test": ["192.0.2.7", "192.0.2.8"]}) as port:
        yield port


@pytest.fixture
def write_config(tmp_path: Path):  # type: ignore[no-untyped-def]
    def write(text: str) -> Path:
        path = tmp_path / "probes.toml"
        path.write_text(text)
        return path

    return write


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A stand-in collector on a free loopback port: takes batches, serves the shared checks."""
    r = Receiver(free_port(), TOKEN)
    r.start()
    yield r
    r.stop()
