"""The command line, run as a user runs it: the installed ``vigil`` in a subprocess."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import duckdb

from analytics.store import open_database
from contracts.projects import load_projects
from tests.helpers import env_without_vigil

VIGIL = [sys.executable, "-m", "vigil"]


def vigil(*args: str, data_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    extra = ["--data-dir", str(data_dir)] if data_dir else []
    return subprocess.run([*VIGIL, *args, *extra], capture_output=True, text=True, timeout=60, env=env_without_vigil())


def test_project_create_prints_keys_tag_and_dsn(data_dir):
    done = vigil("project", "create", "shop", "--origin", "https://Shop.example:443/", data_dir=data_dir)

    assert done.returncode == 0, done.stderr
    (project,) = load_projects(data_dir).values()
    assert (project.id, project.name, project.origins) == (1, "shop", ("https://shop.example",))
    assert f"public key    {project.public_key}" in done.stdout
    assert f"secret token  {project.secret_token}" in done.stdout
    tag = f'<script async src="http://127.0.0.1:8470/beacon.js" data-project="1" data-key="{project.public_key}">'
    assert f"{tag}</script>" in done.stdout
    assert f"http://{project.public_key}@127.0.0.1:8470/1" in done.stdout


def test_project_create_json_and_list(data_dir):
    created = json.loads(vigil("project", "create", "shop", "--json", data_dir=data_dir).stdout)
    vigil("project", "create", "blog", data_dir=data_dir)
    listed = json.loads(vigil("project", "list", "--json", data_dir=data_dir).stdout)
    table = vigil("project", "list", data_dir=data_dir).stdout.splitlines()

    assert set(created) == {"id", "name", "public_key", "secret_token", "origins", "script_tag", "dsn"}
    assert [p["name"] for p in listed] == ["shop", "blog"]
    assert listed[0] == created
    assert table[0].split() == ["id", "name", "public", "key", "origins", "dsn", "declared"]
    assert table[2].split()[:3] == ["1", "shop", created["public_key"]]
    assert table[2].endswith("report 08:00 UTC")


def test_the_collector_url_in_tags_follows_the_settings(data_dir):
    (data_dir / "vigil.toml").write_text('[collector]\npublic_url = "https://vigil.example/"\n')
    created = json.loads(vigil("project", "create", "shop", "--json", data_dir=data_dir).stdout)
    assert created["dsn"] == f"https://{created['public_key']}@vigil.example/1"
    assert 'src="https://vigil.example/beacon.js"' in created["script_tag"]


def test_bad_input_is_one_line_and_exit_status_2(data_dir):
    vigil("project", "create", "shop", data_dir=data_dir)
    cases = [
        vigil("project", "create", "shop", data_dir=data_dir),
        vigil("project", "create", "Bad Name!", data_dir=data_dir),
        vigil("project", "create", "x", "--origin", "https://x.example/path", data_dir=data_dir),
    ]
    for done in cases:
        assert done.returncode == 2
        assert done.stderr.startswith("vigil: error: ")
        assert done.stderr.count("\n") == 1
    assert cases[0].stderr == "vigil: error: a project named 'shop' already exists\n"


def test_a_broken_config_file_is_named_in_the_error(data_dir):
    (data_dir / "vigil.toml").write_text("[collector\nport = 1\n")
    done = vigil("project", "list", data_dir=data_dir)
    assert done.returncode == 2
    assert done.stderr.startswith(f"vigil: error: {data_dir / 'vigil.toml'}: not valid TOML")

    (data_dir / "vigil.toml").write_text('[collector]\nport = "eighty"\n')
    done = vigil("project", "list", data_dir=data_dir)
    assert done.stderr == f"vigil: error: {data_dir / 'vigil.toml'} [collector] port: expected int, got 'eighty'\n"


def test_sql_reads_the_file_when_the_service_is_stopped(data_dir):
    con = open_database(data_dir / "vigil.duckdb")
    con.execute("INSERT INTO errors (event_id, ts, received_at, project, project_id, error_type, message) "
                "VALUES ('e1', now()::TIMESTAMP, now()::TIMESTAMP, 'demo', 1, 'TypeError', 'boom 42')")  # fmt: skip
    con.close()

    table = vigil("sql", "SELECT error_type, message FROM errors", data_dir=data_dir)
    as_json = vigil("sql", "SELECT error_type, message FROM errors", "--format", "json", data_dir=data_dir)
    as_csv = vigil("sql", "SELECT error_type, message FROM errors", "--format", "csv", data_dir=data_dir)
    refused = vigil("sql", "DELETE FROM errors", data_dir=data_dir)

    assert table.stdout.splitlines() == [
        "error_type  message",
        "----------  -------",
        "TypeError   boom 42",
        "(1 row)",
    ]
    assert json.loads(as_json.stdout) == [{"error_type": "TypeError", "message": "boom 42"}]
    assert as_csv.stdout == "error_type,message\nTypeError,boom 42\n"
    assert (refused.returncode, refused.stderr) == (2, "vigil: error: only SELECT is allowed here, not DELETE\n")
    with duckdb.connect(str(data_dir / "vigil.duckdb"), read_only=True) as check:
        assert check.execute("SELECT count(*) FROM errors").fetchone() == (1,)


def test_sql_without_a_database_says_what_to_do(data_dir):
    done = vigil("sql", "SELECT 1", data_dir=data_dir)
    assert done.returncode == 2
    assert "no database at" in done.stderr
    assert "vigil up" in done.stderr


def test_help_lists_every_command():
    done = vigil("--help")
    for command in ("up", "demo", "project", "sql", "serve"):
        assert f"  {command} " in done.stdout


def test_project_create_prints_the_running_collectors_address(collector, data_dir):
    """Not 8470: the collector runs on another port, as with vigil up --collector-port."""
    assert not collector.url.endswith(":8470")
    done = vigil("project", "create", "shop", "--json", data_dir=data_dir)
    info = json.loads(done.stdout)
    host = collector.url.removeprefix("http://")
    assert info["dsn"] == f"http://{info['public_key']}@{host}/{info['id']}"
    assert f'src="{collector.url}/beacon.js"' in info["script_tag"]
    collector.stop()
    listed = json.loads(vigil("project", "list", "--json", data_dir=data_dir).stdout)
    (shop,) = [p for p in listed if p["name"] == "shop"]
    assert shop["dsn"].endswith(f"@127.0.0.1:8470/{info['id']}")  # the run file went with it: the settings again


def test_a_wrong_command_line_is_one_line_and_exit_2(data_dir):
    for args, message in [
        (("up", "--colector-port", "9000"), "vigil: error: No such option '--colector-port'. Did you mean"),
        (("sql",), "vigil: error: Missing argument 'STATEMENT'."),
        (("up", "--collector-port", "99999"), "vigil: error: Invalid value for '--collector-port'"),
        (("nope",), "vigil: error: No such command 'nope'."),
    ]:
        done = vigil(*args)
        assert done.returncode == 2, args
        assert done.stderr.startswith(message), done.stderr
        assert done.stderr.count("\n") == 1, done.stderr


def test_a_misspelled_table_in_vigil_toml_stops_with_a_suggestion(data_dir):
    (data_dir / "vigil.toml").write_text("[colector]\nport = 9000\n")
    done = vigil("serve", "collector", data_dir=data_dir)
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .endswith("vigil.toml: unknown table or setting 'colector' (did you mean collector?)")
    )


def test_tokens_are_shown_once_kept_as_hashes_listed_and_revoked(data_dir):
    vigil("project", "create", "shop", data_dir=data_dir)
    made = json.loads(vigil("token", "create", "--scope", "sourcemaps", "--project", "shop", "--name", "web build",
                            "--json", data_dir=data_dir).stdout)  # fmt: skip
    token = made["token"]
    assert token.startswith("sntrys_")
    kept = (data_dir / "vigil.toml").read_text()
    assert token not in kept
    assert hashlib.sha256(token.encode()).hexdigest() in kept
    [listed] = json.loads(vigil("token", "list", "--json", data_dir=data_dir).stdout)
    assert (listed["id"], listed["name"], listed["scope"], listed["projects"]) == (made["id"], "web build",
                                                                                   "sourcemaps", "shop")  # fmt: skip
    unknown = vigil("token", "create", "--project", "nope", data_dir=data_dir)
    assert (unknown.returncode, unknown.stderr.strip()) == (2, "vigil: error: no project named 'nope'")
    assert vigil("token", "revoke", made["id"], data_dir=data_dir).returncode == 0
    assert json.loads(vigil("token", "list", "--json", data_dir=data_dir).stdout) == []
    again = vigil("token", "revoke", made["id"], data_dir=data_dir)
    assert again.returncode == 2
    assert "no token" in again.stderr
