"""Logging in to the dashboard, CSRF protection, failed-login throttling and security headers.

- With users (``vigil user add``), every page and callback needs a session: a page asks for
  ``/login?next=…``, a callback gets 401. Without users the dashboard is open for reading on
  loopback only (``dashboard/server.py`` refuses any other address) and triage asks for a user.
- The session is Flask's signed cookie (``vigil_session``; HttpOnly, SameSite=Lax, Secure
  with ``secure_cookies``), its key in ``dashboard/secret_key`` in the data directory. It
  holds the user's name, when they logged in, and a CSRF token; it ends ``session_hours``
  after the login, at logout, or when the user is removed.
- CSRF: every POST carries the session's token, in the ``X-CSRFToken`` header (Dash's
  renderer copies it from the ``_csrf_token`` cookie) or a form's ``csrf_token`` field, and
  a cross-site ``Origin`` is refused.
- Failed logins are throttled per name and per address: past ``MAX_FAILURES_PER_NAME`` (or
  ``MAX_FAILURES_PER_ADDRESS``) in ``FAILURE_WINDOW``, a login answers 429 until the window
  has moved on.
"""

from __future__ import annotations

import ipaddress
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import flask

from contracts.runfiles import write_private
from dashboard.settings import DashboardSettings
from dashboard.users import Users, users_file

USER_KEY = "VIGIL_USERS"
CSRF_COOKIE = "_csrf_token"  # the name Dash's renderer reads
FAILURE_WINDOW = 15 * 60.0
MAX_FAILURES_PER_NAME = 5
MAX_FAILURES_PER_ADDRESS = 20
MAX_TRACKED = 10_000
PUBLIC = ("/login", "/healthz", "/assets/vigil.css", "/favicon.ico")
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


