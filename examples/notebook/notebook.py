# %% [markdown]
# # durable in a notebook
#
# Cells of a notebook, in the percent format that Jupyter (with jupytext), VS Code and PyCharm
# open as a notebook. Every cell of a Jupyter notebook runs inside the kernel's event loop:
# `durable.run(...)` works there as a plain call, and `await durable.arun(...)` is its awaitable
# twin. `python run.py` runs these cells the way a kernel does.

# %%
import durable

GREETER = {
    "Comment": "Say hello, then decide how warmly",
    "StartAt": "Greet",
    "States": {
        "Greet": {
            "Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:111111111111:function:greet",
            "Next": "Warmly?",
        },
        "Warmly?": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.friend", "BooleanEquals": True, "Next": "Hug"}],
            "Default": "Wave",
        },
        "Hug": {"Type": "Pass", "Parameters": {"greeting.$": "$.greeting", "with": "a hug"}, "End": True},
        "Wave": {"Type": "Pass", "Parameters": {"greeting.$": "$.greeting", "with": "a wave"}, "End": True},
    },
}


def greet(event, context):
    """A Lambda-style handler: answers the Task's Resource."""
    return {"greeting": f"Hello, {event['name']}!", "friend": event.get("friend", False)}


FUNCTIONS = {"greet": greet}

# %% [markdown]
# ## Check the definition
# `durable.validate` is a plain call: nothing runs, nothing is stored.

# %%
checked = durable.validate(GREETER, "express", severity="WARNING")
print(checked.result, [str(d) for d in checked.diagnostics])

# %% [markdown]
# ## Run it: a plain call
# An Express execution by default, in memory; it returns the finished execution.

# %%
execution = durable.run(GREETER, {"name": "Ada", "friend": True}, functions=FUNCTIONS)
print(execution.status, execution.output)

# %% [markdown]
# ## The awaitable twin
# `await` works at the top of a cell. `name` names the execution (as boto3's `StartExecution`
# does), `state_machine_name` the state machine, `type` is `"express"` or `"standard"`.

# %%
standard = await durable.arun(
    GREETER,
    {"name": "Grace"},
    functions=FUNCTIONS,
    name="grace",
    state_machine_name="greeter",
    type="standard",
)
print(standard.name, standard.status, standard.output)
print(standard.execution_arn)

# %% [markdown]
# ## Dates
# Dates are timezone-aware `datetime` objects in UTC, as boto3 returns them.

# %%
elapsed = standard.stop_date - standard.start_date
print("started", standard.start_date.isoformat(timespec="milliseconds"))
print("in local time", standard.start_date.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z"))
print(f"took {elapsed.total_seconds() * 1000:.1f} ms")

# %% [markdown]
# ## An engine of your own, and the history
# For more than one run, open an `Engine` in a cell (`async with` works at the top of a cell too)
# and read the history: each event's `timestamp` is a UTC `datetime`.

# %%
async with durable.Engine() as engine:
    engine.register_function("greet", greet)
    machine = await engine.create_state_machine("greeter", GREETER, type="STANDARD")
    started = await engine.start_execution(machine.arn, {"name": "Linus"}, name="linus")
    finished = await engine.wait_for_execution(started.execution_arn)
    history = await engine.get_execution_history(started.execution_arn)

for event in history:
    print(event["timestamp"].strftime("%H:%M:%S.%f")[:-3], event["type"])

# %% [markdown]
# ## Build the same machine in Python
# `durable.build` writes the definition from Python objects (`a >> b` chains them), checks it
# with durable's validator, and draws it: in a notebook the last expression of a cell, a
# `Workflow`, shows as its state graph (SVG). `to_dict()` is the JSON a person would write.

# %%
from durable.build import Choice, ChoiceRule, Pass, Task, Workflow  # noqa: E402 (a later cell)

LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:"
built = Workflow(
    Task("Greet", LAMBDA + "greet")
    >> Choice("Warmly?")
    .when(
        ChoiceRule.BooleanEquals("$.friend", True),
        Pass("Hug", parameters={"greeting.$": "$.greeting", "with": "a hug"}),
    )
    .otherwise(Pass("Wave", parameters={"greeting.$": "$.greeting", "with": "a wave"})),
    comment="Say hello, then decide how warmly",
)
assert built.to_dict() == GREETER  # the same document as the hand-written one above
svg = built.to_svg()
print(f"graph: {len(svg)} characters of SVG")
print(durable.run(built.to_dict(), {"name": "Barbara"}, functions=FUNCTIONS).output)
