"""Training runs end to end through `kiln run` against a real server: the
built-in XGBoost trainer in a bubblewrap sandbox, snapshots, reproduction,
command trainers logging through the Unix socket, failures, time limits,
cancellation, sweeps, and registry guardrails."""

import json
import os
import random
import textwrap
import time

import sys

import pytest

from server_harness import REPO, run_kiln

sys.path.insert(0, os.path.join(REPO, "python"))
from kiln import KilnClient  # noqa: E402


def write_dataset(path, rows=3000, seed=1, noise=0.5):
    rng = random.Random(seed)
    with open(path, "w") as out:
        out.write("id,x1,x2,x3,y\n")
        for i in range(rows):
            x1, x2, x3 = rng.gauss(0, 1), rng.gauss(0, 1), rng.random()
            y = 1 if x1 + 0.5 * x2 + rng.gauss(0, noise) > 0 else 0
            out.write(f"{i},{x1:.5f},{x2:.5f},{x3:.5f},{y}\n")


def write_spec(directory, body):
    path = os.path.join(directory, "run.yaml")
    with open(path, "w") as out:
        out.write(textwrap.dedent(body))
    return path


XGB_SPEC = """\
    project: synth
    data: {file: train.csv, label: y, exclude: [id]}
    split: {kind: random, validation_fraction: 0.25, seed: 3}
    trainer:
      xgboost: {objective: "binary:logistic", num_boost_round: 40, early_stopping_rounds: 5, seed: 1, max_depth: 3}
    resources: {cpus: 1, time_limit: 5m}
"""


@pytest.fixture
def project_dir(tmp_path):
    directory = tmp_path / "project"
    directory.mkdir()
    write_dataset(str(directory / "train.csv"))
    return directory


def run_json(server, spec, *extra, check=True):
    result = run_kiln("run", spec, "--server", server.url, "--json", *extra, check=check)
    return result, (json.loads(result.stdout) if result.stdout.strip() else None)


def tags_of(run):
    return {tag["key"]: tag["value"] for tag in run["data"].get("tags", [])}


def metrics_of(run):
    return {metric["key"]: metric["value"] for metric in run["data"].get("metrics", [])}


def artifact_paths(client, run_id, path=None):
    paths = []
    for item in client.list_artifacts(run_id, path):
        if item.get("is_dir"):
            paths += artifact_paths(client, run_id, item["path"])
        else:
            paths.append(item["path"])
    return paths


def test_builtin_run_is_tracked_with_its_snapshot_and_reproduces_bit_identical(server, project_dir):
    spec = write_spec(str(project_dir), XGB_SPEC)
    _, result = run_json(server, spec)
    run = result["run"]
    assert run["info"]["status"] == "FINISHED"
    tags = tags_of(run)
    assert tags["kiln.trainer"] == "xgboost"
    assert tags["kiln.executor"] == "local"
    assert len(tags["kiln.snapshot.code_digest"]) == 64
    assert tags["kiln.data.digest"] == result["submitted"]["data_digest"]
    assert tags["mlflow.source.name"] == spec
    assert "kiln.snapshot.dependencies_digest" in tags
    params = {p["key"]: p["value"] for p in run["data"]["params"]}
    assert params["xgboost.max_depth"] == "3"
    assert params["split.kind"] == "random"
    metrics = metrics_of(run)
    assert metrics["auc"] > 0.9
    assert metrics["validation_rows"] == 750

    client = KilnClient(server.url)
    run_id = run["info"]["run_id"]
    paths = artifact_paths(client, run_id)
    for expected in ["model/kiln-model.json", "model/model.ubj", "model/MLmodel", "snapshot/code.tar",
                     "snapshot/spec.json", "snapshot/dependencies.json", "snapshot/data.json",
                     "data/train.csv", "logs/stdout.txt", "baseline-profile.json", "shap_importance.json"]:
        assert expected in paths
    history = client.get_metric_history(run_id, "valid.auc")
    assert len(history) >= 5  # one point per boosting round

    reproduced = run_kiln("runs", "reproduce", run_id, "--server", server.url, "--json")
    report = json.loads(reproduced.stdout)
    assert report["original_run_id"] == run_id
    assert report["model_identical"] is True, report["differences"]
    assert {f["path"] for f in report["files"]} >= {"model/model.ubj", "model/kiln-model.json"}

    text = run_kiln("runs", "reproduce", run_id, "--server", server.url).stdout
    assert f"model: bit-identical to run {run_id}" in text


