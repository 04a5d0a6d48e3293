"""MLflow tracking protocol conformance over real HTTP (service.proto as MLflow's
server and Python client speak it): experiments, runs, metrics, params, tags,
log-batch, log-inputs, search and metric history; response fields and types,
defaults, GET query forms, both URL prefixes, and the error code and HTTP
status of every kind of bad request. Deliberate differences from MLflow are
listed in docs/api/tracking.md and asserted as Kiln's behaviour."""

import json
import math

import pytest

from mlflow_wire import (AJAX_API, EXPERIMENT_FIELDS, METRIC_FIELDS, RUN_INFO_FIELDS, Wire, assert_error,
                         assert_fields, missing)


@pytest.fixture
def wire(server):
    return Wire(server)


def metric(key, value, timestamp=1, step=0):
    return {"key": key, "value": value, "timestamp": timestamp, "step": step}


# --- Experiments ---

def test_create_experiment_answers_string_id_and_get_has_every_field(wire):
    experiment_id = wire.create_experiment("churn", tags=[{"key": "team", "value": "risk"}])
    assert isinstance(experiment_id, str) and experiment_id.isdigit()
    experiment = wire.ok(wire.get("/experiments/get", experiment_id=experiment_id))["experiment"]
    assert_fields(experiment, {**EXPERIMENT_FIELDS, "tags": list})
    assert experiment["name"] == "churn" and experiment["lifecycle_stage"] == "active"
    assert experiment["artifact_location"] == f"mlflow-artifacts:/{experiment_id}"
    assert experiment["tags"] == [{"key": "team", "value": "risk"}]


def test_experiment_without_tags_leaves_tags_out_and_default_experiment_exists(wire):
    default = wire.ok(wire.get("/experiments/get", experiment_id="0"))["experiment"]
    assert_fields(default, EXPERIMENT_FIELDS, absent=["tags"])
    assert default["name"] == "Default"
    by_name = wire.ok(wire.get("/experiments/get-by-name", experiment_name="Default"))["experiment"]
    assert by_name == default


def test_unknown_experiment_is_404_resource_does_not_exist(wire):
    assert_error(wire.get("/experiments/get", experiment_id="99"), 404, "RESOURCE_DOES_NOT_EXIST",
                 "No Experiment with id=99 exists")
    assert_error(wire.get("/experiments/get", experiment_id="not-a-number"), 404, "RESOURCE_DOES_NOT_EXIST")
    assert_error(wire.get("/experiments/get-by-name", experiment_name="nope"), 404, "RESOURCE_DOES_NOT_EXIST",
                 "Could not find experiment with name 'nope'")
    assert_error(wire.get("/experiments/get"), 400, "INVALID_PARAMETER_VALUE", missing("experiment_id"))


def test_duplicate_experiment_name_is_resource_already_exists_even_when_deleted(wire):
    experiment_id = wire.create_experiment("churn")
    assert_error(wire.post("/experiments/create", {"name": "churn"}), 400, "RESOURCE_ALREADY_EXISTS",
                 "Experiment(name=churn) already exists.")
    wire.ok(wire.post("/experiments/delete", {"experiment_id": experiment_id}))
    assert_error(wire.post("/experiments/create", {"name": "churn"}), 400, "RESOURCE_ALREADY_EXISTS")


def test_rename_delete_and_restore_move_the_lifecycle_stage(wire):
    experiment_id = wire.create_experiment("churn")
    run_id = wire.create_run(experiment_id=experiment_id)["info"]["run_id"]
    assert wire.ok(wire.post("/experiments/update", {"experiment_id": experiment_id, "new_name": "attrition"})) == {}
    assert wire.ok(wire.get("/experiments/get-by-name", experiment_name="attrition"))["experiment"][
        "experiment_id"] == experiment_id

    assert wire.ok(wire.post("/experiments/delete", {"experiment_id": experiment_id})) == {}
    deleted = wire.ok(wire.get("/experiments/get", experiment_id=experiment_id))["experiment"]
    assert deleted["lifecycle_stage"] == "deleted"
    assert wire.get_run(run_id)["info"]["lifecycle_stage"] == "deleted"
    assert_error(wire.post("/experiments/delete", {"experiment_id": experiment_id}), 404, "RESOURCE_DOES_NOT_EXIST")
    assert_error(wire.post("/experiments/update", {"experiment_id": experiment_id, "new_name": "x"}), 400,
                 "INVALID_STATE", "Cannot rename a non-active experiment.")

    assert wire.ok(wire.post("/experiments/restore", {"experiment_id": experiment_id})) == {}
    assert wire.get_run(run_id)["info"]["lifecycle_stage"] == "active"
    assert_error(wire.post("/experiments/restore", {"experiment_id": experiment_id}), 404, "RESOURCE_DOES_NOT_EXIST")
    assert_error(wire.post("/experiments/update", {"experiment_id": experiment_id}), 400, "INVALID_PARAMETER_VALUE",
                 missing("new_name"))


