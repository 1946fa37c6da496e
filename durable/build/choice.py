"""Choice states and their rules.

JSONPath rules compare a ``Variable`` with an operator, named as in ASL::

    ChoiceRule.StringEquals(variable="$.status", value="DONE")
    ChoiceRule.NumericGreaterThanEqualsPath("$.attempts", "$.limit")
    ChoiceRule.And(a, b) == a & b      ChoiceRule.Or(a, b) == a | b      ChoiceRule.Not(a) == ~a

A JSONata rule is a ``Condition``: ``ChoiceRule.Condition("{% $states.input.n > 1 %}")``, or the
string itself where a rule is expected. ``ChoiceRule({...})`` takes a raw rule object as it is.

A Choice is built rule by rule::

    Choice("Ready?").when(rule, next_state).when(other, "Poll").otherwise(give_up)
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, Unpack

from .fields import ChoiceFields, RuleFields, allowed, converted
from .state import BuildError, State, Target, first_state, target_name

if TYPE_CHECKING:
    from .assemble import Emitter

__all__ = ["Choice", "ChoiceRule"]

T = TypeVar("T")


class _Comparison(Generic[T]):
    """``ChoiceRule.<Operator>(variable, value)``: one comparison of a JSONPath rule."""

    __slots__ = ("operator",)

    def __init__(self, operator: str) -> None:
        self.operator = operator

    def __call__(self, variable: str, value: T) -> ChoiceRule:
        return ChoiceRule({"Variable": variable, self.operator: value})

    def __repr__(self) -> str:
        return f"ChoiceRule.{self.operator}"


class ChoiceRule:
    """A Choice rule (without its ``Next``): a comparison, a combination, or a JSONata Condition."""

    __slots__ = ("_rule",)

    def __init__(self, rule: Mapping[str, Any]) -> None:
        self._rule = copy.deepcopy(dict(rule))

    def to_dict(self) -> dict[str, Any]:
        return copy.deepcopy(self._rule)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ChoiceRule) and other._rule == self._rule

    def __hash__(self) -> int:
        return hash(repr(self._rule))

    def __repr__(self) -> str:
        return f"ChoiceRule({self._rule!r})"

    def __and__(self, other: ChoiceRule) -> ChoiceRule:
        return ChoiceRule.And(*self._flat("And"), *other._flat("And"))

    def __or__(self, other: ChoiceRule) -> ChoiceRule:
        return ChoiceRule.Or(*self._flat("Or"), *other._flat("Or"))

    def __invert__(self) -> ChoiceRule:
        return ChoiceRule.Not(self)

    def _flat(self, combinator: str) -> list[ChoiceRule]:
        if list(self._rule) == [combinator]:
            return [ChoiceRule(r) for r in self._rule[combinator]]
        return [self]

    @staticmethod
    def And(*rules: ChoiceRule) -> ChoiceRule:
        return ChoiceRule({"And": [r.to_dict() for r in rules]})

    @staticmethod
    def Or(*rules: ChoiceRule) -> ChoiceRule:
        return ChoiceRule({"Or": [r.to_dict() for r in rules]})

    @staticmethod
    def Not(rule: ChoiceRule) -> ChoiceRule:
        return ChoiceRule({"Not": rule.to_dict()})

    @staticmethod
    def Condition(expression: str | bool) -> ChoiceRule:
        """A JSONata rule: ``"{% ... %}"`` (or a literal boolean)."""
        return ChoiceRule({"Condition": expression})

    StringEquals: ClassVar[_Comparison[str]] = _Comparison("StringEquals")
    StringLessThan: ClassVar[_Comparison[str]] = _Comparison("StringLessThan")
    StringGreaterThan: ClassVar[_Comparison[str]] = _Comparison("StringGreaterThan")
    StringLessThanEquals: ClassVar[_Comparison[str]] = _Comparison("StringLessThanEquals")
    StringGreaterThanEquals: ClassVar[_Comparison[str]] = _Comparison("StringGreaterThanEquals")
    StringMatches: ClassVar[_Comparison[str]] = _Comparison("StringMatches")
    StringEqualsPath: ClassVar[_Comparison[str]] = _Comparison("StringEqualsPath")
    StringLessThanPath: ClassVar[_Comparison[str]] = _Comparison("StringLessThanPath")
    StringGreaterThanPath: ClassVar[_Comparison[str]] = _Comparison("StringGreaterThanPath")
    StringLessThanEqualsPath: ClassVar[_Comparison[str]] = _Comparison("StringLessThanEqualsPath")
    StringGreaterThanEqualsPath: ClassVar[_Comparison[str]] = _Comparison("StringGreaterThanEqualsPath")
    NumericEquals: ClassVar[_Comparison[float]] = _Comparison("NumericEquals")
    NumericLessThan: ClassVar[_Comparison[float]] = _Comparison("NumericLessThan")
    NumericGreaterThan: ClassVar[_Comparison[float]] = _Comparison("NumericGreaterThan")
    NumericLessThanEquals: ClassVar[_Comparison[float]] = _Comparison("NumericLessThanEquals")
    NumericGreaterThanEquals: ClassVar[_Comparison[float]] = _Comparison("NumericGreaterThanEquals")
    NumericEqualsPath: ClassVar[_Comparison[str]] = _Comparison("NumericEqualsPath")
    NumericLessThanPath: ClassVar[_Comparison[str]] = _Comparison("NumericLessThanPath")
    NumericGreaterThanPath: ClassVar[_Comparison[str]] = _Comparison("NumericGreaterThanPath")
    NumericLessThanEqualsPath: ClassVar[_Comparison[str]] = _Comparison("NumericLessThanEqualsPath")
    NumericGreaterThanEqualsPath: ClassVar[_Comparison[str]] = _Comparison("NumericGreaterThanEqualsPath")
    BooleanEquals: ClassVar[_Comparison[bool]] = _Comparison("BooleanEquals")
    BooleanEqualsPath: ClassVar[_Comparison[str]] = _Comparison("BooleanEqualsPath")
    TimestampEquals: ClassVar[_Comparison[str]] = _Comparison("TimestampEquals")
    TimestampLessThan: ClassVar[_Comparison[str]] = _Comparison("TimestampLessThan")
    TimestampGreaterThan: ClassVar[_Comparison[str]] = _Comparison("TimestampGreaterThan")
    TimestampLessThanEquals: ClassVar[_Comparison[str]] = _Comparison("TimestampLessThanEquals")
    TimestampGreaterThanEquals: ClassVar[_Comparison[str]] = _Comparison("TimestampGreaterThanEquals")
    TimestampEqualsPath: ClassVar[_Comparison[str]] = _Comparison("TimestampEqualsPath")
    TimestampLessThanPath: ClassVar[_Comparison[str]] = _Comparison("TimestampLessThanPath")
    TimestampGreaterThanPath: ClassVar[_Comparison[str]] = _Comparison("TimestampGreaterThanPath")
    TimestampLessThanEqualsPath: ClassVar[_Comparison[str]] = _Comparison("TimestampLessThanEqualsPath")
    TimestampGreaterThanEqualsPath: ClassVar[_Comparison[str]] = _Comparison("TimestampGreaterThanEqualsPath")
    IsNull: ClassVar[_Comparison[bool]] = _Comparison("IsNull")
    IsPresent: ClassVar[_Comparison[bool]] = _Comparison("IsPresent")
    IsNumeric: ClassVar[_Comparison[bool]] = _Comparison("IsNumeric")
    IsString: ClassVar[_Comparison[bool]] = _Comparison("IsString")
    IsBoolean: ClassVar[_Comparison[bool]] = _Comparison("IsBoolean")
    IsTimestamp: ClassVar[_Comparison[bool]] = _Comparison("IsTimestamp")


class _Branch:
    """One top-level rule of a Choice: the rule, where it goes, and its own fields."""

    __slots__ = ("fields", "next", "rule")

    def __init__(self, rule: ChoiceRule, next: Target, fields: dict[str, Any]) -> None:
        self.rule, self.next, self.fields = rule, next, fields


def _rule(rule: ChoiceRule | str) -> ChoiceRule:
    if isinstance(rule, str):
        return ChoiceRule.Condition(rule)
    if not isinstance(rule, ChoiceRule):
        raise TypeError(f"a Choice rule is a ChoiceRule or a JSONata condition, not {type(rule).__name__}")
    return rule


class Choice(State):
    """Goes to the target of the first rule that holds, else to the ``Default`` (``otherwise``)."""

    TYPE: ClassVar[str] = "Choice"
    _fields_type = ChoiceFields
    _terminal = True
    _structure = frozenset({"Choices", "Default"})

    def __init__(
        self,
        name: str,
        choices: Iterable[tuple[ChoiceRule | str, Target]] = (),
        default: Target | None = None,
        **keywords: Unpack[ChoiceFields],
    ) -> None:
        super().__init__(name, keywords)
        self._choices: list[_Branch] = []
        self._default: Target | None = None
        for rule, target in choices:
            self.when(rule, target)
        if default is not None:
            self.otherwise(default)

    def when(self, rule: ChoiceRule | str, next: Target, **keywords: Unpack[RuleFields]) -> Choice:
        """Add a rule: go to ``next`` when ``rule`` holds (a string is a JSONata Condition).
        ``comment``, ``assign`` and ``output`` are the rule's own fields."""
        accepted = allowed(RuleFields)
        for key in keywords:
            if key not in accepted:
                raise TypeError(f"when() got an unexpected keyword argument {key!r}")
        self._choices.append(_Branch(_rule(rule), next, converted(keywords)))
        return self

    def otherwise(self, next: Target) -> Choice:
        """Set the ``Default``: where to go when no rule holds."""
        if self._default is not None:
            raise BuildError(f"Choice {self.name!r} already has a Default ({target_name(self._default)!r})")
        self._default = next
        return self

    def _why_no_next(self) -> str:
        return "add rules with .when(rule, next) and a default with .otherwise(next)"

    def _structure_targets(self) -> list[State | str]:
        targets = [b.next for b in self._choices]
        if self._default is not None:
            targets.append(self._default)
        return [t if isinstance(t, str) else first_state(t) for t in targets]

    def _emit_structure(self, em: Emitter, loc: str) -> dict[str, Any]:
        choices = [
            {**b.rule.to_dict(), **copy.deepcopy(b.fields), "Next": target_name(b.next)}
            for b in self._choices
        ]
        out: dict[str, Any] = {"Choices": choices}
        if self._default is not None:
            out["Default"] = target_name(self._default)
        return out
