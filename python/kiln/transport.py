"""HTTP transport: one keep-alive connection to the tracking server over TCP,
TLS or a Unix socket, JSON encoding that keeps NaN/Infinity valid, and a retry
policy chosen per request. A Transport is thread-safe: requests are
serialized on its lock, so share one per process or make one per thread.
"""

import enum
import http.client
import json
import math
import os
import select
import socket
import threading
import time
import urllib.parse

from kiln.errors import UNAVAILABLE, KilnError, error_code_for_status

USER_AGENT = "kiln-python/0.1"
_BLOCK_SIZE = 1 << 16
# Statuses that mean "try again later" rather than "your request is wrong".
_RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})


class Retry(enum.Enum):
    """When a failed request may be sent again.

    Every policy resends a request that never left the client (connect failed,
    or the send itself failed, so the server cannot have seen all of it).
    """

    # Safe to repeat: also after the connection dropped awaiting the response,
    # and on 429/502/503/504.
    IDEMPOTENT = "idempotent"
    # Atomic server-side (runs/log-batch): also after the connection dropped
    # awaiting the response, but never once a response arrived.
    UNTIL_RESPONSE = "until-response"
    # Not idempotent (runs/create, experiments/create, ...): only if unsent.
    UNSENT_ONLY = "unsent-only"


class _RequestNotSent(Exception):
    """Wraps a transport error raised before the request was fully sent."""