def test_default_experiment_cannot_be_deleted(wire):
    assert_error(wire.post("/experiments/delete", {"experiment_id": "0"}), 400, "INVALID_PARAMETER_VALUE",
                 contains="Cannot delete the default experiment '0'")


def test_experiment_tags_are_upserted_and_deleted(wire):
    experiment_id = wire.create_experiment("churn")
    for value in ("a", "b"):
        wire.ok(wire.post("/experiments/set-experiment-tag",
                          {"experiment_id": experiment_id, "key": "team", "value": value}))
    tags = wire.ok(wire.get("/experiments/get", experiment_id=experiment_id))["experiment"]["tags"]
    assert tags == [{"key": "team", "value": "b"}]
    wire.ok(wire.post("/experiments/delete-experiment-tag", {"experiment_id": experiment_id, "key": "team"}))
    assert "tags" not in wire.ok(wire.get("/experiments/get", experiment_id=experiment_id))["experiment"]
    assert_error(wire.post("/experiments/delete-experiment-tag", {"experiment_id": experiment_id, "key": "team"}),
                 404, "RESOURCE_DOES_NOT_EXIST", f"No tag with name: team in experiment with id {experiment_id}")
    wire.ok(wire.post("/experiments/delete", {"experiment_id": experiment_id}))
    assert_error(wire.post("/experiments/set-experiment-tag", {"experiment_id": experiment_id, "key": "k"}), 400,
                 "INVALID_STATE", f"The experiment {experiment_id} must be in the 'active' state. "
                 "Current state is deleted.")


@pytest.mark.parametrize("endpoint, body, contains", [
    ("/experiments/create", {"name": "n" * 501}, "'name' exceeds the maximum length of 500 characters"),
    ("/experiments/create", {"name": "x", "artifact_location": "runs:/abc/model"},
     "Artifact location cannot be a runs:/ URI"),
    ("/experiments/set-experiment-tag", {"experiment_id": "0", "key": "k", "value": "v" * 5001},
     "'value' exceeds the maximum length of 5000 characters"),
    ("/experiments/set-experiment-tag", {"experiment_id": "0", "key": "a*b", "value": "v"},
     "Names may only contain alphanumerics"),
])
def test_experiment_limits_are_invalid_parameter_value(wire, endpoint, body, contains):
    assert_error(wire.post(endpoint, body), 400, "INVALID_PARAMETER_VALUE", contains=contains)


# --- Runs ---

def test_create_run_defaults_running_active_no_end_time_and_a_generated_name(wire):
    run = wire.create_run()
    info = run["info"]
    assert_fields(info, RUN_INFO_FIELDS, absent=["end_time"])
    assert info["status"] == "RUNNING" and info["lifecycle_stage"] == "active"
    assert info["experiment_id"] == "0" and info["run_uuid"] == info["run_id"]
    assert info["artifact_uri"] == f"mlflow-artifacts:/0/{info['run_id']}/artifacts"
    assert info["run_name"] and {"key": "mlflow.runName", "value": info["run_name"]} in run["data"]["tags"]
    assert run["inputs"] == {} and set(run["data"]) == {"tags"}
    assert wire.get_run(info["run_id"]) == run


def test_create_run_reads_int64_as_strings_and_writes_them_as_numbers(wire):
    experiment_id = wire.create_experiment("churn")
    run = wire.create_run(experiment_id=experiment_id, start_time="1700000000000", run_name="baseline",
                          user_id="ann", tags=[{"key": "team", "value": "risk"}])
    info = wire.get_run(run["info"]["run_id"])["info"]
    assert info["start_time"] == 1700000000000
    assert (info["run_name"], info["user_id"], info["experiment_id"]) == ("baseline", "ann", experiment_id)
    assert {"key": "mlflow.user", "value": "ann"} in run["data"]["tags"]


