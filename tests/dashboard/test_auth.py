"""Logging in to the real dashboard: sessions, CSRF, throttling, security headers, and the loopback rule."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from dashboard.auth import Throttle
from tests.dashboard.conftest import PASSWORD, USER, add_user
from tests.helpers import env_without_vigil, free_port

HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
CALLBACK = "/_dash-update-component"


@contextlib.contextmanager
def session(url: str) -> Iterator[httpx.Client]:
    """A client holding the dashboard's cookies, as a browser would, with the CSRF token it was given."""
    with httpx.Client(base_url=url, timeout=10) as client:
        assert client.get("/login").status_code == 200
        yield client


def log_in(client: httpx.Client, name: str = USER, password: str = PASSWORD, next_path: str = "/") -> httpx.Response:
    form = {"user": name, "password": password, "csrf_token": client.cookies["_csrf_token"], "next": next_path}
    return client.post("/login", data=form)


def test_without_users_pages_are_open_on_loopback_and_carry_the_security_headers(http, analytics, dashboard):
    response = http.get(f"{dashboard.url}/issues")
    assert response.status_code == 200
    for name, value in HEADERS.items():
        assert response.headers[name] == value
    policy = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy
    assert "script-src 'self' 'sha256-" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]


def test_a_post_without_the_csrf_token_or_from_another_site_is_refused(analytics, dashboard):
    with session(dashboard.url) as client:
        token = client.cookies["_csrf_token"]
        assert client.post(CALLBACK, json={}).status_code == 403
        assert client.post(CALLBACK, json={}, headers={"X-CSRFToken": "forged"}).status_code == 403
        cross = client.post(CALLBACK, json={}, headers={"X-CSRFToken": token, "Origin": "https://evil.example"})
        assert (cross.status_code, cross.json()) == (403, {"error": "cross-site request refused"})
        assert client.post("/login", data={"user": USER, "password": PASSWORD}).status_code == 403
        # With the token the request reaches Dash (which finds the empty body wanting).
        assert client.post(CALLBACK, json={}, headers={"X-CSRFToken": token}).status_code not in (401, 403)


def test_with_a_user_pages_ask_for_a_login_and_a_session_is_a_signed_httponly_cookie(analytics, dashboard, user):
    with session(dashboard.url) as client:
        asked = client.get("/issues?range=24h")
        assert (asked.status_code, asked.headers["location"]) == (302, "/login?next=/issues?range%3D24h")
        assert client.post(CALLBACK, json={}, headers={"X-CSRFToken": client.cookies["_csrf_token"]}).status_code == 401

        wrong = log_in(client, password="not the password")
        assert wrong.status_code == 401
        assert "Wrong user name or password." in wrong.text
        done = log_in(client, next_path="/issues")
        assert (done.status_code, done.headers["location"]) == (302, "/issues")
        cookie = next(c for c in done.headers.get_list("set-cookie") if c.startswith("vigil_session="))
        assert "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie
        assert "Expires=" in cookie
        assert client.get("/issues").status_code == 200

        assert client.post("/logout", data={"csrf_token": client.cookies["_csrf_token"]}).status_code == 302
        assert client.get("/issues").status_code == 302


def test_a_login_sends_nobody_to_another_site(analytics, dashboard, user):
    with session(dashboard.url) as client:
        for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
            assert log_in(client, next_path=target).headers["location"] == "/"


def test_failed_logins_are_throttled_even_before_the_right_password(analytics, dashboard, user):
    with session(dashboard.url) as client:
        for _ in range(5):
            assert log_in(client, password="guessing wrong").status_code == 401
        refused = log_in(client)
        assert refused.status_code == 429
        assert 0 < int(refused.headers["retry-after"]) <= 15 * 60
        assert "Too many failed logins" in refused.text


def test_a_removed_user_is_logged_out_at_the_next_request(analytics, dashboard, user, data_dir):
    with session(dashboard.url) as client:
        log_in(client)
        assert client.get("/issues").status_code == 200
        removed = subprocess.run(
            [sys.executable, "-m", "vigil", "user", "remove", USER, "--data-dir", str(data_dir)],
            capture_output=True, text=True, timeout=60, env=env_without_vigil(),
        )  # fmt: skip
        assert removed.returncode == 0, removed.stderr
        assert client.get("/issues").status_code == 200  # no user left: open on loopback, but not as ana
        assert USER not in client.get("/issues").text


