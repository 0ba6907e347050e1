"""Projects in vigil.toml: creation, validation, and the collector's reloading view."""

from __future__ import annotations

import threading

import pytest

from contracts.projects import (
    ProjectRegistry,
    create_project,
    ensure_demo_project,
    load_projects,
    normalize_origin,
)
from contracts.settings import ConfigError


def test_created_projects_get_increasing_ids_and_distinct_keys(data_dir):
    shop = create_project(data_dir, "shop")
    blog = create_project(data_dir, "blog", ("http://blog.example:8080",))
    assert (shop.id, blog.id) == (1, 2)
    assert len({shop.public_key, shop.secret_token, blog.public_key, blog.secret_token}) == 4
    assert len(shop.public_key) == 32
    assert shop.secret_token.startswith("vgs_")
    assert load_projects(data_dir) == {1: shop, 2: blog}
    assert (data_dir / "vigil.toml").stat().st_mode & 0o777 == 0o600


def test_the_users_comments_and_settings_survive_a_create(data_dir):
    (data_dir / "vigil.toml").write_text("# my settings\n[collector]\nport = 9000  # behind the proxy\n")
    create_project(data_dir, "shop")
    text = (data_dir / "vigil.toml").read_text()
    assert "# my settings" in text
    assert "port = 9000  # behind the proxy" in text


def test_concurrent_creates_do_not_lose_each_other(data_dir):
    names = [f"p{n}" for n in range(8)]
    threads = [threading.Thread(target=create_project, args=(data_dir, n)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    projects = load_projects(data_dir)
    assert sorted(p.name for p in projects.values()) == sorted(names)
    assert sorted(projects) == list(range(1, 9))


def test_the_demo_project_is_created_once(data_dir):
    first = ensure_demo_project(data_dir)
    assert ensure_demo_project(data_dir) == first
    assert len(load_projects(data_dir)) == 1


@pytest.mark.parametrize(
    ("raw", "origin"),
    [("https://Shop.Example", "https://shop.example"), ("https://shop.example:443/", "https://shop.example"),
     ("http://localhost:3000", "http://localhost:3000")],
)  # fmt: skip
def test_origins_are_normalized(raw, origin):
    assert normalize_origin(raw) == origin


@pytest.mark.parametrize("raw", ["shop.example", "https://shop.example/path", "ftp://x", "https://u:p@x.example"])
def test_non_origins_are_refused(raw):
    with pytest.raises(ValueError, match="not an origin"):
        normalize_origin(raw)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[projects]]\nid = 1\nname = 'a'\npublic_key = 'k'\n", "project #1: missing secret_token"),
        ("[[projects]]\nid = 0\nname = 'a'\npublic_key = 'k'\nsecret_token = 's'\n",
         "id must be an integer from 1 to 2147483647"),
        ("[[projects]]\nid = 3000000000\nname = 'a'\npublic_key = 'k'\nsecret_token = 's'\n", "id must be an integer"),
        ("[[projects]]\nid = 1\nname = 'a'\npublic_key = 'k'\nsecret_token = 's'\norigins = [1]\n",
         "origins must be a list of strings"),
        ("[[projects]]\nid = 1\nname = 'A B'\npublic_key = 'k'\nsecret_token = 's'\n", "name 'A B' must be"),
        ("projects = 1\n", "projects must be an array of tables"),
        ("[[projects]]\nid = 1\nname = 'a'\npublic_key = 'k'\nsecret_token = 's'\n"
         "[[projects]]\nid = 1\nname = 'b'\npublic_key = 'k2'\nsecret_token = 's2'\n", "is used twice"),
    ],
)  # fmt: skip
def test_a_broken_projects_table_is_named(data_dir, text, message):
    (data_dir / "vigil.toml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_projects(data_dir)


def test_the_registry_reloads_on_change_and_keeps_projects_when_the_file_breaks(data_dir):
    shop = create_project(data_dir, "shop")
    registry = ProjectRegistry(data_dir)
    assert registry.authenticate(shop.id, shop.public_key) == shop
    assert registry.authenticate(shop.id, shop.secret_token) is None
    assert registry.authenticate(99, shop.public_key) is None
    assert registry.reload() is False

    blog = create_project(data_dir, "blog")
    assert registry.reload() is True
    assert registry.authenticate(blog.id, blog.public_key) == blog

    (data_dir / "vigil.toml").write_text("[[projects]\n")
    with pytest.raises(ConfigError):
        registry.reload()
    assert registry.authenticate(blog.id, blog.public_key) == blog