def test_run_name_must_agree_with_the_run_name_tag(wire):
    assert_error(wire.post("/runs/create", {"run_name": "a", "tags": [{"key": "mlflow.runName", "value": "b"}]}),
                 400, "INVALID_PARAMETER_VALUE", contains="Both 'run_name' argument and 'mlflow.runName' tag")
    assert wire.create_run(tags=[{"key": "mlflow.runName", "value": "b"}])["info"]["run_name"] == "b"


def test_create_run_in_unknown_or_deleted_experiment(wire):
    assert_error(wire.post("/runs/create", {"experiment_id": "42"}), 404, "RESOURCE_DOES_NOT_EXIST",
                 "No Experiment with id=42 exists")
    experiment_id = wire.create_experiment("gone")
    wire.ok(wire.post("/experiments/delete", {"experiment_id": experiment_id}))
    assert_error(wire.post("/runs/create", {"experiment_id": experiment_id}), 400, "INVALID_STATE")


def test_get_run_accepts_run_uuid_and_unknown_run_is_404(wire):
    run_id = wire.create_run()["info"]["run_id"]
    assert wire.ok(wire.get("/runs/get", run_uuid=run_id))["run"]["info"]["run_id"] == run_id
    assert_error(wire.get("/runs/get", run_id="nope"), 404, "RESOURCE_DOES_NOT_EXIST", "Run with id=nope not found")
    assert_error(wire.get("/runs/get"), 400, "INVALID_PARAMETER_VALUE", missing("run_id"))


def test_set_terminated_sets_status_and_end_time(wire):
    run_id = wire.create_run()["info"]["run_id"]
    # MlflowClient.set_terminated: UpdateRun(run_uuid, run_id, status, end_time).
    info = wire.ok(wire.post("/runs/update", {"run_uuid": run_id, "run_id": run_id, "status": "FINISHED",
                                              "end_time": 1700000005000}))["run_info"]
    assert_fields(info, {**RUN_INFO_FIELDS, "end_time": int})
    assert (info["status"], info["end_time"]) == ("FINISHED", 1700000005000)
    assert wire.get_run(run_id)["info"] == info
    info = wire.ok(wire.post("/runs/update", {"run_id": run_id, "status": 4, "run_name": "renamed"}))["run_info"]
    assert (info["status"], info["run_name"]) == ("FAILED", "renamed")
    assert {"key": "mlflow.runName", "value": "renamed"} in wire.get_run(run_id)["data"]["tags"]


@pytest.mark.parametrize("status", ["DONE", "finished", 9, 1.5])
def test_bad_run_status_enum_is_400(wire, status):
    run_id = wire.create_run()["info"]["run_id"]
    assert_error(wire.post("/runs/update", {"run_id": run_id, "status": status}), 400, "INVALID_PARAMETER_VALUE",
                 contains="'status'")


def test_deleted_run_refuses_writes_with_invalid_state_until_restored(wire):
    run_id = wire.create_run()["info"]["run_id"]
    assert wire.ok(wire.post("/runs/delete", {"run_id": run_id})) == {}
    assert wire.get_run(run_id)["info"]["lifecycle_stage"] == "deleted"
    message = f"The run {run_id} must be in the 'active' state. Current state is deleted."
    for endpoint, body in [("/runs/log-metric", metric("m", 1)), ("/runs/log-parameter", {"key": "p", "value": "1"}),
                           ("/runs/set-tag", {"key": "t", "value": "v"}), ("/runs/log-batch", {}),
                           ("/runs/update", {"status": "FINISHED"})]:
        assert_error(wire.post(endpoint, {"run_id": run_id, **body}), 400, "INVALID_STATE", message)
    assert wire.ok(wire.post("/runs/restore", {"run_id": run_id})) == {}
    wire.ok(wire.post("/runs/log-metric", {"run_id": run_id, **metric("m", 1)}))
    assert_error(wire.post("/runs/delete", {"run_id": "nope"}), 404, "RESOURCE_DOES_NOT_EXIST")
    assert_error(wire.post("/runs/restore", {"run_id": "nope"}), 404, "RESOURCE_DOES_NOT_EXIST")


