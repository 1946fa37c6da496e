"""HTTP Task for durable: ``arn:aws:states:::http:invoke``, as Step Functions runs it.

Arguments (``Parameters`` / ``Arguments``): ``ApiEndpoint`` and ``Method`` (required),
``Headers``, ``QueryParameters``, ``RequestBody`` (an object is sent as JSON), and
``Transform.RequestBodyEncoding`` ``URL_ENCODED`` for form bodies. ``Authentication`` is
accepted and ignored locally (AWS resolves an EventBridge connection there).

Result: ``{"Headers", "ResponseBody", "StatusCode", "StatusText"}`` with a JSON response body
parsed. A non-2xx status fails the task with ``States.Http.StatusCode.<code>`` (cause: the
response body); a timeout or a connection error with ``States.Http.Socket``.

Installed as a distribution of its own, it is found through the entry-point group
``durable.integrations``.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.parse
import urllib.request
from http.client import responses
from typing import Any

from durable import TaskFailed, TaskRequest

__all__ = ["HttpIntegration"]

RESOURCE = "arn:aws:states:::http:invoke"
SOCKET_TIMEOUT_SECONDS = 60.0


class HttpIntegration:
    name = "http"

    def __init__(self, timeout: float = SOCKET_TIMEOUT_SECONDS) -> None:
        self.timeout = timeout

    def handles(self, resource: str) -> bool:
        return resource.split(":::", 1)[-1] == "http:invoke" and resource.startswith("arn:")

    async def invoke(self, request: TaskRequest) -> Any:
        args = request.payload if isinstance(request.payload, dict) else {}
        endpoint, method = args.get("ApiEndpoint"), args.get("Method")
        if not isinstance(endpoint, str) or not isinstance(method, str):
            raise TaskFailed("States.Runtime", "The HTTP Task needs the fields 'ApiEndpoint' and 'Method'")
        return await asyncio.to_thread(self._call, endpoint, method.upper(), args)

    def _call(self, endpoint: str, method: str, args: dict[str, Any]) -> dict[str, Any]:
        query = args.get("QueryParameters")
        url = endpoint
        if isinstance(query, dict) and query:
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode(query, doseq=True)
        headers = {str(k): str(v) for k, v in (args.get("Headers") or {}).items()}
        data = _body(args, headers)
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as response:
                status, raw, header_items = response.status, response.read(), response.headers.items()
        except urllib.error.HTTPError as exc:
            text = exc.read().decode("utf-8", errors="replace")
            raise TaskFailed(f"States.Http.StatusCode.{exc.code}", text) from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise TaskFailed("States.Http.Socket", str(getattr(exc, "reason", exc))) from None
        text = raw.decode("utf-8", errors="replace")
        try:
            body: Any = json.loads(text) if text else ""
        except ValueError:
            body = text
        return {
            "Headers": {k: [v] for k, v in header_items},
            "ResponseBody": body,
            "StatusCode": status,
            "StatusText": responses.get(status, ""),
        }


def _body(args: dict[str, Any], headers: dict[str, str]) -> bytes | None:
    if "RequestBody" not in args:
        return None
    body = args["RequestBody"]
    encoding = (args.get("Transform") or {}).get("RequestBodyEncoding", "NONE")
    if encoding == "URL_ENCODED" and isinstance(body, dict):
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        return urllib.parse.urlencode(body, doseq=True).encode()
    if isinstance(body, str):
        return body.encode()
    headers.setdefault("Content-Type", "application/json")
    return json.dumps(body).encode()
