"""State machine definitions from files: ``.asl.json`` / ``.asl.yaml``, and CloudFormation, SAM
or CDK synth templates (JSON or YAML, short-form tags such as ``!Sub`` included).

From a template, the ``AWS::StepFunctions::StateMachine`` (``Definition``, ``DefinitionString``
with ``Fn::Sub``/``Fn::Join``, ``DefinitionS3Location`` read as a local file) or
``AWS::Serverless::StateMachine`` (``Definition``, ``DefinitionUri``) is selected by logical id
when there are several; its ``DefinitionSubstitutions`` are applied in one pass as
CloudFormation applies them (a substituted value is not scanned again); ``Ref`` and
``Fn::GetAtt`` become stable local ARNs and names; ``substitutions`` given by the user override
substitutions and template parameters of the same name.

:func:`load_state_machine` also returns what else of the resource a deployment uses: its name
(``StateMachineName``; SAM ``Name``), type (``StateMachineType``; SAM ``Type``), logging
(``LoggingConfiguration``; SAM ``Logging``) and tracing (``TracingConfiguration``; SAM
``Tracing``), each as written when it is a literal value; one computed by an intrinsic function
(``!Ref``, ``!GetAtt``, ``!Sub``, ...) is not resolved against the local stand-ins and is named
in ``unresolved`` instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..errors import DurableError

__all__ = ["DefinitionSource", "TemplateError", "load_definition", "load_state_machine"]

MACHINE_TYPES = ("AWS::StepFunctions::StateMachine", "AWS::Serverless::StateMachine")
_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")


class TemplateError(DurableError):
    """A definition file or template that cannot be read as a state machine."""

    code = "InvalidDefinition"


@dataclass(frozen=True, slots=True)
class DefinitionSource:
    """A state machine read from a file: its definition (JSON text), and from a template its
    logical id, and its name, type, logging configuration (as the template writes it) and
    tracing when the template sets them to literal values; ``unresolved`` names the properties
    it sets with intrinsic functions (not taken)."""

    definition: str
    logical_id: str | None = None
    name: str | None = None
    type: str | None = None
    logging: Mapping[str, Any] | None = None
    tracing: bool | None = None
    unresolved: tuple[str, ...] = ()


# -- YAML with CloudFormation's short-form tags ------------------------------------------------------
class _Loader(yaml.SafeLoader):
    pass


def _tag(name: str) -> Any:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if name == "Fn::GetAtt" and isinstance(value, str):
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {name: value}

    return construct


for _short in (
    "Base64", "Cidr", "FindInMap", "GetAtt", "GetAZs", "ImportValue", "Join", "Select", "Split",
    "Sub", "Transform", "And", "Equals", "If", "Not", "Or",
):  # fmt: skip
    _Loader.add_constructor(f"!{_short}", _tag(f"Fn::{_short}"))
_Loader.add_constructor("!Ref", _tag("Ref"))
_Loader.add_constructor("!Condition", _tag("Condition"))


def _parse(text: str, path: Path) -> Any:
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text)
        return yaml.load(text, Loader=_Loader)  # a SafeLoader, with the CloudFormation tags
    except (ValueError, yaml.YAMLError) as exc:
        raise TemplateError(
            f"{path.name}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}"
        ) from None


# -- public entry points -------------------------------------------------------------------------------
def load_state_machine(
    path: str | Path,
    *,
    state_machine: str | None = None,
    substitutions: Mapping[str, str] | None = None,
    region: str = "us-east-1",
    account: str = "111111111111",
) -> DefinitionSource:
    """Read a state machine from ``path`` (see the module docstring)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TemplateError(f"cannot read {path}: {exc.strerror}") from None
    doc = _parse(text, path)
    if isinstance(doc, Mapping) and "Resources" in doc:
        return _from_template(doc, path, state_machine, dict(substitutions or {}), region, account)
    if isinstance(doc, Mapping) and "States" in doc:
        definition = json.dumps(doc) if not path.suffix.lower() == ".json" else text
        if substitutions:
            definition = json.dumps(_substitute_values(json.loads(definition), dict(substitutions)))
        return DefinitionSource(definition)
    raise TemplateError(
        f"{path.name}: neither a state machine definition (StartAt, States) nor a template (Resources)"
    )


