"""Typed API errors: one exception class per Kubernetes `Status` reason.

In Kubernetes every failed request is answered with a `Status` object carrying an
HTTP code, a machine-readable `reason` (NotFound, AlreadyExists, Conflict, Invalid,
Expired, ...) and, for validation failures, `details.causes` with field paths.
client-go turns them back into typed errors (`errors.IsNotFound(err)`), and every
controller decides what to do by that type: NotFound -> the object is gone, done;
Conflict -> re-read and retry; anything else -> back off.

Here the same: the API server raises these, the HTTP layer writes `to_status()`,
the HTTP client turns a Status back into the same class with `from_status()`, and the
in-process client lets them through untouched. Components catch the class, never a
code or a message string.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cause:
    """One validation failure: `spec.replicas: Invalid value: -1: must be ...`."""
    field: str                  # field path, e.g. "spec.template.spec.containers[0].image"
    reason: str = "FieldValueInvalid"  # FieldValueRequired, FieldValueInvalid, FieldValueNotSupported, ...
    message: str = ""

    def to_dict(self) -> dict:
        return {"reason": self.reason, "message": self.message, "field": self.field}


class APIError(Exception):
    """Base class. `code` is the HTTP status, `reason` the Kubernetes StatusReason."""
    code = 500
    reason = "InternalError"

    def __init__(self, message: str = "", *, kind: str = "", name: str = "",
                 group: str = "", causes: list[Cause] | tuple = (), retry_after: int | None = None):
        super().__init__(message)
        self.message = message
        self.kind = kind        # the resource ("pods", "deployments"), as in details.kind
        self.name = name
        self.group = group
        self.causes = tuple(causes)
        self.retry_after = retry_after

    def to_status(self) -> dict:
        status = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                  "message": self.message, "reason": self.reason, "code": self.code}
        details = {}
        if self.name:
            details["name"] = self.name
        if self.group:
            details["group"] = self.group
        if self.kind:
            details["kind"] = self.kind
        if self.causes:
            details["causes"] = [c.to_dict() for c in self.causes]
        if self.retry_after is not None:
            details["retryAfterSeconds"] = self.retry_after
        if details:
            status["details"] = details
        return status

    @staticmethod
    def from_status(status: dict, code: int | None = None) -> "APIError":
        """The inverse of to_status: pick the class by reason (then by code)."""
        reason = status.get("reason") or ""
        code = status.get("code") or code or 500
        cls = _BY_REASON.get(reason) or _BY_CODE.get(code) or APIError
        details = status.get("details") or {}
        causes = [Cause(c.get("field", ""), c.get("reason", ""), c.get("message", ""))
                  for c in details.get("causes") or []]
        err = cls(status.get("message", ""), kind=details.get("kind", ""),
                  name=details.get("name", ""), group=details.get("group", ""),
                  causes=causes, retry_after=details.get("retryAfterSeconds"))
        if cls is APIError:
            err.code, err.reason = code, reason or "Unknown"
        return err

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class BadRequest(APIError):
    code, reason = 400, "BadRequest"


class Unauthorized(APIError):
    code, reason = 401, "Unauthorized"


class Forbidden(APIError):
    code, reason = 403, "Forbidden"


class NotFound(APIError):
    code, reason = 404, "NotFound"


class MethodNotAllowed(APIError):
    code, reason = 405, "MethodNotAllowed"


class NotAcceptable(APIError):
    code, reason = 406, "NotAcceptable"


class AlreadyExists(APIError):
    code, reason = 409, "AlreadyExists"


class Conflict(APIError):
    """A stale resourceVersion (optimistic concurrency), or a state conflict
    such as binding a pod that is already bound."""
    code, reason = 409, "Conflict"


class Gone(APIError):
    """410: the requested resourceVersion was compacted away; relist."""
    code, reason = 410, "Expired"


class RequestEntityTooLarge(APIError):
    code, reason = 413, "RequestEntityTooLarge"


class UnsupportedMediaType(APIError):
    code, reason = 415, "UnsupportedMediaType"


class Invalid(APIError):
    """422 with `causes`: the object failed validation; nothing was written."""
    code, reason = 422, "Invalid"


class TooManyRequests(APIError):
    code, reason = 429, "TooManyRequests"


class InternalError(APIError):
    code, reason = 500, "InternalError"


class ServerTimeout(APIError):
    code, reason = 500, "ServerTimeout"


class ServiceUnavailable(APIError):
    code, reason = 503, "ServiceUnavailable"


class Timeout(APIError):
    code, reason = 504, "Timeout"


_ALL = [BadRequest, Unauthorized, Forbidden, NotFound, MethodNotAllowed, NotAcceptable,
        AlreadyExists, Conflict, Gone, RequestEntityTooLarge, UnsupportedMediaType, Invalid,
        TooManyRequests, InternalError, ServerTimeout, ServiceUnavailable, Timeout]
_BY_REASON = {c.reason: c for c in _ALL}
_BY_REASON["Gone"] = Gone
_BY_CODE = {}
for _c in _ALL:
    _BY_CODE.setdefault(_c.code, _c)

# Which errors are worth retrying as they are (the request may succeed later
# unchanged) versus permanent (retrying the same request fails the same way).
RETRIABLE = (Conflict, TooManyRequests, InternalError, ServerTimeout, ServiceUnavailable, Timeout)


def is_retriable(err: BaseException) -> bool:
    return isinstance(err, RETRIABLE)


def invalid(kind: str, name: str, causes: list[Cause], group: str = "") -> Invalid:
    """Build Kubernetes' Invalid error: `Deployment.apps "web" is invalid: <causes>`."""
    qualified = f"{kind}.{group}" if group else kind
    text = "; ".join(_cause_text(c) for c in causes)
    return Invalid(f'{qualified} "{name}" is invalid: {text}', kind=kind, name=name,
                   group=group, causes=causes)


def _cause_text(c: Cause) -> str:
    return f"{c.field}: {c.message}" if c.field else c.message


def not_found(resource: str, name: str, group: str = "") -> NotFound:
    qualified = f"{resource}.{group}" if group else resource
    return NotFound(f'{qualified} "{name}" not found', kind=resource, name=name, group=group)


def already_exists(resource: str, name: str, group: str = "") -> AlreadyExists:
    qualified = f"{resource}.{group}" if group else resource
    return AlreadyExists(f'{qualified} "{name}" already exists', kind=resource, name=name,
                         group=group)


def conflict(resource: str, name: str, why: str, group: str = "") -> Conflict:
    qualified = f"{resource}.{group}" if group else resource
    return Conflict(f'Operation cannot be fulfilled on {qualified} "{name}": {why}',
                    kind=resource, name=name, group=group)


STALE = "the object has been modified; please apply your changes to the latest version and try again"
