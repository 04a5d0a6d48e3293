"""The prediction server end to end: `kiln serve` beside a running `kiln
server` on the same data directory (the online store read as a RocksDB
follower), serving a model trained on a feature service by alias. Predictions
with online features, the Open Inference Protocol, errors users see,
Prometheus metrics, the prediction log and its drain on SIGTERM, labels and
events, hot reload under load, and the skew check."""

import glob
import http.client
import json
import os
import sys
import threading
import time

import pytest

from server_harness import REPO, KilnServer, run_kiln
from serving_fixture import MATERIALIZED, KilnServe, build_deployment, iso

sys.path.insert(0, os.path.join(REPO, "python"))


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    root = tmp_path_factory.mktemp("serving")
    server = KilnServer(str(root / "data"))
    v1, v2 = build_deployment(server, str(root / "repo"))
    yield {"server": server, "data_dir": str(root / "data"), "v1": v1, "v2": v2}
    assert server.stop() == 0


@pytest.fixture
def serve(deployment):
    instance = KilnServe(deployment["data_dir"], "buyer@champion", extra_args=["--reload-ms", "100"])
    yield instance
    instance.stop()


def call(url, method, path, body=None, raw=None, connection=None):
    host, port = url.split("//")[1].split(":")
    conn = connection or http.client.HTTPConnection(host, int(port), timeout=30)
    payload = raw if raw is not None else (json.dumps(body) if body is not None else None)
    conn.request(method, path, body=payload, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    text = response.read().decode()
    if connection is None:
        conn.close()
    try:
        return response.status, json.loads(text)
    except ValueError:
        return response.status, text


AT = iso(MATERIALIZED)


def row(user, basket=25.0):
    """One prediction request; TTLs judged as of the materialization (a replay)."""
    return {"entity": {"user_id": user}, "request": {"at": AT, "basket": basket}, "unit_id": f"u{user}", "as_of": AT}


def rows(users, basket=25.0):
    return {"rows": [{k: v for k, v in row(u, basket).items() if k != "as_of"} for u in users], "as_of": AT}


def test_predict_fetches_online_features_and_agrees_with_oip_and_xgboost(deployment, serve):
    status, single = call(serve.url, "POST", "/api/predict/buyer", row(7))
    assert status == 200, single
    assert single["model"] == "buyer" and single["version"] == deployment["v1"] and single["alias"] == "champion"
    assert single["id"].startswith("pred-") and 0 < single["prediction"] < 1

    status, batch = call(serve.url, "POST", "/api/predict/buyer", rows(range(20)))
    assert status == 200, batch
    assert len(batch["predictions"]) == 20
    assert batch["predictions"][7]["prediction"] == single["prediction"]

    # The model's metadata names its inputs; sending the same feature values
    # through the Open Inference Protocol gives the same predictions.
    status, meta = call(serve.url, "GET", "/v2/models/buyer")
    assert status == 200 and meta["platform"] == "xgboost"
    names = [item["name"] for item in meta["inputs"]]
    assert "user_orders.amount_mean_7d" in names and "basket.vs_mean" in names
    status, listing = call(serve.url, "GET", "/api/serving/models")
    assert listing["models"][0]["predictor"] == "fast"
    assert listing["models"][0]["materialized_until"] == "2024-03-21T00:00:00Z"

    # The features used are in the prediction log (drained on SIGTERM below).
    code, rest = serve.stop()
    assert code == 0, rest
    assert "prediction log drained (21 written, 0 dropped" in rest
    records = {}
    for path in sorted(glob.glob(os.path.join(deployment["data_dir"], "predictions", "*.jsonl"))):
        with open(path) as lines:
            for line in lines:
                record = json.loads(line)
                if record.get("kind", "prediction") == "prediction":
                    records[record["id"]] = record
    logged = records[single["id"]]
    assert logged["model"] == "buyer" and logged["version"] == deployment["v1"]
    assert logged["unit_id"] == "u7" and logged["entity"] == {"user_id": 7}
    assert logged["request"] == {"at": AT, "basket": 25.0}
    assert set(logged["features"]) == set(names)

    # A logged row without missing values, sent as one OIP tensor per feature.
    complete = [r for r in records.values() if all(v is not None for v in r["features"].values())]
    assert complete
    chosen = complete[0]
    body = {"id": "r1", "inputs": [{"name": n, "shape": [1], "datatype": "FP64", "data": [chosen["features"][n]]}
                                   for n in names]}
    again = KilnServe(deployment["data_dir"], "buyer@champion")
    try:
        status, inferred = call(again.url, "POST", "/v2/models/buyer/infer", body)
        assert status == 200, inferred
        assert inferred["model_name"] == "buyer" and inferred["id"] == "r1"
        assert inferred["model_version"] == str(deployment["v1"])
        assert abs(inferred["outputs"][0]["data"][0] - chosen["prediction"]) < 1e-6
        # The same row as one [1, features] FP32 tensor in the model's order.
        flat = {"inputs": [{"name": "input-0", "shape": [1, len(names)], "datatype": "FP32",
                            "data": [chosen["features"][n] for n in names]}]}
        status, inferred = call(again.url, "POST", "/v2/models/buyer/versions/champion/infer", flat)
        assert status == 200, inferred
        assert abs(inferred["outputs"][0]["data"][0] - chosen["prediction"]) < 1e-6
    finally:
        again.stop()


def test_bad_requests_name_the_problem(deployment, serve):
    cases = [
        ("/api/predict/nobody", row(1), 404, "model 'nobody' is not served here (serving: buyer@champion)"),
        ("/api/predict/buyer", {"entity": {}, "request": {"at": AT, "basket": 1}}, 400, "user_id"),
        ("/api/predict/buyer", {"entity": {"user_id": "seven"}, "request": {"at": AT, "basket": 1}}, 400,
         "entity.user_id: expected an int64, got \"seven\""),
        ("/api/predict/buyer", {"entity": {"user_id": 1, "shop": 2}, "request": {"at": AT, "basket": 1}}, 400,
         "entity.shop: not a join key or request field of feature service 'buy_model'"),
        ("/api/predict/buyer", {"entity": {"user_id": 1}, "request": {"at": AT}}, 400, "basket"),
        ("/api/predict/buyer", rows([1] * 1001), 413, "exceeds the limit of 1000"),
        ("/api/predict/buyer?version=99", row(1), 404, "version 99 is not served here"),
    ]
    for path, body, status, message in cases:
        got, answer = call(serve.url, "POST", path, body)
        assert got == status, (path, body, answer)
        assert message in answer["message"], (message, answer)
    got, answer = call(serve.url, "POST", "/api/predict/buyer", raw='{"entity": {"user_id": 1}')
    assert got == 400 and "malformed JSON" in answer["message"]
    got, answer = call(serve.url, "POST", "/v2/models/buyer/infer",
                       {"inputs": [{"name": "colour", "shape": [1], "datatype": "FP32", "data": [1]}]})
    assert got == 400 and "'colour' is not a feature of the model" in answer["error"]
    got, answer = call(serve.url, "POST", "/v2/models/buyer/versions/7/infer", {"inputs": []})
    assert got == 404 and "version 7 is not served here" in answer["error"]
    # The server is still fine.
    assert call(serve.url, "GET", "/v2/health/ready")[0] == 200


def test_metrics_count_requests_errors_latency_and_the_log(deployment, serve):
    for user in range(5):
        assert call(serve.url, "POST", "/api/predict/buyer", row(user))[0] == 200
    status, text = call(serve.url, "GET", "/metrics")
    assert status == 200
    version = deployment["v1"]
    assert f'kiln_predict_requests_total{{model="buyer",version="{version}"}} 5' in text
    assert f'kiln_predict_rows_total{{model="buyer",version="{version}"}} 5' in text
    assert f'kiln_predict_latency_seconds_count{{model="buyer",version="{version}"}} 5' in text
    assert "kiln_feature_lookup_seconds_bucket" in text
    assert "kiln_prediction_log_queue_depth" in text
    assert "kiln_prediction_log_dropped_total 0" in text
    assert f'kiln_served_model_version{{model="buyer",alias="champion"}} {version}' in text


def test_labels_and_events_are_validated_and_idempotent(deployment, serve):
    status, prediction = call(serve.url, "POST", "/api/predict/buyer", row(3))
    label = {"labels": [{"id": "l-1", "prediction_id": prediction["id"], "value": 1}]}
    assert call(serve.url, "POST", "/api/labels", label) == (200, {"created": 1, "duplicates": 0})
    assert call(serve.url, "POST", "/api/labels", label) == (200, {"created": 0, "duplicates": 1})
    changed = {"labels": [{"id": "l-1", "prediction_id": prediction["id"], "value": 0}]}
    status, answer = call(serve.url, "POST", "/api/labels", changed)
    assert status == 400 and answer["error_code"] == "RESOURCE_ALREADY_EXISTS" and "l-1" in answer["message"]
    status, answer = call(serve.url, "POST", "/api/labels", {"labels": [{"id": "l-2", "value": 1}]})
    assert status == 400 and "prediction_id" in answer["message"]
    status, listed = call(serve.url, "GET", f"/api/labels?prediction_id={prediction['id']}")
    assert [item["value"] for item in listed["labels"]] == [1]

    event = {"events": [{"id": "e-1", "unit_id": "u3", "name": "purchase", "value": 42.5}]}
    assert call(serve.url, "POST", "/api/events", event) == (200, {"created": 1, "duplicates": 0})
    assert call(serve.url, "POST", "/api/events", event) == (200, {"created": 0, "duplicates": 1})
    status, answer = call(serve.url, "POST", "/api/events", {"events": [{"id": "e-2", "unit_id": "u3", "value": 1}]})
    assert status == 400 and "name" in answer["message"]
    # The main server takes them too, into the same store.
    status, listed = call(deployment["server"].url, "GET", "/api/events?unit_id=u3")
    assert status == 200 and [item["id"] for item in listed["events"]] == ["e-1"]


def test_an_alias_move_under_load_is_picked_up_without_a_failed_request(deployment, serve):
    stop = threading.Event()
    results = []  # (time, status, version)
    lock = threading.Lock()

    def client():
        host, port = serve.url.split("//")[1].split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        while not stop.is_set():
            try:
                status, answer = call(serve.url, "POST", "/api/predict/buyer", row(11), connection=connection)
                version = answer.get("version") if isinstance(answer, dict) else None
            except Exception as error:  # a dropped connection counts as an error
                status, version = repr(error), None
                connection = http.client.HTTPConnection(host, int(port), timeout=30)
            with lock:
                results.append((time.monotonic(), status, version))
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.0)
        moved_at = time.monotonic()
        run_kiln("models", "promote", "buyer", "--candidate", str(deployment["v2"]), "--tolerance", "1",
                 "--server", deployment["server"].url)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with lock:
                if any(version == deployment["v2"] for _, _, version in results):
                    break
            time.sleep(0.02)
        time.sleep(0.5)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        # Put the champion back for the other tests.
        run_kiln("models", "promote", "buyer", "--candidate", str(deployment["v1"]), "--tolerance", "1",
                 "--server", deployment["server"].url)
    errors = [item for item in results if item[1] != 200]
    assert not errors, errors[:5]
    assert len(results) > 50
    first_v2 = min(t for t, _, version in results if version == deployment["v2"])
    print(f"first v2 answer {first_v2 - moved_at:.3f} s after `kiln models promote` started "
          f"(its four checks included); {len(results)} requests, 0 errors")
    assert all(version == deployment["v2"] for t, _, version in results if t > first_v2 + 0.3)


