"""State machines, versions, aliases, tags, definition validation and TestState."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ..runtime.engine import Engine
from ..runtime.models import epoch
from ..runtime.versions import StateMachineAlias, split_arn
from .errors import ApiError, validation
from .shapes import Params, machine_shape, page, tag_list, with_token

__all__ = ["ACTIONS"]

Action = Callable[[Engine, Params], Awaitable[dict[str, Any]]]
_TYPES = ("STANDARD", "EXPRESS")
MAX_DEFINITION = 1024 * 1024


def _configurations(p: Params) -> dict[str, Any]:
    logging = p.opt_dict("loggingConfiguration")
    if logging is not None and logging.get("level", "OFF") not in ("ALL", "ERROR", "FATAL", "OFF"):
        raise ApiError("InvalidLoggingConfiguration", "Invalid Logging Configuration: level")
    tracing = p.opt_dict("tracingConfiguration")
    if tracing is not None and not isinstance(tracing.get("enabled", False), bool):
        raise ApiError("InvalidTracingConfiguration", "Invalid Tracing Configuration: enabled")
    encryption = p.opt_dict("encryptionConfiguration")
    if encryption is not None and encryption.get("type") not in ("AWS_OWNED_KEY", "CUSTOMER_MANAGED_KMS_KEY"):
        raise ApiError("InvalidEncryptionConfiguration", "Invalid Encryption Configuration: type")
    return {
        "logging_configuration": logging,
        "tracing_configuration": tracing,
        "encryption_configuration": encryption,
    }


async def create_state_machine(engine: Engine, p: Params) -> dict[str, Any]:
    name = p.req("name", max_len=80)
    definition = p.req("definition", max_len=MAX_DEFINITION)
    role = p.req("roleArn", max_len=256)
    kind = p.enum("type", _TYPES, "STANDARD") or "STANDARD"
    tags = p.tags()
    machine = await engine.create_state_machine(
        name,
        definition,
        type=kind,
        role_arn=role,
        publish=bool(p.opt_bool("publish")),
        version_description=p.opt_str("versionDescription", max_len=256),
        **_configurations(p),
    )
    if tags:
        await engine.tag_resource(machine.arn, tags)
    out: dict[str, Any] = {"stateMachineArn": machine.arn, "creationDate": epoch(machine.creation_date)}
    if machine.version_arn is not None:
        out["stateMachineVersionArn"] = machine.version_arn
    return out


async def update_state_machine(engine: Engine, p: Params) -> dict[str, Any]:
    arn = p.arn("stateMachineArn", "stateMachine")
    definition = p.opt_str("definition", max_len=MAX_DEFINITION)
    role = p.opt_str("roleArn", max_len=256)
    configurations = _configurations(p)
    if definition is None and role is None and not any(configurations.values()):
        raise ApiError(
            "MissingRequiredParameter",
            "Either the definition, the roleArn, the loggingConfiguration, the tracingConfiguration "
            "or the encryptionConfiguration must be specified",
        )
    machine = await engine.update_state_machine(
        arn,
        definition=definition,
        role_arn=role,
        publish=bool(p.opt_bool("publish")),
        version_description=p.opt_str("versionDescription", max_len=256),
        **configurations,
    )
    out: dict[str, Any] = {"updateDate": engine.clock.now(), "revisionId": machine.revision_id}
    if machine.version_arn is not None:
        out["stateMachineVersionArn"] = machine.version_arn
    return out


async def describe_state_machine(engine: Engine, p: Params) -> dict[str, Any]:
    return machine_shape(await engine.describe_state_machine(p.arn("stateMachineArn", "stateMachine")))


async def describe_state_machine_for_execution(engine: Engine, p: Params) -> dict[str, Any]:
    arn = p.arn("executionArn", "execution", "express")
    machine = await engine.describe_state_machine_for_execution(arn)
    shape = machine_shape(machine)
    out: dict[str, Any] = {k: shape[k] for k in ("stateMachineArn", "name", "definition", "roleArn")}
    for key in ("loggingConfiguration", "tracingConfiguration", "encryptionConfiguration", "revisionId"):
        if key in shape:
            out[key] = shape[key]
    out["updateDate"] = epoch(machine.creation_date)
    if machine.map_run_arn is not None:  # a Map Run's child execution: the Map Run's machine
        out["mapRunArn"] = machine.map_run_arn
        out["label"] = machine.label
    return out


async def list_state_machines(engine: Engine, p: Params) -> dict[str, Any]:
    machines = await engine.list_state_machines()
    chunk, token = page("ListStateMachines", machines, p)
    items = [
        {
            "stateMachineArn": m.arn,
            "name": m.name,
            "type": str(m.type),
            "creationDate": epoch(m.creation_date),
        }
        for m in chunk
    ]
    return with_token({"stateMachines": items}, token)


async def delete_state_machine(engine: Engine, p: Params) -> dict[str, Any]:
    await engine.delete_state_machine(p.arn("stateMachineArn", "stateMachine"))
    return {}


async def validate_definition(engine: Engine, p: Params) -> dict[str, Any]:
    definition = p.req("definition", max_len=MAX_DEFINITION)
    kind = p.enum("type", _TYPES, "STANDARD") or "STANDARD"
    severity = p.enum("severity", ("ERROR", "WARNING"), "ERROR") or "ERROR"
    limit = p.opt_int("maxResults", 0, 100) or 0
    result = await engine.validate_state_machine_definition(
        definition, kind, severity=severity, max_results=limit
    )
    return result.to_dict()


# -- versions ---------------------------------------------------------------------------------------


async def publish_version(engine: Engine, p: Params) -> dict[str, Any]:
    version = await engine.publish_state_machine_version(
        p.arn("stateMachineArn", "stateMachine"),
        revision_id=p.opt_str("revisionId", max_len=256),
        description=p.opt_str("description", max_len=256),
    )
    return {"creationDate": epoch(version.creation_date), "stateMachineVersionArn": version.arn}


async def list_versions(engine: Engine, p: Params) -> dict[str, Any]:
    versions = await engine.list_state_machine_versions(p.arn("stateMachineArn", "stateMachine"))
    chunk, token = page("ListStateMachineVersions", versions, p)
    items = [{"stateMachineVersionArn": v.arn, "creationDate": epoch(v.creation_date)} for v in chunk]
    return with_token({"stateMachineVersions": items}, token)


async def delete_version(engine: Engine, p: Params) -> dict[str, Any]:
    await engine.delete_state_machine_version(p.arn("stateMachineVersionArn", "stateMachine"))
    return {}


# -- aliases ----------------------------------------------------------------------------------------


def _alias_shape(alias: StateMachineAlias) -> dict[str, Any]:
    out: dict[str, Any] = {
        "stateMachineAliasArn": alias.arn,
        "name": alias.name,
        "routingConfiguration": [
            {"stateMachineVersionArn": arn, "weight": weight} for arn, weight in alias.routing
        ],
        "creationDate": epoch(alias.creation_date),
        "updateDate": epoch(alias.update_date),
    }
    if alias.description is not None:
        out["description"] = alias.description
    return out


async def create_alias(engine: Engine, p: Params) -> dict[str, Any]:
    routing = p.opt_list("routingConfiguration")
    if routing is None:
        raise p._missing("routingConfiguration")
    alias = await engine.create_state_machine_alias(
        p.req("name", max_len=80), routing, description=p.opt_str("description", max_len=256)
    )
    return {"stateMachineAliasArn": alias.arn, "creationDate": epoch(alias.creation_date)}


async def update_alias(engine: Engine, p: Params) -> dict[str, Any]:
    alias = await engine.update_state_machine_alias(
        p.arn("stateMachineAliasArn", "stateMachine"),
        routing=p.opt_list("routingConfiguration"),
        description=p.opt_str("description", max_len=256),
    )
    return {"updateDate": epoch(alias.update_date)}


async def describe_alias(engine: Engine, p: Params) -> dict[str, Any]:
    return _alias_shape(
        await engine.describe_state_machine_alias(p.arn("stateMachineAliasArn", "stateMachine"))
    )


async def list_aliases(engine: Engine, p: Params) -> dict[str, Any]:
    aliases = await engine.list_state_machine_aliases(p.arn("stateMachineArn", "stateMachine"))
    chunk, token = page("ListStateMachineAliases", aliases, p)
    items = [{"stateMachineAliasArn": a.arn, "creationDate": epoch(a.creation_date)} for a in chunk]
    return with_token({"stateMachineAliases": items}, token)


async def delete_alias(engine: Engine, p: Params) -> dict[str, Any]:
    arn = p.arn("stateMachineAliasArn", "stateMachine")
    if split_arn(arn)[1] is None:
        raise ApiError("InvalidArn", f"Invalid Arn: '{arn}'")
    await engine.delete_state_machine_alias(arn)
    return {}


# -- tags -------------------------------------------------------------------------------------------


async def tag_resource(engine: Engine, p: Params) -> dict[str, Any]:
    arn = p.arn("resourceArn", "stateMachine", "activity")
    if p.opt_list("tags") is None:
        raise p._missing("tags")
    await engine.tag_resource(arn, p.tags())
    return {}


async def untag_resource(engine: Engine, p: Params) -> dict[str, Any]:
    arn = p.arn("resourceArn", "stateMachine", "activity")
    keys = p.opt_list("tagKeys")
    if keys is None:
        raise p._missing("tagKeys")
    if not all(isinstance(k, str) for k in keys):
        raise validation("tagKeys must be strings")
    await engine.untag_resource(arn, keys)
    return {}


async def list_tags(engine: Engine, p: Params) -> dict[str, Any]:
    tags = await engine.list_tags_for_resource(p.arn("resourceArn", "stateMachine", "activity"))
    return {"tags": tag_list(tags)}


# -- TestState ----------------------------------------------------------------------------------------

_TEST_STATE_MEMBERS = {
    "definition": "definition",
    "roleArn": "role_arn",
    "input": "input_json",  # the API carries the input as JSON text
    "inspectionLevel": "inspection_level",
    "revealSecrets": "reveal_secrets",
    "variables": "variables",
    "stateName": "state_name",
    "mock": "mock",
    "context": "context",
    "stateConfiguration": "state_configuration",
}


async def test_state(engine: Engine, p: Params) -> dict[str, Any]:
    """Handed to ``engine.test_state(...)`` where the engine has it (members in snake_case)."""
    run = getattr(engine, "test_state", None)
    if run is None:
        raise ApiError("UnknownOperationException", "TestState is not supported by this endpoint")
    p.req("definition", max_len=MAX_DEFINITION)
    kwargs = {py: p.body[wire] for wire, py in _TEST_STATE_MEMBERS.items() if p.body.get(wire) is not None}
    result = await run(**kwargs)
    if hasattr(result, "to_dict"):
        result = result.to_dict()
    if not isinstance(result, dict):
        raise ApiError("InternalFailure", "TestState returned no result", 500)
    return result


ACTIONS: dict[str, Action] = {
    "CreateStateMachine": create_state_machine,
    "UpdateStateMachine": update_state_machine,
    "DescribeStateMachine": describe_state_machine,
    "DescribeStateMachineForExecution": describe_state_machine_for_execution,
    "ListStateMachines": list_state_machines,
    "DeleteStateMachine": delete_state_machine,
    "ValidateStateMachineDefinition": validate_definition,
    "PublishStateMachineVersion": publish_version,
    "ListStateMachineVersions": list_versions,
    "DeleteStateMachineVersion": delete_version,
    "CreateStateMachineAlias": create_alias,
    "UpdateStateMachineAlias": update_alias,
    "DescribeStateMachineAlias": describe_alias,
    "ListStateMachineAliases": list_aliases,
    "DeleteStateMachineAlias": delete_alias,
    "TagResource": tag_resource,
    "UntagResource": untag_resource,
    "ListTagsForResource": list_tags,
    "TestState": test_state,
}