def test_nested_run_carries_its_parent_in_the_parent_run_id_tag(wire):
    parent = wire.create_run(run_name="parent")["info"]["run_id"]
    child = wire.create_run(run_name="child", tags=[{"key": "mlflow.parentRunId", "value": parent}])
    assert {"key": "mlflow.parentRunId", "value": parent} in child["data"]["tags"]
    found = wire.ok(wire.post("/runs/search", {"experiment_ids": ["0"],
                                               "filter": f"tags.mlflow.parentRunId = '{parent}'"}))["runs"]
    assert [run["info"]["run_name"] for run in found] == ["child"]


# --- Metrics, params and tags ---

def test_metric_nan_and_infinities_round_trip_as_protobuf_json_strings(wire):
    run_id = wire.create_run()["info"]["run_id"]
    for key, value in [("loss", "NaN"), ("gain", "Infinity"), ("drop", "-Infinity"), ("auc", 0.81)]:
        wire.ok(wire.post("/runs/log-metric", {"run_id": run_id, **metric(key, value, timestamp=5, step=1)}))
    # Python's json.dumps writes bare NaN/Infinity; MLflow's server reads those too.
    wire.ok(wire.raw("POST", "/runs/log-metric",
                     f'{{"run_id": "{run_id}", "key": "bare", "value": NaN, "timestamp": 5, "step": 1}}'))
    metrics = {m["key"]: m for m in wire.get_run(run_id)["data"]["metrics"]}
    for m in metrics.values():
        assert_fields(m, METRIC_FIELDS)
    assert {k: m["value"] for k, m in metrics.items()} == {
        "auc": 0.81, "bare": "NaN", "drop": "-Infinity", "gain": "Infinity", "loss": "NaN"}
    history = wire.ok(wire.get("/metrics/get-history", run_id=run_id, metric_key="gain"))["metrics"]
    assert history == [{"key": "gain", "value": "Infinity", "timestamp": 5, "step": 1}]


def test_log_metric_requires_key_value_timestamp_and_defaults_step_to_zero(wire):
    run_id = wire.create_run()["info"]["run_id"]
    wire.ok(wire.post("/runs/log-metric", {"run_id": run_id, "key": "m", "value": "2.5", "timestamp": "7"}))
    assert wire.get_run(run_id)["data"]["metrics"] == [{"key": "m", "value": 2.5, "timestamp": 7, "step": 0}]
    for field in ("key", "value", "timestamp"):
        body = {"run_id": run_id, "key": "m", "value": 1, "timestamp": 1}
        del body[field]
        assert_error(wire.post("/runs/log-metric", body), 400, "INVALID_PARAMETER_VALUE", missing(field))
    assert_error(wire.post("/runs/log-metric", {"key": "m", "value": 1, "timestamp": 1}), 400,
                 "INVALID_PARAMETER_VALUE", missing("run_id"))


@pytest.mark.parametrize("field, value, expected", [
    ("value", "high", "Invalid value \"high\" for parameter 'value' supplied: expected a number"),
    ("value", True, "Invalid value true for parameter 'value' supplied: expected a number"),
    ("step", 1.5, "Invalid value 1.5 for parameter 'step' supplied: expected an integer"),
    ("timestamp", "soon", "Invalid value \"soon\" for parameter 'timestamp' supplied: expected an integer"),
    ("timestamp", 18446744073709551615,
     "Invalid value 18446744073709551615 for parameter 'timestamp' supplied: expected a 64-bit integer"),
    ("key", 7, "Invalid value 7 for parameter 'key' supplied: expected a string"),
])
def test_log_metric_wrong_types_are_invalid_parameter_value(wire, field, value, expected):
    run_id = wire.create_run()["info"]["run_id"]
    body = {"run_id": run_id, "key": "m", "value": 1, "timestamp": 1, field: value}
    assert_error(wire.post("/runs/log-metric", body), 400, "INVALID_PARAMETER_VALUE", expected)


def test_run_shows_the_latest_point_by_step_then_timestamp(wire):
    run_id = wire.create_run()["info"]["run_id"]
    for point in [metric("m", 1.0, timestamp=9, step=1), metric("m", 2.0, timestamp=1, step=2),
                  metric("m", 3.0, timestamp=5, step=2), metric("m", 4.0, timestamp=100, step=0)]:
        wire.ok(wire.post("/runs/log-metric", {"run_id": run_id, **point}))
    assert wire.get_run(run_id)["data"]["metrics"] == [metric("m", 3.0, timestamp=5, step=2)]


