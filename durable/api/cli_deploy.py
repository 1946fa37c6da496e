"""``durable deploy`` (the same definition, to AWS Step Functions) and ``validate --portable``.

Mappings come from the command line and the configuration file's ``[deploy]`` table (the command
line's entry of the same name wins): ``--function NAME=LAMBDA_ARN`` for the local functions,
``--resource LOCAL=AWS`` for any other value. The Python side is :mod:`.deploy`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..errors import DefinitionError, Diagnostic
from ..interpreter.portable import portability_diagnostics
from ..interpreter.program import parse_definition
from ..interpreter.remap import remap_definition
from .cli_common import (
    EXIT_FAILED,
    EXIT_OK,
    PROG,
    CliError,
    add_template_arguments,
    diagnostic_errors,
    dump,
    input_text,
    machine_type,
    read_source,
)
from .cli_config import CONFIG_FILE
from .deploy import DeployError, deploy, prepare_definition

if TYPE_CHECKING:
    from ..runtime.templates import DefinitionSource

__all__ = ["add_commands", "add_portable_arguments", "portable_diagnostics"]

_DESCRIPTION = """\
Deploy DEFINITION (an ASL file or a CloudFormation/SAM/CDK template) to AWS Step Functions with
boto3: create the state machine NAME, or update it when it exists and differs; optionally
publish a version and point an alias at it.

