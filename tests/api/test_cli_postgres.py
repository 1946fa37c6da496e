"""The ``durable`` database commands on PostgreSQL: ``db = "postgresql://..."`` in
``.durable.toml``, ``--db postgresql://...`` and ``$DURABLE_DB``, as a person runs them (each
command a process of its own), on the tests' throwaway server (``pg_url``)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from durable import Client

from .test_cli_conveniences import EXEC, GREET_TWICE, PASS, TASKS_PY, durable, error, ok

ACTIVITY = "arn:aws:states:us-east-1:111111111111:activity:"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "greet.asl.json").write_text(json.dumps(GREET_TWICE))
    (tmp_path / "pass.asl.json").write_text(json.dumps(PASS))
    (tmp_path / "tasks.py").write_text(TASKS_PY)
    return tmp_path


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
