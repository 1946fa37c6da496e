"""Build state machines in Python: the ASL a person would write, checked before it runs.

::

    from durable.build import Choice, ChoiceRule, Fail, Succeed, Task, Workflow

    check = Task("Check", "arn:aws:lambda:us-east-1:111111111111:function:check",
                 result_path="$.check")
    route = (
        Choice("Approved?")
        .when(ChoiceRule.BooleanEquals("$.check.ok", True), Succeed("Approved"))
        .otherwise(Fail("Rejected", error="Rejected"))
    )
    workflow = Workflow(check >> route, comment="approve or reject")
    definition = workflow.to_dict()        # validated: DefinitionError with AWS diagnostics
    workflow                               # in a notebook: the state graph, drawn

States take their ASL fields as snake_case keywords (``result_path="$.x"``; ``None`` writes JSON
null), ``fields={...}`` for anything else; ``a >> b`` (or ``Chain([a, b])``) sets ``Next``.
:func:`graph_svg` draws any definition (:func:`graph_png`: the same drawing as PNG);
:func:`graph_mermaid` writes it as a Mermaid flowchart. See ``docs/builder.md``.

The package is pure (no I/O but :meth:`Diagram.save`): it builds on the interpreter's validator.
"""

from .branching import Branch, Map, Parallel
from .choice import Choice, ChoiceRule
from .handlers import Catch, Retry
from .mermaid import graph_mermaid
from .png import graph_png
from .state import BuildError, Chain, State
from .states import Fail, Pass, Succeed, Task, Wait
from .svg import Diagram, graph_svg
from .workflow import Workflow

__all__ = [
    "Branch",
    "BuildError",
    "Catch",
    "Chain",
    "Choice",
    "ChoiceRule",
    "Diagram",
    "Fail",
    "Map",
    "Parallel",
    "Pass",
    "Retry",
    "State",
    "Succeed",
    "Task",
    "Wait",
    "Workflow",
    "graph_mermaid",
    "graph_png",
    "graph_svg",
]

for _name in __all__:  # reprs, tracebacks and docs say durable.build.Task
    globals()[_name].__module__ = __name__
del _name
