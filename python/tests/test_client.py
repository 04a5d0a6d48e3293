"""The Python client against a real `kiln server` (see conftest.py), plus the
transport's Unix-socket, header and retry behaviour against a recording stub."""

import http.server
import json
import math
import os
import re
import socketserver
import subprocess
import threading
import time
import uuid

import pytest

import kiln
from client_server import KilnServer, kiln_binary
from kiln.client import MAX_METRICS_PER_BATCH


# ---- run lifecycle ----------------------------------------------------------

def test_run_finishes_with_source_tags(tracking, project):
    with kiln.start_run(project=project, run_name="baseline", tags={"team": "risk"}) as run:
        assert kiln.active_run() is run
        kiln.log_param("alpha", 0.5)
    assert kiln.active_run() is None

    fetched = kiln.get_run(run.run_id)
    assert fetched.status == "FINISHED"
    assert fetched.run_name == "baseline"
    assert int(fetched.info["end_time"]) >= int(fetched.info["start_time"]) > 0
    assert fetched.info["artifact_uri"] == f"mlflow-artifacts:/{run.project_id}/{run.run_id}/artifacts"
    tags = fetched.tags
    assert tags["team"] == "risk"
    assert tags["mlflow.source.type"] == "LOCAL"
    assert os.path.isabs(tags["mlflow.source.name"])
    assert tags["mlflow.user"]


def test_run_fails_on_exception_and_keeps_its_metrics(tracking, project):
    with pytest.raises(ValueError, match="diverged"):
        with kiln.start_run(project=project) as run:
            kiln.log_metric("loss", 1.5, step=0)  # still buffered when the exception escapes
            raise ValueError("training diverged")
    fetched = kiln.get_run(run.run_id)
    assert fetched.status == "FAILED"
    assert fetched.metrics == {"loss": 1.5}


def test_nested_run_records_its_parent(tracking, project):
    with kiln.start_run(project=project) as parent:
        with pytest.raises(kiln.KilnError, match="already active"):
            kiln.start_run(project=project)
        with kiln.start_run(nested=True, run_name="fold-1") as child:
            assert kiln.active_run() is child
        assert kiln.active_run() is parent
    fetched = kiln.get_run(child.run_id)
    assert fetched.tags["mlflow.parentRunId"] == parent.run_id
    assert fetched.project_id == parent.project_id
    assert fetched.status == "FINISHED"


def test_start_run_reuses_an_existing_project(tracking, client, project):
    project_id = client.create_project(project)
    with kiln.start_run(project=project) as run:
        pass
    assert run.project_id == project_id


# ---- params, metrics, tags ----------------------------------------------------

def test_params_metrics_and_tags_land(tracking, client, project):
    with kiln.start_run(project=project) as run:
        kiln.log_param("optimizer", "sgd")
        kiln.log_params({"alpha": 0.001, "epochs": 3})
        for epoch in range(3):
            kiln.log_metrics({"train_loss": 1.0 / (epoch + 1), "val_accuracy": 0.8 + epoch / 100}, step=epoch)
        kiln.log_metric("final", 7)
        kiln.set_tag("stage", "dev")
        kiln.set_tags({"owner": "ana", "dataset": "v2"})

    fetched = client.get_run(run.run_id)
    assert fetched.params == {"optimizer": "sgd", "alpha": "0.001", "epochs": "3"}
    assert fetched.metrics == {"train_loss": pytest.approx(1 / 3), "val_accuracy": pytest.approx(0.82),
                               "final": 7.0}
    assert {"stage": "dev", "owner": "ana", "dataset": "v2"}.items() <= fetched.tags.items()

    history = client.get_metric_history(run.run_id, "train_loss")
    assert sorted((point["step"], point["value"]) for point in history) == [
        (0, 1.0), (1, 0.5), (2, pytest.approx(1 / 3))]
    assert all(point["key"] == "train_loss" and point["timestamp"] > 0 for point in history)