def test_command_trainer_logs_through_the_socket_and_cannot_escape_its_sandbox(server, project_dir):
    port = server.url.rsplit(":", 1)[1].rstrip("/")
    (project_dir / "train.py").write_text(textwrap.dedent(f"""\
        import os, socket
        import kiln
        with kiln.start_run() as run:
            run.log_param("data_rows", sum(1 for _ in open(os.environ["KILN_DATA"])) - 1)
            run.log_metric("loss", 0.25, step=1)
            try:
                socket.create_connection(("127.0.0.1", {port}), timeout=2).close()
                run.set_tag("network", "reachable")
            except OSError:
                run.set_tag("network", "blocked")
            for target in ("/snapshot/x", "/usr/x", "{project_dir}/x"):
                try:
                    open(target, "w").write("x")
                    run.set_tag("write " + target, "allowed")
                except OSError:
                    run.set_tag("write " + target, "refused")
            run.set_tag("secret", os.environ.get("KILN_TEST_SECRET", "absent"))
            open(os.path.join(os.environ["KILN_OUTPUT_DIR"], "note.txt"), "w").write("from the sandbox")
        """))
    spec = write_spec(str(project_dir), """\
        project: synth
        data: {file: train.csv, label: y}
        trainer: {command: [python3, train.py]}
        resources: {cpus: 1, time_limit: 2m}
        """)
    _, result = run_json(server, spec)
    run = result["run"]
    assert run["info"]["status"] == "FINISHED"
    tags = tags_of(run)
    assert tags["network"] == "blocked"
    assert tags["write /snapshot/x"] == "refused"
    assert tags["write /usr/x"] == "refused"
    assert tags[f"write {project_dir}/x"] == "refused"
    assert not (project_dir / "x").exists()
    assert tags["secret"] == "absent"
    assert metrics_of(run)["loss"] == 0.25
    assert {p["key"]: p["value"] for p in run["data"]["params"]}["data_rows"] == "3000"
    client = KilnClient(server.url)
    assert client.read_artifact(run["info"]["run_id"], "note.txt") == b"from the sandbox"


def test_outside_the_sandbox_the_same_connection_works(server):
    # The control for the test above: the server's port is reachable here.
    status, _ = server.request("GET", "/health")
    assert status == 200


def test_a_failing_command_ends_the_run_failed_with_its_logs(server, project_dir):
    (project_dir / "fail.py").write_text("import sys\nprint('about to fail', file=sys.stderr)\nsys.exit(3)\n")
    spec = write_spec(str(project_dir), """\
        project: synth
        data: {file: train.csv, label: y}
        trainer: {command: [python3, fail.py]}
        """)
    result = run_kiln("run", spec, "--server", server.url, check=False)
    assert result.returncode == 1
    assert "ended FAILED: exit status 3" in result.stderr
    client = KilnClient(server.url)
    run_id = result.stdout.split()[1]
    assert b"about to fail" in client.read_artifact(run_id, "logs/stderr.txt")


def test_a_run_past_its_time_limit_is_killed(server, project_dir):
    spec = write_spec(str(project_dir), """\
        project: synth
        data: {file: train.csv, label: y}
        trainer: {command: [sleep, "60"]}
        resources: {time_limit: 1s}
        """)
    result, body = run_json(server, spec, check=False)
    assert result.returncode == 1
    run = body["run"]
    assert run["info"]["status"] == "KILLED"
    assert tags_of(run)["kiln.message"] == "time limit of 1 s exceeded"


