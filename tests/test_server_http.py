"""The HTTP server as a user meets it: health, errors, limits, keep-alive,
concurrency, graceful SIGTERM with durable acknowledged writes, schema
version refusal, and bearer-token authentication."""

import http.client
import json
import os
import signal
import sqlite3
import subprocess
import threading
import time

from server_harness import KilnServer, run_kiln

API = "/api/2.0/mlflow"


def test_health_and_version(server):
    assert server.request("GET", "/health") == (200, "OK")
    status, version = server.request("GET", "/version")
    assert status == 200 and version.count(".") == 2


def test_unknown_endpoint_is_404_in_mlflow_shape(server):
    status, body = server.request("GET", API + "/no/such/thing")
    assert status == 404
    assert body["error_code"] == "ENDPOINT_NOT_FOUND"
    assert "no API endpoint GET /api/2.0/mlflow/no/such/thing" in body["message"]


def test_malformed_json_names_the_position(server):
    status, body = server.request("POST", API + "/experiments/create", raw='{"name": "x",,}',
                                  headers={"Content-Type": "application/json"})
    assert status == 400
    assert body["error_code"] == "INVALID_PARAMETER_VALUE"
    assert body["message"].startswith("malformed JSON at byte 14")


def test_wrong_type_and_missing_field(server):
    status, body = server.request("POST", API + "/experiments/create", {"name": 12})
    assert status == 400 and body["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "'name'" in body["message"]
    status, body = server.request("POST", API + "/experiments/create", {})
    assert status == 400
    assert "Missing value for required parameter 'name'" in body["message"]


def test_oversize_body_gets_413_and_nothing_is_written(tmp_path, store_uri):
    instance = KilnServer(str(tmp_path / "data"), store=store_uri, extra_args=["--max-body-mb", "1"])
    try:
        big = json.dumps({"name": "x" * (2 << 20)})
        status, body = instance.request("POST", API + "/experiments/create", raw=big)
        assert status == 413
        assert "exceeds the limit of 1048576 bytes" in body["message"]
        status, body = instance.request("GET", API + "/experiments/search?max_results=10")
        assert [e["name"] for e in body["experiments"]] == ["Default"]
    finally:
        assert instance.stop() == 0


def test_keep_alive_serves_many_requests_on_one_connection(server):
    conn = server.connection()
    for _ in range(50):
        conn.request("GET", "/health")
        response = conn.getresponse()
        assert response.status == 200 and response.read() == b"OK"
    conn.close()


def test_concurrent_clients(server):
    status, body = server.request("POST", API + "/experiments/create", {"name": "concurrent"})
    experiment_id = body["experiment_id"]
    errors = []

    def client():
        conn = server.connection()
        try:
            for _ in range(10):
                conn.request("POST", API + "/runs/create", body=json.dumps({"experiment_id": experiment_id}))
                response = conn.getresponse()
                payload = json.loads(response.read())
                if response.status != 200:
                    errors.append(payload)
                    continue
                run_id = payload["run"]["info"]["run_id"]
                conn.request("POST", API + "/runs/log-metric",
                             body=json.dumps({"run_id": run_id, "key": "m", "value": 1.0, "timestamp": 1, "step": 0}))
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    errors.append(response.status)
        finally:
            conn.close()

    threads = [threading.Thread(target=client) for _ in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    status, body = server.request("POST", API + "/runs/search",
                                  {"experiment_ids": [experiment_id], "max_results": 1000})
    assert len(body["runs"]) == 240


def test_sigterm_drains_and_every_acknowledged_write_is_durable(tmp_path, store_uri):
    data_dir = str(tmp_path / "data")
    instance = KilnServer(data_dir, store=store_uri)
    status, body = instance.request("POST", API + "/experiments/create", {"name": "durable"})
    experiment_id = body["experiment_id"]
    status, body = instance.request("POST", API + "/runs/create", {"experiment_id": experiment_id})
    run_id = body["run"]["info"]["run_id"]
    acknowledged = []
    lock = threading.Lock()
    stop = threading.Event()

    def writer(worker):
        step = 0
        while not stop.is_set():
            try:
                conn = instance.connection()
                while not stop.is_set():
                    conn.request("POST", API + "/runs/log-metric", body=json.dumps(
                        {"run_id": run_id, "key": f"w{worker}", "value": step, "timestamp": step, "step": step}))
                    response = conn.getresponse()
                    response.read()
                    if response.status == 200:
                        with lock:
                            acknowledged.append((worker, step))
                    step += 1
            except (OSError, http.client.HTTPException):
                if instance.process.poll() is not None:
                    return
                time.sleep(0.01)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    instance.process.send_signal(signal.SIGTERM)
    assert instance.process.wait(timeout=30) == 0
    stop.set()
    for t in threads:
        t.join()
    instance.process.stderr.close()
    assert len(acknowledged) > 0

    restarted = KilnServer(data_dir, store=store_uri)
    try:
        for worker in range(4):
            steps = {s for w, s in acknowledged if w == worker}
            if not steps:
                continue
            status, body = restarted.request(
                "GET", API + f"/metrics/get-history?run_id={run_id}&metric_key=w{worker}&max_results=100000")
            stored = {int(m["step"]) for m in body.get("metrics", [])}
            assert steps <= stored, f"acknowledged but lost: {sorted(steps - stored)[:5]}"
    finally:
        assert restarted.stop() == 0


def test_newer_schema_is_refused_with_a_clear_message(tmp_path, backend):
    if backend != "sqlite":
        return  # the refusal logic is backend-neutral; SQLite lets the test edit the schema table
    data_dir = str(tmp_path / "data")
    KilnServer(data_dir).stop()
    db = sqlite3.connect(os.path.join(data_dir, "kiln.db"))
    db.execute("INSERT INTO kiln_schema (module, version, name) VALUES ('tracking', 999, '0999_future')")
    db.commit()
    db.close()
    result = subprocess.run([os.environ.get("KILN_BIN", "build/kiln"), "server", "--port", "0",
                             "--data-dir", data_dir], capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert "schema version 999 for 'tracking', newer than this kiln binary knows" in result.stderr


def test_bearer_tokens_and_roles(tmp_path, store_uri):
    data_dir = str(tmp_path / "data")
    target = ["--data-dir", data_dir] + (["--store", store_uri] if store_uri else [])
    reader = run_kiln("tokens", "create", "--role", "reader", *target).stdout.strip()
    writer = run_kiln("tokens", "create", "--role", "writer", *target).stdout.strip()
    admin = run_kiln("tokens", "create", "--role", "admin", *target).stdout.strip()
    instance = KilnServer(data_dir, store=store_uri, extra_args=["--auth", "on"])
    try:
        status, body = instance.request("GET", API + "/experiments/search")
        assert status == 401 and body["error_code"] == "UNAUTHENTICATED"
        assert "Authorization: Bearer" in body["message"]
        assert instance.request("GET", "/health")[0] == 200

        def call(token, method, path, payload=None):
            return instance.request(method, API + path, payload, headers={"Authorization": "Bearer " + token})

        status, body = call("kiln_bogus", "GET", "/experiments/search")
        assert status == 401
        assert call(reader, "GET", "/experiments/search")[0] == 200
        status, body = call(reader, "POST", "/experiments/create", {"name": "p"})
        assert status == 403 and body["error_code"] == "PERMISSION_DENIED"
        assert "needs the writer role; this token has reader" in body["message"]
        assert call(writer, "POST", "/experiments/create", {"name": "p"})[0] == 200
        assert call(writer, "POST", "/registered-models/create", {"name": "m"})[0] == 200
        status, body = call(writer, "DELETE", "/registered-models/delete", {"name": "m"})
        assert status == 403 and "needs the admin role" in body["message"]
        assert call(admin, "DELETE", "/registered-models/delete", {"name": "m"})[0] == 200
    finally:
        assert instance.stop() == 0
