"""The ASGI application: AWS JSON 1.0 requests routed by ``X-Amz-Target`` to the engine.

``POST /`` with ``X-Amz-Target: AWSStepFunctions.<Action>`` and a JSON object body; the answer
is the action's JSON object, or an error ``{"__type": <Code>, "message": ...}`` (see
:mod:`.errors`). The host name is not looked at, so the ``sync-`` prefix clients put in front of
it for ``StartSyncExecution`` and ``TestState`` reaches the same app.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import structlog
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from ..errors import DurableError
from ..runtime.client import Client
from ..runtime.engine import Engine
from . import executions, machines
from .auth import SigV4Verifier
from .errors import ApiError, from_durable
from .events import EVENTS_ACTIONS, EVENTS_PREFIX
from .shapes import Params, TestCases

__all__ = ["ACTIONS", "MAX_BODY_BYTES", "create_app"]

log = structlog.get_logger("durable.server")

TARGET_PREFIX = "AWSStepFunctions."
CONTENT_TYPE = "application/x-amz-json-1.0"
EVENTS_CONTENT_TYPE = "application/x-amz-json-1.1"
MAX_BODY_BYTES = 2 * 1024 * 1024  # a 1 MiB definition, escaped as a JSON string, with room to spare
ACTIONS: dict[str, machines.Action] = {**machines.ACTIONS, **executions.ACTIONS}


def _answer(body: dict[str, Any], status: int = 200, content_type: str = CONTENT_TYPE) -> Response:
    return Response(msgspec.json.encode(body), status_code=status, media_type=content_type)


def _error(exc: ApiError, content_type: str = CONTENT_TYPE) -> Response:
    response = _answer(exc.body(), exc.status, content_type)
    response.headers["x-amzn-ErrorType"] = exc.code
    return response


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _too_large()
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _too_large()
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large() -> ApiError:
    return ApiError(
        "ValidationException",
        f"1 validation error detected: the request body exceeds the limit of {MAX_BODY_BYTES} bytes",
        413,
    )


def create_app(
    engine: Engine,
    *,
    verifier: SigV4Verifier | None = None,
    manage_engine: bool = True,
    test_cases: TestCases | None = None,
    ui: Client | None = None,
) -> Starlette:
    """The Step Functions endpoint over ``engine``; with ``manage_engine`` the app opens the
    engine at startup and closes it at shutdown. ``verifier``: require SigV4-signed requests.
    ``test_cases``: StartExecution / StartSyncExecution accept ``ARN#TestCase`` (see
    :data:`~durable.server.shapes.TestCases`). ``ui``: serve the web pages of ``durable ui``
    under ``/ui``, reading through this session (a :class:`~durable.Client`, closed at shutdown)."""

    async def handle(request: Request) -> Response:
        events = request.headers.get("x-amz-target", "").startswith(EVENTS_PREFIX)
        content_type = EVENTS_CONTENT_TYPE if events else CONTENT_TYPE
        try:
            body = await _read_body(request)
            if verifier is not None:
                url = str(request.url.replace(scheme="http"))
                verifier.verify(request.method, url, request.headers, body)
            target = request.headers.get("x-amz-target", "")
            action = ACTIONS.get(target[len(TARGET_PREFIX) :]) if target.startswith(TARGET_PREFIX) else None
            events_action = EVENTS_ACTIONS.get(target[len(EVENTS_PREFIX) :]) if events else None
            if action is None and events_action is None:
                raise ApiError("UnknownOperationException", f"Unknown operation: '{target[:100]}'")
            try:
                params = msgspec.json.decode(body or b"{}")
            except msgspec.DecodeError:
                raise ApiError("SerializationException", "The request body is not valid JSON") from None
            if not isinstance(params, dict):
                raise ApiError("SerializationException", "The request body must be a JSON object")
            if events_action is not None:  # EventBridge (JSON 1.1)
                return _answer(await events_action(engine, params), content_type=content_type)
            assert action is not None
            return _answer(await action(engine, Params(params, test_cases)))
        except ApiError as exc:
            return _error(exc, content_type)
        except DurableError as exc:
            wire = from_durable(exc)
            if events and wire.code == "ResourceNotFound":
                wire = ApiError("ResourceNotFoundException", wire.message)
            return _error(wire, content_type)
        except Exception as exc:  # never a traceback to the client; logged here
            log.error("internal error", error=repr(exc), exc_info=True)
            return _error(
                ApiError(
                    "InternalFailure", "The request processing has failed because of an internal error", 500
                ),
                content_type,
            )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if manage_engine:
            await engine.open()
        try:
            yield
        finally:
            if ui is not None:
                await ui.close()
            if manage_engine:
                await engine.close()

    routes: list[BaseRoute] = [Route("/", handle, methods=["POST"])]
    if ui is not None:
        from ..ui import create_ui_app  # jinja2 and the builder, only when the pages are served

        async def pages(request: Request) -> Response:
            return RedirectResponse("/ui/")

        routes += [Route("/", pages, methods=["GET"]), Mount("/ui", create_ui_app(ui))]
    return Starlette(routes=routes, lifespan=lifespan)
