"""Helpers that start real `kiln server` processes and run the kiln CLI for the tests.

Each test gets a fresh data directory; with KILN_TEST_POSTGRES_URI set (see
scripts/with-postgres) tests also run against a fresh PostgreSQL database."""

import http.client
import json
import os
import re
import signal
import subprocess
import time
import uuid


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KILN_BIN = os.environ.get("KILN_BIN", os.path.join(REPO, "build", "kiln"))
POSTGRES_URI = os.environ.get("KILN_TEST_POSTGRES_URI", "")


def fresh_postgres_database():
    """Creates an empty database on the test cluster and returns its URI."""
    name = "kiln_" + uuid.uuid4().hex[:12]
    subprocess.run(["psql", "-q", "-d", POSTGRES_URI, "-c", f"CREATE DATABASE {name}"],
                   check=True, capture_output=True)
    return POSTGRES_URI.rsplit("/", 1)[0] + "/" + name


class KilnServer:
    """A `kiln server` child process on a free loopback port."""

    def __init__(self, data_dir, store="", extra_args=()):
        self.data_dir = data_dir
        self.store = store
        args = [KILN_BIN, "server", "--host", "127.0.0.1", "--port", "0", "--data-dir", data_dir]
        if store:
            args += ["--store", store]
        args += list(extra_args)
        self.process = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
        line = self.process.stderr.readline()
        match = re.search(r"listening on http://([\d.]+):(\d+)", line)
        if not match:
            rest = self.process.stderr.read() if self.process.poll() is not None else ""
            self.process.kill()
            raise RuntimeError(f"kiln server did not start: {line}{rest}")
        self.host, self.port = match.group(1), int(match.group(2))
        self.url = f"http://{self.host}:{self.port}"

    def connection(self):
        return http.client.HTTPConnection(self.host, self.port, timeout=60)

    def request(self, method, path, body=None, headers=None, raw=None):
        """Returns (status, parsed JSON or text)."""
        conn = self.connection()
        try:
            payload = raw if raw is not None else (json.dumps(body) if body is not None else None)
            conn.request(method, path, body=payload, headers=headers or {})
            response = conn.getresponse()
            data = response.read().decode()
            try:
                return response.status, json.loads(data)
            except ValueError:
                return response.status, data
        finally:
            conn.close()

    def stop(self, timeout=30):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stderr.close()
        return self.process.returncode


def run_kiln(*args, env=None, check=True, input=None):
    """Runs the kiln CLI and returns the CompletedProcess."""
    full_env = dict(os.environ)
    full_env.pop("KILN_TRACKING_URI", None)
    full_env.pop("KILN_TOKEN", None)
    if env:
        full_env.update(env)
    result = subprocess.run([KILN_BIN, *args], capture_output=True, text=True, env=full_env, input=input,
                            timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"kiln {' '.join(args)} failed ({result.returncode}): {result.stderr}")
    return result