def test_params_are_immutable_with_mlflows_message(wire):
    run_id = wire.create_run()["info"]["run_id"]
    wire.ok(wire.post("/runs/log-parameter", {"run_id": run_id, "key": "depth", "value": "6"}))
    wire.ok(wire.post("/runs/log-parameter", {"run_id": run_id, "key": "depth", "value": "6"}))
    assert_error(wire.post("/runs/log-parameter", {"run_id": run_id, "key": "depth", "value": "8"}), 400,
                 "INVALID_PARAMETER_VALUE",
                 f"Changing param values is not allowed. Param with key='depth' was already logged with "
                 f"value='6' for run ID='{run_id}'. Attempted logging new value '8'.")
    assert wire.get_run(run_id)["data"]["params"] == [{"key": "depth", "value": "6"}]


def test_set_tag_upserts_renames_through_run_name_and_delete_tag_needs_the_tag(wire):
    run_id = wire.create_run(run_name="before")["info"]["run_id"]
    wire.ok(wire.post("/runs/set-tag", {"run_id": run_id, "key": "stage", "value": "dev"}))
    wire.ok(wire.post("/runs/set-tag", {"run_id": run_id, "key": "stage", "value": "prod"}))
    wire.ok(wire.post("/runs/set-tag", {"run_id": run_id, "key": "mlflow.runName", "value": "after"}))
    run = wire.get_run(run_id)
    assert run["info"]["run_name"] == "after"
    assert {"key": "stage", "value": "prod"} in run["data"]["tags"]
    wire.ok(wire.post("/runs/delete-tag", {"run_id": run_id, "key": "stage"}))
    assert_error(wire.post("/runs/delete-tag", {"run_id": run_id, "key": "stage"}), 404, "RESOURCE_DOES_NOT_EXIST",
                 f"No tag with name: stage in run with id {run_id}")


@pytest.mark.parametrize("endpoint, body, expected", [
    ("/runs/log-metric", {"key": "a*b", "value": 1, "timestamp": 1}, "Names may only contain alphanumerics"),
    ("/runs/log-metric", {"key": "../up", "value": 1, "timestamp": 1}, "This name would resolve to '../up'"),
    ("/runs/log-metric", {"key": "k" * 251, "value": 1, "timestamp": 1},
     "'key' exceeds the maximum length of 250 characters"),
    ("/runs/log-metric", {"key": "m", "value": 1, "timestamp": -1}, "Timestamp must be a nonnegative long"),
    ("/runs/log-parameter", {"key": "p", "value": "v" * 6001}, "'value' exceeds the maximum length of 6000"),
    ("/runs/set-tag", {"key": "t", "value": "v" * 8001}, "'value' exceeds the maximum length of 8000"),
])
def test_keys_and_values_over_mlflows_limits_are_rejected(wire, endpoint, body, expected):
    run_id = wire.create_run()["info"]["run_id"]
    assert_error(wire.post(endpoint, {"run_id": run_id, **body}), 400, "INVALID_PARAMETER_VALUE", contains=expected)


def test_keys_and_values_at_the_limits_are_accepted(wire):
    run_id = wire.create_run()["info"]["run_id"]
    key = "k" * 250
    wire.log_batch(run_id, metrics=[metric(key, 1)], params=[(key, "v" * 6000)], tags=[(key, "v" * 8000)])
    data = wire.get_run(run_id)["data"]
    assert data["params"] == [{"key": key, "value": "v" * 6000}]
    assert {"key": key, "value": "v" * 8000} in data["tags"]


# --- log-batch and log-inputs ---

def test_log_batch_writes_metrics_params_and_tags(wire):
    run_id = wire.create_run()["info"]["run_id"]
    assert wire.log_batch(run_id, metrics=[metric("auc", 0.8, 1, 1), metric("loss", "NaN", 1, 1)],
                          params=[("depth", "6"), ("depth", "6")], tags=[("stage", "baseline")]) == {}
    data = wire.get_run(run_id)["data"]
    assert [m["value"] for m in data["metrics"]] == [0.8, "NaN"]
    assert data["params"] == [{"key": "depth", "value": "6"}]
    assert {"key": "stage", "value": "baseline"} in data["tags"]


