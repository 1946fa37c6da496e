"""The ``durable`` database commands on PostgreSQL: ``db = "postgresql://..."`` in
``.durable.toml``, ``--db postgresql://...`` and ``$DURABLE_DB``, as a person runs them (each
command a process of its own), on the tests' throwaway server (``pg_url``)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from durable import Client

from .test_cli_conveniences import EXEC, GREET_TWICE, PASS, ROOT, TASKS_PY, durable, error, ok

ACTIVITY = "arn:aws:states:us-east-1:111111111111:activity:"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "greet.asl.json").write_text(json.dumps(GREET_TWICE))
    (tmp_path / "pass.asl.json").write_text(json.dumps(PASS))
    (tmp_path / "tasks.py").write_text(TASKS_PY)
    return tmp_path


def _env() -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("DURABLE_DB", "PYTHONPATH")}
    environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    return environ


async def _names(url: str) -> list[str]:
    async with Client(url) as client:
        return sorted(e.name for e in await client.list_executions())


def test_durable_toml_db_names_a_postgresql_database(project: Path, pg_url: str) -> None:
    (project / ".durable.toml").write_text(f'db = "{pg_url}"\nfunctions = ["tasks"]\n')
    done = ok(durable(project, "start", "greet.asl.json", "-n", "g", "-i", '{"name": "Pg"}', "--wait", "30"))
    assert done["status"] == "SUCCEEDED" and done["output"] == {"greeting": "HELLO, PG!"}
    assert [e["name"] for e in ok(durable(project, "executions"))["executions"]] == ["g"]
    assert ok(durable(project, "describe", "g"))["status"] == "SUCCEEDED"
    assert ok(durable(project, "history", "greet:g"))["events"][0]["type"] == "ExecutionStarted"
    assert [m["name"] for m in ok(durable(project, "state-machines"))["stateMachines"]] == ["greet"]

    # started without an engine, executed by `run-engine` (another process) until idle
    started = ok(durable(project, "start", "greet", "-n", "later", "-i", '{"name": "Ed"}'))
    assert started["executionArn"] == EXEC + "greet:later"
    ran = durable(project, "run-engine", "--until-idle")
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout.splitlines()[-1])["name"] == "later"
    assert ok(durable(project, "describe", "later"))["status"] == "SUCCEEDED"

    assert not (project / "durable.db").exists()  # everything went to the server
    assert asyncio.run(_names(pg_url)) == ["g", "later"]


def test_db_flag_and_environment_variable_take_a_postgresql_url(project: Path, pg_url: str) -> None:
    created = ok(durable(project, "create-activity", "work", "--db", pg_url))
    assert created["activityArn"] == ACTIVITY + "work"
    listed = ok(durable(project, "activities", "--db", pg_url.replace("postgresql://", "postgres://")))
    assert [a["name"] for a in listed["activities"]] == ["work"]
    from_env = ok(durable(project, "activities", env={"DURABLE_DB": pg_url}))
    assert [a["name"] for a in from_env["activities"]] == ["work"]
    # the flag wins over the file, the environment over the file too
    (project / ".durable.toml").write_text('db = "local.db"\n')
    assert ok(durable(project, "activities", env={"DURABLE_DB": pg_url}))["activities"]
    assert ok(durable(project, "activities", "--db", pg_url))["activities"]
    assert not (project / "local.db").exists()
    assert ok(durable(project, "delete-activity", "work", "--db", pg_url))["deleted"] is True


def test_messages_name_the_server_without_its_password(project: Path, pg_url: str) -> None:
    secret = pg_url.replace("postgresql://postgres@", "postgresql://postgres:s3cret@")  # trust: any password
    done = durable(project, "start", "pass.asl.json", "-n", "p", "--db", secret)
    assert done.returncode == 0, done.stderr
    assert "no engine is running on postgresql://postgres:***@" in done.stderr
    assert "s3cret" not in done.stderr


def test_a_bad_database_is_a_one_line_error(project: Path, pg_url: str) -> None:
    error(durable(project, "activities", "--db", "mysql://host/db"), "postgresql://")
    unreachable = pg_url.rsplit(":", 1)[0] + ":1/nowhere"
    error(durable(project, "activities", "--db", unreachable), "StoreUnavailable")
    (project / ".durable.toml").write_text('db = "mysql://host/db"\n')
    error(durable(project, "activities"), ".durable.toml", "postgresql://")


def test_run_engine_shared_engines_split_the_executions(project: Path, pg_url: str) -> None:
    """Two ``run-engine --shared`` processes at once: every execution a client started runs
    once, in one of them; SQLite refuses --shared in one line."""
    (project / ".durable.toml").write_text(f'db = "{pg_url}"\nfunctions = ["tasks"]\n')
    names = [f"s{i}" for i in range(12)]
    ok(durable(project, "start", "greet.asl.json", "-n", names[0], "-i", '{"name": "A"}'))
    for name in names[1:]:
        ok(durable(project, "start", "greet", "-n", name, "-i", '{"name": "A"}'))
    runs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "durable.api.cli",
                "run-engine",
                "--shared",
                "--lease-seconds",
                "3",
                "--until-idle",
            ],
            cwd=project,
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    reported: list[str] = []
    for run in runs:
        out, err = run.communicate(timeout=60)
        assert run.returncode == 0, err
        reported += [json.loads(line)["name"] for line in out.splitlines() if line.startswith("{")]
    assert sorted(reported) == sorted(names)  # each reported once, by the engine that ran it
    for name in names:
        assert ok(durable(project, "describe", name))["status"] == "SUCCEEDED"
    error(durable(project, "run-engine", "--shared", "--db", str(project / "x.db")), "PostgreSQL")
