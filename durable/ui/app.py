"""The pages: state machines, one state machine, executions (filtered, searched, paged), one
execution (its graph coloured by status, its history, its Map Runs), and the JSON its page polls
while it runs. Everything is read through a session's read-only API (a :class:`~durable.Client`):
no page starts, answers, stops or runs anything.

Pages are rendered on the server with Jinja2 from ``templates/``; ``static/`` holds the one
stylesheet and the one script, served from the package (nothing is fetched from elsewhere).
Links are relative to where the app is mounted (``root_path``): ``durable ui`` serves it at
``/``, ``durable serve`` under ``/ui``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from markupsafe import escape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..build import graph_svg
from ..errors import DurableError
from ..runtime.client import Client
from ..runtime.models import Execution
from .progress import Progress, read_progress

__all__ = ["PAGE_SIZES", "SCAN_LIMIT", "create_ui_app"]

HERE = Path(__file__).resolve().parent
STATUSES = ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE")
PAGE_SIZES = (20, 50, 100)
SCAN_LIMIT = 5000  # a name search reads at most this many executions per page it shows
EVENTS_PER_PAGE = 500
MAX_SHOWN_TEXT = 32 * 1024  # an input or output embedded in the execution page, at most


class _Problem(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["pretty"] = _pretty
    env.filters["duration"] = _duration
    return env


def _when(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}"


def _duration(execution: Execution) -> str:
    if execution.stop_date is None:
        return ""
    seconds = (execution.stop_date - execution.start_date).total_seconds()
    return f"{seconds:.3f} s" if seconds < 60 else f"{seconds / 60:.1f} min"


def _pretty(value: Any) -> str:
    """A JSON text or value, indented (a text that is not JSON, as it is)."""
    parsed = value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return value
    return json.dumps(parsed, indent=2, ensure_ascii=False, default=str)


def _clip(text: Any) -> Any:
    if isinstance(text, str) and len(text) > MAX_SHOWN_TEXT:
        return text[:MAX_SHOWN_TEXT] + f"\n… ({len(text) - MAX_SHOWN_TEXT} more characters)"
    return text


def create_ui_app(session: Client, *, close_session: bool = False) -> Starlette:
    """The pages over ``session`` (a :class:`~durable.Client`; only its reading methods are
    called). ``close_session``: close it when the app shuts down (when it is served alone)."""
    env = _environment()

    def page(request: Request, template: str, code: int = 200, **context: Any) -> HTMLResponse:
        base = str(request.scope.get("root_path", "")).rstrip("/")

        def link(path: str, **params: Any) -> str:
            query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
            return f"{base}{path}" + (f"?{query}" if query else "")

        html = env.get_template(template).render(base=base, link=link, **context)
        return HTMLResponse(html, status_code=code)

    def handled(
        fn: Callable[[Request], Awaitable[Response]],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            try:
                return await fn(request)
            except _Problem as exc:
                return page(request, "problem.html", exc.status, message=str(exc))
            except DurableError as exc:
                return page(request, "problem.html", 404, message=str(exc))

        return run

    def required(request: Request, name: str) -> str:
        value = request.query_params.get(name, "").strip()
        if not value:
            raise _Problem(400, f"the page needs ?{name}=")
        return value

    async def machines(request: Request) -> Response:
        listed = sorted(await session.list_state_machines(), key=lambda m: m.name)
        return page(request, "machines.html", machines=listed)

    async def machine(request: Request) -> Response:
        arn = required(request, "arn")
        described = await session.describe_state_machine(arn)
        versions = await session.list_state_machine_versions(described.arn)
        aliases = await session.list_state_machine_aliases(described.arn)
        recent, token = await session.list_executions_page(described.arn, max_results=PAGE_SIZES[0])
        return page(
            request,
            "machine.html",
            machine=described,
            graph=_graph(described.definition),
            definition=_pretty(described.definition),
            versions=versions,
            aliases=aliases,
            recent=recent,
            more=token is not None,
        )

    async def executions(request: Request) -> Response:
        q = request.query_params
        machine_arn = q.get("machine") or None
        map_run = q.get("map_run") or None
        status = q.get("status") or None
        if status is not None and status not in STATUSES:
            raise _Problem(400, f"unknown status {status!r}: one of {', '.join(STATUSES)}")
        name = q.get("name", "").strip()
        if name.startswith("arn:"):  # an execution's ARN: its page
            return RedirectResponse(
                f"{request.scope.get('root_path', '')}/execution?{urlencode({'arn': name})}"
            )
        size = (
            int(q["size"]) if q.get("size", "").isdigit() and int(q["size"]) in PAGE_SIZES else PAGE_SIZES[1]
        )
        token = q.get("token") or None
        rows: list[Execution] = []
        scanned = 0
        while True:
            chunk, token = await session.list_executions_page(
                machine_arn,
                status,
                max_results=size if not name else max(size, 100),
                next_token=token,
                map_run_arn=map_run,
            )
            scanned += len(chunk)
            rows += [e for e in chunk if name.lower() in e.name.lower()] if name else chunk
            if not name or token is None or len(rows) >= size or scanned >= SCAN_LIMIT:
                break
        return page(
            request,
            "executions.html",
            rows=rows,
            token=token,
            machine_arn=machine_arn,
            map_run=map_run,
            status=status,
            statuses=STATUSES,
            name=name,
            size=size,
            sizes=PAGE_SIZES,
            scanned=scanned,
            continued=q.get("token") is not None,
        )

    async def _read(arn: str) -> tuple[Execution, list[dict[str, Any]], Progress]:
        execution = await session.describe_execution(arn)
        history = await session.get_execution_history(arn)
        return execution, history, read_progress(history, str(execution.status))

    async def execution(request: Request) -> Response:
        arn = required(request, "arn")
        described, history, progress = await _read(arn)
        machine = await session.describe_state_machine_for_execution(arn)
        version, alias = await session.execution_started_through(arn)
        try:
            map_runs = await session.list_map_runs(arn)
        except DurableError:
            map_runs = []
        start = int(request.query_params["from"]) if request.query_params.get("from", "").isdigit() else 0
        shown = history[start : start + EVENTS_PER_PAGE]
        origin = history[0]["timestamp"] if history else None
        rows = [
            {
                "id": e.get("id"),
                "type": e.get("type", ""),
                "timestamp": e.get("timestamp"),
                "elapsed": _elapsed(origin, e.get("timestamp")),
                "visit": progress.event_visit.get(int(e.get("id", 0))),
                "details": {k: v for k, v in e.items() if k.endswith("EventDetails")},
            }
            for e in shown
        ]
        data = {
            "arn": arn,
            "status": str(described.status),
            "events": len(history),
            "poll": f"{request.scope.get('root_path', '')}/api/execution?{urlencode({'arn': arn})}",
            "visits": {
                name: [{**v.as_json(), "input": _clip(v.input), "output": _clip(v.output)} for v in visits]
                for name, visits in progress.visits.items()
            },
            "eventVisit": {str(k): list(v) for k, v in progress.event_visit.items()},
        }
        return page(
            request,
            "execution.html",
            execution=described,
            machine=machine,
            version=version,
            alias=alias,
            graph=_graph(machine.definition, progress.status),
            counts=_counts(progress),
            map_runs=map_runs,
            rows=rows,
            start=start,
            total=len(history),
            per_page=EVENTS_PER_PAGE,
            data=data,
        )

    async def execution_json(request: Request) -> Response:
        try:
            described, history, progress = await _read(required(request, "arn"))
        except (DurableError, _Problem) as exc:
            return JSONResponse({"error": str(exc)}, status_code=404)
        return JSONResponse(
            {"status": str(described.status), "events": len(history), "states": progress.status}
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if close_session:
                await session.close()

    routes = [
        Route("/", handled(machines)),
        Route("/machine", handled(machine)),
        Route("/executions", handled(executions)),
        Route("/execution", handled(execution)),
        Route("/api/execution", execution_json),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def _graph(definition: str, status: dict[str, str] | None = None) -> str:
    """The definition's drawing, or a line saying why there is none."""
    try:
        return graph_svg(definition, status=status)
    except ImportError as exc:  # networkx is missing
        return f'<p class="note">{escape(str(exc))}</p>'
    except (DurableError, ValueError) as exc:
        return f'<p class="note">the definition cannot be drawn: {escape(str(exc))}</p>'


def _counts(progress: Progress) -> dict[str, int]:
    counts: dict[str, int] = {}
    for status in progress.status.values():
        counts[status] = counts.get(status, 0) + 1
    return counts


def _elapsed(origin: Any, when: Any) -> str:
    if not isinstance(origin, datetime) or not isinstance(when, datetime):
        return ""
    return f"{(when - origin).total_seconds() * 1000:.0f} ms"
