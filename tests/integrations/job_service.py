"""A job service of the tests' own behind the plugin contract's run-a-job pattern (``.sync``).

``arn:aws:states:::jobs:run.sync`` starts a job (``{"Steps": n, "Fail": bool}``) that finishes
after ``n`` polls. The service's state lives in a JSON file when a path is given, so that a
process killed with SIGKILL and restarted sees the jobs it started before (see
``tests/runtime/job_worker.py``); otherwise in memory.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from durable import JobRunning, TaskFailed, TaskRequest

RESOURCE = "arn:aws:states:::jobs:run"


class JobService:
    name = "jobs"

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._jobs: dict[str, dict[str, Any]] = {}
        self.polls = 0
        self.requests: list[TaskRequest] = []

    # -- state (a file survives the process) ---------------------------------------------------------
    def jobs(self) -> dict[str, dict[str, Any]]:
        if self.path is not None and self.path.exists():
            loaded: dict[str, dict[str, Any]] = json.loads(self.path.read_text())
            return loaded
        return self._jobs

    def _save(self, jobs: dict[str, dict[str, Any]]) -> None:
        if self.path is None:
            self._jobs = jobs
            return
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("w") as fh:
            json.dump(jobs, fh)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(self.path)

    # -- the contract --------------------------------------------------------------------------------
    def handles(self, resource: str) -> bool:
        return resource.startswith(RESOURCE)

    async def invoke(self, request: TaskRequest) -> Any:
        self.requests.append(request)
        jobs = self.jobs()
        job_id = f"job-{len(jobs) + 1}"
        payload = request.payload if isinstance(request.payload, dict) else {}
        jobs[job_id] = {
            "steps": int(payload.get("Steps", 1)),
            "fail": bool(payload.get("Fail", False)),
            "polls": 0,
            "status": "RUNNING",
            "key": request.idempotency_key,
        }
        self._save(jobs)
        return {"JobId": job_id}

    async def poll(self, request: TaskRequest, submitted: Any) -> Any:
        self.polls += 1
        jobs = self.jobs()
        job = jobs[submitted["JobId"]]
        if job["status"] == "RUNNING":
            job["polls"] += 1
            if job["polls"] >= job["steps"]:
                job["status"] = "FAILED" if job["fail"] else "SUCCEEDED"
            self._save(jobs)
        if job["status"] == "RUNNING":
            return JobRunning()
        if job["status"] == "FAILED":
            raise TaskFailed("Jobs.JobFailed", json.dumps({"JobId": submitted["JobId"], "Status": "FAILED"}))
        if job["status"] == "STOPPED":
            raise TaskFailed("Jobs.JobStopped", submitted["JobId"])
        return {"JobId": submitted["JobId"], "Status": "SUCCEEDED", "Polls": job["polls"]}

    async def cancel(self, request: TaskRequest, submitted: Any) -> None:
        jobs = self.jobs()
        job = jobs[submitted["JobId"]]
        if job["status"] == "RUNNING":
            job["status"] = "STOPPED"
            self._save(jobs)

    def status(self, job_id: str) -> str:
        return str(self.jobs()[job_id]["status"])