def load_definition(
    path: str | Path,
    *,
    state_machine: str | None = None,
    substitutions: Mapping[str, str] | None = None,
    region: str = "us-east-1",
    account: str = "111111111111",
) -> str:
    """The definition (JSON text) of the state machine at ``path``: see :func:`load_state_machine`."""
    return load_state_machine(
        path, state_machine=state_machine, substitutions=substitutions, region=region, account=account
    ).definition


# -- templates -----------------------------------------------------------------------------------------
def _from_template(
    doc: Mapping[str, Any],
    path: Path,
    wanted: str | None,
    overrides: dict[str, str],
    region: str,
    account: str,
) -> DefinitionSource:
    resources = doc.get("Resources") or {}
    machines = {
        k: r for k, r in resources.items() if isinstance(r, Mapping) and r.get("Type") in MACHINE_TYPES
    }
    if not machines:
        raise TemplateError(f"{path.name}: the template has no AWS::StepFunctions::StateMachine")
    if wanted is None:
        if len(machines) > 1:
            raise TemplateError(
                f"{path.name}: the template has several state machines, choose one by logical id: "
                + ", ".join(sorted(machines))
            )
        wanted = next(iter(machines))
    if wanted not in machines:
        by_name = [k for k, r in machines.items() if _name_property(r) == wanted]
        if len(by_name) != 1:
            raise TemplateError(
                f"{path.name}: no state machine {wanted!r}; the template has: " + ", ".join(sorted(machines))
            )
        wanted = by_name[0]
    resolver = _Resolver(doc, region, account, overrides)
    resource = machines[wanted]
    props = resource.get("Properties") or {}
    serverless = resource["Type"] == "AWS::Serverless::StateMachine"
    subs = {k: resolver.text(v) for k, v in (props.get("DefinitionSubstitutions") or {}).items()}
    subs.update(overrides)
    if props.get("Definition") is not None:
        definition = _substitute_values(resolver.value(props["Definition"]), subs)
        text = json.dumps(definition)
    elif props.get("DefinitionString") is not None:
        text = _substitute_text(resolver.text(props["DefinitionString"]), subs)
    else:
        location = props.get("DefinitionUri") if serverless else props.get("DefinitionS3Location")
        if location is None:
            raise TemplateError(f"{path.name}: state machine {wanted!r} has no definition")
        file = _local_file(location, path, wanted)
        loaded = load_state_machine(file)
        text = json.dumps(_substitute_values(json.loads(loaded.definition), subs))
    keys = _SERVERLESS_KEYS if serverless else _CFN_KEYS
    given = {what: props[key] for what, key in keys.items() if props.get(key) is not None}
    unresolved = tuple(keys[what] for what, value in given.items() if not _literal(value))
    taken = {what: value for what, value in given.items() if _literal(value)}
    machine_type, logging = taken.get("type"), taken.get("logging")
    return DefinitionSource(
        text,
        logical_id=wanted,
        name=_name_property(resource),
        type=str(machine_type).upper() if isinstance(machine_type, str) else None,
        logging=logging if isinstance(logging, Mapping) else None,
        tracing=_enabled(taken.get("tracing")),
        unresolved=unresolved,
    )


def _enabled(tracing: Any) -> bool | None:
    """``Enabled`` of a tracing configuration (absent: false, as CloudFormation reads it)."""
    if not isinstance(tracing, Mapping):
        return None
    enabled = tracing.get("Enabled", False)
    if isinstance(enabled, str) and enabled.lower() in ("true", "false"):
        return enabled.lower() == "true"  # CloudFormation takes a Boolean as a string too
    return enabled if isinstance(enabled, bool) else None


