"""The conformance runner's TestState cases: the request a case recorded, run through
``Engine.test_state``, and the response compared (status, output, error, cause, nextState,
inspectionData).

The corpus records each request's ``test_state_args`` but not its ``roleArn`` (the recordings
replace the role by a placeholder). The recorded tests passed their role when they tested a Task,
Map or Parallel state, and none for the other types (a ``$states.context`` of a Pass state shows
``"RoleArn": null``); the one test that checks the error for a missing role says so in its name.
"""

from __future__ import annotations

import json
from typing import Any

ROLE_ARN = "arn:aws:iam::111111111111:role/snf_role_arn"
ROLE_STATE_TYPES = {"Task", "Map", "Parallel"}
NO_ROLE_TESTS = ("_no_role_arn_",)  # case ids of the tests that sent no roleArn
# services a Task really calls when it is not mocked, which the runner provides
REAL_CALLS = {"lambda"}


def tested_state(case: dict[str, Any]) -> dict[str, Any]:
    """The state definition the case tests (the definition, or its ``stateName``)."""
    definition = case.get("definition") or {}
    name = (case.get("test_state_args") or {}).get("stateName")
    if name is None:
        return definition if isinstance(definition, dict) else {}
    found = _lookup(definition, name)
    return found or {}


def _lookup(scope: dict[str, Any], name: str) -> dict[str, Any] | None:
    states = scope.get("States") or {}
    if name in states:
        found: dict[str, Any] = states[name]
        return found
    for spec in states.values():
        inner = [*spec.get("Branches", ()), spec.get("ItemProcessor") or spec.get("Iterator") or {}]
        for child in inner:
            if child:
                hit = _lookup(child, name)
                if hit is not None:
                    return hit
    return None


def skip_reason(case: dict[str, Any]) -> str | None:
    """Why a TestState case cannot run here, or None. Only a Task that is not mocked calls a
    service: the others need none, whatever their definition names."""
    known = known_difference(case)
    if known:
        return known
    args = case.get("test_state_args") or {}
    state = tested_state(case)
    if "mock" in args or state.get("Type") != "Task" or case["expected"].get("status") == "API_ERROR":
        return None
    other = sorted(set(case.get("needs") or ["none"]) - REAL_CALLS - {"none"})
    if other:
        return f"TestState really calls a service that is not emulated here: {', '.join(other)}"
    return None


def role_arn(case: dict[str, Any]) -> str | None:
    args = case.get("test_state_args") or {}
    if "roleArn" in args:
        return str(args["roleArn"])
    if any(marker in case["id"] for marker in NO_ROLE_TESTS):
        return None
    return ROLE_ARN if tested_state(case).get("Type") in ROLE_STATE_TYPES else None


async def run(engine: Any, case: dict[str, Any], definition: Any) -> dict[str, Any]:
    """Run the case's request; the response in the shape of ``expected``."""
    from durable import DurableError

    args = case.get("test_state_args") or {}
    input_json = case["input_raw"] if "input_raw" in case else json.dumps(case.get("input"))
    try:
        result = await engine.test_state(
            definition,
            input_json=input_json,
            role_arn=role_arn(case),
            inspection_level=args.get("inspectionLevel"),
            reveal_secrets=bool(args.get("revealSecrets", False)),
            variables=args.get("variables"),
            state_name=args.get("stateName"),
            mock=args.get("mock"),
            context=args.get("context"),
            state_configuration=args.get("stateConfiguration"),
        )
    except DurableError as exc:
        return {"status": "API_ERROR", "error": exc.code, "message": exc.message}
    response = result.to_dict()
    out: dict[str, Any] = {"status": response["status"]}
    if "output" in response:
        out["output"] = json.loads(response["output"])
    for key in ("error", "cause", "nextState"):
        out[key] = response.get(key)
    out["inspectionData"] = decode_inspection(response.get("inspectionData"))
    return out


def decode_inspection(data: Any) -> Any:
    """Inspection data with its JSON text fields decoded (the recordings half-parse them)."""
    if not isinstance(data, dict):
        return data
    out = {}
    for key, value in data.items():
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                pass
        out[key] = value
    return out


def compare(case: dict[str, Any], actual: dict[str, Any], matcher: Any) -> str | None:
    """The TestState fields beyond status/output/error/cause: nextState and inspectionData."""
    expected = case["expected"]
    if expected.get("status") == "API_ERROR":
        return None
    if expected.get("nextState") != actual.get("nextState"):
        return f"nextState: expected {expected.get('nextState')!r}, got {actual.get('nextState')!r}"
    want = decode_inspection(expected.get("inspectionData")) or {}
    got = actual.get("inspectionData") or {}
    diff: str | None = matcher.equal(want, got, "/inspectionData")
    return diff


def known_difference(case: dict[str, Any]) -> str | None:
    """Cases this runner cannot pass for a reason outside durable, with the exact reason."""
    if "lambda_get_function_task[integer_more_than_maximum_allowed]" in case["id"]:
        high = _lambda_memory_max()
        if high != 10240:
            return (
                f"the installed botocore's Lambda model allows MemorySize up to {high}; the recording "
                "was checked against a model whose maximum was 10240"
            )
    return None


def _lambda_memory_max() -> Any:
    try:
        import botocore.session
    except ImportError:
        return None
    model = botocore.session.get_session().get_service_model("lambda")
    shape = model.operation_model("GetFunction").output_shape
    return shape.members["Configuration"].members["MemorySize"].metadata.get("max")
