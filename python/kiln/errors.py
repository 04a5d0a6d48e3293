"""The one exception type the Kiln client raises."""

# error_code used when the HTTP exchange itself failed (no usable response).
UNAVAILABLE = "TEMPORARILY_UNAVAILABLE"

# error_code for a response that is not the server's JSON error body.
_CODE_FOR_STATUS = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "ENDPOINT_NOT_FOUND",
    405: "BAD_REQUEST",
    413: "RESOURCE_EXHAUSTED",
    429: "REQUEST_LIMIT_EXCEEDED",
    503: UNAVAILABLE,
}


class KilnError(Exception):
    """A failed request or a misuse of the client.

    error_code: the server's MLflow error code (e.g. "INVALID_PARAMETER_VALUE",
    "RESOURCE_DOES_NOT_EXIST"), or a client-side code such as "INVALID_STATE".
    message: the server's message, verbatim.
    http_status: the HTTP status, or None when no response was received or the
    error was detected by the client.
    """

    def __init__(self, error_code, message, http_status=None):
        super().__init__(error_code, message, http_status)
        self.error_code = error_code
        self.message = message
        self.http_status = http_status

    def __str__(self):
        status = f" (HTTP {self.http_status})" if self.http_status is not None else ""
        return f"{self.error_code}: {self.message}{status}"


def error_code_for_status(http_status):
    """The error code to report for a non-JSON error response."""
    if http_status in _CODE_FOR_STATUS:
        return _CODE_FOR_STATUS[http_status]
    return "INTERNAL_ERROR" if http_status >= 500 else "BAD_REQUEST"