_CFN_KEYS = {
    "name": "StateMachineName",
    "type": "StateMachineType",
    "logging": "LoggingConfiguration",
    "tracing": "TracingConfiguration",
}
_SERVERLESS_KEYS = {"name": "Name", "type": "Type", "logging": "Logging", "tracing": "Tracing"}


def _literal(value: Any) -> bool:
    """No intrinsic function (``Ref``, ``Fn::*``, ``Condition``) anywhere in ``value``."""
    if isinstance(value, list):
        return all(_literal(v) for v in value)
    if isinstance(value, Mapping):
        if (len(value) == 1 and next(iter(value)) in ("Ref", "Condition")) or any(
            str(k).startswith("Fn::") for k in value
        ):
            return False
        return all(_literal(v) for v in value.values())
    return True


def _name_property(resource: Mapping[str, Any]) -> str | None:
    props = resource.get("Properties") or {}
    name = props.get("Name") if resource.get("Type") == "AWS::Serverless::StateMachine" else None
    name = name or props.get("StateMachineName")
    return name if isinstance(name, str) else None


def _local_file(location: Any, template: Path, logical_id: str) -> Path:
    if isinstance(location, Mapping):
        location = location.get("Key")
    if not isinstance(location, str):
        raise TemplateError(f"state machine {logical_id!r}: its definition location is not a file path")
    location = str(location).removeprefix("file://")
    candidates: list[Path] = [template.parent / location, template.parent / Path(location).name]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise TemplateError(
        f"state machine {logical_id!r}: the definition file {location!r} is not found next to {template.name}"
    )


