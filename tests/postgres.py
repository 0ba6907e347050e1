"""A real PostgreSQL for the tests (a DuckLake's catalog): Debian's server, run by the test as an unprivileged
cluster of its own on a loopback port, stopped by its pid."""

from __future__ import annotations

import dataclasses
import os
import pwd
import shutil
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.helpers import free_port, stop_process, wait_until

#: The unprivileged account the server runs as when the tests run as root (Debian's package makes it).
SERVER_USER = "postgres"


def server_binaries() -> Path | None:
    """The folder of Debian's PostgreSQL server programs (initdb, postgres), the newest version installed."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parent.parent.name))
    return found[-1].parent if found else None


@dataclasses.dataclass(frozen=True)
class Postgres:
    port: int
    user: str

    def catalog(self, database: str) -> str:
        """A libpq connection string for ``database`` on this server."""
        return f"host=127.0.0.1 port={self.port} user={self.user} dbname={database}"

    def create_database(self, name: str) -> str:
        """Create ``name`` and return its connection string."""
        subprocess.run(
            [shutil.which("psql") or "psql", "-X", "-q", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user,
             "-d", "postgres", "-c", f'CREATE DATABASE "{name}"'],
            check=True, capture_output=True, timeout=30,
        )  # fmt: skip
        return self.catalog(name)


@contextmanager
def running_postgres(folder: Path) -> Iterator[Postgres]:
    """A fresh cluster in ``folder``, trusting loopback connections, for as long as the block runs."""
    binaries = server_binaries()
    if binaries is None:
        raise RuntimeError("these tests need Debian's postgresql package: make test installs it")
    folder.mkdir(parents=True, exist_ok=True)
    # As root, the server runs as the unprivileged account (PostgreSQL refuses root); setpriv execs, so the
    # process started is the server itself and is stopped by its pid.
    as_user: list[str] = []
    if os.geteuid() == 0:
        account = pwd.getpwnam(SERVER_USER)
        os.chown(folder, account.pw_uid, account.pw_gid)
        as_user = ["setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}", "--init-groups", "--"]
    user = "vigil"
    data = folder / "data"
    subprocess.run(
        [*as_user, str(binaries / "initdb"), "-D", str(data), "-U", user, "--auth=trust", "-E", "UTF8",
         "--no-sync"],
        check=True, capture_output=True, timeout=120, env={**os.environ, "LC_ALL": "C.UTF-8"},
    )  # fmt: skip
    port = free_port()
    log = (folder / "server.log").open("wb")
    server = subprocess.Popen(
        [*as_user, str(binaries / "postgres"), "-D", str(data), "-p", str(port), "-k", str(folder),
         "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
         "-c", "full_page_writes=off", "-c", "max_connections=100"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        ready = str(binaries / "pg_isready")
        wait_until(
            lambda: (
                server.poll() is not None
                or subprocess.run([ready, "-q", "-h", "127.0.0.1", "-p", str(port)], timeout=10).returncode == 0
            ),
            timeout=60,
            what="PostgreSQL to accept connections",
        )
        if server.poll() is not None:
            raise RuntimeError(f"PostgreSQL did not start: {(folder / 'server.log').read_text()[-2000:]}")
        yield Postgres(port, user)
    finally:
        # SIGINT is PostgreSQL's fast shutdown: it ends the sessions still open rather than wait for them.
        if server.poll() is None:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                stop_process(server)
        log.close()
