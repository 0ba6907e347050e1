"""Dashboard users: names and Argon2id password hashes, kept in ``dashboard/users.sqlite3`` in the data directory.

Managed with ``vigil user add/remove/list``; read by the dashboard at each login and each
request (a removed user's sessions end at their next request). Hashes are argon2-cffi's
defaults (RFC 9106's low-memory profile); a hash made with older parameters is redone at
the next successful login. The file is readable by its owner only.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import secrets
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
_hasher = PasswordHasher()


@functools.cache
def _dummy() -> str:
    """Unknown names are checked against this, so a wrong name costs as long as a wrong password. Made at the first
    log-in, not at import: a hash takes 64 MiB and 0.1 s, which every process importing this module would pay."""
    return _hasher.hash("not a password anyone has")


class UserError(ValueError):
    """A name or password that cannot be used; the message is one line."""


def users_file(data_dir: Path) -> Path:
    return data_dir / "dashboard" / "users.sqlite3"


def check_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise UserError(
            f"user name {name[:70]!r}: 1 to 64 letters, digits and . _ @ + -, starting with a letter or digit"
        )
    return name


def check_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise UserError(f"a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    return password


class Users:
    def __init__(self, path: Path) -> None:
        self.path = path

    @contextlib.contextmanager
    def _db(self, create: bool = False) -> Iterator[sqlite3.Connection | None]:
        if not create and not self.path.exists():
            yield None
            return
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
        con = sqlite3.connect(self.path, timeout=5)
        try:
            with con:
                con.execute(
                    "CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, hash TEXT NOT NULL, "
                    "created_at TEXT NOT NULL, last_login TEXT, session_key TEXT NOT NULL)"
                )
                yield con
        finally:
            con.close()

    def add(self, name: str, password: str) -> None:
        check_name(name)
        check_password(password)
        with self._db(create=True) as db:
            assert db is not None
            try:
                db.execute(
                    "INSERT INTO users VALUES (?, ?, ?, NULL, ?)",
                    (name, _hasher.hash(password), _now(), secrets.token_urlsafe(16)),
                )
            except sqlite3.IntegrityError:
                raise UserError(f"user {name!r} exists already (vigil user remove {name} first)") from None

    def remove(self, name: str) -> bool:
        with self._db() as db:
            return db is not None and db.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount > 0

    def list(self) -> list[tuple[str, str, str | None]]:
        """(name, created at, last login) of every user, by name."""
        with self._db() as db:
            if db is None:
                return []
            return db.execute("SELECT name, created_at, last_login FROM users ORDER BY name").fetchall()

    def any(self) -> bool:
        with self._db() as db:
            return db is not None and db.execute("SELECT 1 FROM users LIMIT 1").fetchone() is not None

    def exists(self, name: str) -> bool:
        return self.session_key(name) is not None

    def session_key(self, name: str) -> str | None:
        """The user's key, held by each of their sessions: a user removed and added again has a new one."""
        with self._db() as db:
            row = db.execute("SELECT session_key FROM users WHERE name = ?", (name,)).fetchone() if db else None
            return str(row[0]) if row else None

    def verify(self, name: str, password: str) -> str | None:
        """The user's session key when ``password`` is ``name``'s (the login is recorded, an outdated hash redone)."""
        if len(password) > MAX_PASSWORD or not NAME.fullmatch(name):
            return None
        with self._db() as db:
            row = db.execute("SELECT hash, session_key FROM users WHERE name = ?", (name,)).fetchone() if db else None
            try:
                _hasher.verify(row[0] if row else _dummy(), password)
            except (VerificationError, InvalidHashError):
                return None
            if db is None or row is None:
                return None
            rehashed = _hasher.hash(password) if _hasher.check_needs_rehash(row[0]) else row[0]
            db.execute("UPDATE users SET last_login = ?, hash = ? WHERE name = ?", (_now(), rehashed, name))
            return str(row[1])


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