def _substitute_text(text: str, subs: Mapping[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: subs.get(m.group(1), m.group(0)), text)


def _substitute_values(value: Any, subs: Mapping[str, str]) -> Any:
    if not subs:
        return value
    if isinstance(value, str):
        return _substitute_text(value, subs)
    if isinstance(value, list):
        return [_substitute_values(v, subs) for v in value]
    if isinstance(value, dict):
        return {k: _substitute_values(v, subs) for k, v in value.items()}
    return value


# -- intrinsic functions -------------------------------------------------------------------------------
_NAME_PROPERTIES = (
    "FunctionName", "QueueName", "TopicName", "TableName", "StateMachineName", "BucketName", "RoleName",
    "Name", "EventBusName", "ClusterName", "RepositoryName", "StreamName",
)  # fmt: skip
# resource type -> (what Ref gives: "name" or an ARN format, the ARN format for GetAtt Arn)
_ARNS = {
    "AWS::Lambda::Function": ("name", "arn:aws:lambda:{r}:{a}:function:{n}"),
    "AWS::Serverless::Function": ("name", "arn:aws:lambda:{r}:{a}:function:{n}"),
    "AWS::SQS::Queue": ("https://sqs.{r}.amazonaws.com/{a}/{n}", "arn:aws:sqs:{r}:{a}:{n}"),
    "AWS::SNS::Topic": ("arn:aws:sns:{r}:{a}:{n}", "arn:aws:sns:{r}:{a}:{n}"),
    "AWS::DynamoDB::Table": ("name", "arn:aws:dynamodb:{r}:{a}:table/{n}"),
    "AWS::Serverless::SimpleTable": ("name", "arn:aws:dynamodb:{r}:{a}:table/{n}"),
    "AWS::S3::Bucket": ("name", "arn:aws:s3:::{n}"),
    "AWS::IAM::Role": ("name", "arn:aws:iam::{a}:role/{n}"),
    "AWS::Events::EventBus": ("name", "arn:aws:events:{r}:{a}:event-bus/{n}"),
    "AWS::StepFunctions::Activity": (
        "arn:aws:states:{r}:{a}:activity:{n}",
        "arn:aws:states:{r}:{a}:activity:{n}",
    ),
    "AWS::StepFunctions::StateMachine": (
        "arn:aws:states:{r}:{a}:stateMachine:{n}",
        "arn:aws:states:{r}:{a}:stateMachine:{n}",
    ),
    "AWS::Serverless::StateMachine": (
        "arn:aws:states:{r}:{a}:stateMachine:{n}",
        "arn:aws:states:{r}:{a}:stateMachine:{n}",
    ),
    "AWS::ECS::Cluster": ("name", "arn:aws:ecs:{r}:{a}:cluster/{n}"),
    "AWS::ECS::TaskDefinition": (
        "arn:aws:ecs:{r}:{a}:task-definition/{n}:1",
        "arn:aws:ecs:{r}:{a}:task-definition/{n}:1",
    ),
    "AWS::Batch::JobQueue": ("arn:aws:batch:{r}:{a}:job-queue/{n}", "arn:aws:batch:{r}:{a}:job-queue/{n}"),
    "AWS::Batch::JobDefinition": (
        "arn:aws:batch:{r}:{a}:job-definition/{n}:1",
        "arn:aws:batch:{r}:{a}:job-definition/{n}:1",
    ),
    "AWS::Kinesis::Stream": ("name", "arn:aws:kinesis:{r}:{a}:stream/{n}"),
}


class _Resolver:
    def __init__(
        self, doc: Mapping[str, Any], region: str, account: str, overrides: Mapping[str, str]
    ) -> None:
        self.resources: Mapping[str, Any] = doc.get("Resources") or {}
        self.parameters: Mapping[str, Any] = doc.get("Parameters") or {}
        self.conditions: Mapping[str, Any] = doc.get("Conditions") or {}
        self.mappings: Mapping[str, Any] = doc.get("Mappings") or {}
        self._deciding: set[str] = set()
        self.region = region
        self.account = account
        self.overrides = overrides
        self._naming: set[str] = set()
        self.pseudo = {
            "AWS::Region": region,
            "AWS::AccountId": account,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": "durable-local",
            "AWS::StackId": f"arn:aws:cloudformation:{region}:{account}:stack/durable-local/local",
            "AWS::NoValue": "",
        }

    def text(self, value: Any) -> str:
        resolved = self.value(value)
        return resolved if isinstance(resolved, str) else json.dumps(resolved)

    def value(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.ref(str(arg))
            if key == "Fn::GetAtt":
                parts = arg.split(".", 1) if isinstance(arg, str) else list(arg)
                return self.get_att(str(parts[0]), str(parts[1]) if len(parts) > 1 else "Arn")
            if key == "Fn::Sub":
                return self.sub(arg)
            if key == "Fn::Join":
                delimiter, items = arg
                return str(delimiter).join(self.text(i) for i in self.value(items))
            if key == "Fn::Select":
                index, items = arg
                return self.value(items)[int(self.value(index))]
            if key == "Fn::Split":
                delimiter, source = arg
                return self.text(source).split(str(delimiter))
            if key == "Fn::If":
                if not isinstance(arg, list) or len(arg) != 3:
                    raise TemplateError(f"Fn::If takes [condition, value if true, value if false]: {arg!r}")
                return self.value(arg[1] if self.condition(str(arg[0])) else arg[2])
            if key == "Fn::FindInMap":
                return self.find_in_map(arg)
            if key == "Fn::ImportValue":
                return self.text(arg)
            if key == "Fn::Base64":
                return self.text(arg)
        return {k: self.value(v) for k, v in value.items()}

    # -- Conditions and Mappings, as CloudFormation evaluates them (parameters by their Default
    # or the caller's substitution) -------------------------------------------------------------------
    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            raise TemplateError(f"condition {name!r} is not in the template's Conditions")
        if name in self._deciding:
            raise TemplateError(f"condition {name!r} refers to itself")
        self._deciding.add(name)
        try:
            return self.truth(self.conditions[name])
        finally:
            self._deciding.discard(name)

    def truth(self, expression: Any) -> bool:
        if isinstance(expression, dict) and len(expression) == 1:
            ((key, arg),) = expression.items()
            if key == "Condition":
                return self.condition(str(arg))
            if key == "Fn::Equals" and isinstance(arg, list) and len(arg) == 2:
                left, right = (self.value(v) for v in arg)
                return bool(_comparable(left) == _comparable(right))
            if key == "Fn::Not" and isinstance(arg, list) and len(arg) == 1:
                return not self.truth(arg[0])
            if key == "Fn::And" and isinstance(arg, list):
                return all(self.truth(v) for v in arg)
            if key == "Fn::Or" and isinstance(arg, list):
                return any(self.truth(v) for v in arg)
        raise TemplateError(
            f"not a condition (Fn::Equals, Fn::And, Fn::Or, Fn::Not, Condition): {expression!r}"
        )

    def find_in_map(self, arg: Any) -> Any:
        if not isinstance(arg, list) or len(arg) != 3:
            raise TemplateError(f"Fn::FindInMap takes [map, top-level key, second-level key]: {arg!r}")
        name, top, second = (self.text(v) for v in arg)
        try:
            return self.value(self.mappings[name][top][second])
        except (KeyError, TypeError):
            raise TemplateError(
                f"Fn::FindInMap: {name}/{top}/{second} is not in the template's Mappings"
            ) from None

    def ref(self, name: str) -> Any:
        if name in self.overrides:
            return self.overrides[name]
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            default = (self.parameters[name] or {}).get("Default")
            if default is None:
                raise TemplateError(
                    f"parameter {name!r} has no Default: give it with a substitution {name}=VALUE"
                )
            return default
        resource = self.resources.get(name)
        if not isinstance(resource, Mapping):
            raise TemplateError(f"Ref to {name!r}: no such parameter or resource in the template")
        ref, _ = _ARNS.get(str(resource.get("Type")), ("name", ""))
        local = self._name(name, resource)
        return local if ref == "name" else ref.format(r=self.region, a=self.account, n=local)

    def get_att(self, logical_id: str, attribute: str) -> Any:
        resource = self.resources.get(logical_id)
        if not isinstance(resource, Mapping):
            raise TemplateError(f"Fn::GetAtt {logical_id}.{attribute}: no such resource in the template")
        kind = str(resource.get("Type"))
        local = self._name(logical_id, resource)
        if attribute in ("Arn", "StateMachineArn", "TopicArn", "QueueArn"):
            _, arn = _ARNS.get(kind, ("", ""))
            if not arn:
                service = kind.split("::")[1].lower() if kind.count("::") == 2 else "unknown"
                arn = f"arn:aws:{service}:{{r}}:{{a}}:{{n}}"
            return arn.format(r=self.region, a=self.account, n=local)
        if attribute in ("Name", "QueueName", "TopicName", "StateMachineName"):
            return local
        if attribute == "QueueUrl":
            return f"https://sqs.{self.region}.amazonaws.com/{self.account}/{local}"
        return f"{local}.{attribute}"

    def sub(self, arg: Any) -> str:
        if isinstance(arg, list):
            template, variables = str(arg[0]), {k: self.text(v) for k, v in (arg[1] or {}).items()}
        else:
            template, variables = str(arg), {}

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return variables[name]
            if name in self.pseudo or name in self.parameters or name in self.overrides:
                return str(self.ref(name))
            logical, dot, attribute = name.partition(".")
            if logical in self.resources:
                return str(self.get_att(logical, attribute) if dot else self.ref(logical))
            return match.group(0)  # not CloudFormation's: left for DefinitionSubstitutions

        return _PLACEHOLDER.sub(one, template)

    def _name(self, logical_id: str, resource: Mapping[str, Any]) -> str:
        props = resource.get("Properties") or {}
        for prop in _NAME_PROPERTIES:
            value = props.get(prop)
            if isinstance(value, dict) and logical_id not in self._naming:
                self._naming.add(logical_id)  # a name that refers to its own resource: not resolved
                try:
                    value = self.text(value)
                except (TemplateError, LookupError, TypeError, ValueError):
                    value = None
                finally:
                    self._naming.discard(logical_id)
            if isinstance(value, str) and value and "${" not in value:
                return value
        return logical_id


def _comparable(value: Any) -> Any:
    """CloudFormation compares strings: a number or boolean equals its text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value
