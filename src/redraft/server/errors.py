"""Errors as an OpenAI client expects them: a real status code and `{"error": {...}}`.

Never an error disguised as a 200 answer. A 400 carries `x-should-retry: false`: the SDKs
retry some failures on their own, and each retry would rerun a whole strategy.
"""

from __future__ import annotations

from typing import Any

from redraft.models.base import ModelError

#: The OpenAI error `type` of each status this server sends.
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    408: "timeout_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    500: "server_error",
    502: "upstream_error",
    503: "server_error",
    504: "timeout_error",
    529: "overloaded_error",
}
#: Upstream statuses that say something about the client's request and are passed on as they
#: are (503 and 529: overloaded, which Anthropic clients see as 529); the rest (an upstream 401
#: is the server's own key) become a 502.
PASSED_ON = {400, 404, 413, 422, 429, 503, 529}


class ApiError(Exception):
    """A failed request: status, message and the OpenAI error fields, plus headers to send."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.headers = dict(headers or {})
        if status == 400:
            self.headers.setdefault("x-should-retry", "false")

    @property
    def type(self) -> str:
        return ERROR_TYPES.get(self.status, "server_error" if self.status >= 500 else "invalid_request_error")

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


def from_model_error(exc: ModelError) -> ApiError:
    """An upstream failure as the client should see it: its 429 (with Retry-After) and its
    verdicts on the request pass on; a timeout is a 504; anything else is a 502 with its message."""
    message = str(exc)
    if exc.timeout:
        return ApiError(504, message, code="upstream_timeout")
    if exc.status in PASSED_ON:
        headers = {} if exc.retry_after_s is None else {"retry-after": str(max(1, round(exc.retry_after_s)))}
        return ApiError(exc.status, message, code=f"upstream_{exc.status}", headers=headers)
    return ApiError(502, message, code="upstream_error")
