"""Errors in the shape AWS's JSON 1.0 protocol gives them, as botocore parses them:
``{"__type": "<Code>", "message": "..."}`` with an HTTP status (400 for the caller's faults)."""

from __future__ import annotations

from ..errors import DurableError

__all__ = ["ApiError", "from_durable"]

# codes whose HTTP status is not 400
_STATUS = {
    "InternalFailure": 500,
    "ServiceUnavailable": 503,
    "MissingAuthenticationTokenException": 403,
    "AccessDeniedException": 403,
}
# durable's own codes that AWS names differently on the wire
_WIRE = {
    "StoreUnavailable": "ServiceUnavailable",
    "StoreGone": "ServiceUnavailable",
    "StoreError": "InternalFailure",
    "BatchRejected": "InternalFailure",
    "Conflict": "InternalFailure",
    "DurableError": "InternalFailure",
    "EngineAlreadyRunning": "ServiceUnavailable",
    "UnsupportedFeature": "ValidationException",
    "IntegrationConflict": "InternalFailure",
}


class ApiError(Exception):
    """An error answer: ``code`` is the ``__type`` botocore reports as ``Error.Code``."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status if status is not None else _STATUS.get(code, 400)

    def body(self) -> dict[str, str]:
        return {"__type": self.code, "message": self.message}


def validation(message: str) -> ApiError:
    return ApiError("ValidationException", message)


def from_durable(exc: DurableError) -> ApiError:
    code = _WIRE.get(exc.code, exc.code)
    message = getattr(exc, "message", None) or str(exc)
    return ApiError(code, str(message))
