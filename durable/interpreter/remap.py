"""Rewrite a definition for AWS: local Lambda functions to deployed ones, local resources to AWS's.

``functions`` maps a Lambda function name (or any reference to it: an ARN, ``function:NAME``) to
the ARN of the deployed function. It rewrites Task ``Resource`` Lambda ARNs of that name and the
literal ``FunctionName`` of ``lambda:invoke`` Tasks; a qualifier the definition gives
(``:prod``) is kept when the mapped ARN has none. ``resources`` maps any other string value,
whole, to its AWS counterpart (a plugin's resource, an activity, a queue URL, a bucket name).
Nothing else changes: a definition nothing maps is returned as it was. Pure.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from .portable import function_name_field, function_reference, walk_states

__all__ = ["LAMBDA_ARN", "Replacement", "remap_definition"]

LAMBDA_ARN: Final = re.compile(
    r"^arn:aws[\w-]*:lambda:[a-z0-9-]+:\d{12}:function:[\w-]{1,64}(:[\w$-]{1,128})?$"
)
_INVOKE: Final = re.compile(r"^arn:[\w-]+:states:::lambda:invoke(?:\.waitForTaskToken)?$")


@dataclass(frozen=True, slots=True)
class Replacement:
    """One rewritten value: where, what it was, what it became."""

    location: str
    old: str
    new: str

    def to_dict(self) -> dict[str, str]:
        return {"location": self.location, "from": self.old, "to": self.new}


def _function_names(functions: Mapping[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, arn in functions.items():
        parsed = function_reference(key)
        if parsed is None:
            raise ValueError(f"{key!r} is not a Lambda function name or ARN")
        if not LAMBDA_ARN.match(arn):
            raise ValueError(
                f"{arn!r} (for {key!r}) is not a Lambda function ARN "
                "(arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER])"
            )
        out[parsed[0]] = arn
    return out


def _target(reference: str, names: Mapping[str, str]) -> str | None:
    parsed = function_reference(reference)
    if parsed is None or parsed[0] not in names:
        return None
    arn = names[parsed[0]]
    qualifier = parsed[2]
    if qualifier and arn.count(":") == 6:  # the mapped ARN is unqualified: keep the definition's
        arn = f"{arn}:{qualifier}"
    return arn


def remap_definition(
    definition: dict[str, Any],
    *,
    functions: Mapping[str, str] | None = None,
    resources: Mapping[str, str] | None = None,
) -> tuple[dict[str, Any], list[Replacement]]:
    """``definition`` (parsed JSON, not modified) rewritten as the module docstring says, and
    what was replaced. ``ValueError`` for a mapping that is not a function name to a Lambda ARN."""
    names = _function_names(functions or {})
    swaps = dict(resources or {})
    if not names and not swaps:
        return definition, []
    out = copy.deepcopy(definition)
    done: list[Replacement] = []
    touched: set[str] = set()
    for site in walk_states(out):
        body = site.body
        if body.get("Type") != "Task" or not isinstance(body.get("Resource"), str):
            continue
        resource = body["Resource"]
        if _INVOKE.match(resource):
            found = function_name_field(body)
            if found is not None:
                target = _target(found[1], names)
                if target is not None and target != found[1]:
                    loc = f"{site.loc}/{found[0]}/FunctionName"
                    body[found[0]]["FunctionName"] = target
                    done.append(Replacement(loc, found[1], target))
                    touched.add(loc)
        elif resource.startswith("arn:") and ":lambda:" in resource:
            target = _target(resource, names)
            if target is not None and target != resource:
                loc = f"{site.loc}/Resource"
                body["Resource"] = target
                done.append(Replacement(loc, resource, target))
                touched.add(loc)
    if swaps:
        _swap(out, "", swaps, touched, done)
    done.sort(key=lambda r: r.location)
    return out, done


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _swap(
    root: dict[str, Any], loc: str, swaps: Mapping[str, str], touched: set[str], done: list[Replacement]
) -> None:
    todo: list[tuple[Any, str]] = [(root, loc)]
    while todo:
        node, where = todo.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                at = f"{where}/{_escape(str(key))}"
                if isinstance(value, str):
                    if value in swaps and at not in touched:
                        node[key] = swaps[value]
                        done.append(Replacement(at, value, swaps[value]))
                else:
                    todo.append((value, at))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                at = f"{where}[{i}]"
                if isinstance(value, str):
                    if value in swaps and at not in touched:
                        node[i] = swaps[value]
                        done.append(Replacement(at, value, swaps[value]))
                else:
                    todo.append((value, at))
