"""Scale-out: two `kiln serve` replicas sharing PostgreSQL (registry,
prediction-log table) and Redis (online store) behind nginx on loopback. An
alias move made through `kiln server` reaches both replicas; traffic through
nginx sees no error; both replicas log into the same table.

Needs scripts/with-postgres and scripts/with-redis (KILN_TEST_POSTGRES_URI,
KILN_TEST_REDIS_URI) and nginx (Debian package nginx-light)."""

import http.client
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid

import pytest

from server_harness import POSTGRES_URI, KilnServer, fresh_postgres_database, run_kiln
from serving_fixture import MATERIALIZED, KilnServe, build_deployment, iso

REDIS_URI = os.environ.get("KILN_TEST_REDIS_URI", "")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

pytestmark = pytest.mark.skipif(not (POSTGRES_URI and REDIS_URI and os.path.exists(NGINX)),
                                reason="needs scripts/with-postgres, scripts/with-redis and nginx")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Nginx:
    """nginx in the foreground with a private prefix, proxying to `upstreams`."""

    def __init__(self, directory, upstreams):
        self.port = free_port()
        os.makedirs(os.path.join(directory, "logs"), exist_ok=True)
        servers = "\n".join(f"    server {u};" for u in upstreams)
        config = os.path.join(directory, "nginx.conf")
        with open(config, "w") as out:
            out.write(f"""
worker_processes 1;
pid {directory}/nginx.pid;
error_log {directory}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {directory}/body;
  proxy_temp_path {directory}/proxy;
  upstream kiln {{
{servers}
    keepalive 32;
  }}
  server {{
    listen 127.0.0.1:{self.port};
    location / {{
      proxy_pass http://kiln;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }}
  }}
}}
""")
        self.process = subprocess.Popen([NGINX, "-p", directory, "-c", config, "-g", "daemon off;"],
                                        stderr=subprocess.PIPE, text=True)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("nginx did not start: " + self.process.stderr.read())

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process.stderr.close()


def post(port, path, body):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def served_version(serve):
    conn = http.client.HTTPConnection(serve.host, serve.port, timeout=30)
    conn.request("GET", "/api/serving/models")
    models = json.loads(conn.getresponse().read())["models"]
    conn.close()
    return models[0]["version"]


def test_two_replicas_behind_nginx_share_the_registry_store_and_log(tmp_path):
    store = fresh_postgres_database()
    online = REDIS_URI.rstrip("/") + "/" + str(uuid.uuid4().int % 15 + 1)
    server = KilnServer(str(tmp_path / "data"), store=store, extra_args=["--online", online])
    replicas = []
    nginx = None
    try:
        v1, v2 = build_deployment(server, str(tmp_path / "repo"))
        for _ in range(2):
            # Model files come from the artifact directory (shared storage in a real deployment).
            replicas.append(KilnServe(str(tmp_path / "data"), "buyer@champion", store=store,
                                      extra_args=["--online", online, "--reload-ms", "100"]))
        assert "table predictions" in replicas[0].banner
        nginx = Nginx(str(tmp_path / "nginx"), [f"127.0.0.1:{r.port}" for r in replicas])

        body = {"entity": {"user_id": 5}, "request": {"at": iso(MATERIALIZED), "basket": 20.0},
                "as_of": iso(MATERIALIZED)}
        errors = []
        versions = []
        stop = threading.Event()

        def client():
            while not stop.is_set():
                status, answer = post(nginx.port, "/api/predict/buyer", body)
                if status != 200:
                    errors.append(answer)
                else:
                    versions.append(answer["version"])

        threads = [threading.Thread(target=client) for _ in range(3)]
        for thread in threads:
            thread.start()
        time.sleep(0.5)
        run_kiln("models", "promote", "buyer", "--candidate", str(v2), "--tolerance", "1", "--server", server.url)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(served_version(r) != v2 for r in replicas):
            time.sleep(0.05)
        time.sleep(0.3)
        stop.set()
        for thread in threads:
            thread.join()
        assert [served_version(r) for r in replicas] == [v2, v2]
        assert not errors, errors[:3]
        assert versions.count(v1) > 0 and versions[-1] == v2
        total = len(versions)
    finally:
        if nginx:
            nginx.stop()
        for replica in replicas:
            code, rest = replica.stop()
            assert code == 0, rest
        server.stop()

    # Both replicas drained into the one table.
    rows = subprocess.run(["psql", "-At", "-d", store, "-c", "SELECT COUNT(*) FROM predictions"],
                          check=True, capture_output=True, text=True).stdout.strip()
    assert int(rows) == total
