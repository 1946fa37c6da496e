"""Portability: what in a definition would run with durable but not on AWS Step Functions.

:func:`portability_diagnostics` reads a parsed definition and reports, each as a
:class:`~durable.errors.Diagnostic` at its JSON path (the validator's locations):

- ``LOCAL_FUNCTION``: a Lambda function durable answers with a local Python function: a Task
  ``Resource`` or a ``lambda:invoke`` ``FunctionName`` in the local account (``111111111111``),
  or a bare name / partial ARN (``greet``, ``function:greet``) that no mapping turns into an ARN;
- ``LOCAL_RESOURCE``: an ``arn:aws:states:::SERVICE:...`` resource of a service AWS has no
  integration for (a plugin's own family), an activity of the local account;
- ``LOCAL_ARN``: any other string that is an ARN of the local account (a queue, a topic, a
  nested state machine, a ``Credentials`` role);
- ``LOCAL_BUCKET``: an ItemReader/ResultWriter bucket mapped to a local directory;
- ``LOCAL_ENDPOINT``: an HTTP Task endpoint, or any other URL (a queue URL), on localhost or a
  private address;
- ``QUOTA_*``: what only durable's relaxed quotas (``Quotas.relaxed()``) allow: a definition over
  1 MB, a static payload over 256 KiB, an Express machine asking for more than 5 minutes.

Pure: it reads the definition, never the network.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from ..errors import Diagnostic
from .quotas import Quotas

__all__ = [
    "AWS_SERVICES",
    "LOCAL_ACCOUNT",
    "TaskSite",
    "function_reference",
    "portability_diagnostics",
    "walk_states",
]

LOCAL_ACCOUNT: Final = "111111111111"
"""The account durable's engine names its ARNs with unless told otherwise."""

# The services of AWS's optimized integrations (``arn:aws:states:::SERVICE:action``), s3 for
# Distributed Map readers and writers, and the AWS SDK integrations.
AWS_SERVICES: Final = frozenset(
    {
        "apigateway", "athena", "aws-sdk", "batch", "bedrock", "codebuild", "databrew", "dynamodb",
        "ecs", "eks", "elasticmapreduce", "emr-containers", "emr-serverless", "events", "glue",
        "http", "lambda", "mediaconvert", "s3", "sagemaker", "sns", "sqs", "states",
    }
)  # fmt: skip

_AWS = Quotas.aws()
EXPRESS_SECONDS: Final = int(_AWS.express_seconds or 300)

_LAMBDA_ARN: Final = re.compile(r"^arn:[\w-]+:lambda:([\w-]*):(\d{12}):function:([^:]+)(?::([^:]+))?$")
_PARTIAL: Final = re.compile(r"^(?:(\d{12}):)?(?:function:)?([A-Za-z0-9_-]+)(?::([A-Za-z0-9_$-]+))?$")
_INVOKE: Final = re.compile(r"^arn:[\w-]+:states:::lambda:invoke(?:\.waitForTaskToken)?$")
_SERVICE: Final = re.compile(r"^arn:[\w-]+:states:::(aws-sdk|[\w-]+)[:.]")
_ACTIVITY: Final = re.compile(r"^arn:[\w-]+:states:[\w-]*:(\d{12}):activity:")
_ANY_ARN: Final = re.compile(r"^arn:[\w-]+:[\w-]+:[\w-]*:(\d{12}):")
_HTTP: Final = re.compile(r"^arn:[\w-]+:states:::http:invoke$")
_PAYLOADS: Final = ("Parameters", "Arguments", "Result", "ResultSelector", "ItemSelector", "Assign", "Output")


@dataclass(frozen=True, slots=True)
class TaskSite:
    """One state of a definition (at any depth) with its location."""

    name: str
    body: dict[str, Any]
    loc: str


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def walk_states(definition: Any, loc: str = "") -> Iterator[TaskSite]:
    """Every state of ``definition``, in document order, Parallel branches and Map processors
    included (locations as the validator writes them: ``/States/A/Branches[0]/States/B``)."""
    states = definition.get("States") if isinstance(definition, dict) else None
    if not isinstance(states, dict):
        return
    for name, body in states.items():
        if not isinstance(body, dict):
            continue
        base = f"{loc}/States/{_escape(str(name))}"
        yield TaskSite(str(name), body, base)
        branches = body.get("Branches")
        if isinstance(branches, list):
            for i, branch in enumerate(branches):
                yield from walk_states(branch, f"{base}/Branches[{i}]")
        for key in ("ItemProcessor", "Iterator"):
            if isinstance(body.get(key), dict):
                yield from walk_states(body[key], f"{base}/{key}")


