"""Config errors name the file, the check and the field in one line; vigil probe refuses to start (exit 2)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from contracts.settings import ConfigError
from server_probes.config import HttpCheck, load_config
from tests.helpers import env_without_vigil

ROOT = Path(__file__).parent.parent.parent
AGENT = '[agent]\nregion = "eu-west"\n'
SHOP = '[[checks]]\nname = "shop"\ntype = "http"\nurl = "https://x/"\n'


def test_example_config_is_valid():
    config = load_config(
        ROOT / "server_probes" / "example.toml",
        region="eu-west",
        environ={"VIGIL_PROBE_TOKEN": "t", "SHOP_API_TOKEN": "a"},
    )
    assert {c.__struct_config__.tag for c in config.checks} == {"http", "tcp", "tls", "dns"}


def test_env_substitution(write_config):
    path = write_config(
        AGENT
        + 'collector = "http://127.0.0.1:1"\nsecret_token = "${TOKEN}"\n'
        + '[[checks]]\nname = "a"\ntype = "http"\nurl = "https://x.example/"\n'
        + 'headers = { Authorization = "Bearer ${API}" }\n'
    )
    config = load_config(path, environ={"TOKEN": "vgs_1", "API": "k"})
    assert config.agent.secret_token == "vgs_1"
    (check,) = config.checks
    assert isinstance(check, HttpCheck)
    assert check.headers == {"Authorization": "Bearer k"}


def test_region_option_overrides_the_file(write_config):
    assert load_config(write_config(AGENT), region="us-east").agent.region == "us-east"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (SHOP + 'interval = "often"\n',
         "check 'shop': interval: Expected `float`, got `str`"),
        (SHOP + 'intervl = 5\n', "check 'shop': intervl: unknown field"),
        ('[[checks]]\nname = "shop"\ntype = "http"\n', "check 'shop': url: missing"),
        ('[[checks]]\nname = "shop"\ntype = "ftp"\nurl = "ftp://x/"\n', "check 'shop': type:"),
        ('[[checks]]\nname = "shop"\ntype = "http"\nurl = "ftp://x/"\n', "check 'shop': url: must be an http"),
        (SHOP + 'body_regex = "("\n', "check 'shop': body_regex:"),
        (SHOP + 'json_path = "status"\n', "check 'shop': json_path:"),
        ('[[checks]]\nname = "db"\ntype = "tcp"\ntarget = "db.example"\n', "check 'db': target: must be host:port"),
        ('[[checks]]\nname = "db"\ntype = "tcp"\ntarget = "db:1"\ntimeout = 90\n', "check 'db': timeout:"),
        ('[[checks]]\nname = "d"\ntype = "dns"\nquery = "x"\nrecord_type = "AXFR"\n', "check 'd': record_type:"),
        ('[[checks]]\nname = "a"\ntype = "http"\nurl = "https://${NOPE}/"\n',
         "check 'a': url: environment variable NOPE"),
        ('[[checks]]\nname = "a"\ntype = "tcp"\ntarget = "a:1"\n[[checks]]\nname = "a"\ntype = "tcp"\ntarget = "b:1"\n',
         "check 'a': name: used by another check"),
        ('[[checks]]\ntype = "tcp"\ntarget = "a:1"\n', "check '#1': name: missing"),
        ('collector = "https://vigil.example"\n', "[agent]: secret_token: required"),
        ('concurrency = 0\n', "[agent]: concurrency: Expected `int` >= 1"),
        ("[[checks]\n", "not valid TOML"),
        ('checks_from_collector = true\n', "[agent]: checks_from_collector: needs collector"),
        ('collector = "https://vigil.example"\nsecret_token = "t"\nchecks_from_collector = true\n' + SHOP,
         ": checks: not allowed with checks_from_collector"),
    ],
)  # fmt: skip
def test_errors_name_the_file_the_check_and_the_field(write_config, text, message):
    path = write_config(AGENT + text)
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    line = str(info.value)
    assert line.startswith(f"{path}: ")
    assert message in line
    assert "\n" not in line


def test_region_is_required(write_config):
    with pytest.raises(ConfigError, match="region: missing"):
        load_config(write_config("[agent]\n"), environ={})


def test_vigil_probe_refuses_to_start_on_a_bad_config(write_config):
    path = write_config(AGENT + '[[checks]]\nname = "shop"\ntype = "http"\nurl = "https://x/"\ntimeout = -1\n')
    done = subprocess.run(
        [sys.executable, "-m", "vigil", "probe", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env_without_vigil(),
    )
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"vigil: error: {path}: check 'shop': timeout:")