def test_metrics_are_buffered_and_flushed_in_batches_over_the_limit(tracking, client, project):
    with kiln.start_run(project=project) as run:
        run.flush_interval_seconds = 3600  # only the size limit triggers a flush here
        for step in range(MAX_METRICS_PER_BATCH - 1):
            kiln.log_metric("loss", step / 1000, step=step)
        assert client.get_metric_history(run.run_id, "loss") == []  # still buffered
        for step in range(MAX_METRICS_PER_BATCH - 1, 2500):
            kiln.log_metric("loss", step / 1000, step=step)
        flushed = len(client.get_metric_history(run.run_id, "loss"))
        assert flushed == 2000  # flushed each time 1000 were waiting; 500 still buffered
        kiln.flush()
        kiln.log_params({f"p{i}": i for i in range(250)})  # over the 100-params limit
        kiln.set_tags({f"t{i}": i for i in range(150)})
    history = client.get_metric_history(run.run_id, "loss")
    assert sorted(point["step"] for point in history) == list(range(2500))
    fetched = client.get_run(run.run_id)
    assert len(fetched.params) == 250 and fetched.params["p249"] == "249"
    assert fetched.tags["t149"] == "149"


def test_server_rejects_a_batch_over_mlflow_limits(client, project):
    run = client.create_run(client.project_id(project))
    metrics = [{"key": "m", "value": 1.0, "timestamp": 1, "step": i} for i in range(1001)]
    with pytest.raises(kiln.KilnError) as raised:
        client.call("POST", "runs/log-batch", {"run_id": run.run_id, "metrics": metrics})
    assert raised.value.error_code == "INVALID_PARAMETER_VALUE"
    assert raised.value.http_status == 400


def test_nan_and_infinity_round_trip(tracking, client, project):
    with kiln.start_run(project=project) as run:
        kiln.log_metric("nan", float("nan"))
        kiln.log_metric("inf", float("inf"), step=1)
        kiln.log_metric("neg_inf", float("-inf"), step=2)
    metrics = client.get_run(run.run_id).metrics
    assert math.isnan(metrics["nan"])
    assert metrics["inf"] == math.inf
    assert metrics["neg_inf"] == -math.inf
    [point] = client.get_metric_history(run.run_id, "neg_inf")
    assert point["value"] == -math.inf and point["step"] == 2
    [point] = client.get_metric_history(run.run_id, "nan")
    assert math.isnan(point["value"])


# ---- artifacts -----------------------------------------------------------------

def test_artifact_upload_list_and_download(tracking, client, project, tmp_path):
    payload = os.urandom(3 * 1024 * 1024 + 17)
    source = tmp_path / "weights.bin"
    source.write_bytes(payload)
    with kiln.start_run(project=project) as run:
        assert kiln.log_artifact(str(source), "model/files") == "model/files/weights.bin"
        kiln.log_artifact(str(source))
        kiln.log_text("hello, kiln\n", "notes/readme.txt")

    root = {entry["path"]: entry for entry in client.list_artifacts(run.run_id)}
    assert set(root) == {"model", "notes", "weights.bin"}
    assert root["model"]["is_dir"] and not root["weights.bin"]["is_dir"]
    assert root["weights.bin"]["file_size"] == len(payload)
    [nested] = client.list_artifacts(run.run_id, "model/files")
    assert nested == {"path": "model/files/weights.bin", "is_dir": False, "file_size": len(payload)}

    downloaded = client.download_artifact(run.run_id, "model/files/weights.bin", str(tmp_path / "copy.bin"))
    with open(downloaded, "rb") as copy:
        assert copy.read() == payload
    assert client.read_artifact(run.run_id, "notes/readme.txt") == b"hello, kiln\n"


def test_log_dict_round_trips(tracking, client, project):
    document = {"features": ["age", "income"], "threshold": 0.5, "nested": {"ok": True}, "name": "modèle"}
    with kiln.start_run(project=project) as run:
        kiln.log_dict(document, "config/model.json")
    assert json.loads(client.read_artifact(run.run_id, "config/model.json")) == document


def test_missing_artifact_is_a_kiln_error(tracking, client, project):
    with kiln.start_run(project=project) as run:
        pass
    with pytest.raises(kiln.KilnError) as raised:
        client.read_artifact(run.run_id, "nope.txt")
    assert raised.value.http_status == 404


# ---- model registry ------------------------------------------------------------

