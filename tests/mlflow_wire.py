"""Requests as MLflow's Python client sends them over REST, and checks of
what it reads back, for the MLflow protocol tests.

MLflow's client (mlflow/utils/rest_utils.py) sends POST, PATCH and DELETE
messages as a JSON body with Content-Type application/json, and GET messages
as query parameters, a list becoming a repeated parameter (`?run_ids=a&run_ids=b`).
Its protobuf-JSON writes int64 fields as JSON numbers and metric values
NaN/Infinity as the strings "NaN"/"Infinity"; other protobuf-JSON writers
send int64 as decimal strings, which servers must accept too."""

import json
import urllib.parse

API = "/api/2.0/mlflow"
AJAX_API = "/ajax-api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"
AJAX_ARTIFACTS = "/ajax-api/2.0/mlflow-artifacts/artifacts"


def missing(field):
    """MLflow's message for an absent (or empty) required field."""
    return (f"Missing value for required parameter '{field}'. "
            "See the API docs for more information about request parameters.")


class Wire:
    """One MLflow REST client over a KilnServer (tests/server_harness.py)."""

    def __init__(self, server, prefix=API):
        self.server = server
        self.prefix = prefix

    def get(self, endpoint, **params):
        """GET with the message as query parameters; lists repeat, None is left out."""
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None}, doseq=True)
        return self.server.request("GET", self.prefix + endpoint + ("?" + query if query else ""))

    def send(self, method, endpoint, body=None):
        """A JSON message in the body, as the client sends POST, PATCH and DELETE."""
        return self.raw(method, endpoint, json.dumps({} if body is None else body, allow_nan=False))

    def post(self, endpoint, body=None):
        return self.send("POST", endpoint, body)

    def raw(self, method, endpoint, text):
        return self.server.request(method, self.prefix + endpoint, raw=text,
                                   headers={"Content-Type": "application/json"})

    # Steps that must succeed, returning what the client would read.

    def ok(self, reply):
        status, body = reply
        assert status == 200, body
        return body

    def create_experiment(self, name, **fields):
        return self.ok(self.post("/experiments/create", {"name": name, **fields}))["experiment_id"]

    def create_run(self, **fields):
        return self.ok(self.post("/runs/create", fields))["run"]

    def get_run(self, run_id):
        return self.ok(self.get("/runs/get", run_id=run_id))["run"]

    def log_batch(self, run_id, metrics=(), params=(), tags=()):
        body = {"run_id": run_id}
        if metrics:
            body["metrics"] = list(metrics)
        if params:
            body["params"] = [{"key": k, "value": v} for k, v in params]
        if tags:
            body["tags"] = [{"key": k, "value": v} for k, v in tags]
        return self.ok(self.post("/runs/log-batch", body))


def assert_error(reply, status, error_code, message=None, contains=None):
    """An MLflow error body {"error_code", "message"} with this HTTP status."""
    got_status, body = reply
    assert got_status == status, body
    assert isinstance(body, dict) and set(body) == {"error_code", "message"}, body
    assert body["error_code"] == error_code, body
    if message is not None:
        assert body["message"] == message
    if contains is not None:
        assert contains in body["message"], body["message"]


def assert_fields(message, types, absent=()):
    """Each field present with its JSON type (str, int, list, dict...); `absent` fields left out."""
    for field, expected in types.items():
        assert field in message, f"{field} missing from {message}"
        assert isinstance(message[field], expected), f"{field}={message[field]!r} is not {expected}"
        assert not (expected is int and isinstance(message[field], bool)), field
    for field in absent:
        assert field not in message, f"{field} should be left out of {message}"


EXPERIMENT_FIELDS = {"experiment_id": str, "name": str, "artifact_location": str, "lifecycle_stage": str,
                     "creation_time": int, "last_update_time": int}
RUN_INFO_FIELDS = {"run_id": str, "run_uuid": str, "run_name": str, "experiment_id": str, "user_id": str,
                   "status": str, "start_time": int, "artifact_uri": str, "lifecycle_stage": str}
METRIC_FIELDS = {"key": str, "value": (int, float, str), "timestamp": int, "step": int}
MODEL_VERSION_FIELDS = {"name": str, "version": str, "creation_timestamp": int, "last_updated_timestamp": int,
                        "current_stage": str, "description": str, "source": str, "status": str,
                        "tags": list, "aliases": list}
REGISTERED_MODEL_FIELDS = {"name": str, "creation_timestamp": int, "last_updated_timestamp": int,
                           "description": str, "latest_versions": list, "tags": list, "aliases": list}