@pytest.mark.parametrize("bad", [
    {"metrics": [metric("ok", 1), metric("../bad", 1)]},
    {"params": [{"key": "depth", "value": "7"}]},  # conflicts with the logged value, found while writing
    {"params": [{"key": "lr", "value": "1"}, {"key": "lr", "value": "2"}]},
    {"tags": [{"key": "t", "value": "v" * 8001}]},
])
def test_log_batch_is_atomic_a_bad_item_writes_nothing(wire, bad):
    run_id = wire.create_run()["info"]["run_id"]
    wire.log_batch(run_id, params=[("depth", "6")])
    before = wire.get_run(run_id)
    body = {"run_id": run_id, "metrics": [metric("written", 1)], "params": [{"key": "p", "value": "1"}],
            "tags": [{"key": "t", "value": "v"}]}
    for field, items in bad.items():
        body[field] = body[field] + items
    assert_error(wire.post("/runs/log-batch", body), 400, "INVALID_PARAMETER_VALUE")
    assert wire.get_run(run_id) == before


@pytest.mark.parametrize("metrics, params, tags, expected", [
    (1001, 0, 0, "A batch logging request can contain at most 1000 metrics. Got 1001 metrics."),
    (0, 101, 0, "A batch logging request can contain at most 100 params. Got 101 params."),
    (0, 0, 101, "A batch logging request can contain at most 100 tags. Got 101 tags."),
    (901, 50, 50, "at most 1000 metrics, params, and tags. Got 1001 metrics, params, and tags."),
])
def test_log_batch_limits(wire, metrics, params, tags, expected):
    run_id = wire.create_run()["info"]["run_id"]
    body = {"run_id": run_id, "metrics": [metric("m", i, timestamp=i) for i in range(metrics)],
            "params": [{"key": f"p{i}", "value": "1"} for i in range(params)],
            "tags": [{"key": f"t{i}", "value": "1"} for i in range(tags)]}
    assert_error(wire.post("/runs/log-batch", body), 400, "INVALID_PARAMETER_VALUE", contains=expected)


def test_log_batch_body_over_one_megabyte_is_refused(wire):
    run_id = wire.create_run()["info"]["run_id"]
    body = {"run_id": run_id, "params": [{"key": f"p{i}", "value": "v" * 5000} for i in range(100)],
            "tags": [{"key": f"t{i}", "value": "v" * 8000} for i in range(100)]}
    assert_error(wire.post("/runs/log-batch", body), 400, "INVALID_PARAMETER_VALUE",
                 contains="Batched logging API requests must be at most 1000000 bytes")


@pytest.mark.parametrize("item, path", [
    ({"metrics": [{"key": "m", "value": 1}]}, "metrics[0].timestamp"),
    ({"metrics": [{"key": "m", "timestamp": 1}]}, "metrics[0].value"),
    ({"params": [{"value": "1"}]}, "params[0].key"),
    ({"tags": [{"key": "", "value": "1"}]}, "tags[0].key"),
])
def test_log_batch_names_the_missing_nested_field(wire, item, path):
    run_id = wire.create_run()["info"]["run_id"]
    assert_error(wire.post("/runs/log-batch", {"run_id": run_id, **item}), 400, "INVALID_PARAMETER_VALUE",
                 missing(path))


def test_log_inputs_round_trip_once_per_dataset(wire):
    run_id = wire.create_run()["info"]["run_id"]
    dataset_input = {"tags": [{"key": "mlflow.data.context", "value": "training"}],
                     "dataset": {"name": "customers", "digest": "3f2a9c", "source_type": "local",
                                 "source": '{"uri": "data/customers.csv"}', "schema": "{}"}}
    for _ in range(2):
        assert wire.ok(wire.post("/runs/log-inputs", {"run_id": run_id, "datasets": [dataset_input]})) == {}
    assert wire.get_run(run_id)["inputs"] == {"dataset_inputs": [dataset_input]}


@pytest.mark.parametrize("dataset, expected", [
    ({"name": "d", "digest": "x", "source_type": "local"}, missing("datasets[0].dataset.source")),
    ({"name": "d", "digest": "x" * 37, "source_type": "local", "source": "s"},
     "'datasets[0].dataset.digest' exceeds the maximum length of 36 characters"),
])
def test_log_inputs_validates_datasets(wire, dataset, expected):
    run_id = wire.create_run()["info"]["run_id"]
    assert_error(wire.post("/runs/log-inputs", {"run_id": run_id, "datasets": [{"dataset": dataset}]}), 400,
                 "INVALID_PARAMETER_VALUE", expected)


# --- Requests MLflow's server reads, and malformed ones ---

