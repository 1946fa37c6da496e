"""JSONPath-mode data flow: paths against input/context/variables, payload templates,
InputPath/ResultPath/OutputPath, and the payload size limit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from . import failure as F
from .context import Frame
from .failure import RuntimeFault, StatesFailure
from .intrinsics import Intrinsic, IntrinsicArgumentError, compile_intrinsic, is_intrinsic
from .jsonpath import (
    ROOT_CONTEXT,
    ROOT_INPUT,
    Path,
    PathMissing,
    ResultPathMismatch,
    compile_path,
    set_reference,
)
from .jsonvalue import NotJson, json_text

__all__ = [
    "MAX_PAYLOAD_BYTES",
    "Evaluator",
    "apply_result_path",
    "check_size",
    "compact",
    "compile_template",
    "compile_value_expr",
    "not_json",
    "select",
]

MAX_PAYLOAD_BYTES = 262_144

# A compiled expression: (state data, frame) -> value
Evaluator = Callable[[Any, Frame], Any]

_encode = msgspec.json.encode


def compact(value: Any) -> str:
    """Compact JSON text (no spaces, non-ASCII kept), as AWS quotes data in causes."""
    try:
        return _encode(value).decode()
    except (TypeError, OverflowError, msgspec.EncodeError):
        return str(value)


def payload_size(value: Any) -> int:
    try:
        return len(_encode(value))
    except (TypeError, OverflowError, msgspec.EncodeError):
        return 0


def not_json(what: str, problem: NotJson) -> StatesFailure:
    """``States.Runtime``: a state or task produced a value that is not JSON (see jsonvalue)."""
    return StatesFailure(
        F.RUNTIME, f"The state/task '{what}' returned a result that is not valid JSON: {problem.reason}."
    )


def check_size(
    value: Any,
    what: str,
    limit: int | None = MAX_PAYLOAD_BYTES,
    encode: Callable[[Any], bytes] = json_text,
) -> None:
    """Raise ``States.DataLimitExceeded`` when ``value`` serializes to more than ``limit`` bytes
    (AWS: 256 KiB), and ``States.Runtime`` when it is not a JSON value at all. ``encode`` is
    :func:`json_text` or what stands for it (an execution context's ``payload_text``)."""
    try:
        size = len(encode(value))
    except NotJson as exc:
        raise not_json(what, exc) from None
    if limit is not None and size > limit:
        raise StatesFailure(
            F.DATA_LIMIT_EXCEEDED,
            f"The state/task '{what}' returned a result with a size exceeding the maximum number "
            "of bytes service limit.",
        )


def resolve(path: Path, data: Any, frame: Frame) -> Any:
    """Evaluate ``path`` against its root: state data, context object or a variable."""
    root = path.root
    if root == ROOT_INPUT:
        return path.get(data)
    if root == ROOT_CONTEXT:
        return path.get(frame.context_object())
    variables = frame.vars
    name = path.variable
    if name not in variables:
        raise PathMissing(f"No results for path: ${name}")
    return path.get(variables[name])


def select(path: Path | None, data: Any, frame: Frame, field: str) -> Any:
    """InputPath / OutputPath / ItemsPath: ``None`` selects ``{}``; a miss is ``States.Runtime``."""
    if path is None:
        return {}
    if not path.steps and path.root == ROOT_INPUT:
        return data
    try:
        return resolve(path, data, frame)
    except PathMissing as miss:
        raise RuntimeFault(f"Invalid path '{path.text}' : {miss.detail}") from None


def apply_result_path(path: Path | None, raw_input: Any, result: Any) -> Any:
    if path is None:
        return raw_input
    if not path.steps:
        return result
    try:
        return set_reference(path, raw_input, result)
    except ResultPathMismatch:
        raise StatesFailure(
            F.RESULT_PATH_MATCH_FAILURE,
            f"Unable to apply ReferencePath {path.text} to input {compact(raw_input)}",
        ) from None


def compile_value_expr(text: str, field: str) -> Evaluator:
    """A ``.$`` value: a path or an intrinsic call. ``field`` names it in error causes."""
    if is_intrinsic(text):
        intrinsic: Intrinsic = compile_intrinsic(text)
        paths = {p: compile_path(p) for p in intrinsic.paths}  # compiled once, with the definition

        def run_intrinsic(data: Any, frame: Frame) -> Any:
            def resolver(p: str) -> Any:
                return _resolve_or_fault(
                    paths[p],
                    data,
                    frame,
                    f"The function '{text}' had the following error: "
                    f"The JsonPath argument for the field '{p}'",
                )

            try:
                return intrinsic.evaluate(resolver, frame.ctx.services)
            except IntrinsicArgumentError as exc:
                # AWS: States.Runtime, which no Catch or Retry handles (users' reports of real runs)
                raise RuntimeFault(
                    f"The function '{text}' had the following error: Invalid arguments in {exc.function}"
                ) from None

        return run_intrinsic
    path = compile_path(text)
    return lambda data, frame: _template_path(path, data, frame, field)


def _template_path(path: Path, data: Any, frame: Frame, field: str) -> Any:
    return _resolve_or_fault(
        path, data, frame, f"The JSONPath '{path.text}' specified for the field '{field}'"
    )


def _resolve_or_fault(path: Path, data: Any, frame: Frame, what: str) -> Any:
    """The path's value; a miss is ``States.Runtime``: "<what> could not be found in the input"."""
    try:
        return resolve(path, data, frame)
    except PathMissing:
        source = frame.context_object() if path.root == ROOT_CONTEXT else data
        raise RuntimeFault(f"{what} could not be found in the input '{compact(source)}'") from None


MAX_VARIABLE_BYTES = 262_144
MAX_ASSIGN_BYTES = 262_144


def compile_assign(assign: Any) -> Evaluator:
    """JSONPath-mode ``Assign``: a payload template whose keys are variable names."""
    return compile_template(assign)


def check_variables(values: dict[str, Any]) -> None:
    """AWS's limits: one variable <= 256 KiB, all of one Assign <= 256 KiB."""
    total = 0
    for name, value in values.items():
        size = payload_size(value)
        if size > MAX_VARIABLE_BYTES:
            raise RuntimeFault(
                f"The variable '{name}' exceeds the maximum size of {MAX_VARIABLE_BYTES} bytes."
            )
        total += size
    if total > MAX_ASSIGN_BYTES:
        raise RuntimeFault(f"The assigned variables exceed the maximum size of {MAX_ASSIGN_BYTES} bytes.")


def compile_template(template: Any) -> Evaluator:
    """Compile a payload template (Parameters, ResultSelector, ItemSelector, ...)."""
    if not _is_dynamic(template):
        return lambda data, frame: template
    return _compile_node(template)


def _is_dynamic(node: Any) -> bool:
    if isinstance(node, dict):
        return any(k.endswith(".$") or _is_dynamic(v) for k, v in node.items())
    if isinstance(node, list):
        return any(_is_dynamic(v) for v in node)
    return False


def _compile_node(node: Any) -> Evaluator:
    if isinstance(node, dict):
        parts: list[tuple[str, bool, Any]] = []
        for key, value in node.items():
            if key.endswith(".$") and isinstance(value, str):
                parts.append((key[:-2], True, compile_value_expr(value, key)))
            elif _is_dynamic(value):
                parts.append((key, True, _compile_node(value)))
            else:
                parts.append((key, False, value))
        frozen = tuple(parts)

        def build(data: Any, frame: Frame) -> Any:
            return {k: (v(data, frame) if dyn else v) for k, dyn, v in frozen}

        return build
    if isinstance(node, list):
        items = tuple(_compile_node(v) if _is_dynamic(v) else (lambda c: lambda d, f: c)(v) for v in node)
        return lambda data, frame: [fn(data, frame) for fn in items]
    return lambda data, frame: node
