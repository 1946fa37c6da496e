# %% [markdown]
# # The daily ML pipeline, built in Python
#
# The workflow of [`../ml_pipeline`](../ml_pipeline) — data check, ETL, train, quality gate,
# deploy, predict, and a failure notification — written with `durable.build` instead of by
# hand, in notebook cells (`# %%`: Jupyter with jupytext, VS Code and PyCharm open it as a
# notebook; `python run.py` runs the cells as a kernel does). scikit-learn does the training
# and the predictions (the task functions of `../ml_pipeline/ml_tasks.py`).

# %%
import json
import os
import sys
import tempfile
from pathlib import Path

import durable
from durable.build import Catch, Choice, ChoiceRule, Fail, Pass, Retry, Task, Workflow

PIPELINE = Path("..", "ml_pipeline").resolve()  # a kernel runs in the notebook's folder
sys.path.insert(0, str(PIPELINE))
import ml_tasks  # noqa: E402

LAMBDA = "arn:aws:lambda:us-east-1:111111111111:function:"
STORE = Path(os.environ.get("ML_STORE") or tempfile.mkdtemp(prefix="ml-store-"))  # stands in for a bucket

# %% [markdown]
# ## The states
# Every task gets the store and the day, writes its result under its own key of the state
# (`result_path`), retries a throttled Lambda, and on any error goes to the notification.

# %%
LAMBDA_RETRY = Retry(
    ["Lambda.ServiceException", "Lambda.TooManyRequestsException"],
    interval_seconds=2,
    max_attempts=3,
    backoff_rate=2,
)
failed = Fail(
    "PipelineFailed",
    error="PipelineFailed",
    cause_path="States.Format('{}: {}', $.failure.Error, $.failure.Cause)",
)
notify = Task(
    "NotifyFailure",
    LAMBDA + "NotifyFailure",
    parameters={
        "store.$": "$.store",
        "runDate.$": "$.runDate",
        "execution.$": "$$.Execution.Id",
        "failure.$": "$.failure",
    },
    result_path="$.notification",
    timeout_seconds=60,
    retry=[LAMBDA_RETRY],
)
ON_ERROR = Catch("States.ALL", notify >> failed, result_path="$.failure")


def step(name, result_path, timeout, inputs, retry=()):
    """A pipeline task: the store, the day and ``inputs`` (state paths) in, its result at ``result_path``."""
    return Task(
        name,
        LAMBDA + name,
        parameters={
            "store.$": "$.store",
            "runDate.$": "$.runDate",
            **{f"{k}.$": v for k, v in inputs.items()},
        },
        result_path=result_path,
        timeout_seconds=timeout,
        retry=[*retry, LAMBDA_RETRY],
        catch=[ON_ERROR],
    )


defaults = Pass(
    "Defaults",
    query_language="JSONata",
    comment="runDate: the day the execution started (a schedule passes none); "
    "minAccuracy and minRows unless given",
    output="{% $merge([{'runDate': $substring($states.context.Execution.StartTime, 0, 10), "
    "'minAccuracy': 0.9, 'minRows': 100}, $states.input]) %}",
)
check = step("CheckData", "$.data", 300, {"minRows": "$.minRows"})
transform = step("TransformData", "$.features", 600, {"data": "$.data"})
train = step("TrainModel", "$.model", 900, {"features": "$.features"})
deploy = step(
    "DeployModel",
    "$.deployment",
    300,
    {"model": "$.model"},
    retry=[Retry("RegistryUnavailable", interval_seconds=30, max_attempts=4, backoff_rate=2)],
)
predict = step("Predict", "$.predictions", 600, {"deployment": "$.deployment"})
done = Pass(
    "Done",
    parameters={
        "runDate.$": "$.runDate",
        "rows.$": "$.data.rows",
        "model.$": "$.deployment.version",
        "accuracy.$": "$.model.accuracy",
        "f1.$": "$.model.f1",
        "predictions.$": "$.predictions.key",
        "byClass.$": "$.predictions.byClass",
    },
)
rejected = Pass(
    "ModelRejected",
    parameters={
        "Error": "ModelBelowThreshold",
        "Cause.$": "States.Format('accuracy {} is below the required {}', $.model.accuracy, $.minAccuracy)",
    },
    result_path="$.failure",
)
gate = (
    Choice("QualityGate")
    .when(
        ChoiceRule.NumericGreaterThanEqualsPath("$.model.accuracy", "$.minAccuracy"),
        deploy >> predict >> done,
    )
    .otherwise(rejected >> notify)
)

