"""The kiln CLI in both modes: against a local data directory (in-process)
and against a running server (--server), with --json on every listing."""

import json

import pytest

from server_harness import run_kiln

API = "/api/2.0/mlflow"


def seed(server):
    """Two runs with different params/metrics and a registered model."""
    status, body = server.request("POST", API + "/experiments/create", {"name": "cli-demo"})
    assert status == 200, body
    experiment_id = body["experiment_id"]
    run_ids = []
    for depth, auc in ((3, 0.81), (6, 0.87)):
        status, body = server.request("POST", API + "/runs/create",
                                      {"experiment_id": experiment_id, "run_name": f"depth-{depth}"})
        run_id = body["run"]["info"]["run_id"]
        server.request("POST", API + "/runs/log-batch", {
            "run_id": run_id,
            "params": [{"key": "depth", "value": str(depth)}, {"key": "lr", "value": "0.1"}],
            "metrics": [{"key": "auc", "value": auc, "timestamp": 1, "step": 0}]})
        server.request("POST", API + "/runs/update", {"run_id": run_id, "status": "FINISHED", "end_time": 2})
        run_ids.append(run_id)
    server.request("POST", API + "/registered-models/create", {"name": "clf"})
    status, body = server.request("POST", API + "/model-versions/create",
                                  {"name": "clf", "source": f"runs:/{run_ids[1]}/model", "run_id": run_ids[1]})
    assert status == 200, body
    return experiment_id, run_ids


def targets(server):
    """The same commands through HTTP and through the local data directory."""
    local = ["--data-dir", server.data_dir] + (["--store", server.store] if server.store else [])
    return {"remote": ["--server", server.url], "local": local}


@pytest.mark.parametrize("mode", ["remote", "local"])
def test_projects_and_runs(server, mode):
    experiment_id, run_ids = seed(server)
    target = targets(server)[mode]

    listed = json.loads(run_kiln("projects", "list", "--json", *target).stdout)
    assert {p["name"] for p in listed["projects"]} >= {"Default", "cli-demo"}
    table = run_kiln("projects", "list", *target).stdout
    assert "cli-demo" in table and table.splitlines()[0].startswith("ID")

    runs = json.loads(run_kiln("runs", "list", "--project", "cli-demo", "--json",
                           "--order-by", "metrics.auc DESC", *target).stdout)
    assert [r["info"]["run_id"] for r in runs["runs"]] == [run_ids[1], run_ids[0]]
    filtered = json.loads(run_kiln("runs", "list", "--project", "cli-demo", "--json",
                               "--filter", "params.depth = '3'", *target).stdout)
    assert [r["info"]["run_id"] for r in filtered["runs"]] == [run_ids[0]]

    shown = run_kiln("runs", "show", run_ids[0], *target).stdout
    assert "depth-3" in shown and "auc" in shown and "0.81" in shown

    compared = run_kiln("runs", "compare", *run_ids, *target).stdout
    lines = {line.split()[1] if line.startswith("*") else line.split()[0]: line for line in compared.splitlines()}
    assert lines["params.depth"].startswith("*")  # differs
    assert not lines["params.lr"].startswith("*")  # same in both
    as_json = json.loads(run_kiln("runs", "compare", *run_ids, "--json", *target).stdout)
    rows = {row["key"]: row for row in as_json["rows"]}
    assert rows["metrics.auc"]["values"] == ["0.81", "0.87"] and rows["metrics.auc"]["differs"]


@pytest.mark.parametrize("mode", ["remote", "local"])
def test_models_and_aliases(server, mode):
    seed(server)
    target = targets(server)[mode]
    run_kiln("models", "alias", "set", "clf", "champion", "1", *target)
    models = json.loads(run_kiln("models", "list", "--json", *target).stdout)
    assert [m["name"] for m in models["registered_models"]] == ["clf"]
    shown = json.loads(run_kiln("models", "show", "clf", "--json", *target).stdout)
    assert shown["registered_model"]["aliases"] == [{"alias": "champion", "version": "1"}]
    assert [v["version"] for v in shown["model_versions"]] == ["1"]
    assert "champion" in run_kiln("models", "show", "clf", *target).stdout
    run_kiln("models", "alias", "delete", "clf", "champion", *target)
    shown = json.loads(run_kiln("models", "show", "clf", "--json", *target).stdout)
    assert shown["registered_model"].get("aliases", []) == []


def test_cli_errors_are_clear(server):
    target = ["--server", server.url]
    result = run_kiln("runs", "show", "0" * 32, *target, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("kiln: error: Run with id=" + "0" * 32 + " not found")
    result = run_kiln("runs", "list", "--project", "nope", *target, check=False)
    assert result.returncode == 1 and "no project named 'nope'" in result.stderr
    result = run_kiln("models", "alias", "set", "missing-model", "champion", "1", *target, check=False)
    assert result.returncode == 1 and "missing-model" in result.stderr
    result = run_kiln("runs", "list", "--project", "Default", "--filter", "metrics.auc >", *target, check=False)
    assert result.returncode == 1 and "position" in result.stderr
    result = run_kiln("projects", "list", "--server", "http://127.0.0.1:1", check=False)
    assert result.returncode == 1 and "cannot reach the Kiln server at 127.0.0.1:1" in result.stderr
    result = run_kiln("tokens", "create", "--role", "superuser", "--server", server.url, check=False)
    assert result.returncode == 1 and "unknown role 'superuser'" in result.stderr
    result = run_kiln("runs", "frobnicate", check=False)
    assert result.returncode == 2
