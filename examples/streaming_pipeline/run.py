"""A streaming pipeline on a local moto server, with its throughput:

    python examples/streaming_pipeline/run.py [--records 500] [--concurrency 32]

Needs boto3 and moto (``pip install -e '.[test]'``); the durable-aws plugin is taken from
plugins/durable-aws when it is not installed. Prints one JSON line: the records put on the
stream, the executions (succeeded, dead-lettered), the messages that reached the queue, and the
executions per second (the consumer's whole run: reading the stream and every execution to its
end; each execution calls SNS on moto over HTTP).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
try:
    import durable_aws  # noqa: F401
except ImportError:  # a clone with the quickstart's install: the plugin from the source tree
    sys.path.insert(0, str(HERE.parents[1] / "plugins" / "durable-aws"))

from durable_aws.testing import moto_server  # noqa: E402
from pipeline import DEFINITION, consume, open_engine, produce, received, sample_records, setup  # noqa: E402


async def main(records: int, concurrency: int) -> None:
    with moto_server() as endpoint:
        aws = setup(endpoint)
        produce(aws, sample_records(records, invalid_every=50))
        async with open_engine(aws) as engine:
            machine = await engine.create_state_machine("StreamRecord", DEFINITION, type="EXPRESS")
            began = time.perf_counter()
            done = await consume(engine, aws, machine.arn, concurrency=concurrency)
            seconds = time.perf_counter() - began
        statuses = [str(e.status) for e in done]
        print(
            json.dumps(
                {
                    "records": records,
                    "executions": len(done),
                    "succeeded": statuses.count("SUCCEEDED"),
                    "deadLettered": sum(1 for e in done if (e.output or {}).get("deadLettered")),
                    "queued": len(received(aws, aws.queue_url)),
                    "invalid": len(received(aws, aws.dead_letter_url)),
                    "seconds": round(seconds, 3),
                    "executionsPerSecond": round(len(done) / seconds, 1),
                }
            )
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=500, help="records to put on the stream")
    parser.add_argument("--concurrency", type=int, default=32, help="executions running at once")
    args = parser.parse_args()
    asyncio.run(main(args.records, args.concurrency))
