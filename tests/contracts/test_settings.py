"""Settings: defaults, vigil.toml, VIGIL_* variables and options, in that order, checked once."""

from __future__ import annotations

import pytest

from analytics.settings import AnalyticsSettings
from collector.settings import CollectorSettings
from contracts.settings import ConfigError, load


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    import os

    for name in [n for n in os.environ if n.startswith("VIGIL_")]:
        monkeypatch.delenv(name)


def test_defaults(data_dir):
    settings = load(CollectorSettings, "collector", data_dir)
    assert (settings.port, settings.host, settings.redis_url, settings.data_dir) == (8470, "127.0.0.1", "", data_dir)
    assert settings.url == "http://127.0.0.1:8470"


def test_file_then_environment_then_options(data_dir, monkeypatch):
    (data_dir / "vigil.toml").write_text(
        'redis_url = "redis://file"\n[collector]\nport = 9001\nmax_body_bytes = 2048\nproject_reload_seconds = 1\n'
    )
    from_file = load(CollectorSettings, "collector", data_dir)
    monkeypatch.setenv("VIGIL_COLLECTOR_PORT", "9002")
    monkeypatch.setenv("VIGIL_REDIS_URL", "redis://env")
    from_env = load(CollectorSettings, "collector", data_dir)
    from_option = load(CollectorSettings, "collector", data_dir, {"port": 9003, "redis_url": None})

    assert (from_file.port, from_file.redis_url, from_file.max_body_bytes) == (9001, "redis://file", 2048)
    assert from_file.project_reload_seconds == 1.0
    assert (from_env.port, from_env.redis_url) == (9002, "redis://env")
    assert (from_option.port, from_option.redis_url) == (9003, "redis://env")


def test_shared_settings_are_shared(data_dir):
    (data_dir / "vigil.toml").write_text('redis_url = "redis://one"\n')
    assert load(AnalyticsSettings, "analytics", data_dir).redis_url == "redis://one"
    assert load(CollectorSettings, "collector", data_dir).redis_url == "redis://one"


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ("[collector]\nprot = 1\n", {}, "vigil.toml: unknown setting [collector] prot (did you mean port?)"),
        ("[collector]\nport = true\n", {}, "vigil.toml [collector] port: expected int, got True"),
        ("collector = 3\n", {}, "vigil.toml: [collector] must be a table"),
        ("", {"VIGIL_COLLECTOR_PORT": "http"}, "VIGIL_COLLECTOR_PORT: expected int, got 'http'"),
        ("", {"VIGIL_COLLECTOR_MAX_BODY_BYTES": "10"}, "VIGIL_COLLECTOR_MAX_BODY_BYTES: must be at least 1024, got 10"),
        ("[collector\n", {}, "vigil.toml: not valid TOML"),
    ],
)
def test_bad_settings_name_their_source(data_dir, monkeypatch, text, env, message):
    (data_dir / "vigil.toml").write_text(text)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load(CollectorSettings, "collector", data_dir)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_renamed_setting_names_its_new_name(data_dir):
    (data_dir / "vigil.toml").write_text("[analytics]\nissue_cache_entries = 5000\n")
    with pytest.raises(ConfigError, match=r"unknown setting \[analytics\] issue_cache_entries \(did you mean "
                                          r"issue_cache_bytes\?\)"):  # fmt: skip
        load(AnalyticsSettings, "analytics", data_dir)


def test_settings_are_frozen(data_dir):
    settings = load(AnalyticsSettings, "analytics", data_dir)
    with pytest.raises(AttributeError):
        settings.port = 1  # type: ignore[misc]
    assert settings.database_path == data_dir / "vigil.duckdb"