The definition is rewritten only where --function and --resource map it (the local Lambda
functions to deployed ones, local resources to AWS's), then checked with durable's validator:
an invalid definition is refused before anything is uploaded. What would still not run on AWS
(see `durable validate --portable`) is listed under "warnings" and on standard error;
--strict refuses to deploy it.

From a template, the state machine's name, type, logging and tracing are the template's
(StateMachineName, StateMachineType, LoggingConfiguration, TracingConfiguration; SAM's Name,
Type, Logging, Tracing) unless --name, --type, --logging or --tracing say otherwise.

Prints one JSON object: stateMachineArn, action (created, updated, unchanged), changed,
revisionId, stateMachineVersionArn, stateMachineAliasArn and aliasAction, replaced, warnings.
Credentials and the region come from boto3's usual places (AWS_PROFILE, AWS_REGION, ...).
"""

_EPILOG = f"""\
examples:
  durable deploy machine.asl.json --name orders --role-arn arn:aws:iam::123456789012:role/sfn \\
      --function greet=arn:aws:lambda:eu-west-1:123456789012:function:greet --region eu-west-1
  durable deploy template.yaml --logical-id Orders --role-arn ARN --publish --alias live  # its name
  durable deploy machine.asl.json --name orders --role-arn ARN --dry-run     # print, upload nothing

settings: the [deploy] table of {CONFIG_FILE} may hold role_arn, region, endpoint_url and the
tables functions, resources and tags.

exit codes: 0 deployed (or nothing to change), 1 AWS refused a call or could not be reached,
2 usage or input error (an invalid definition, a bad mapping, --strict findings).
"""


def _pairs(raw: Sequence[str], option: str, what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in raw:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise CliError(f"bad {option} {item!r}: expected {what}")
        out[key.strip()] = value.strip()
    return out


def add_portable_arguments(parser: argparse.ArgumentParser, *, deploying: bool) -> None:
    """``--function NAME=LAMBDA_ARN``, ``--resource LOCAL=AWS`` (and for validate ``--local-bucket``)."""
    parser.add_argument(
        "--function",
        "-f",
        metavar="NAME=LAMBDA_ARN",
        action="append",
        default=[],
        dest="deploy_functions",
        help="deploy the local Lambda function NAME as the Lambda function LAMBDA_ARN (repeatable)",
    )
    parser.add_argument(
        "--resource",
        metavar="LOCAL=AWS",
        action="append",
        default=[],
        dest="deploy_resources",
        help="replace the value LOCAL (a whole string: a resource, an ARN, a URL, a bucket) by AWS "
        "(repeatable)",
    )
    parser.set_defaults(config_deploy={}, config_local_buckets={}, config_local_settings=())
    if not deploying:
        parser.add_argument(
            "--local-bucket",
            metavar="NAME[=DIR]",
            action="append",
            default=[],
            dest="local_buckets",
            help="with --portable: the S3 bucket NAME is a local directory here (repeatable; also "
            "local_buckets of the configuration)",
        )


def _mappings(args: argparse.Namespace) -> tuple[dict[str, str], dict[str, str]]:
    config: dict[str, Any] = getattr(args, "config_deploy", None) or {}
    functions = {
        **config.get("functions", {}),
        **_pairs(args.deploy_functions, "--function", "NAME=LAMBDA_ARN"),
    }
    resources = {**config.get("resources", {}), **_pairs(args.deploy_resources, "--resource", "LOCAL=AWS")}
    return functions, resources


def _config_findings(args: argparse.Namespace) -> list[Diagnostic]:
    label = getattr(args, "config_file", CONFIG_FILE)
    why = {
        "db": "the database is this machine's: executions on AWS are kept by AWS",
        "functions": "local Python functions do not travel: deploy them as Lambda functions and map "
        "them ([deploy] functions or --function NAME=LAMBDA_ARN)",
        "mocks": "mocked responses apply to durable test only",
        "local_buckets": "buckets read from local directories here are read from S3 on AWS",
    }
    return [
        Diagnostic("LOCAL_SETTING", f"The setting '{key}' of {label} is local: {why[key]}", None, "WARNING")
        for key in getattr(args, "config_local_settings", ())
    ]


def portable_diagnostics(args: argparse.Namespace, definition: str, kind: str) -> list[Diagnostic]:
    """``validate --portable``: the portability findings of ``definition`` once the mappings are
    applied, then the configuration's local settings (warnings)."""
    functions, resources = _mappings(args)
    try:
        doc, text = parse_definition(definition)
    except DefinitionError:
        return []  # the validator reports it
    if not isinstance(doc, dict):
        return []
    try:
        doc, replaced = remap_definition(doc, functions=functions, resources=resources)
    except ValueError as exc:
        raise CliError(f"bad mapping: {exc}") from None
    if replaced:
        text = json.dumps(doc, ensure_ascii=False)
    buckets = set(getattr(args, "config_local_buckets", None) or {})
    buckets.update(item.partition("=")[0].strip() for item in getattr(args, "local_buckets", ()))
    found = portability_diagnostics(doc, text=text, machine_type=kind, local_buckets=buckets)
    return [*found, *_config_findings(args)]


def add_commands(sub: Any, formatter: type[argparse.HelpFormatter]) -> None:
    parser = sub.add_parser(
        "deploy",
        help="deploy a definition to AWS Step Functions (create or update, publish, alias)",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=formatter,
    )
    parser.add_argument("definition", metavar="DEFINITION", help="ASL JSON/YAML file or template")
    parser.add_argument(
        "--name",
        "-n",
        help="the state machine's name on AWS (default: a template's StateMachineName, SAM Name)",
    )
    parser.add_argument("--role-arn", metavar="ARN", help="the IAM role Step Functions runs it with")
    parser.add_argument(
        "--type",
        "-t",
        type=machine_type,
        default=None,
        metavar="STANDARD|EXPRESS",
        help="default: a template's StateMachineType (SAM Type), else STANDARD",
    )
    parser.add_argument("--region", metavar="REGION", help="the AWS region (default: boto3's)")
    parser.add_argument("--endpoint-url", metavar="URL", help="the Step Functions endpoint (default: AWS's)")
    add_portable_arguments(parser, deploying=True)
    parser.add_argument("--publish", action="store_true", help="publish a version of what is deployed")
    parser.add_argument("--version-description", metavar="TEXT", help="the published version's description")
    parser.add_argument(
        "--alias",
        metavar="NAME",
        help="create the alias NAME or move it (all traffic) to the published version; implies --publish",
    )
    parser.add_argument("--alias-description", metavar="TEXT", help="the alias's description")
    parser.add_argument(
        "--logging",
        metavar="JSON|@FILE",
        help="the loggingConfiguration (level, includeExecutionData, destinations), as AWS takes it "
        "(default: a template's LoggingConfiguration, SAM Logging)",
    )
    parser.add_argument(
        "--tracing",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="turn X-Ray tracing on (--tracing) or off (--no-tracing); default: a template's "
        "TracingConfiguration (SAM Tracing), else leave it",
    )
    parser.add_argument(
        "--tag", metavar="KEY=VALUE", action="append", default=[], dest="tags", help="tag it (repeatable)"
    )
    parser.add_argument(
        "--strict", action="store_true", help="refuse to deploy what `validate --portable` reports"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print the definition that would be uploaded; call no AWS API"
    )
    add_template_arguments(parser)
    parser.set_defaults(handler=_cmd_deploy)


_TEMPLATE_KEYS = {
    "name": ("StateMachineName", "Name"),
    "type": ("StateMachineType", "Type"),
    "logging": ("LoggingConfiguration", "Logging"),
    "tracing": ("TracingConfiguration", "Tracing"),
}


def _unresolved(source: DefinitionSource, what: str) -> str | None:
    """The template's property for ``what`` when it is computed by an intrinsic function."""
    return next((key for key in _TEMPLATE_KEYS[what] if key in source.unresolved), None)


def _api_shape(value: Any) -> Any:
    """A CloudFormation property (``Level``, ``LogGroupArn``) in the API's camelCase (``level``)."""
    if isinstance(value, dict):
        return {(k[:1].lower() + k[1:] if isinstance(k, str) else k): _api_shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_api_shape(v) for v in value]
    return value


def _template_settings(
    args: argparse.Namespace, source: DefinitionSource
) -> tuple[str, str, dict[str, Any] | None, bool | None, list[str]]:
    """The name, type, logging and tracing to deploy (the flags', else the template's) and what
    the template computes with intrinsic functions and is therefore not deployed."""
    name = args.name or source.name
    if not name:
        key = _unresolved(source, "name")
        why = f" (the template's {key} is computed by an intrinsic function)" if key else ""
        raise CliError(f"deploy needs --name NAME{why}")
    kind = args.type or source.type
    if kind is None and (key := _unresolved(source, "type")):
        raise CliError(
            f"the template's {key} is computed by an intrinsic function: give --type STANDARD|EXPRESS"
        )
    if kind not in (None, "STANDARD", "EXPRESS"):
        raise CliError(f"the template's state machine type {kind!r} is not STANDARD or EXPRESS")
    notes: list[str] = []
    logging_configuration = None
    if args.logging is not None:
        logging_configuration = json.loads(input_text(args.logging, args.definition == "-", "--logging"))
        if not isinstance(logging_configuration, dict):
            raise CliError("--logging must be a JSON object (a loggingConfiguration)")
    elif source.logging is not None:
        logging_configuration = _api_shape(dict(source.logging))
    elif key := _unresolved(source, "logging"):
        notes.append(
            f"the template's {key} is computed by intrinsic functions (a log group's ARN): it is not "
            "deployed; give it with --logging JSON"
        )
    tracing = args.tracing if args.tracing is not None else source.tracing
    if args.tracing is None and (key := _unresolved(source, "tracing")):
        notes.append(
            f"the template's {key} is computed by an intrinsic function: it is not deployed; "
            "give --tracing or --no-tracing"
        )
    return name, kind or "STANDARD", logging_configuration, tracing, notes


def _cmd_deploy(args: argparse.Namespace) -> int:
    source = args.definition if args.definition != "-" else "standard input"
    read = read_source(args.definition, args.logical_id, args.substitutions, args.config_substitutions)
    definition = read.definition
    name, kind, logging_configuration, tracing, notes = _template_settings(args, read)
    config: dict[str, Any] = args.config_deploy or {}
    functions, resources = _mappings(args)
    role_arn = args.role_arn or config.get("role_arn")
    tags = {**config.get("tags", {}), **_pairs(args.tags, "--tag", "KEY=VALUE")}
    if args.version_description is not None and not (args.publish or args.alias):
        raise CliError("--version-description needs --publish (or --alias)")
    try:
        text, replaced, warnings = prepare_definition(
            definition, type=kind, functions=functions, resources=resources
        )
    except DefinitionError as exc:
        raise diagnostic_errors(exc.diagnostics, source) from None
    if args.strict and (warnings or notes):
        raise CliError(
            f"{source} would not run on AWS as it is (--strict):", *(str(d) for d in warnings), *notes
        )
    if args.dry_run:
        planned: dict[str, Any] = {"name": name, "type": kind, "definition": json.loads(text)}
        if logging_configuration is not None:
            planned["loggingConfiguration"] = logging_configuration
        if tracing is not None:
            planned["tracingConfiguration"] = {"enabled": tracing}
        planned["replaced"] = [r.to_dict() for r in replaced]
        planned["warnings"] = [d.to_dict() for d in warnings]
        for note in notes:
            print(f"{PROG}: warning: {note}", file=sys.stderr)
        dump(planned, sys.stdout)
        return EXIT_OK
    if not role_arn:
        raise CliError("deploy needs --role-arn ARN (or role_arn in the [deploy] table of the configuration)")
    for diagnostic in warnings:
        print(f"{PROG}: warning: {diagnostic}", file=sys.stderr)
    for note in notes:
        print(f"{PROG}: warning: {note}", file=sys.stderr)
    try:
        result = deploy(
            definition,
            name=name,
            role_arn=role_arn,
            type=kind,
            functions=functions,
            resources=resources,
            publish=args.publish,
            version_description=args.version_description,
            alias=args.alias,
            alias_description=args.alias_description,
            logging_configuration=logging_configuration,
            tracing=tracing,
            tags=tags or None,
            region=args.region or config.get("region"),
            endpoint_url=args.endpoint_url or config.get("endpoint_url"),
        )
    except DeployError as exc:
        print(f"{PROG}: error: {exc.message}", file=sys.stderr)
        sys.stderr.flush()
        return EXIT_FAILED
    dump(result.to_dict(), sys.stdout)
    return EXIT_OK