class Throttle:
    """Failed logins per key in the last ``window`` seconds, for at most ``MAX_TRACKED`` keys, thread-safe.

    ``attempt`` charges an attempt before the password is checked (so parallel guesses count
    at once) and ``succeeded`` takes it back. Keys with failures inside the window are never
    forgotten to make room: when the table is full of them, every new key waits.
    """

    def __init__(self, window: float = FAILURE_WINDOW, tracked: int = MAX_TRACKED) -> None:
        self.window = window
        self.tracked = tracked
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures.get(key, deque())
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures

    def _room(self, now: float) -> bool:
        if len(self._failures) < self.tracked:
            return True
        for key in [k for k in self._failures if not self._recent(k, now)]:
            del self._failures[key]
        return len(self._failures) < self.tracked

    def attempt(self, limits: dict[str, int], now: float | None = None) -> float:
        """Seconds to wait before trying (0: go ahead, and the attempt is charged to every key)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            waits = []
            for key, limit in limits.items():
                failures = self._recent(key, now)
                waits.append(failures[-limit] + self.window - now if len(failures) >= limit else 0.0)
            if max(waits) > 0:
                return max(waits)
            if any(key not in self._failures for key in limits) and not self._room(now):
                return self.window  # full of keys that failed recently: nobody new until some age out
            for key in limits:
                self._failures.setdefault(key, deque()).append(now)
            return 0.0

    def succeeded(self, limits: dict[str, int]) -> None:
        """The attempt was right: the name's failures are forgotten, the address's charge taken back."""
        with self._lock:
            for key in limits:
                failures = self._failures.get(key)
                if key.startswith("name:") or not failures:
                    self._failures.pop(key, None)
                else:
                    failures.pop()


def secret_key(settings: DashboardSettings) -> bytes:
    """The key that signs session cookies: made once, kept in the data directory, readable by its owner only."""
    path = settings.data_dir / "dashboard" / "secret_key"
    try:
        return bytes.fromhex(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        key = secrets.token_bytes(32)
        write_private(path, key.hex())
        return key


def users() -> Users:
    found: Users = flask.current_app.config[USER_KEY]
    return found


def current_user() -> str | None:
    """The logged-in user of this request, if any."""
    name = flask.session.get("user")
    return name if isinstance(name, str) else None


def csrf_token() -> str:
    token = flask.session.get("csrf")
    if not isinstance(token, str):
        token = flask.session["csrf"] = secrets.token_urlsafe(32)
    return token


def content_security_policy(script_hashes: Sequence[str]) -> str:
    """Scripts from the dashboard only, plus Dash's inline scripts by their hashes; no eval, framing or plugins.

    Plotly and the grid set inline styles, hence ``style-src 'unsafe-inline'``. The browser
    tests fail on any violation of this policy (``tests/dashboard/conftest.py``).
    """
    scripts = " ".join(["'self'", *script_hashes])  # Dash quotes its hashes
    return (
        f"default-src 'self'; script-src {scripts}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    )


def install(server: flask.Flask, settings: DashboardSettings, script_hashes: Callable[[], Sequence[str]]) -> None:
    """Sessions, the login and logout routes, the gate, CSRF checks and security headers on ``server``."""
    server.config.update(
        SECRET_KEY=secret_key(settings),
        SESSION_COOKIE_NAME="vigil_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_hours),
        SESSION_REFRESH_EACH_REQUEST=False,  # the session ends session_hours after the login, used or not
    )
    server.config[USER_KEY] = Users(users_file(settings.data_dir))
    throttle = Throttle()
    lifetime = settings.session_hours * 3600

    @server.before_request
    def gate() -> Any:
        request = flask.request
        if request.method in UNSAFE:
            origin = request.headers.get("Origin")
            if origin and origin != request.host_url.rstrip("/"):
                return _refuse(403, "cross-site request refused")
            supplied = request.headers.get("X-CSRFToken") or request.form.get("csrf_token", "")
            if not secrets.compare_digest(supplied.encode(), csrf_token().encode()):
                return _refuse(403, "missing or wrong CSRF token: reload the page")
        name = current_user()
        expired = time.time() - float(flask.session.get("at", 0)) > lifetime
        if name is not None and (expired or flask.session.get("key") != users().session_key(name)):
            flask.session.clear()  # expired, or the user was removed (or removed and added again)
            name = None
        if name is not None or request.path in PUBLIC:
            return None
        if users().any():
            if request.method == "GET" and not request.path.startswith("/_"):
                return flask.redirect(flask.url_for("login", next=request.full_path.rstrip("?")))
            return _refuse(401, "log in first")
        # No users: open for reading, to this machine only, and only under its own name (no DNS rebinding).
        if not loopback(request.remote_addr or "") or not _loopback_host(request.host):
            return _refuse(403, "no dashboard user yet: create one with `vigil user add NAME`")
        return None

    @server.after_request
    def headers(response: flask.Response) -> flask.Response:
        csrf = csrf_token()
        if flask.request.cookies.get(CSRF_COOKIE) != csrf:
            response.set_cookie(
                CSRF_COOKIE, csrf, samesite="Strict", secure=settings.secure_cookies, httponly=False, path="/"
            )
        # Dash adds its inline scripts as it sets itself up at the first request: hashed at each answer.
        if "Content-Security-Policy" not in response.headers:  # a stored report sets its own, stricter one
            response.headers["Content-Security-Policy"] = content_security_policy(script_hashes())
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"  # "no-referrer" makes a form post's Origin "null"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        if not flask.request.path.startswith(("/assets/", "/_dash-component-suites/")):
            response.headers["Cache-Control"] = "no-store"  # pages and answers hold the user's name and data
        return response

    @server.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        target = _local(flask.request.values.get("next", "/"))
        if flask.request.method == "GET":
            return _login_page(target, "", 200)
        name = flask.request.form.get("user", "")[:100]
        password = flask.request.form.get("password", "")[:2000]
        address = flask.request.remote_addr or "?"
        limits = {f"name:{name}": MAX_FAILURES_PER_NAME, f"addr:{address}": MAX_FAILURES_PER_ADDRESS}
        wait = throttle.attempt(limits)
        if wait > 0:
            minutes = max(1, round(wait / 60))
            page = _login_page(target, f"Too many failed logins. Try again in {minutes} minute(s).", 429)
            page.headers["Retry-After"] = str(int(wait) + 1)
            return page
        key = users().verify(name, password)
        if key is None:
            return _login_page(target, "Wrong user name or password.", 401)
        throttle.succeeded(limits)
        flask.session.clear()  # a new session (and CSRF token) at each login
        flask.session.permanent = True
        flask.session.update(user=name, key=key, at=time.time(), csrf=secrets.token_urlsafe(32))
        return flask.redirect(target)

    @server.post("/logout")
    def logout() -> Any:
        flask.session.clear()
        return flask.redirect(flask.url_for("login"))


def _local(target: str) -> str:
    """``target`` if it is a path on this site, else ``/``: a login never sends anyone elsewhere.

    Browsers drop tabs and line breaks from a URL, so ``/\t/evil.example`` would become
    ``//evil.example``: any control character or space, or a backslash, refuses the target.
    """
    if len(target) > 2000 or any(c <= " " or c == "\\" for c in target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _loopback_host(host: str) -> bool:
    """Whether the Host header names this machine (``localhost``, ``127.0.0.1``, ``[::1]``, any port)."""
    name = host.rsplit("]", 1)[0].lstrip("[") if host.startswith("[") else host.rsplit(":", 1)[0]
    return name.lower() == "localhost" or loopback(name)


def _refuse(status: int, message: str) -> flask.Response:
    response = flask.jsonify(error=message)
    response.status_code = status
    return response


def _login_page(target: str, error: str, status: int) -> flask.Response:
    first = not users().any()
    response = flask.make_response(
        flask.render_template_string(LOGIN_PAGE, target=target, error=error, csrf=csrf_token(), first=first),
        status,
    )
    return response


LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Vigil · Log in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/assets/vigil.css"></head>
<body class="vigil login-page"><main class="card login">
<h1>Vigil</h1>
{% if error %}<p class="notice" role="alert">{{ error }}</p>{% endif %}
{% if first %}<p class="hint">There is no user yet: create one with <code>vigil user add NAME</code> on the machine
Vigil runs on.</p>{% endif %}
<form method="post" action="/login">
<input type="hidden" name="csrf_token" value="{{ csrf }}">
<input type="hidden" name="next" value="{{ target }}">
<label>User <input name="user" autocomplete="username" required maxlength="64" autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required maxlength="1024">
</label>
<button type="submit">Log in</button>
</form></main></body></html>"""