def test_double_encoded_body_from_older_clients_is_read(wire):
    experiment_id = wire.ok(wire.raw("POST", "/experiments/create", json.dumps(json.dumps({"name": "old"}))))[
        "experiment_id"]
    assert wire.ok(wire.get("/experiments/get", experiment_id=experiment_id))["experiment"]["name"] == "old"


@pytest.mark.parametrize("text, expected", [
    ('{"name": "x",,}', "malformed JSON at byte 14"),
    ('{"name": ', "malformed JSON at byte 10"),
    ('{"name": Nan}', "malformed JSON at byte 10"),
    ("[1, 2]", "malformed JSON: expected a JSON object"),
    ("null", "malformed JSON: expected a JSON object"),
])
def test_malformed_json_is_invalid_parameter_value(wire, text, expected):
    assert_error(wire.raw("POST", "/experiments/create", text), 400, "INVALID_PARAMETER_VALUE", contains=expected)


@pytest.mark.parametrize("endpoint, body, field", [
    ("/experiments/create", {"name": 12}, "name"),
    ("/experiments/create", {"name": "x", "tags": {"team": "risk"}}, "tags"),
    ("/runs/create", {"experiment_id": 0}, "experiment_id"),
    ("/runs/create", {"tags": ["team"]}, "tags[0]"),
    ("/runs/create", {"start_time": "noon"}, "start_time"),
    ("/runs/search", {"experiment_ids": [0]}, "experiment_ids"),
    ("/runs/search", {"experiment_ids": ["0"], "max_results": "ten"}, "max_results"),
    ("/runs/search", {"experiment_ids": ["0"], "order_by": [1]}, "order_by"),
    ("/runs/search", {"experiment_ids": ["0"], "run_view_type": 1.5}, "run_view_type"),
    ("/experiments/search", {"filter": 5}, "filter"),
])
def test_wrongly_typed_fields_are_invalid_parameter_value_naming_the_field(wire, endpoint, body, field):
    assert_error(wire.post(endpoint, body), 400, "INVALID_PARAMETER_VALUE", contains=f"parameter '{field}'")


def test_unknown_endpoint_and_wrong_method_answer_in_mlflow_shape(wire):
    assert_error(wire.get("/runs/frobnicate"), 404, "ENDPOINT_NOT_FOUND")
    assert_error(wire.get("/runs/create"), 405, "BAD_REQUEST")


TRACKING_ENDPOINTS = [
    ("POST", "/experiments/create"), ("GET", "/experiments/get"), ("GET", "/experiments/get-by-name"),
    ("POST", "/experiments/search"), ("GET", "/experiments/search"), ("POST", "/experiments/update"),
    ("POST", "/experiments/delete"), ("POST", "/experiments/restore"), ("POST", "/experiments/set-experiment-tag"),
    ("POST", "/experiments/delete-experiment-tag"), ("POST", "/runs/create"), ("GET", "/runs/get"),
    ("POST", "/runs/update"), ("POST", "/runs/delete"), ("POST", "/runs/restore"), ("POST", "/runs/log-metric"),
    ("POST", "/runs/log-parameter"), ("POST", "/runs/set-tag"), ("POST", "/runs/delete-tag"),
    ("POST", "/runs/log-batch"), ("POST", "/runs/log-inputs"), ("POST", "/runs/search"),
    ("GET", "/metrics/get-history"), ("GET", "/metrics/get-history-bulk-interval"), ("GET", "/artifacts/list"),
]


@pytest.mark.parametrize("method, endpoint", TRACKING_ENDPOINTS)
def test_every_tracking_endpoint_is_served_under_the_ajax_prefix_too(server, method, endpoint):
    answers = []
    for prefix in ("/api/2.0/mlflow", AJAX_API):
        client = Wire(server, prefix)
        status, body = client.get(endpoint) if method == "GET" else client.send(method, endpoint, {})
        assert status != 405, body
        assert status != 404 or body["error_code"] != "ENDPOINT_NOT_FOUND", body
        answers.append((status, body.get("error_code")))
    assert answers[0] == answers[1]


def test_ajax_prefix_serves_the_same_data(server):
    api, ajax = Wire(server), Wire(server, AJAX_API)
    run_id = ajax.create_run(run_name="from-the-ui")["info"]["run_id"]
    ajax.log_batch(run_id, metrics=[metric("m", 0.5)])
    assert api.get_run(run_id) == ajax.get_run(run_id)
    assert math.isclose(api.get_run(run_id)["data"]["metrics"][0]["value"], 0.5)
