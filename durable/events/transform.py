"""What a rule's target receives: the event, a part of it, a constant, or a transformed text.

A target carries at most one of ``Input`` (constant JSON text), ``InputPath`` (a JSON path into
the event) and ``InputTransformer``; with none it receives the whole event. An
``InputTransformer`` names up to 100 variables (``InputPathsMap``: name -> JSON path) and fills
``<name>`` placeholders in ``InputTemplate``; five names are predefined and reserved:

- ``<aws.events.rule-arn>``, ``<aws.events.rule-name>``;
- ``<aws.events.event.ingestion-time>``: when the event was received (ISO 8601);
- ``<aws.events.event>``: the event *without* its ``detail``; ``<aws.events.event.json>``: the
  whole event. Both are meant as JSON values (their text is not escaped).

Quoting follows AWS: outside a JSON string a value is inserted as JSON (a string gains quotes);
inside a string it is inserted raw, without quotes and *without escaping* (AWS's documented
"EventBridge doesn't escape values extracted by Input Path"). A path that matches nothing
defines no value: durable inserts ``null`` outside a string and nothing inside one. The JSON
paths are the subset AWS supports: ``$``, dotted names (with dashes, underscores, slashes),
``['name']``, array indexes and ``*``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from durable.errors import ValidationError

__all__ = [
    "MAX_INPUT_PATHS",
    "PREDEFINED_VARIABLES",
    "InputTransformer",
    "select_path",
    "target_input",
]

MAX_INPUT_PATHS = 100
PREDEFINED_VARIABLES = frozenset(
    {
        "aws.events.rule-arn",
        "aws.events.rule-name",
        "aws.events.event",
        "aws.events.event.ingestion-time",
        "aws.events.event.json",
    }
)
_KEY = re.compile(r"[A-Za-z0-9_\-]+")
_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_\-.]+)>")
_STEP = re.compile(r"\.([A-Za-z0-9_\-/:@$]+|\*)|\[(\d+|\*)\]|\['([^']*)'\]")
_NOTHING = object()


def _parse_path(path: str) -> tuple[str | int, ...]:
    if not path.startswith("$"):
        raise ValidationError(f"Invalid JSON path: {path}")
    steps: list[str | int] = []
    pos = 1
    while pos < len(path):
        m = _STEP.match(path, pos)
        if m is None:
            raise ValidationError(f"Invalid JSON path: {path}")
        name, index, quoted = m.groups()
        if index is not None:
            steps.append("*" if index == "*" else int(index))
        else:
            steps.append(name if name is not None else quoted)
        pos = m.end()
    return tuple(steps)


def select_path(document: Any, path: str) -> Any:
    """The value at ``path``; with a ``*`` step, the list of every match. Raises
    :class:`LookupError` when nothing matches."""
    steps = _parse_path(path)
    found = _walk(document, steps)
    if found is _NOTHING:
        raise LookupError(path)
    return found


def _walk(node: Any, steps: tuple[str | int, ...]) -> Any:
    if not steps:
        return node
    step, rest = steps[0], steps[1:]
    if step == "*":
        children = list(node.values()) if isinstance(node, Mapping) else node
        if not isinstance(children, list):
            return _NOTHING
        out = [v for v in (_walk(c, rest) for c in children) if v is not _NOTHING]
        return out
    if isinstance(step, int):
        if isinstance(node, list) and step < len(node):
            return _walk(node[step], rest)
        return _NOTHING
    if isinstance(node, Mapping) and step in node:
        return _walk(node[step], rest)
    return _NOTHING


class InputTransformer:
    """``InputPathsMap`` + ``InputTemplate``, validated once, applied to many events."""

    __slots__ = ("paths", "template")

    def __init__(self, input_paths_map: Mapping[str, str] | None, input_template: str) -> None:
        paths = dict(input_paths_map or {})
        if len(paths) > MAX_INPUT_PATHS:
            raise ValidationError(
                f"InputPathsMap has {len(paths)} entries; at most {MAX_INPUT_PATHS} are allowed."
            )
        for name, path in paths.items():
            if name in PREDEFINED_VARIABLES or name.lower().startswith("aws."):
                raise ValidationError(f"InputTransformer variable name {name} is reserved.")
            if not _KEY.fullmatch(name):
                raise ValidationError(f"Invalid InputTransformer variable name: {name}")
            if not isinstance(path, str):
                raise ValidationError(f"Invalid JSON path for {name}.")
            _parse_path(path)
        if not isinstance(input_template, str) or not input_template:
            raise ValidationError("InputTemplate must be a non-empty string.")
        self.paths = paths
        self.template = input_template

    def apply(self, event: Mapping[str, Any], *, rule_name: str, rule_arn: str, ingestion_time: str) -> str:
        """The text the target receives (minified when it is JSON, as AWS sends it)."""
        values: dict[str, Any] = {
            "aws.events.rule-arn": rule_arn,
            "aws.events.rule-name": rule_name,
            "aws.events.event.ingestion-time": ingestion_time,
            "aws.events.event": {k: v for k, v in event.items() if k != "detail"},
            "aws.events.event.json": dict(event),
        }
        for name, path in self.paths.items():
            found = _walk(event, _parse_path(path))
            values[name] = _NOTHING if found is _NOTHING else found
        text = _substitute(self.template, values)
        try:
            return json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False)
        except ValueError:
            return text


def _substitute(template: str, values: Mapping[str, Any]) -> str:
    out: list[str] = []
    in_string = False
    i = 0
    while i < len(template):
        ch = template[i]
        if ch == "<":
            m = _PLACEHOLDER.match(template, i)
            if m is not None and m.group(1) in values:
                out.append(_render(values[m.group(1)], in_string))
                i = m.end()
                continue
        elif ch == "\\" and in_string and i + 1 < len(template):
            out.append(template[i : i + 2])
            i += 2
            continue
        elif ch == '"':
            in_string = not in_string
        out.append(ch)
        i += 1
    return "".join(out)


def _render(value: Any, in_string: bool) -> str:
    if value is _NOTHING:
        return "" if in_string else "null"
    if in_string and isinstance(value, str):
        return value  # raw: AWS does not escape extracted values
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def target_input(
    target: Mapping[str, Any],
    event: Mapping[str, Any],
    *,
    rule_name: str,
    rule_arn: str,
    ingestion_time: str,
) -> str:
    """The input text a rule's ``target`` (a PutTargets ``Target`` dict) receives for ``event``."""
    given = [k for k in ("Input", "InputPath", "InputTransformer") if target.get(k) is not None]
    if len(given) > 1:
        raise ValidationError("Only one of Input, InputPath, or InputTransformer must be provided.")
    if not given:
        return json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    kind = given[0]
    if kind == "Input":
        return str(target["Input"])
    if kind == "InputPath":
        try:
            selected = select_path(event, target["InputPath"])
        except LookupError:
            selected = None
        return json.dumps(selected, separators=(",", ":"), ensure_ascii=False)
    spec = target["InputTransformer"]
    transformer = InputTransformer(spec.get("InputPathsMap"), spec.get("InputTemplate", ""))
    return transformer.apply(event, rule_name=rule_name, rule_arn=rule_arn, ingestion_time=ingestion_time)