class UnixHTTPConnection(http.client.HTTPConnection):
    """An HTTPConnection whose socket is an AF_UNIX stream socket at `path`."""

    def __init__(self, path, timeout=None, blocksize=_BLOCK_SIZE):
        super().__init__("localhost", timeout=timeout, blocksize=blocksize)
        self.unix_path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            if self.timeout is not None:
                sock.settimeout(self.timeout)
            sock.connect(self.unix_path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


def encode_json(payload):
    """JSON bytes for `payload`, with non-finite floats written as the strings
    "NaN", "Infinity" and "-Infinity" (protobuf JSON) instead of invalid bare
    tokens."""
    return json.dumps(_finite_floats(payload), allow_nan=False, separators=(",", ":")).encode()


def _finite_floats(value):
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if isinstance(value, dict):
        return {key: _finite_floats(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_floats(item) for item in value]
    return value


def _connection_dropped(sock):
    """True when an idle keep-alive socket was closed by the peer (it reads as
    ready: EOF, or bytes that no request asked for)."""
    if sock is None:
        return True
    try:
        if hasattr(select, "poll"):
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return bool(poller.poll(0))
        ready, _, _ = select.select([sock], [], [], 0)
        return bool(ready)
    except (OSError, ValueError):
        return True


class Response:
    """A complete response: status, headers (lower-cased names) and body
    (None when it was streamed into a sink)."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        if not self.body:
            return {}
        return json.loads(self.body)


class Transport:
    """Sends requests to one server. `uri` is http://host:port[/prefix],
    https://..., or unix:///path/to/socket. `token`, when set, is sent as
    `Authorization: Bearer <token>`."""

    def __init__(self, uri, token=None, timeout=60.0, max_retries=3, backoff_seconds=0.2):
        self.uri = uri
        self._token = token
        self._timeout = timeout
        self._max_retries = max_retries
        self._backoff_seconds = backoff_seconds
        self._lock = threading.Lock()
        self._connection = None
        parsed = urllib.parse.urlsplit(uri)
        self._scheme = parsed.scheme
        if parsed.scheme == "unix":
            if parsed.netloc:
                raise KilnError("INVALID_PARAMETER_VALUE",
                                f"{uri!r}: a Unix socket URI has three slashes: unix:///path/to/socket")
            self._unix_path = urllib.parse.unquote(parsed.path)
            self._base_path = ""
        elif parsed.scheme in ("http", "https"):
            if not parsed.hostname:
                raise KilnError("INVALID_PARAMETER_VALUE", f"{uri!r} names no host")
            self._host = parsed.hostname
            self._port = parsed.port
            self._base_path = parsed.path.rstrip("/")
        else:
            raise KilnError("INVALID_PARAMETER_VALUE",
                            f"unsupported tracking URI {uri!r}: use http://, https:// or unix://")

    def close(self):
        with self._lock:
            self._drop_connection()

    def request(self, method, path, *, query=None, body=None, body_length=None,
                content_type=None, retry=Retry.IDEMPOTENT, sink=None):
        """Sends one request and returns its Response, raising KilnError for an
        error status or a transport failure that may not be retried.

        path: absolute, e.g. "/api/2.0/mlflow/runs/get" (already quoted).
        body: bytes, or a zero-argument callable returning a fresh binary file
          object (opened again on every attempt) of `body_length` bytes.
        sink: a seekable binary file that receives a 2xx body in chunks.
        """
        url = self._base_path + path
        if query:
            url += "?" + urllib.parse.urlencode(query, doseq=True)
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        if content_type:
            headers["Content-Type"] = content_type
        if body is not None:
            headers["Content-Length"] = str(len(body) if body_length is None else body_length)
        elif method in ("POST", "PUT", "PATCH"):
            headers["Content-Length"] = "0"

        attempt = 0
        while True:
            try:
                with self._lock:
                    return self._send_once(method, url, headers, body, sink)
            except _RequestNotSent as unsent:
                failure, sent = unsent.__cause__, False
            except (OSError, http.client.HTTPException) as error:
                failure, sent = error, True
            except KilnError as error:
                if not (retry is Retry.IDEMPOTENT and error.http_status in _RETRYABLE_STATUSES):
                    raise
                failure, sent = error, True
            may_retry = not sent or retry is not Retry.UNSENT_ONLY
            if not may_retry or attempt >= self._max_retries:
                if isinstance(failure, KilnError):
                    raise failure
                outcome = ("the request may or may not have been applied"
                           if sent else "the request was not sent")
                raise KilnError(UNAVAILABLE,
                                f"{method} {url} to {self.uri} failed: {failure!r}; {outcome}") from failure
            time.sleep(self._backoff_seconds * (4 ** attempt))
            attempt += 1

    # REQUIRES: self._lock held.
    def _send_once(self, method, url, headers, body, sink):
        try:
            connection = self._ready_connection()
            stream = body() if callable(body) else None
            try:
                connection.request(method, url, body=stream if stream is not None else body,
                                   headers=headers)
            finally:
                if stream is not None:
                    stream.close()
        except (OSError, http.client.HTTPException) as error:
            self._drop_connection()
            raise _RequestNotSent() from error
        try:
            response = connection.getresponse()
            status = response.status
            response_headers = {name.lower(): value for name, value in response.getheaders()}
            if sink is not None and 200 <= status < 300:
                sink.seek(0)
                sink.truncate()
                while True:
                    chunk = response.read(_BLOCK_SIZE)
                    if not chunk:
                        break
                    sink.write(chunk)
                data = None
            else:
                data = response.read()
            if response.will_close:
                self._drop_connection()
        except BaseException:
            self._drop_connection()
            raise
        if status >= 400:
            raise _error_from_response(status, data)
        return Response(status, response_headers, data)

    # REQUIRES: self._lock held.
    def _ready_connection(self):
        if self._connection is not None and _connection_dropped(self._connection.sock):
            self._drop_connection()
        if self._connection is None:
            if self._scheme == "unix":
                connection = UnixHTTPConnection(self._unix_path, timeout=self._timeout)
            elif self._scheme == "https":
                connection = http.client.HTTPSConnection(self._host, self._port, timeout=self._timeout,
                                                         blocksize=_BLOCK_SIZE)
            else:
                connection = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout,
                                                        blocksize=_BLOCK_SIZE)
            connection.connect()
            self._connection = connection
        return self._connection

    # REQUIRES: self._lock held.
    def _drop_connection(self):
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _error_from_response(status, data):
    text = data.decode("utf-8", "replace") if data else ""
    try:
        payload = json.loads(text)
    except ValueError:
        payload = None
    if isinstance(payload, dict) and "error_code" in payload:
        return KilnError(str(payload["error_code"]), str(payload.get("message", "")), status)
    message = text.strip()[:1000] or http.client.responses.get(status, "error")
    return KilnError(error_code_for_status(status), message, status)


def file_body(path):
    """A `body` callable that opens `path` for streaming, and its size."""
    size = os.stat(path).st_size
    return (lambda: open(path, "rb")), size
