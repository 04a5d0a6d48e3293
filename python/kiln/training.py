"""Training-run calls of the Python client: submit a run spec, wait for it,
cancel, reproduce, sweep; register and promote models behind the guardrails;
iterations per week. The JSON shapes are Kiln's /api/training, /api/models
and /api/stats (docs/api/training.md).

    from kiln import KilnClient
    from kiln.training import TrainingClient
    training = TrainingClient(KilnClient("http://127.0.0.1:5000"))
    run = training.run("examples/flights/training/train.yaml", overrides={"max_depth": 8})
    print(run.info["status"], run.data["metrics"])
    report = training.reproduce(run.run_id)
    training.register(run.run_id, "flight-delay")
    decision = training.promote("flight-delay", candidate=1)

A spec names folders on the server's machine (code, data), so submitting one
needs the admin role and paths the server can read.
"""

import os
import time

from kiln.errors import KilnError
from kiln.transport import Retry, encode_json

TERMINAL = ("FINISHED", "FAILED", "KILLED")


class TrainingClient:
    """Training runs and registry guardrails through a KilnClient."""

    def __init__(self, client, poll_seconds=0.5):
        self.client = client
        self.poll_seconds = poll_seconds

    def _post(self, path, body, retry=Retry.UNSENT_ONLY):
        return self.client._transport.request("POST", path, body=encode_json(body),
                                              content_type="application/json", retry=retry).json()

    def _get(self, path, query):
        return self.client._transport.request("GET", path, query=query).json()

    @staticmethod
    def _spec_body(spec_path, overrides, executor):
        path = os.path.abspath(spec_path)
        with open(path, encoding="utf-8") as spec:
            text = spec.read()
        body = {"spec": text, "base_dir": os.path.dirname(path), "spec_file": path,
                "set": [f"{name}={value}" for name, value in (overrides or {}).items()]}
        if executor:
            body["executor"] = executor
        return body

    def submit(self, spec_path, overrides=None, executor=None):
        """Queues a run of the spec file; returns {run_id, project_id, run_name,
        executor, code_digest, data_digest}. overrides: {NAME: VALUE} as `--set`."""
        return self._post("/api/training/runs", self._spec_body(spec_path, overrides, executor))["run"]

    def wait(self, run_id, timeout=None):
        """Blocks until the run is FINISHED, FAILED or KILLED; returns the Run."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            run = self.client.get_run(run_id)
            if run.info["status"] in TERMINAL:
                return run
            if deadline is not None and time.monotonic() > deadline:
                raise KilnError("DEADLINE_EXCEEDED", f"run {run_id} is still {run.info['status']}")
            time.sleep(self.poll_seconds)

    def run(self, spec_path, overrides=None, executor=None, timeout=None):
        """submit() then wait(): the ended Run."""
        return self.wait(self.submit(spec_path, overrides, executor)["run_id"], timeout)

    def cancel(self, run_id):
        self._post("/api/training/runs/cancel", {"run_id": run_id})

    def queue(self):
        """Runs waiting for or holding an executor slot."""
        return self._get("/api/training/queue", {})["runs"]

    def reproduce(self, run_id, timeout=None):
        """Re-runs `run_id` from its snapshot, waits, and returns the comparison
        {model_identical, files, differences, run_id (the reproduction), ...}."""
        new = self._post("/api/training/runs/reproduce", {"run_id": run_id})["run"]
        self.wait(new["run_id"], timeout)
        return self._get("/api/training/runs/reproduction", {"run_id": new["run_id"]})

    def sweep(self, spec_path, grid=None, random=0, seed=0, space=None, metric=None, goal=None,
              overrides=None, executor=None, wait=True):
        """Launches a sweep. grid/space: {NAME: "V1,V2" | "LOW:HIGH[:log][:int]" | [values]}.
        With wait, returns the summary (children best first), else the launch."""
        def dimensions(mapping):
            items = []
            for name, values in (mapping or {}).items():
                text = ",".join(str(v) for v in values) if isinstance(values, (list, tuple)) else str(values)
                items.append(f"{name}={text}")
            return items
        body = self._spec_body(spec_path, overrides, executor)
        body.update(grid=dimensions(grid), space=dimensions(space), seed=seed)
        if random:
            body["random"] = random
        if metric:
            body["metric"] = metric
        if goal:
            body["goal"] = goal
        launched = self._post("/api/training/sweeps", body)
        if not wait:
            return launched
        for child in launched["runs"]:
            self.wait(child["run_id"])
        self.wait(launched["parent_run_id"])
        return self.sweep_summary(launched["parent_run_id"])

    def sweep_summary(self, parent_run_id):
        return self._get("/api/training/sweeps/summary", {"parent_run_id": parent_run_id})

    def register(self, run_id, name, description=None):
        """Registers the run's model/ as a new version of `name`; returns the version."""
        body = {"run_id": run_id, "name": name}
        if description:
            body["description"] = description
        return self._post("/api/models/register", body)["model_version"]

    def promote(self, name, candidate, alias="champion", metric=None, tolerance=None, latency_budget_ms=None):
        """Runs the promotion checks; the alias moves only if all pass.
        Returns {accepted, summary, promotion: {checks: [...]}}; a refusal is
        not an exception."""
        body = {"name": name, "candidate": str(candidate), "alias": alias}
        if metric:
            body["metric"] = metric
        if tolerance is not None:
            body["tolerance"] = tolerance
        if latency_budget_ms is not None:
            body["latency_budget_ms"] = latency_budget_ms
        return self._post("/api/models/promote", body)

    def alias_history(self, name, alias=None, limit=100):
        query = {"name": name, "limit": limit}
        if alias:
            query["alias"] = alias
        return self._get("/api/models/alias-history", query)["moves"]

    def promotions(self, name, limit=100):
        return self._get("/api/models/promotions", {"name": name, "limit": limit})["promotions"]

    def stats(self, project=None, weeks=8, alias="champion"):
        """Model iterations per week and lead times (Spotify's platform metric)."""
        query = {"weeks": weeks, "alias": alias}
        if project:
            query["project"] = project
        return self._get("/api/stats", query)