def test_cancel_stops_a_running_run(server, project_dir):
    spec = write_spec(str(project_dir), """\
        project: synth
        data: {file: train.csv, label: y}
        trainer: {command: [sleep, "60"]}
        """)
    submitted = json.loads(run_kiln("run", spec, "--server", server.url, "--detach", "--json").stdout)
    run_id = submitted["run"]["run_id"]
    client = KilnClient(server.url)
    deadline = time.time() + 30
    while client.get_run(run_id).info["status"] != "RUNNING" and time.time() < deadline:
        time.sleep(0.1)
    queue = json.loads(run_kiln("runs", "queue", "--server", server.url, "--json").stdout)
    assert {"run_id": run_id, "executor": "local", "state": "running", "position": 0, "rounds_done": 0,
            "rounds_total": 0} in queue["runs"]
    run_kiln("runs", "cancel", run_id, "--server", server.url)
    while client.get_run(run_id).info["status"] == "RUNNING" and time.time() < deadline:
        time.sleep(0.1)
    assert client.get_run(run_id).info["status"] == "KILLED"
    again = run_kiln("runs", "cancel", run_id, "--server", server.url, check=False)
    assert again.returncode == 1
    assert f"run {run_id} has already ended (KILLED)" in again.stderr


def test_a_bad_spec_is_refused_before_anything_runs(server, project_dir):
    spec = write_spec(str(project_dir), """\
        project: synth
        data: {file: train.csv, label: y}
        trainer:
          xgboost: {max_depth: deep}
        exectuor: local
        """)
    result = run_kiln("run", spec, "--server", server.url, check=False)
    assert result.returncode == 1
    assert "trainer.xgboost.max_depth: expected an integer, got 'deep'" in result.stderr
    assert "unknown key 'exectuor' (did you mean 'executor'?)" in result.stderr
    status, _ = server.request("GET", "/api/2.0/mlflow/experiments/get-by-name?experiment_name=synth")
    assert status == 404  # nothing was created

    missing = run_kiln("run", str(project_dir / "nope.yaml"), "--server", server.url, check=False)
    assert "cannot read run spec" in missing.stderr


def test_a_grid_sweep_runs_children_and_names_the_best(server, project_dir):
    spec = write_spec(str(project_dir), XGB_SPEC)
    result = run_kiln("sweep", spec, "--grid", "max_depth=1,3", "--grid", "eta=0.05,0.3", "--server", server.url,
                      "--json")
    summary = json.loads(result.stdout)
    assert summary["finished"] == 4 and summary["failed"] == 0
    assert len(summary["children"]) == 4
    metrics = [child["metric"] for child in summary["children"]]
    assert metrics == sorted(metrics, reverse=True)
    assert summary["best_run_id"] == summary["children"][0]["run_id"]
    assert sorted(" ".join(c["assignment"]) for c in summary["children"]) == [
        "max_depth=1 eta=0.05", "max_depth=1 eta=0.3", "max_depth=3 eta=0.05", "max_depth=3 eta=0.3"]
    client = KilnClient(server.url)
    parent = client.get_run(summary["parent_run_id"])
    assert parent.info["status"] == "FINISHED"

    bad = run_kiln("sweep", spec, "--grid", "max_depth=", "--server", server.url, check=False)
    assert "sweep parameter 'max_depth=': no values" in bad.stderr