def function_reference(reference: str) -> tuple[str, str | None, str | None] | None:
    """``(name, account, qualifier)`` of a Lambda function reference: a full ARN, a partial ARN
    (``123456789012:function:name``, ``function:name``) or a bare name; None for anything else."""
    m = _LAMBDA_ARN.match(reference)
    if m:
        return m.group(3), m.group(2), m.group(4)
    m = _PARTIAL.match(reference)
    if m:
        return m.group(2), m.group(1), m.group(3)
    return None


def _is_jsonata(value: str) -> bool:
    return value.startswith("{%") and value.endswith("%}")


def function_name_field(body: dict[str, Any]) -> tuple[str, str] | None:
    """``(container, value)`` of a ``lambda:invoke`` Task's literal ``FunctionName``."""
    for container in ("Parameters", "Arguments"):
        payload = body.get(container)
        if isinstance(payload, dict):
            value = payload.get("FunctionName")
            if isinstance(value, str) and not _is_jsonata(value):
                return container, value
    return None


def local_host(url: str) -> bool:
    """True when ``url`` names this machine or a private network (unreachable from AWS)."""
    try:
        host = urlsplit(url if "://" in url else f"//{url}").hostname
    except ValueError:
        return False
    if not host:
        return False
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_private or address.is_loopback or address.is_link_local or address.is_unspecified


class _Checks:
    def __init__(
        self,
        mapped_functions: Collection[str],
        local_buckets: Collection[str],
        local_accounts: Collection[str],
        machine_type: str,
    ) -> None:
        self.mapped = set(mapped_functions)
        self.buckets = set(local_buckets)
        self.accounts = set(local_accounts)
        self.machine_type = machine_type
        self.found: list[Diagnostic] = []
        self.reported: set[str] = set()

    def add(self, code: str, message: str, loc: str | None) -> None:
        if loc is not None:
            self.reported.add(loc)
        self.found.append(Diagnostic(code, message, loc))

    def function(self, reference: str, loc: str) -> None:
        parsed = function_reference(reference)
        if parsed is None:
            return
        name, account, _ = parsed
        if name in self.mapped:
            self.reported.add(loc)  # deployed under the ARN it is mapped to
            return
        if account is None or account in self.accounts:
            where = "a local name" if account is None else f"in the local account {account}"
            self.add(
                "LOCAL_FUNCTION",
                f"The Lambda function '{name}' is {where}: durable answers it with a local function; "
                f"map it to a deployed Lambda function (--function {name}=LAMBDA_ARN)",
                loc,
            )

    def task(self, body: dict[str, Any], loc: str) -> None:
        resource = body.get("Resource")
        if not isinstance(resource, str):
            return
        rloc = f"{loc}/Resource"
        if _LAMBDA_ARN.match(resource):
            self.function(resource, rloc)
        elif _INVOKE.match(resource):
            found = function_name_field(body)
            if found is not None:
                self.function(found[1], f"{loc}/{found[0]}/FunctionName")
        elif (activity := _ACTIVITY.match(resource)) is not None:
            if activity.group(1) in self.accounts:
                self.add(
                    "LOCAL_RESOURCE",
                    f"The activity '{resource}' is in the local account {activity.group(1)}: map it to "
                    "an activity of your AWS account (--resource LOCAL=AWS)",
                    rloc,
                )
        elif (service := _SERVICE.match(resource)) is not None and service.group(1) not in AWS_SERVICES:
            self.add(
                "LOCAL_RESOURCE",
                f"AWS Step Functions has no '{service.group(1)}' integration: '{resource}' runs only "
                "with a durable plugin (map it with --resource LOCAL=AWS)",
                rloc,
            )
        if _HTTP.match(resource):
            for container in ("Parameters", "Arguments"):
                payload = body.get(container)
                endpoint = payload.get("ApiEndpoint") if isinstance(payload, dict) else None
                if isinstance(endpoint, str) and not _is_jsonata(endpoint) and local_host(endpoint):
                    self.add(
                        "LOCAL_ENDPOINT",
                        f"The HTTP endpoint '{endpoint}' is on this machine or a private network, "
                        "which AWS Step Functions cannot reach",
                        f"{loc}/{container}/ApiEndpoint",
                    )

    def buckets_of(self, body: dict[str, Any], loc: str) -> None:
        for key in ("ItemReader", "ResultWriter"):
            part = body.get(key)
            if not isinstance(part, dict):
                continue
            for container in ("Parameters", "Arguments"):
                payload = part.get(container)
                bucket = payload.get("Bucket") if isinstance(payload, dict) else None
                if isinstance(bucket, str) and bucket in self.buckets:
                    self.add(
                        "LOCAL_BUCKET",
                        f"The S3 bucket '{bucket}' is mapped to a local directory here; on AWS it must "
                        "be a bucket that exists (or map it with --resource)",
                        f"{loc}/{key}/{container}/Bucket",
                    )

    def payloads(self, body: dict[str, Any], loc: str, limit: int) -> None:
        for key in _PAYLOADS:
            if key not in body:
                continue
            size = len(json.dumps(body[key], ensure_ascii=False, separators=(",", ":")).encode())
            if size > limit:
                self.add(
                    "QUOTA_PAYLOAD_SIZE",
                    f"The field '{key}' holds {size} bytes of JSON: over the {limit}-byte payload quota "
                    "of AWS Step Functions (durable allows it only with relaxed quotas)",
                    f"{loc}/{key}",
                )

    def express(self, definition: dict[str, Any]) -> None:
        if self.machine_type != "EXPRESS":
            return
        timeout = definition.get("TimeoutSeconds")
        if isinstance(timeout, int) and not isinstance(timeout, bool) and timeout > EXPRESS_SECONDS:
            self.add(
                "QUOTA_EXPRESS_DURATION",
                f"An Express execution runs at most {EXPRESS_SECONDS} seconds on AWS; TimeoutSeconds "
                f"{timeout} needs durable's relaxed quotas",
                "/TimeoutSeconds",
            )
        for site in walk_states(definition):
            seconds = site.body.get("Seconds")
            if site.body.get("Type") == "Wait" and isinstance(seconds, int) and seconds > EXPRESS_SECONDS:
                self.add(
                    "QUOTA_EXPRESS_DURATION",
                    f"This Wait of {seconds} seconds outlasts the {EXPRESS_SECONDS} seconds an Express "
                    "execution may run on AWS",
                    f"{site.loc}/Seconds",
                )

    def local_strings(self, value: Any, loc: str) -> None:
        """Any string ARN of the local account or URL of a local host not reported yet."""
        todo: list[tuple[Any, str]] = [(value, loc)]
        while todo:
            node, where = todo.pop()
            if isinstance(node, dict):
                todo.extend((v, f"{where}/{_escape(str(k))}") for k, v in reversed(node.items()))
            elif isinstance(node, list):
                todo.extend((v, f"{where}[{i}]") for i, v in reversed(list(enumerate(node))))
            elif isinstance(node, str) and where not in self.reported:
                m = _ANY_ARN.match(node)
                if node.startswith(("http://", "https://")) and local_host(node):
                    self.add(
                        "LOCAL_ENDPOINT",
                        f"'{node}' is on this machine or a private network, which AWS Step Functions "
                        "cannot reach (map it with --resource LOCAL=AWS)",
                        where,
                    )
                elif m and m.group(1) in self.accounts:
                    self.add(
                        "LOCAL_ARN",
                        f"'{node}' is an ARN of the local account {m.group(1)}: map it to your AWS "
                        "resource (--resource LOCAL=AWS)",
                        where,
                    )