# %% [markdown]
# ## The workflow, checked
# `to_dict()` runs durable's validator (AWS's rules) and raises on a fault;
# `durable.validate` gives the diagnostics as a plain call.

# %%
workflow = Workflow(
    defaults >> check >> transform >> train >> gate,
    comment="Daily ML pipeline: check the day's data, transform it, train a model, deploy it if it is "
    "good enough, classify the day's requests; any failure notifies the team. Started by an "
    "EventBridge Scheduler schedule, cron(0 6 * * ? *).",
    timeout_seconds=7200,
)
definition = workflow.to_dict()
checked = durable.validate(definition, "standard", severity="WARNING")
print(checked.result, [str(d) for d in checked.diagnostics])
print(len(definition["States"]), "states:", ", ".join(definition["States"]))

# %% [markdown]
# ## The graph
# In a notebook, `workflow` alone in a cell draws it; here it is saved as an SVG file too.

# %%
svg = workflow.to_svg()
(STORE / "pipeline.svg").write_text(svg)
print(f"pipeline.svg: {len(svg)} characters")

# %% [markdown]
# ## A day
# The day's extract lands, then one Standard execution runs the pipeline with the real task
# functions: scikit-learn trains, the model is deployed, the day's wines are classified.

# %%
FUNCTIONS = {
    name: getattr(ml_tasks, name)
    for name in ("CheckData", "TransformData", "TrainModel", "DeployModel", "Predict", "NotifyFailure")
}
landed = ml_tasks.land_daily_extract(STORE, "2026-03-02")
day = durable.run(
    definition, {"store": str(STORE), "runDate": "2026-03-02"},
    functions=FUNCTIONS, type="standard", name="2026-03-02", state_machine_name="DailyModel",
)  # fmt: skip
print(day.status, json.dumps(day.output))

# %% [markdown]
# ## A busy registry, on a test clock
# The registry refuses the first two deployments. `DeployModel` retries after 30 and 60
# seconds — on a `TestClock`, which skips the waiting: the cell takes no real minute.

# %%
from durable.testing import TestClock  # noqa: E402

attempts = []


def busy_then_deploy(event, context):
    attempts.append(len(attempts) + 1)
    if len(attempts) <= 2:
        raise ml_tasks.RegistryUnavailable(f"registry busy (attempt {len(attempts)})")
    return ml_tasks.DeployModel(event, context)


clock = TestClock()
clock.busy_grace = 120  # a task running in a thread (the training) holds the clock for up to 120 s
ml_tasks.land_daily_extract(STORE, "2026-03-03")
retried = durable.run(
    definition, {"store": str(STORE), "runDate": "2026-03-03"},
    functions={**FUNCTIONS, "DeployModel": busy_then_deploy}, type="standard", clock=clock,
)  # fmt: skip
print(
    retried.status,
    "after",
    len(attempts),
    "attempts,",
    retried.stop_date - retried.start_date,
    "on the clock",
)

# %% [markdown]
# ## A day without data
# Nothing landed for the day: the data check fails, the team is notified, the execution fails.

# %%
missing = durable.run(
    definition, {"store": str(STORE), "runDate": "2026-03-04"}, functions=FUNCTIONS, type="standard"
)
print(missing.status, missing.error, missing.cause)
print(json.loads(next((STORE / "notifications").rglob("*.json")).read_text())["subject"])
