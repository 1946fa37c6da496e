"""Deploy a definition durable runs to AWS Step Functions, through boto3.

::

    from durable.api.deploy import deploy

    result = deploy(
        "machine.asl.json text", name="orders", role_arn="arn:aws:iam::123456789012:role/sfn",
        functions={"greet": "arn:aws:lambda:eu-west-1:123456789012:function:greet"},
        publish=True, alias="live", region="eu-west-1",
    )
    print(result.to_dict())

The definition is rewritten where ``functions`` and ``resources`` map it
(:mod:`durable.interpreter.remap`), then checked with durable's validator: an invalid one is a
:class:`~durable.errors.DefinitionError` and nothing is uploaded. The state machine of that name
is created, or updated when it exists and differs (definition, role, logging, tracing); an
unchanged one is left alone. ``publish`` publishes a version (of an unchanged machine:
``PublishStateMachineVersion``, which returns the existing version of the revision); ``alias``
(it implies ``publish``) creates the alias or moves it to that version. What AWS refuses, or a
network or credentials problem, is a :class:`DeployError` carrying AWS's error code. What
would not run on AWS (:mod:`durable.interpreter.portable`) is reported in ``warnings``.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import DefinitionError, Diagnostic, DurableError, ValidationError
from ..interpreter.portable import LOCAL_ACCOUNT, portability_diagnostics
from ..interpreter.program import parse_definition
from ..interpreter.remap import Replacement, remap_definition
from ..runtime.catalog import validate

__all__ = ["DeployError", "DeployResult", "deploy", "prepare_definition"]

_TYPES = ("STANDARD", "EXPRESS")


class DeployError(DurableError):
    """AWS refused a call of the deployment, or could not be reached. ``code`` is AWS's error
    code (``AccessDeniedException``, ``InvalidDefinition``, ...) or botocore's exception name;
    ``operation`` the API call (``CreateStateMachine``, ...)."""

    code = "DeployFailed"

    def __init__(self, message: str, *, code: str | None = None, operation: str | None = None) -> None:
        super().__init__(message)
        if code:
            self.code = code
        self.operation = operation


@dataclass(frozen=True, slots=True)
class DeployResult:
    """What a deployment did. ``action``: ``created``, ``updated`` or ``unchanged``; ``changed``
    the fields an update changed; ``alias_action`` likewise for the alias."""

    state_machine_arn: str
    name: str
    type: str
    action: str
    changed: tuple[str, ...] = ()
    revision_id: str | None = None
    version_arn: str | None = None
    alias_arn: str | None = None
    alias_action: str | None = None
    replaced: tuple[Replacement, ...] = ()
    warnings: tuple[Diagnostic, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """The JSON summary ``durable deploy`` prints."""
        out: dict[str, Any] = {
            "stateMachineArn": self.state_machine_arn,
            "name": self.name,
            "type": self.type,
            "action": self.action,
            "changed": list(self.changed),
            "revisionId": self.revision_id,
            "stateMachineVersionArn": self.version_arn,
        }
        if self.alias_arn is not None:
            out["stateMachineAliasArn"] = self.alias_arn
            out["aliasAction"] = self.alias_action
        out["replaced"] = [r.to_dict() for r in self.replaced]
        out["warnings"] = [d.to_dict() for d in self.warnings]
        return out


def prepare_definition(
    definition: str | bytes | dict[str, Any],
    *,
    type: str = "STANDARD",
    functions: Mapping[str, str] | None = None,
    resources: Mapping[str, str] | None = None,
    local_buckets: Collection[str] = (),
    local_accounts: Collection[str] = (LOCAL_ACCOUNT,),
) -> tuple[str, list[Replacement], list[Diagnostic]]:
    """The definition text to upload (``definition`` as given when nothing is mapped), what the
    mappings replaced, and the portability findings. Raises :class:`DefinitionError` when the
    result is not a valid definition, ``ValidationError`` for a bad mapping."""
    kind = type.upper()
    if kind not in _TYPES:
        raise ValidationError(f"invalid type {type!r} (choose STANDARD or EXPRESS)")
    doc, text = parse_definition(definition)  # the text as given (a dict: its compact JSON)
    if isinstance(doc, dict):
        try:
            doc, replaced = remap_definition(doc, functions=functions, resources=resources)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        if replaced:
            text = json.dumps(doc, indent=2, ensure_ascii=False)
    else:
        replaced = []
    checked = validate(text, kind)
    if checked.result == "FAIL":
        raise DefinitionError(checked.diagnostics)
    warnings = portability_diagnostics(
        doc, text=text, machine_type=kind, local_buckets=local_buckets, local_accounts=local_accounts
    )
    return text, replaced, warnings


def deploy(
    definition: str | bytes | dict[str, Any],
    *,
    name: str,
    role_arn: str,
    type: str = "STANDARD",
    functions: Mapping[str, str] | None = None,
    resources: Mapping[str, str] | None = None,
    publish: bool = False,
    version_description: str | None = None,
    alias: str | None = None,
    alias_description: str | None = None,
    logging_configuration: Mapping[str, Any] | None = None,
    tracing: bool | None = None,
    tags: Mapping[str, str] | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    session: Any = None,
    client: Any = None,
    local_buckets: Collection[str] = (),
) -> DeployResult:
    """Create or update the state machine ``name`` on AWS Step Functions from ``definition`` (see
    the module docstring). ``client`` is a boto3 ``stepfunctions`` client; without one, it is made
    from ``session`` (default: boto3's) with ``region`` and ``endpoint_url``."""
    kind = type.upper()
    text, replaced, warnings = prepare_definition(
        definition, type=kind, functions=functions, resources=resources, local_buckets=local_buckets
    )
    if version_description is not None and not (publish or alias):
        raise ValidationError("a version description needs publish=True (or an alias)")
    publish = publish or alias is not None
    sfn = client if client is not None else _client(session, region, endpoint_url)
    settings: dict[str, Any] = {}
    if logging_configuration is not None:
        settings["loggingConfiguration"] = dict(logging_configuration)
    if tracing is not None:
        settings["tracingConfiguration"] = {"enabled": bool(tracing)}
    versioning: dict[str, Any] = {"publish": True} if publish else {}
    if publish and version_description is not None:
        versioning["versionDescription"] = version_description

    arn = _find(sfn, name)
    created = False
    changed: tuple[str, ...] = ()
    revision: str | None = None
    version: str | None = None
    if arn is None:
        tag_list = [{"key": k, "value": v} for k, v in (tags or {}).items()]
        try:
            made = _call(
                sfn,
                "create_state_machine",
                name=name,
                definition=text,
                roleArn=role_arn,
                type=kind,
                **settings,
                **versioning,
                **({"tags": tag_list} if tag_list else {}),
            )
        except DeployError as exc:
            if exc.code != "StateMachineAlreadyExists":
                raise
            arn = _find(sfn, name)  # created meanwhile by someone else: update it
            if arn is None:
                raise
        else:
            arn = made["stateMachineArn"]
            version = made.get("stateMachineVersionArn")
            action, created, tags = "created", True, None
    if not created:
        described = _call(sfn, "describe_state_machine", stateMachineArn=arn)
        if described.get("type", kind) != kind:
            raise DeployError(
                f"the state machine '{name}' is {described['type']}, not {kind}: AWS cannot change a state "
                "machine's type (delete it, or deploy under another name)",
                code="StateMachineTypeNotSupported",
                operation="DescribeStateMachine",
            )
        changed = _changes(described, text, role_arn, settings)
        revision = described.get("revisionId")
        if changed:
            updated = _call(
                sfn,
                "update_state_machine",
                stateMachineArn=arn,
                definition=text,
                roleArn=role_arn,
                **settings,
                **versioning,
            )
            revision = updated.get("revisionId", revision)
            version = updated.get("stateMachineVersionArn")
            action = "updated"
        else:
            action = "unchanged"
            if publish:
                extra = {"revisionId": revision} if revision else {}
                if version_description is not None:
                    extra["description"] = version_description
                published = _call(sfn, "publish_state_machine_version", stateMachineArn=arn, **extra)
                version = published.get("stateMachineVersionArn")
    if revision is None and created:
        revision = _call(sfn, "describe_state_machine", stateMachineArn=arn).get("revisionId")
    if tags:
        _call(sfn, "tag_resource", resourceArn=arn, tags=[{"key": k, "value": v} for k, v in tags.items()])
    alias_arn = alias_action = None
    if alias is not None:
        if version is None:
            raise DeployError(f"AWS published no version of '{name}' for the alias '{alias}'")
        alias_arn, alias_action = _point_alias(sfn, arn, alias, version, alias_description)
    return DeployResult(
        state_machine_arn=arn,
        name=name,
        type=kind,
        action=action,
        changed=changed,
        revision_id=revision,
        version_arn=version,
        alias_arn=alias_arn,
        alias_action=alias_action,
        replaced=tuple(replaced),
        warnings=tuple(warnings),
    )


# -- AWS calls -------------------------------------------------------------------------------------


def _client(session: Any, region: str | None, endpoint_url: str | None) -> Any:
    try:
        import boto3
    except ImportError:
        raise DeployError(
            "deploying needs boto3: pip install 'durable[deploy]' (or pip install boto3)",
            code="MissingDependency",
        ) from None
    try:
        made = session if session is not None else boto3.session.Session()
        return made.client("stepfunctions", region_name=region, endpoint_url=endpoint_url)
    except Exception as exc:  # botocore: no region, a malformed endpoint URL, ...
        raise _error(exc, None) from None


def _operation(method: str) -> str:
    return "".join(part.capitalize() for part in method.split("_"))


def _error(exc: Exception, method: str | None) -> DeployError:
    operation = _operation(method) if method else None
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and isinstance(response.get("Error"), dict):
        error = response["Error"]
        code = str(error.get("Code") or type(exc).__name__)
        message = str(error.get("Message") or exc)
        where = f" ({operation})" if operation else ""
        return DeployError(f"AWS refused{where}: {code}: {message}", code=code, operation=operation)
    where = f" during {operation}" if operation else ""
    return DeployError(f"{type(exc).__name__}{where}: {exc}", code=type(exc).__name__, operation=operation)


def _call(sfn: Any, method: str, **kwargs: Any) -> dict[str, Any]:
    """``sfn.method(**kwargs)``; botocore's errors become :class:`DeployError`."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        out: dict[str, Any] = getattr(sfn, method)(**kwargs)
    except (ClientError, BotoCoreError) as exc:
        raise _error(exc, method) from None
    return out


def _find(sfn: Any, name: str) -> str | None:
    """The ARN of the state machine ``name`` (ListStateMachines), or None."""
    token: str | None = None
    while True:
        page = _call(sfn, "list_state_machines", **({"nextToken": token} if token else {}))
        for machine in page.get("stateMachines", ()):
            if machine.get("name") == name:
                return str(machine["stateMachineArn"])
        token = page.get("nextToken")
        if not token:
            return None


def _same_json(a: str, b: str) -> bool:
    try:
        return bool(json.loads(a) == json.loads(b))
    except ValueError:
        return a == b


def _changes(
    described: Mapping[str, Any], text: str, role_arn: str, settings: Mapping[str, Any]
) -> tuple[str, ...]:
    changed = []
    if not _same_json(str(described.get("definition", "")), text):
        changed.append("definition")
    if described.get("roleArn") != role_arn:
        changed.append("roleArn")
    for key, wanted in settings.items():
        current = described.get(key) or {}
        if key == "loggingConfiguration":
            current = {k: v for k, v in current.items() if v not in (None, [], "OFF", False)}
            wanted = {k: v for k, v in wanted.items() if v not in (None, [], "OFF", False)}
        elif key == "tracingConfiguration":
            current = {"enabled": bool(current.get("enabled"))}
        if current != wanted:
            changed.append(key)
    return tuple(changed)


def _point_alias(sfn: Any, arn: str, alias: str, version: str, description: str | None) -> tuple[str, str]:
    """Create the alias ``alias`` of ``arn`` routing all traffic to ``version``, or move it there."""
    alias_arn = f"{arn}:{alias}"
    routing = [{"stateMachineVersionArn": version, "weight": 100}]
    try:
        current = _call(sfn, "describe_state_machine_alias", stateMachineAliasArn=alias_arn)
    except DeployError as exc:
        if exc.code not in ("ResourceNotFound", "ResourceNotFoundException"):
            raise
        extra = {"description": description} if description is not None else {}
        try:
            created = _call(
                sfn, "create_state_machine_alias", name=alias, routingConfiguration=routing, **extra
            )
            return str(created.get("stateMachineAliasArn", alias_arn)), "created"
        except DeployError as race:
            if race.code not in ("ConflictException", "ResourceConflict"):
                raise
            current = {}  # created meanwhile: move it
    same = [
        {"stateMachineVersionArn": r.get("stateMachineVersionArn"), "weight": r.get("weight")}
        for r in current.get("routingConfiguration", ())
    ] == routing
    if same and (description is None or current.get("description") == description):
        return alias_arn, "unchanged"
    extra = {"description": description} if description is not None else {}
    _call(
        sfn,
        "update_state_machine_alias",
        stateMachineAliasArn=alias_arn,
        routingConfiguration=routing,
        **extra,
    )
    return alias_arn, "updated"