def test_the_dashboard_refuses_to_listen_beyond_loopback_without_users(data_dir):
    env = {**env_without_vigil(), "VIGIL_DATA_DIR": str(data_dir), "VIGIL_DASHBOARD_HOST": "0.0.0.0",
           "VIGIL_DASHBOARD_PORT": str(free_port())}  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "vigil", "serve", "dashboard"], capture_output=True, text=True,
                          timeout=60, env=env)  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "vigil: error: the dashboard listens on 0.0.0.0, beyond this machine, but has no user to log in: "
        "create one with `vigil user add NAME`, or listen on 127.0.0.1"
    ]


@pytest.mark.parametrize(
    ("name", "password", "message"),
    [
        ("ana", "short", "a password has 10 to 1024 characters"),
        ("<ana>", PASSWORD, "user name '<ana>': 1 to 64 letters"),
    ],
)
def test_vigil_user_add_refuses_bad_names_and_passwords_in_one_line(data_dir, name, password, message):
    done = add_user(data_dir, name, password)
    assert (done.returncode, done.stderr.count("\n")) == (2, 1)
    assert message in done.stderr


def test_vigil_user_add_list_remove(data_dir):
    assert add_user(data_dir).returncode == 0
    again = add_user(data_dir)
    assert (again.returncode, again.stderr.strip()) == (
        2, "vigil: error: user 'ana' exists already (vigil user remove ana first)",
    )  # fmt: skip

    def vigil(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "vigil", "user", *args, "--data-dir", str(data_dir)],
                              capture_output=True, text=True, timeout=60, env=env_without_vigil())  # fmt: skip

    listed = vigil("list")
    assert "ana" in listed.stdout
    assert "never" in listed.stdout
    assert (data_dir / "dashboard" / "users.sqlite3").stat().st_mode & 0o077 == 0
    assert vigil("remove", "ana").returncode == 0
    assert vigil("remove", "ana").returncode == 2
    assert "No users yet" in vigil("list").stdout


def test_the_throttle_lets_a_name_try_again_once_its_failures_leave_the_window():
    throttle = Throttle(window=60)
    ana = {"name:ana": 5, "addr:10.0.0.1": 20}
    for t in range(5):
        assert throttle.attempt(ana, now=100.0 + t) == 0.0  # each attempt is charged before it is checked
    assert throttle.attempt(ana, now=110.0) == pytest.approx(50.0)
    assert throttle.attempt(ana, now=160.0) == 0.0  # the first failure is out of the window
    throttle.succeeded(ana)  # a right password: the name starts afresh, the address gets its charge back
    assert throttle.attempt({"name:ana": 5}, now=161.0) == 0.0
    assert throttle.attempt({"name:bob": 5}, now=110.0) == 0.0


def test_the_throttle_forgets_no_recent_failure_to_make_room():
    throttle = Throttle(window=60, tracked=2)
    assert throttle.attempt({"name:a": 5}, now=0.0) == 0.0
    assert throttle.attempt({"name:b": 5}, now=1.0) == 0.0
    assert throttle.attempt({"name:c": 5}, now=2.0) == 60.0  # full of recent failures: c waits, a is kept
    assert throttle.attempt({"name:c": 5}, now=61.0) == 0.0  # a's failure aged out and made room


def test_a_login_never_redirects_through_a_character_browsers_drop(analytics, dashboard, user):
    with session(dashboard.url) as client:
        for target in ("/\t/evil.example", "/\n/evil.example", "/ /evil.example"):
            assert log_in(client, next_path=target).headers["location"] == "/"


def test_without_users_only_this_machine_by_its_own_name_may_read(http, analytics, dashboard):
    rebound = http.get(f"{dashboard.url}/issues", headers={"Host": "attacker.example"})
    assert (rebound.status_code, rebound.json()["error"]) == (
        403, "no dashboard user yet: create one with `vigil user add NAME`",
    )  # fmt: skip
    assert http.get(f"{dashboard.url}/issues", headers={"Host": "localhost:1234"}).status_code == 200


def test_a_user_removed_and_added_again_needs_a_new_login(analytics, dashboard, user, data_dir):
    with session(dashboard.url) as client:
        log_in(client)
        assert client.get("/issues").status_code == 200
        subprocess.run([sys.executable, "-m", "vigil", "user", "remove", USER, "--data-dir", str(data_dir)],
                       check=True, capture_output=True, timeout=60, env=env_without_vigil())  # fmt: skip
        assert add_user(data_dir).returncode == 0
        assert client.get("/issues").status_code == 302  # the old session's key is gone