def test_skew_check_recomputes_logged_features_offline(deployment):
    serve = KilnServe(deployment["data_dir"], "buyer@champion")
    try:
        for user in range(40):
            assert call(serve.url, "POST", "/api/predict/buyer", row(user, basket=5.0 + user))[0] == 200
    finally:
        code, rest = serve.stop()
        assert code == 0, rest
    version = str(deployment["v1"])  # the hot-reload test also logged v2 predictions
    result = run_kiln("features", "skew", "--model", "buyer", "--version", version, "--sample", "30", "--server",
                      deployment["server"].url, "--json")
    report = json.loads(result.stdout)
    assert report["predictions"] == 30
    assert report["mismatches"] == 0, report
    assert {f["feature"] for f in report["features"]} >= {"user_orders.orders_7d", "basket.vs_mean"}
    text = run_kiln("features", "skew", "--model", "buyer", "--version", version, "--sample", "30", "--server",
                    deployment["server"].url).stdout
    assert "0 mismatches" in text


def test_bad_serve_settings_are_refused_with_the_setting_named(tmp_path):
    config = tmp_path / "serve.yaml"
    config.write_text("models: [buyer@champion]\nprot: 8080\n")
    result = run_kiln("serve", "--config", str(config), "--data-dir", str(tmp_path / "data"), check=False)
    assert result.returncode == 1
    assert f"{config}:2: unknown setting 'prot' (models, host, port," in result.stderr
    result = run_kiln("serve", "--models", "buyer", "--data-dir", str(tmp_path / "data"), check=False)
    assert result.returncode == 1
    assert "--models: 'buyer' lacks an alias (write buyer@champion)" in result.stderr
    result = run_kiln("serve", "--models", "buyer@champion", "--prediction-log", "disk",
                      "--data-dir", str(tmp_path / "data"), check=False)
    assert result.returncode == 1
    assert "--prediction-log: expected auto, file, sql or off, got 'disk'" in result.stderr
