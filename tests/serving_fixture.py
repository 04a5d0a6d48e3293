"""A small deployment for the serving tests: a feature repository of shop
orders (one view with row features and windowed aggregations, an on-demand
view over request fields), materialized online, and a model trained on its
feature service with `kiln run`, registered and promoted to champion. A
second, different version is registered for hot-reload tests."""

import datetime
import os
import random
import re
import subprocess
import textwrap

from server_harness import KILN_BIN, run_kiln

START = datetime.datetime(2024, 3, 1, tzinfo=datetime.timezone.utc)
MATERIALIZED = START + datetime.timedelta(days=20)


def iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def write(path, text):
    with open(path, "w") as out:
        out.write(textwrap.dedent(text))


def write_repository(directory, users=300, seed=5):
    rng = random.Random(seed)
    os.makedirs(directory, exist_ok=True)
    write(os.path.join(directory, "feature_store.yaml"), "project: shop\n")
    write(os.path.join(directory, "entities.yaml"), """\
        entities:
          - name: user
            join_keys: [user_id]
        """)
    write(os.path.join(directory, "sources.yaml"), """\
        sources:
          - name: orders
            kind: csv
            path: orders.csv
            timestamp_field: ts
            timezone: UTC
            columns: {user_id: int64, amount: float64, ts: timestamp}
        """)
    write(os.path.join(directory, "views.yaml"), """\
        feature_views:
          - name: user_orders
            entities: [user]
            source: orders
            ttl: 30d
            features:
              - name: last_amount
                expression: amount
              - name: orders_7d
                aggregation: {function: count, window: 7d}
              - name: amount_mean_7d
                aggregation: {function: mean, column: amount, window: 7d}
              - name: amount_max_7d
                aggregation: {function: max, column: amount, window: 7d}
        """)
    write(os.path.join(directory, "on_demand.yaml"), """\
        on_demand_views:
          - name: basket
            request: {at: timestamp, basket: float64}
            features:
              - name: hour
                expression: hour(at)
              - name: vs_mean
                expression: basket - user_orders.amount_mean_7d
        """)
    write(os.path.join(directory, "services.yaml"), """\
        feature_services:
          - name: buy_model
            features: [user_orders.*, basket.*]
        """)
    with open(os.path.join(directory, "orders.csv"), "w") as out:
        out.write("user_id,amount,ts\n")
        for user in range(users):
            scale = 10 + user % 50
            for _ in range(rng.randint(3, 25)):
                moment = START + datetime.timedelta(minutes=rng.randint(0, 20 * 24 * 60 - 1))
                out.write(f"{user},{rng.expovariate(1 / scale):.2f},{iso(moment)}\n")
    with open(os.path.join(directory, "entities.csv"), "w") as out:
        out.write("user_id,at,basket,bought\n")
        for _ in range(3000):
            user = rng.randrange(users)
            moment = START + datetime.timedelta(days=8, minutes=rng.randint(0, 12 * 24 * 60))
            basket = rng.expovariate(1 / 30)
            bought = 1 if basket < 10 + user % 50 + rng.gauss(0, 8) else 0
            out.write(f"{user},{iso(moment)},{basket:.2f},{bought}\n")


SPEC = """\
    project: shop-models
    data:
      feature_service: buy_model
      entities: entities.csv
      timestamp_column: at
      label: bought
    split: {{kind: random, validation_fraction: 0.25, seed: 3}}
    trainer:
      xgboost: {{objective: "binary:logistic", num_boost_round: {rounds}, early_stopping_rounds: 0, seed: 1,
                max_depth: {depth}}}
    resources: {{cpus: 1, time_limit: 5m}}
"""


def train_and_register(server, directory, name, rounds, depth):
    spec = os.path.join(directory, f"run-{rounds}-{depth}.yaml")
    write(spec, SPEC.format(rounds=rounds, depth=depth))
    result = run_kiln("run", spec, "--server", server.url, "--quiet")
    run_id = re.search(r"^run (\w+)", result.stdout, re.M).group(1)
    registered = run_kiln("models", "register", run_id, "--name", name, "--server", server.url)
    version = int(re.search(r"version (\d+)", registered.stdout).group(1))
    return run_id, version


def build_deployment(server, directory):
    """Applies, materializes, trains v1 (promoted to champion) and v2 (registered only)."""
    write_repository(directory)
    run_kiln("features", "apply", directory, "--server", server.url)
    run_kiln("features", "materialize", "--end", iso(MATERIALIZED), "--server", server.url)
    _, v1 = train_and_register(server, directory, "buyer", rounds=30, depth=3)
    run_kiln("models", "promote", "buyer", "--candidate", str(v1), "--server", server.url)
    _, v2 = train_and_register(server, directory, "buyer", rounds=60, depth=5)
    return v1, v2


class KilnServe:
    """A `kiln serve` child process on a free loopback port."""

    def __init__(self, data_dir, models, store="", extra_args=()):
        args = [KILN_BIN, "serve", "--models", models, "--host", "127.0.0.1", "--port", "0", "--data-dir", data_dir]
        if store:
            args += ["--store", store]
        args += list(extra_args)
        self.process = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
        line = self.process.stderr.readline()
        match = re.search(r"listening on http://([\d.]+):(\d+)", line)
        if not match:
            rest = self.process.stderr.read() if self.process.poll() is not None else ""
            self.process.kill()
            raise RuntimeError(f"kiln serve did not start: {line}{rest}")
        self.banner = line
        self.host, self.port = match.group(1), int(match.group(2))
        self.url = f"http://{self.host}:{self.port}"

    def stop(self, timeout=30):
        """SIGTERM; returns (exit code, the rest of stderr). Idempotent."""
        if self.process.stderr.closed:
            return self.process.returncode, ""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        rest = self.process.stderr.read()
        self.process.stderr.close()
        return self.process.returncode, rest
