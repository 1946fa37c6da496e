"""Static validation of Amazon States Language definitions, the way ValidateStateMachineDefinition does it.

:func:`validate_definition` takes an already-parsed definition and returns every fault it finds as a
:class:`~durable.errors.Diagnostic` (``[]`` when the definition is valid); it never raises. Codes are
AWS's: ``SCHEMA_VALIDATION_FAILED`` for shape and value problems, ``MISSING_TRANSITION_TARGET`` for a
transition to a state that is not in the same ``States`` object and for a state nothing can reach,
``MISSING_END_STATE`` for a ``States`` object without a terminal state, ``DUPLICATE_STATE_NAME`` for a
name used twice anywhere in the machine, ``UNSUPPORTED_JSONATA_EXPRESSION`` for ``$states`` members used
where they do not exist, and the variable-name codes of :mod:`.validate_fields`.

Which fields each state type accepts, in which query language, and which ones exclude each other is
data (:mod:`.validate_tables`); this module walks the definition and applies it. Schema findings come
first, in document order, then the transition-graph findings of every scope.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from ..errors import Diagnostic
from .validate_fields import JA, JP, Sink, at, index, is_jsonata
from .validate_map import MapChecks
from .validate_tables import (
    ACTIVITY,
    CATCHER_FIELDS,
    CHOICE_OPERATORS,
    CHOICE_SELECTORS,
    DUPLICATE_LABEL,
    DUPLICATE_NAME,
    EXCLUSIVE,
    FLOW,
    INVALID_LABEL,
    INVALID_STATE_NAME,
    LABEL_FORBIDDEN,
    LANGUAGE_ONLY,
    LANGUAGES,
    MAX_DELAY_SECONDS,
    MAX_LABEL,
    MAX_NAME,
    MAX_SECONDS,
    MISSING_END,
    MISSING_TARGET,
    PROCESSOR_FIELDS,
    REPORT_UNREACHABLE,
    REQUIRED,
    RESOURCE_SHAPES,
    RETRIER_FIELDS,
    STATE_FIELDS,
    STATE_TYPES,
    STATES_ALL,
    SYNC,
    TRANSITIONING,
    TYPE_MESSAGE,
    WAIT_FIELDS,
    WITH_RESULT,
)

__all__ = ["validate_definition"]


def validate_definition(definition: object, *, machine_type: str = "STANDARD") -> list[Diagnostic]:
    """Every fault of ``definition`` (parsed JSON) as AWS-style diagnostics; ``[]`` when valid."""
    if not isinstance(definition, dict) or not _is_json(definition):
        return [Diagnostic("SCHEMA_VALIDATION_FAILED", "Definition must be a valid JSON object")]
    validator = _Validator(definition, machine_type)
    try:
        validator.run()
    except RecursionError:
        return [Diagnostic("TOO_DEEPLY_NESTED", "The definition is too deeply nested")]
    return validator.schema.found + validator.graph.found


def _is_json(value: object) -> bool:
    """True when ``value`` is made only of what ``json.loads`` produces (string keys, JSON scalars)."""
    todo = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, dict):
            if not all(isinstance(key, str) for key in item):
                return False
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
        elif item is not None and not isinstance(item, str | int | float):
            return False
    return True


@dataclass(slots=True)
class _State:
    """What the checks of one state need to know about it."""

    type: str
    language: str
    loc: str
    machine_type: str
    edges: list[tuple[str, str]]
    body: dict[str, Any]


@dataclass(slots=True)
class _Scope:
    loc: str
    top: bool
    edges: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # state -> [(target, loc)]
    terminal: bool = False
    broken: bool = False


Check = Callable[["_Validator", _State, Any, str], object]


class _Validator(MapChecks):
    def __init__(self, definition: dict[str, Any], machine_type: str) -> None:
        self.definition = definition
        self.machine_type = machine_type
        self.schema = Sink()
        self.graph = Sink()
        language = definition.get("QueryLanguage", JP)
        self.top_language = language if language in LANGUAGES else JP
        self.names: set[str] = set()
        self.labels: set[str] = set()

    # --- machine and scopes -----------------------------------------------------------------

    def run(self) -> None:
        d, s = self.definition, self.schema
        s.check_fields(d, ("Comment", "StartAt", "States", "Version", "TimeoutSeconds", "QueryLanguage"), "")
        s.check_required(d, ("States", "StartAt"), "")
        if "Version" in d and s.string(d["Version"], "/Version"):
            s.enum(d["Version"], ("1.0",), "/Version")
        if "TimeoutSeconds" in d:
            s.integer(d["TimeoutSeconds"], "/TimeoutSeconds", low=1)
        if "QueryLanguage" in d:
            s.enum(d["QueryLanguage"], LANGUAGES, "/QueryLanguage")
        self.scope(d, "", self.machine_type, top=True)

    def scope(
        self, body: object, loc: str, machine_type: str, *, top: bool = False, extra: tuple[str, ...] = ()
    ) -> None:
        s = self.schema
        if not isinstance(body, dict):
            s.wrong_type(dict, loc)
            return
        if not top:
            s.check_fields(body, ("StartAt", "States", "Comment", *extra), loc)
            s.check_required(body, ("States", "StartAt"), loc)
        if "Comment" in body:
            s.string(body["Comment"], at(loc, "Comment"))
        start = body.get("StartAt")
        if "StartAt" in body:
            s.string(start, at(loc, "StartAt"))
        states = body.get("States")
        if "States" in body and not isinstance(states, dict):
            s.wrong_type(dict, at(loc, "States"))
        if not isinstance(states, dict):
            return
        scope = _Scope(loc, top)
        for name, state in states.items():
            self.state(scope, name, state, at(at(loc, "States"), name), machine_type)
        self.check_graph(scope, start, states)

    def check_graph(self, scope: _Scope, start: object, states: dict[str, Any]) -> None:
        g, loc = self.graph, scope.loc
        if isinstance(start, str) and start not in states:
            g.add(f"Missing 'Next' target: {start}", at(loc, "StartAt"), MISSING_TARGET)
        for edges in scope.edges.values():
            for target, where in edges:
                if target not in states:
                    g.add(f"Missing 'Next' target: {target}", where, MISSING_TARGET)
        if scope.broken:
            return
        if not scope.terminal:
            g.add("Workflow has no terminal state", None if scope.top else loc, MISSING_END)
            return
        if not REPORT_UNREACHABLE or not isinstance(start, str) or start not in states:
            return
        seen, todo = {start}, [start]
        while todo:
            for target, _ in scope.edges.get(todo.pop(), ()):
                if target in states and target not in seen:
                    seen.add(target)
                    todo.append(target)
        for name in states:
            if name not in seen:
                g.add(f'State "{name}" is not reachable.', at(at(loc, "States"), name), MISSING_TARGET)

    # --- one state --------------------------------------------------------------------------

    def state(self, scope: _Scope, name: str, body: object, loc: str, machine_type: str) -> None:
        s = self.schema
        if name in self.names:
            self.graph.add(f"Duplicate State name: {name}", loc, DUPLICATE_NAME)
        self.names.add(name)
        if len(name) > MAX_NAME:
            s.add(
                f"State name '{name}' exceeds the maximum length of {MAX_NAME} characters",
                loc,
                INVALID_STATE_NAME,
            )
        if not isinstance(body, dict):
            s.wrong_type(dict, loc)
            scope.broken = True
            return
        kind = body.get("Type")
        if "Type" not in body:
            s.required(("Type",), loc)
        elif kind not in STATE_TYPES:
            s.add(TYPE_MESSAGE, at(loc, "Type"))
        if not isinstance(kind, str) or kind not in STATE_TYPES:
            scope.broken = True
            return
        language = self.language_of(body, loc)
        st = _State(kind, language, loc, machine_type, scope.edges.setdefault(name, []), body)
        allowed = STATE_FIELDS[kind]
        for key, value in body.items():
            if key not in allowed:
                s.unsupported(key, loc)
            elif LANGUAGE_ONLY.get(key, language) != language:
                s.query_language(key, language, loc)
            else:
                check = FIELD_CHECKS.get(key)
                if check is not None:
                    check(self, st, value, at(loc, key))
        s.check_required(body, REQUIRED.get(kind, ()), loc)
        for group in EXCLUSIVE.get(kind, ()):
            s.check_exclusive(body, group, loc)
        if kind in TRANSITIONING:
            if "Next" in body and body.get("End") is True:
                s.only_one(FLOW, loc)
            elif "Next" not in body and body.get("End") is not True:
                s.one_of(FLOW, loc)
        if (kind in TRANSITIONING and body.get("End") is True) or kind in ("Succeed", "Fail"):
            scope.terminal = True
        EXTRA_CHECKS.get(kind, _nothing)(self, st)

    def language_of(self, body: dict[str, Any], loc: str) -> str:
        language = body.get("QueryLanguage")
        if language not in LANGUAGES:
            return self.top_language
        if self.top_language == JA and language == JP:
            self.schema.add(
                "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine", loc
            )
            return JA
        assert isinstance(language, str)
        return language

    # --- field checks (wired up in FIELD_CHECKS) --------------------------------------------

    def transition(self, st: _State, value: object, loc: str) -> None:
        if self.schema.string(value, loc):
            assert isinstance(value, str)
            st.edges.append((value, loc))

    def output(self, st: _State, value: object, loc: str) -> None:
        self.schema.jsonata_value(
            value, loc, frozenset({"result"}) if st.type in WITH_RESULT else frozenset()
        )

    def assign(self, st: _State, value: object, loc: str) -> None:
        available = frozenset({"result"}) if st.type in WITH_RESULT else frozenset()
        self.schema.assign(value, loc, st.language, available)

    def literal_or_jsonata(
        self, st: _State, value: object, loc: str, check: Callable[[object, str], object]
    ) -> None:
        if st.language == JA:
            self.schema.jsonata_or(value, loc, check)
        else:
            check(value, loc)

    def resource(self, st: _State, value: object, loc: str) -> None:
        if not self.schema.string(value, loc):
            return
        assert isinstance(value, str)
        if not any(shape.match(value) for shape in RESOURCE_SHAPES):
            self.schema.add(
                f"The resource provided {value} is not recognized. The value is not a valid resource ARN, "
                "or the resource is not available in this region.",
                loc,
            )
            return
        if st.machine_type != "EXPRESS":
            return
        if SYNC.search(value):
            self.schema.add("Express state machine does not support '.sync' service integration", loc)
        elif value.endswith(".waitForTaskToken"):
            self.schema.add(
                "Express state machine does not support '.waitForTaskToken' service integration ", loc
            )
        elif ACTIVITY.match(value):
            self.schema.add("Express state machine does not support Activity ARN", loc)

    def credentials(self, st: _State, value: object, loc: str) -> None:
        s = self.schema
        if not isinstance(value, dict):
            s.wrong_type(dict, loc)
            return
        if "RoleArn" not in value and not (st.language == JP and "RoleArn.$" in value):
            # AWS reports only this when RoleArn is missing, whatever else the object holds
            s.add("The field 'RoleArn' is required but was missing", loc)
            return
        if st.language == JP:
            s.check_fields(value, ("RoleArn", "RoleArn.$"), loc)
            s.template(value, loc)
            if "RoleArn" in value:
                s.string(value["RoleArn"], at(loc, "RoleArn"))
        else:
            s.check_fields(value, ("RoleArn",), loc)
            if "RoleArn" in value:
                s.jsonata_or(value["RoleArn"], at(loc, "RoleArn"), s.string)
        resource = st.body.get("Resource")
        if isinstance(resource, str) and ACTIVITY.match(resource):
            s.add("The field 'Credentials' is not supported for activities", loc)

    def branches(self, st: _State, value: object, loc: str) -> None:
        if not isinstance(value, list):
            self.schema.wrong_type(list, loc)
            return
        if not value:
            self.schema.add("Value cannot be empty", loc)
        for i, branch in enumerate(value):
            self.scope(branch, index(loc, i), st.machine_type)

    def processor(self, st: _State, value: object, loc: str) -> None:
        s, machine_type = self.schema, st.machine_type
        config = value.get("ProcessorConfig") if isinstance(value, dict) else None
        if config is not None:
            cloc = at(loc, "ProcessorConfig")
            if not isinstance(config, dict):
                s.wrong_type(dict, cloc)
            else:
                s.check_fields(config, ("Mode", "ExecutionType"), cloc)
                mode = config.get("Mode", "INLINE")
                if "Mode" in config:
                    s.enum(mode, ("INLINE", "DISTRIBUTED"), at(cloc, "Mode"))
                if "ExecutionType" in config:
                    s.enum(config["ExecutionType"], ("STANDARD", "EXPRESS"), at(cloc, "ExecutionType"))
                if mode == "DISTRIBUTED":
                    if "ExecutionType" not in config:
                        s.required(("ExecutionType",), cloc)
                    if st.machine_type == "EXPRESS":
                        s.add("Express state machine does not support Distributed Map", at(cloc, "Mode"))
                    if config.get("ExecutionType") in ("STANDARD", "EXPRESS"):
                        machine_type = config["ExecutionType"]
                elif "ExecutionType" in config:
                    s.unsupported("ExecutionType", cloc)
        self.scope(value, loc, machine_type, extra=("ProcessorConfig",))

    def label(self, st: _State, value: object, loc: str) -> None:
        if not self.schema.string(value, loc):
            return
        assert isinstance(value, str)
        if len(value) > MAX_LABEL or LABEL_FORBIDDEN.search(value) or not value:
            self.schema.add(f"Invalid label name '{value}'", loc, INVALID_LABEL)
        elif value in self.labels:
            self.graph.add(f"Duplicate label name '{value}'", loc, DUPLICATE_LABEL)
        self.labels.add(value)

    # --- Choice -----------------------------------------------------------------------------

    def choices(self, st: _State, value: object, loc: str) -> None:
        if not isinstance(value, list):
            self.schema.wrong_type(list, loc)
            return
        if not value:
            self.schema.add("Value cannot be empty", loc)
        for i, rule in enumerate(value):
            self.rule(st, rule, index(loc, i), top=True)

    def rule(self, st: _State, rule: object, loc: str, *, top: bool) -> None:
        s, language = self.schema, st.language
        if not isinstance(rule, dict):
            s.wrong_type(dict, loc)
            return
        allowed = {*CHOICE_SELECTORS, *CHOICE_OPERATORS, "Comment"}
        if top:
            allowed |= {"Next", "Assign", "Output"}
        for key, value in rule.items():
            if key not in allowed:
                s.unsupported(key, loc)
            elif LANGUAGE_ONLY.get(key, language) != language or (key in CHOICE_OPERATORS and language == JA):
                s.query_language(key, language, loc)
            else:
                self.rule_field(st, key, value, at(loc, key))
        if sum(1 for k in CHOICE_SELECTORS if k in rule) != 1:
            s.add(
                f"The object must have only one of the following fields, [{', '.join(CHOICE_SELECTORS)}]", loc
            )
        operators = [k for k in rule if k in CHOICE_OPERATORS]
        if "Variable" in rule and len(operators) > 1:
            s.only_one(operators, loc)
        elif "Variable" in rule and not operators:
            s.one_of(CHOICE_OPERATORS, loc)
        elif operators and "Variable" not in rule and language == JP:
            s.required(("Variable",), loc)
        if top and "Next" not in rule:
            s.required(("Next",), loc)

    def rule_field(self, st: _State, key: str, value: object, loc: str) -> None:
        s = self.schema
        kind = CHOICE_OPERATORS.get(key)
        if key == "Next":
            self.transition(st, value, loc)
        elif key in ("Comment",):
            s.string(value, loc)
        elif key == "Assign":
            s.assign(value, loc, st.language, frozenset())
        elif key == "Output":
            s.jsonata_value(value, loc)
        elif key == "Condition":
            if not isinstance(value, bool) and not is_jsonata(value):
                s.jsonata_or(value, loc, s.boolean)
            else:
                s.jsonata_value(value, loc)
        elif key in ("And", "Or"):
            if not isinstance(value, list):
                s.wrong_type(list, loc)
                return
            if not value:
                s.add("Value cannot be empty", loc)
            for i, sub in enumerate(value):
                self.rule(st, sub, index(loc, i), top=False)
        elif key == "Not":
            self.rule(st, value, loc, top=False)
        elif key == "Variable" or kind == "path":
            s.path(value, loc)
        elif kind == "string":
            s.string(value, loc)
        elif kind == "number":
            s.number(value, loc)
        elif kind == "boolean":
            s.boolean(value, loc)
        elif kind == "timestamp":
            s.timestamp(value, loc)

    # --- Retry and Catch --------------------------------------------------------------------

    def retry(self, st: _State, value: object, loc: str) -> None:
        s = self.schema
        if not isinstance(value, list):
            s.wrong_type(list, loc)
            return
        for i, retrier in enumerate(value):
            rloc = index(loc, i)
            if not isinstance(retrier, dict):
                s.wrong_type(dict, rloc)
                continue
            s.check_fields(retrier, RETRIER_FIELDS, rloc)
            s.check_required(retrier, ("ErrorEquals",), rloc)
            self.error_equals(retrier.get("ErrorEquals"), at(rloc, "ErrorEquals"), last=i == len(value) - 1)
            for key, check in RETRIER_CHECKS.items():
                if key in retrier:
                    check(s, retrier[key], at(rloc, key))

    def catch(self, st: _State, value: object, loc: str) -> None:
        s, language = self.schema, st.language
        if not isinstance(value, list):
            s.wrong_type(list, loc)
            return
        for i, catcher in enumerate(value):
            cloc = index(loc, i)
            if not isinstance(catcher, dict):
                s.wrong_type(dict, cloc)
                continue
            for key, item in catcher.items():
                if key not in CATCHER_FIELDS:
                    s.unsupported(key, cloc)
                elif LANGUAGE_ONLY.get(key, language) != language:
                    s.query_language(key, language, cloc)
                elif key == "Next":
                    self.transition(st, item, at(cloc, key))
                elif key == "ResultPath":
                    s.reference_path(item, at(cloc, key), nullable=True, context=False, variables=False)
                elif key == "Output":
                    s.jsonata_value(item, at(cloc, key), frozenset({"errorOutput"}))
                elif key == "Assign":
                    s.assign(item, at(cloc, key), language, frozenset({"errorOutput"}))
                elif key == "Comment":
                    s.string(item, at(cloc, key))
            s.check_required(catcher, ("ErrorEquals", "Next"), cloc)
            self.error_equals(catcher.get("ErrorEquals"), at(cloc, "ErrorEquals"), last=i == len(value) - 1)

    def error_equals(self, value: object, loc: str, *, last: bool) -> None:
        s = self.schema
        if value is None:
            return
        if not isinstance(value, list):
            s.wrong_type(list, loc)
            return
        if not value:
            s.add("Value cannot be empty", loc)
        for j, name in enumerate(value):
            if s.string(name, index(loc, j)) and name == STATES_ALL and (len(value) > 1 or not last):
                s.add("States.ALL must appear alone and at end of list", index(loc, j))


def _nothing(v: _Validator, st: _State) -> None:
    return None


def _timing(low: int) -> Check:
    """Task/Wait second counts: an integer in range, or (JSONata) an expression."""

    def check(v: _Validator, st: _State, value: Any, loc: str) -> None:
        v.literal_or_jsonata(st, value, loc, lambda x, where: v.schema.integer(x, where, low, MAX_SECONDS))

    return check


def _path_field(*, context: bool = True, intrinsic: bool = False) -> Check:
    def check(v: _Validator, st: _State, value: Any, loc: str) -> None:
        v.schema.reference_path(value, loc, context=context, intrinsic=intrinsic)

    return check


def _template_or_jsonata(v: _Validator, st: _State, value: Any, loc: str) -> None:
    if st.language == JP:
        v.schema.template(value, loc)
    else:
        v.schema.jsonata_value(value, loc)


def _items(v: _Validator, st: _State, value: Any, loc: str) -> None:
    if isinstance(value, str) and value.startswith("{%"):
        v.schema.jsonata_value(value, loc)
    elif not isinstance(value, list):
        v.schema.wrong_type(list, loc)
    else:
        v.schema.jsonata_value(value, loc)


FIELD_CHECKS: Final[dict[str, Check]] = {
    "Comment": lambda v, st, value, loc: v.schema.string(value, loc),
    "QueryLanguage": lambda v, st, value, loc: v.schema.enum(value, LANGUAGES, loc),
    "Next": _Validator.transition,
    "End": lambda v, st, value, loc: v.schema.boolean(value, loc),
    "InputPath": lambda v, st, value, loc: v.schema.path(value, loc, nullable=True),
    "OutputPath": lambda v, st, value, loc: v.schema.path(value, loc, nullable=True),
    "ResultPath": lambda v, st, value, loc: v.schema.reference_path(
        value, loc, nullable=True, context=False, variables=False
    ),
    "Parameters": lambda v, st, value, loc: v.schema.template(value, loc),
    "ResultSelector": lambda v, st, value, loc: v.schema.template(value, loc),
    "ItemSelector": _template_or_jsonata,
    "Arguments": lambda v, st, value, loc: v.schema.jsonata_value(value, loc),
    "Output": _Validator.output,
    "Assign": _Validator.assign,
    "Resource": _Validator.resource,
    "Credentials": _Validator.credentials,
    "TimeoutSeconds": _timing(1),
    "HeartbeatSeconds": _timing(1),
    "Seconds": _timing(0),
    "TimeoutSecondsPath": _path_field(),
    "HeartbeatSecondsPath": _path_field(),
    "SecondsPath": _path_field(),
    "TimestampPath": _path_field(),
    "ErrorPath": _path_field(intrinsic=True),
    "CausePath": _path_field(intrinsic=True),
    "ItemsPath": _path_field(),
    "MaxConcurrencyPath": _path_field(context=False),
    "ToleratedFailureCountPath": _path_field(context=False),
    "ToleratedFailurePercentagePath": _path_field(context=False),
    "Timestamp": lambda v, st, value, loc: v.literal_or_jsonata(st, value, loc, v.schema.timestamp),
    "Error": lambda v, st, value, loc: v.literal_or_jsonata(st, value, loc, v.schema.string),
    "Cause": lambda v, st, value, loc: v.literal_or_jsonata(st, value, loc, v.schema.string),
    "Items": _items,
    "MaxConcurrency": lambda v, st, value, loc: v.literal_or_jsonata(
        st, value, loc, lambda x, where: v.schema.integer(x, where, 0)
    ),
    "ToleratedFailureCount": lambda v, st, value, loc: v.literal_or_jsonata(
        st, value, loc, lambda x, where: v.schema.integer(x, where, 0)
    ),
    "ToleratedFailurePercentage": lambda v, st, value, loc: v.literal_or_jsonata(
        st, value, loc, lambda x, where: v.schema.number(x, where, 0.0, 100.0)
    ),
    "Branches": _Validator.branches,
    "ItemProcessor": _Validator.processor,
    "Iterator": _Validator.processor,
    "ItemReader": _Validator.item_reader,
    "ItemBatcher": _Validator.item_batcher,
    "ResultWriter": _Validator.result_writer,
    "Label": _Validator.label,
    "Choices": _Validator.choices,
    "Default": _Validator.transition,
    "Retry": _Validator.retry,
    "Catch": _Validator.catch,
}

RETRIER_CHECKS: Final[dict[str, Callable[[Sink, Any, str], object]]] = {
    "IntervalSeconds": lambda s, value, loc: s.integer(value, loc, 1, MAX_SECONDS),
    "MaxAttempts": lambda s, value, loc: s.integer(value, loc, 0, MAX_SECONDS),
    "BackoffRate": lambda s, value, loc: s.number(value, loc, 1.0),
    "MaxDelaySeconds": lambda s, value, loc: s.integer(value, loc, 1, MAX_DELAY_SECONDS),
    "JitterStrategy": lambda s, value, loc: s.enum(value, ("FULL", "NONE"), loc),
    "Comment": lambda s, value, loc: s.string(value, loc),
}


def _task_extra(v: _Validator, st: _State) -> None:
    timeout, heartbeat = st.body.get("TimeoutSeconds"), st.body.get("HeartbeatSeconds")
    if isinstance(timeout, int) and isinstance(heartbeat, int) and heartbeat >= timeout:
        v.schema.add(
            "The value of 'HeartbeatSeconds' must be less than the value of 'TimeoutSeconds'",
            at(st.loc, "HeartbeatSeconds"),
        )


def _wait_extra(v: _Validator, st: _State) -> None:
    present = sum(1 for k in WAIT_FIELDS if k in st.body)
    if present > 1:
        v.schema.only_one(WAIT_FIELDS, st.loc)
    elif present == 0:
        v.schema.one_of(WAIT_FIELDS, st.loc)


def _map_extra(v: _Validator, st: _State) -> None:
    present = sum(1 for k in PROCESSOR_FIELDS if k in st.body)
    if present > 1:
        v.schema.only_one(PROCESSOR_FIELDS, st.loc)
    elif present == 0:
        v.schema.one_of(PROCESSOR_FIELDS, st.loc)


EXTRA_CHECKS: Final[dict[str, Callable[[_Validator, _State], None]]] = {
    "Task": _task_extra,
    "Wait": _wait_extra,
    "Map": _map_extra,
}