def test_register_model_and_resolve_an_alias(tracking, client, project, tmp_path):
    name = f"classifier-{uuid.uuid4().hex[:8]}"
    with kiln.start_run(project=project) as first:
        kiln.log_text("pickle", "model/model.pkl")
    with kiln.start_run(project=project) as second:
        kiln.log_text("pickle", "model/model.pkl")

    version_one = kiln.register_model(first.run_id, name)  # creates the registered model
    assert version_one["version"] == "1"
    assert version_one["source"] == f"runs:/{first.run_id}/model"
    version_two = kiln.register_model(f"runs:/{second.run_id}/model", name)
    assert version_two["version"] == "2" and version_two["run_id"] == second.run_id

    kiln.set_alias(name, "champion", version_one["version"])
    resolved = client.call("GET", "registered-models/alias", query={"name": name, "alias": "champion"})
    assert resolved["model_version"]["version"] == "1"
    assert resolved["model_version"]["run_id"] == first.run_id

    kiln.set_alias(name, "champion", 2)  # moving an alias
    assert kiln.get_model_version_by_alias(name, "champion")["version"] == "2"
    assert client.get_registered_model(name)["name"] == name


# ---- search ----------------------------------------------------------------------

def test_search_runs_filters_orders_and_pages(tracking, project):
    accuracies = [0.71, 0.93, 0.55, 0.88, 0.97, 0.62]
    ids = {}
    for index, accuracy in enumerate(accuracies):
        with kiln.start_run(project=project, run_name=f"r{index}") as run:
            kiln.log_param("index", index)
            kiln.log_metric("val_accuracy", accuracy)
        ids[run.run_id] = accuracy

    good = kiln.search_runs(project=project, filter_string="metrics.val_accuracy > 0.6",
                            order_by="metrics.val_accuracy DESC", page_size=2)
    assert [run.metrics["val_accuracy"] for run in good] == [0.97, 0.93, 0.88, 0.71, 0.62]
    assert all(ids[run.run_id] == run.metrics["val_accuracy"] for run in good)

    top_two = kiln.search_runs(project=project, order_by=["metrics.val_accuracy DESC"], max_results=2)
    assert [run.run_name for run in top_two] == ["r4", "r1"]

    by_param = kiln.search_runs(project=project, filter_string="params.index = '3'")
    assert [run.run_name for run in by_param] == ["r3"]

    everything = kiln.search_runs(project=[project], max_results=None, page_size=4)
    assert sorted(run.run_id for run in everything) == sorted(ids)


def test_search_runs_of_an_unknown_project_is_an_error(tracking):
    with pytest.raises(kiln.KilnError) as raised:
        kiln.search_runs(project=f"missing-{uuid.uuid4().hex}")
    assert raised.value.error_code == "RESOURCE_DOES_NOT_EXIST"


# ---- errors ------------------------------------------------------------------------

def test_changing_a_param_raises_the_servers_message(tracking, project):
    with kiln.start_run(project=project):
        kiln.log_param("alpha", 1)
        kiln.log_param("alpha", 1)  # the same value again is fine
        with pytest.raises(kiln.KilnError) as raised:
            kiln.log_param("alpha", 2)
    error = raised.value
    assert error.error_code == "INVALID_PARAMETER_VALUE"
    assert error.http_status == 400
    assert "Changing param values is not allowed" in error.message
    assert "Changing param values is not allowed" in str(error)


def test_unknown_run_is_resource_does_not_exist(client):
    with pytest.raises(kiln.KilnError) as raised:
        client.get_run("0" * 32)
    assert raised.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert raised.value.http_status == 404


def test_logging_after_the_run_ended_is_refused(tracking, project):
    with kiln.start_run(project=project) as run:
        pass
    with pytest.raises(kiln.KilnError, match="has ended"):
        run.log_metric("late", 1.0)
    with pytest.raises(kiln.KilnError, match="No active run"):
        kiln.log_metric("late", 1.0)


# ---- authentication ------------------------------------------------------------------

def test_bearer_token_is_sent(tmp_path, monkeypatch, project):
    data_dir = tmp_path / "auth-data"
    created = subprocess.run([kiln_binary(), "tokens", "create", "--role", "writer", "--data-dir",
                              str(data_dir)], capture_output=True, text=True, timeout=60)
    if created.returncode != 0:
        pytest.skip(f"`kiln tokens create` is not available yet (exit {created.returncode}): "
                    f"{created.stderr.strip()[:300]}")
    printed = re.search(r"\bkiln_\S+", created.stdout)  # the secret; notes may follow on stderr
    token = printed.group(0) if printed else created.stdout.split()[0]
    server = KilnServer(data_dir, ["--auth", "on"])
    try:
        with kiln.KilnClient(server.url, token="") as anonymous:
            with pytest.raises(kiln.KilnError) as raised:
                anonymous.project_id(project)
            assert raised.value.http_status == 401

        monkeypatch.setenv("KILN_TRACKING_URI", server.url)
        monkeypatch.setenv("KILN_TOKEN", token)
        kiln.set_tracking_uri(None)
        with kiln.start_run(project=project) as run:
            kiln.log_metric("auc", 0.8)
        assert kiln.get_run(run.run_id).status == "FINISHED"
    finally:
        code = server.stop()
    assert code == 0, server.log_tail()


