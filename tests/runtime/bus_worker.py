"""Child process of the event bus crash test: puts events on a SQLite database's bus and runs
the engine that delivers them, until every event is delivered and every execution has ended.

Run as ``python tests/runtime/bus_worker.py --db PATH --events N --log LOG --seed S``.

Event ``i`` has ``{"i": i}`` as detail. An event is put again until its ``PutEvents`` answer
reached the log (``O_APPEND`` + fsync, so a line survives SIGKILL): the log lists the event ids
the bus accepted *and* answered. The parent kills this process at random moments, restarts it,
and checks the executions the targets started.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys

from durable import Engine, StateMachineAlreadyExists

ACCOUNT = "111111111111"
REGION = "us-east-1"
MACHINE = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
TRANSFORMER = {
    "InputPathsMap": {"i": "$.detail.i", "id": "$.id"},
    "InputTemplate": '{"i": <i>, "id": "<id>", "rule": "<aws.events.rule-name>"}',
}


def targets(arn: str) -> dict[str, list[dict[str, object]]]:
    """Rule name -> its targets: ``all`` matches every event, ``even`` the even ones."""
    return {
        "all": [{"Id": "whole", "Arn": arn}, {"Id": "shaped", "Arn": arn, "InputTransformer": TRANSFORMER}],
        "even": [{"Id": "whole", "Arn": arn}],
    }


PATTERNS = {"all": {"source": ["test.bus"]}, "even": {"source": ["test.bus"], "detail": {"even": [True]}}}


def answered(log: str) -> dict[int, str]:
    if not os.path.exists(log):
        return {}
    out: dict[int, str] = {}
    with open(log) as f:
        for line in f:
            if line.endswith("\n"):
                row = json.loads(line)
                out[row["i"]] = row["id"]
    return out


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--events", type=int, required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(f"{args.seed}-{os.getpid()}")
    engine = Engine(f"sqlite:///{args.db}", region=REGION, account=ACCOUNT, standby=False)
    async with engine:
        print("opened", flush=True)
        try:
            machine = await engine.create_state_machine("target", MACHINE)
            arn = machine.arn
        except StateMachineAlreadyExists:
            arn = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:target"
        for rule, rule_targets in targets(arn).items():
            await engine.put_rule(rule, event_pattern=PATTERNS[rule])
            await engine.put_targets(rule, rule_targets)
        done = answered(args.log)
        fd = os.open(args.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        todo = [i for i in range(args.events) if i not in done]
        try:
            while todo:
                size = rng.randint(1, 3)
                batch, todo = todo[:size], todo[size:]
                entries = [
                    {
                        "Source": "test.bus",
                        "DetailType": "n",
                        "Detail": json.dumps({"i": i, "even": i % 2 == 0}),
                    }
                    for i in batch
                ]
                answer = await engine.put_events(entries)
                assert answer["FailedEntryCount"] == 0, answer
                for i, entry in zip(batch, answer["Entries"], strict=True):
                    os.write(fd, (json.dumps({"i": i, "id": entry["EventId"]}) + "\n").encode())
                os.fsync(fd)
                await asyncio.sleep(rng.random() * 0.05)
        finally:
            os.close(fd)
        await engine.events_delivered()
        while await engine.list_executions(status="RUNNING"):
            await asyncio.sleep(0.02)
    print("done", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