def portability_diagnostics(
    definition: Any,
    *,
    text: str | None = None,
    machine_type: str = "STANDARD",
    mapped_functions: Collection[str] = (),
    local_buckets: Collection[str] = (),
    local_accounts: Collection[str] = (LOCAL_ACCOUNT,),
) -> list[Diagnostic]:
    """What in ``definition`` (parsed JSON; ``text`` its source, for the size quota) would not run
    on AWS Step Functions (see the module docstring). ``mapped_functions`` are Lambda function
    names a deployment maps to ARNs (not reported); ``local_buckets`` the S3 buckets mapped to
    directories; ``local_accounts`` the accounts of local ARNs."""
    checks = _Checks(mapped_functions, local_buckets, local_accounts, machine_type.upper())
    if not isinstance(definition, dict):
        return []
    size_limit = _AWS.definition_bytes
    if text is not None and size_limit is not None:
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > size_limit:
            checks.add(
                "QUOTA_DEFINITION_SIZE",
                f"The definition is {size} bytes: over the {size_limit}-byte quota of AWS Step Functions "
                "(durable allows it only with relaxed quotas)",
                None,
            )
    payload_limit = _AWS.payload_bytes or 262_144
    each: list[Callable[[dict[str, Any], str], None]] = [checks.task, checks.buckets_of]
    for site in walk_states(definition):
        for check in each:
            check(site.body, site.loc)
        checks.payloads(site.body, site.loc, payload_limit)
    checks.express(definition)
    checks.local_strings(definition, "")
    return checks.found