# ---- transport, against a recording stub on a Unix socket ------------------------------

class _StubHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _reply(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        stub = self.server.stub
        stub.requests.append((self.command, self.path, dict(self.headers), body,
                              id(self.connection)))
        status, payload = stub.responses.pop(0) if stub.responses else (200, {})
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        if stub.close_after_reply:
            self.close_connection = True  # closes without announcing it, like an idle timeout

    do_GET = do_POST = _reply

    def log_message(self, *args):
        pass


class _UnixStub(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


@pytest.fixture
def stub(tmp_path):
    path = str(tmp_path / "kiln.sock")
    server = _UnixStub(path, _StubHandler)
    server.stub = server
    server.requests, server.responses, server.close_after_reply = [], [], False
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.uri = "unix://" + path
    yield server
    server.shutdown()
    server.server_close()


def test_unix_socket_keep_alive_token_and_nan_encoding(stub):
    stub.responses = [(200, {}), (200, {"run": {"info": {"run_id": "abc"}, "data": {
        "metrics": [{"key": "x", "value": "NaN", "timestamp": 1, "step": 0}]}}})]
    with kiln.KilnClient(stub.uri, token="s3cret") as client:
        client.log_metric("abc", "x", float("nan"), step=3, timestamp=5)
        run = client.get_run("abc")
    assert math.isnan(run.metrics["x"])
    (method, path, headers, body, first_connection), (_, get_path, _, _, second_connection) = stub.requests
    assert (method, path) == ("POST", "/api/2.0/mlflow/runs/log-metric")
    assert headers["Authorization"] == "Bearer s3cret"
    assert json.loads(body) == {"key": "x", "value": "NaN", "timestamp": 5, "step": 3, "run_id": "abc"}
    assert get_path == "/api/2.0/mlflow/runs/get?run_id=abc"
    assert first_connection == second_connection  # one keep-alive connection


def test_gets_are_retried_but_creates_are_not(stub):
    unavailable = {"error_code": "TEMPORARILY_UNAVAILABLE", "message": "busy"}
    stub.responses = [(503, unavailable), (200, {"run": {"info": {"run_id": "r"}}})]
    with kiln.KilnClient(stub.uri, token="") as client:
        client._transport._backoff_seconds = 0.001
        assert client.get_run("r").run_id == "r"
        assert len(stub.requests) == 2
        assert "Authorization" not in stub.requests[0][2]

        stub.responses = [(503, unavailable), (200, {"run": {"info": {"run_id": "r"}}})]
        with pytest.raises(kiln.KilnError) as raised:
            client.create_run("1")
    assert (raised.value.error_code, raised.value.message, raised.value.http_status) == (
        "TEMPORARILY_UNAVAILABLE", "busy", 503)
    assert len(stub.requests) == 3


def test_unreachable_server_is_a_kiln_error(tmp_path):
    with kiln.KilnClient("unix://" + str(tmp_path / "absent.sock"), token="", max_retries=1) as client:
        client._transport._backoff_seconds = 0.001
        with pytest.raises(kiln.KilnError) as raised:
            client.get_run("r")
    assert raised.value.error_code == "TEMPORARILY_UNAVAILABLE"
    assert raised.value.http_status is None
    assert "was not sent" in raised.value.message


def test_a_connection_the_server_closed_is_replaced_before_a_create(stub):
    stub.close_after_reply = True
    stub.responses = [(200, {"run": {"info": {"run_id": "a"}}}), (200, {"run": {"info": {"run_id": "b"}}})]
    with kiln.KilnClient(stub.uri, token="") as client:
        assert client.create_run("1").run_id == "a"
        time.sleep(0.1)  # the server's close reaches the client
        assert client.create_run("1").run_id == "b"  # not retried blindly: sent on a fresh connection
    assert len(stub.requests) == 2
    assert stub.requests[0][4] != stub.requests[1][4]


def test_a_metric_that_is_not_a_number_is_refused():
    with pytest.raises(kiln.KilnError, match="'acc' has value 'high', which is not a number"):
        kiln.client.metric_entry("acc", "high")