def test_promotion_moves_the_alias_only_when_every_check_passes(server, project_dir):
    good_spec = write_spec(str(project_dir), XGB_SPEC)
    _, good = run_json(server, good_spec)
    _, weak = run_json(server, good_spec, "--set", "max_depth=1", "--set", "num_boost_round=1")
    good_id, weak_id = good["run"]["info"]["run_id"], weak["run"]["info"]["run_id"]

    assert "registered synth-model version 1" in run_kiln("models", "register", good_id, "--name", "synth-model",
                                                          "--server", server.url).stdout
    run_kiln("models", "register", weak_id, "--name", "synth-model", "--server", server.url)

    accepted = json.loads(run_kiln("models", "promote", "synth-model", "--candidate", "1", "--server", server.url,
                                   "--json").stdout)
    assert accepted["accepted"] is True
    assert [c["name"] for c in accepted["promotion"]["checks"]] == [
        "validation_metric", "holdout_predictions", "online_features", "latency"]

    refused = run_kiln("models", "promote", "synth-model", "--candidate", "2", "--server", server.url, check=False)
    assert refused.returncode == 1
    assert "validation_metric" in refused.stdout and "FAILED" in refused.stdout
    assert "promotion refused; synth-model@champion stays at version 1" in refused.stdout
    assert "refused: version 2 of 'synth-model' did not become champion; 1 of 4 checks failed" in refused.stderr
    assert "worse by" in refused.stderr

    lenient = json.loads(run_kiln("models", "promote", "synth-model", "--candidate", "2", "--tolerance", "1",
                                  "--latency-budget-ms", "0.000001", "--server", server.url, "--json",
                                  check=False).stdout)
    assert lenient["accepted"] is False
    failed = [c for c in lenient["promotion"]["checks"] if not c["passed"]]
    assert [c["name"] for c in failed] == ["latency"]

    client = KilnClient(server.url)
    assert client.get_model_version_by_alias("synth-model", "champion")["version"] == "1"
    history = json.loads(run_kiln("models", "history", "synth-model", "--server", server.url, "--json").stdout)
    assert [(m["from_version"], m["to_version"], m["reason"]) for m in history["moves"]] == [(None, "1", "promotion")]
    promotions = json.loads(run_kiln("models", "promotions", "synth-model", "--server", server.url,
                                     "--json").stdout)["promotions"]
    assert [p["accepted"] for p in promotions] == [False, False, True]
    version = client.get_model_version("synth-model", "2")
    tags = {t["key"]: t["value"] for t in version.get("tags", [])}
    assert tags["kiln.promotion.last"] == "refused"
    assert tags["kiln.check.latency"].startswith("failed: ")

    stats = json.loads(run_kiln("stats", "--project", "synth", "--server", server.url, "--json").stdout)
    assert stats["registered_versions"] == 2
    assert stats["promoted_versions"] == 1
    assert stats["registration_lead_time"]["count"] == 2

    unregistrable = run_kiln("models", "register", "0" * 32, "--name", "x", "--server", server.url, check=False)
    assert unregistrable.returncode == 1


@pytest.mark.skipif(os.environ.get("KILN_TEST_SLURM") != "1", reason="needs scripts/with-slurm")
def test_a_run_on_the_slurm_cluster_completes_and_is_tracked(server, project_dir):
    spec = write_spec(str(project_dir), XGB_SPEC)
    _, result = run_json(server, spec, "--executor", "slurm")
    run = result["run"]
    assert run["info"]["status"] == "FINISHED"
    tags = tags_of(run)
    assert tags["kiln.executor"] == "slurm"
    assert tags["kiln.execution"].startswith("slurm job ")
    assert metrics_of(run)["auc"] > 0.9


def test_the_python_client_runs_reproduces_sweeps_and_promotes(server, project_dir):
    from kiln import TrainingClient

    training = TrainingClient(KilnClient(server.url), poll_seconds=0.1)
    spec = write_spec(str(project_dir), XGB_SPEC)
    run = training.run(spec, overrides={"max_depth": 2})
    assert run.info["status"] == "FINISHED"
    params = {p["key"]: p["value"] for p in run.data["params"]}
    assert params["xgboost.max_depth"] == "2"
    assert training.reproduce(run.run_id)["model_identical"] is True
    summary = training.sweep(spec, grid={"max_depth": [2, 3]})
    assert summary["finished"] == 2 and summary["best_run_id"]
    version = training.register(summary["best_run_id"], "py-model")
    decision = training.promote("py-model", candidate=version["version"])
    assert decision["accepted"] is True
    assert training.alias_history("py-model")[0]["to_version"] == version["version"]
    assert training.stats(project="synth")["registered_versions"] == 1
    with pytest.raises(Exception) as error:
        training.submit(str(project_dir / "missing.yaml"))
    assert "missing.yaml" in str(error.value)
