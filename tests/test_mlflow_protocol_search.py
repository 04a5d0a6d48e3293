"""MLflow protocol conformance over real HTTP for the reads: experiment and run
search (defaults, view types, paging, MLflow's filter and order_by grammar)
and metric history (get-history paging, get-history-bulk-interval with
repeated run_ids query parameters), as MLflow's Python client and UI send them."""

import time

import pytest

from mlflow_wire import RUN_INFO_FIELDS, Wire, assert_error, assert_fields, missing


@pytest.fixture
def wire(server):
    return Wire(server)


def metric(key, value, timestamp=1, step=0):
    return {"key": key, "value": value, "timestamp": timestamp, "step": step}


def run_names(reply):
    status, body = reply
    assert status == 200, body
    return [run["info"]["run_name"] for run in body.get("runs", [])]


@pytest.fixture
def three_runs(wire):
    """alpha, beta, gamma in experiment "0", started in that order, each with
    metric auc, param model, tag team, a final status; alpha has a dataset."""
    ids = {}
    for start, (name, auc, model, team, status) in enumerate([
            ("alpha", 0.9, "xgb", "risk", "FINISHED"), ("beta", 0.7, "lr", "risk", "RUNNING"),
            ("gamma", "NaN", "xgb", "ops", "FAILED")]):
        run_id = wire.create_run(run_name=name, start_time=1000 + start)["info"]["run_id"]
        wire.log_batch(run_id, metrics=[metric("auc", auc)], params=[("model", model)], tags=[("team", team)])
        wire.ok(wire.post("/runs/update", {"run_id": run_id, "status": status, "end_time": 2000 + start}))
        ids[name] = run_id
    wire.ok(wire.post("/runs/log-inputs", {"run_id": ids["alpha"], "datasets": [{
        "tags": [{"key": "mlflow.data.context", "value": "training"}],
        "dataset": {"name": "customers", "digest": "d1", "source_type": "local", "source": "{}"}}]}))
    return ids


def search(wire, **body):
    return wire.post("/runs/search", {"experiment_ids": ["0"], **body})


# --- Experiment search ---

def test_search_experiments_defaults_to_active_only_newest_first(wire):
    for name in ("a", "b", "c"):
        wire.create_experiment(name)
        time.sleep(0.005)  # distinct creation times
    wire.ok(wire.post("/experiments/delete", {"experiment_id": wire.ok(
        wire.get("/experiments/get-by-name", experiment_name="b"))["experiment"]["experiment_id"]}))
    body = wire.ok(wire.post("/experiments/search", {}))
    assert [e["name"] for e in body["experiments"]] == ["c", "a", "Default"]
    assert "next_page_token" not in body


@pytest.mark.parametrize("view_type, expected", [
    ("ACTIVE_ONLY", {"keep", "Default"}), ("DELETED_ONLY", {"gone"}), ("ALL", {"keep", "gone", "Default"}),
    ("2", {"gone"}), (3, {"keep", "gone", "Default"}),
])
def test_search_experiments_view_types_by_name_or_number(wire, view_type, expected):
    wire.create_experiment("keep")
    wire.ok(wire.post("/experiments/delete", {"experiment_id": wire.create_experiment("gone")}))
    for reply in (wire.post("/experiments/search", {"view_type": view_type}),
                  wire.get("/experiments/search", view_type=view_type)):
        assert {e["name"] for e in wire.ok(reply).get("experiments", [])} == expected


def test_search_experiments_pages_with_a_token_absent_on_the_last_page(wire):
    for i in range(4):
        wire.create_experiment(f"e{i}")
    pages, token = [], None
    while True:
        body = wire.ok(wire.get("/experiments/search", max_results=2, page_token=token,
                                order_by=["name ASC"]))
        pages.append([e["name"] for e in body["experiments"]])
        token = body.get("next_page_token")
        if token is None:
            break
        assert isinstance(token, str) and token
    assert pages == [["Default", "e0"], ["e1", "e2"], ["e3"]]


def test_search_experiments_filter_and_repeated_order_by_query_parameters(wire):
    wire.create_experiment("churn-a", tags=[{"key": "team", "value": "risk"}])
    wire.create_experiment("churn-b")
    body = wire.ok(wire.get("/experiments/search", filter="name LIKE 'churn%'", order_by=["name DESC"]))
    assert [e["name"] for e in body["experiments"]] == ["churn-b", "churn-a"]
    body = wire.ok(wire.post("/experiments/search", {"filter": "tags.team = 'risk'"}))
    assert [e["name"] for e in body["experiments"]] == ["churn-a"]


def test_search_experiments_limits(wire):
    assert_error(wire.post("/experiments/search", {"max_results": 50001}), 400, "INVALID_PARAMETER_VALUE",
                 contains="50000")
    assert_error(wire.post("/experiments/search", {"view_type": "SOME"}), 400, "INVALID_PARAMETER_VALUE")
    assert_error(wire.post("/experiments/search", {"page_token": "not base64!"}), 400, "INVALID_PARAMETER_VALUE",
                 contains="Invalid page token")


# --- Run search ---

def test_search_runs_default_order_is_newest_start_time_first(wire, three_runs):
    # MlflowClient.search_runs sends no order_by.
    body = wire.ok(search(wire, filter="", run_view_type="ACTIVE_ONLY", max_results=1000))
    assert [r["info"]["run_name"] for r in body["runs"]] == ["gamma", "beta", "alpha"]
    assert "next_page_token" not in body
    for run in body["runs"]:
        assert_fields(run["info"], {**RUN_INFO_FIELDS, "end_time": int})
        assert set(run["data"]) == {"metrics", "params", "tags"}


def test_search_runs_without_experiments_finds_nothing(wire, three_runs):
    assert wire.ok(wire.post("/runs/search", {})) == {}
    assert wire.ok(wire.post("/runs/search", {"experiment_ids": ["42"]})) == {}


@pytest.mark.parametrize("filter_string, expected", [
    ("metrics.auc > 0.8", ["alpha"]),
    ("metrics.auc <= 0.7", ["beta"]),
    ("metrics.auc != 0.8", ["gamma", "beta", "alpha"]),  # NaN matches only !=
    ("metric.auc = 0.9", ["alpha"]),
    ("params.model = 'xgb'", ["gamma", "alpha"]),
    ('params.model = "lr"', ["beta"]),
    ("params.model ILIKE 'X%'", ["gamma", "alpha"]),
    ("tags.team = 'risk'", ["beta", "alpha"]),
    ("tags.team != 'risk'", ["gamma"]),
    ("tags.team LIKE 'ri%'", ["beta", "alpha"]),
    ("tags.`mlflow.runName` = 'beta'", ["beta"]),
    ("attributes.status = 'FINISHED'", ["alpha"]),
    ("status != 'RUNNING'", ["gamma", "alpha"]),
    ("attribute.run_name LIKE 'a%'", ["alpha"]),
    ("run_name = 'gamma'", ["gamma"]),
    ("attributes.start_time > 1000", ["gamma", "beta"]),
    ("attributes.end_time < 2002", ["beta", "alpha"]),
    ("datasets.name = 'customers'", ["alpha"]),
    ("datasets.context = 'training' AND datasets.digest = 'd1'", ["alpha"]),
    ("metrics.auc > 0.5 and params.model = 'xgb' and tags.team = 'risk'", ["alpha"]),
])
def test_search_runs_filter_grammar(wire, three_runs, filter_string, expected):
    assert run_names(search(wire, filter=filter_string)) == expected


def test_search_runs_by_run_id_list(wire, three_runs):
    ids = three_runs
    assert run_names(search(wire, filter=f"attributes.run_id IN ('{ids['alpha']}', '{ids['gamma']}')")) == [
        "gamma", "alpha"]
    assert run_names(search(wire, filter=f"run_id NOT IN ('{ids['alpha']}')")) == ["gamma", "beta"]


@pytest.mark.parametrize("order_by, expected", [
    (["metrics.auc DESC"], ["alpha", "beta", "gamma"]),  # numbers, then NaN, in both directions
    (["metrics.auc"], ["beta", "alpha", "gamma"]),
    (["params.model ASC", "attributes.run_name DESC"], ["beta", "gamma", "alpha"]),
    (["tags.team DESC"], ["beta", "alpha", "gamma"]),
    (["attributes.start_time ASC"], ["alpha", "beta", "gamma"]),
    (["run_name"], ["alpha", "beta", "gamma"]),
])
def test_search_runs_order_by(wire, three_runs, order_by, expected):
    assert run_names(search(wire, order_by=order_by)) == expected


def test_search_runs_pages_until_the_token_is_absent(wire, three_runs):
    names, token = [], None
    while True:
        body = wire.ok(search(wire, max_results=2, **({"page_token": token} if token else {})))
        names += [run["info"]["run_name"] for run in body["runs"]]
        token = body.get("next_page_token")
        if token is None:
            break
    assert names == ["gamma", "beta", "alpha"]


def test_search_runs_view_types(wire, three_runs):
    wire.ok(wire.post("/runs/delete", {"run_id": three_runs["beta"]}))
    assert run_names(search(wire)) == ["gamma", "alpha"]
    assert run_names(search(wire, run_view_type="DELETED_ONLY")) == ["beta"]
    assert run_names(search(wire, run_view_type="ALL")) == ["gamma", "beta", "alpha"]
    assert run_names(search(wire, run_view_type=2)) == ["beta"]


@pytest.mark.parametrize("body, contains", [
    ({"max_results": 50001}, "It must be at most 50000"),
    ({"max_results": -1}, "It must be a positive integer"),
    ({"filter": "metrics.auc >>> 1"}, "Invalid filter"),
    ({"filter": "nope.x = 1"}, "Invalid filter"),
    ({"order_by": ["nope.x"]}, "Invalid order_by clause"),
    ({"run_view_type": "SOME"}, "Invalid view type"),
    ({"page_token": "garbage!"}, "Invalid page token"),
])
def test_search_runs_bad_requests_are_invalid_parameter_value(wire, body, contains):
    assert_error(search(wire, **body), 400, "INVALID_PARAMETER_VALUE", contains=contains)


# --- Metric history ---

@pytest.fixture
def loss_run(wire):
    run_id = wire.create_run()["info"]["run_id"]
    wire.log_batch(run_id, metrics=[metric("loss", 1.0 / (step + 1), timestamp=100 + step, step=step)
                                    for step in range(7)])
    return run_id


def test_get_history_without_max_results_returns_every_point_ordered(wire, loss_run):
    body = wire.ok(wire.get("/metrics/get-history", run_id=loss_run, metric_key="loss"))
    assert [m["step"] for m in body["metrics"]] == list(range(7))
    assert "next_page_token" not in body
    assert body["metrics"][0] == {"key": "loss", "value": 1.0, "timestamp": 100, "step": 0}


def test_get_history_pages_as_the_client_asks(wire, loss_run):
    # RestStore sends run_uuid and run_id, max_results and the page token as query parameters.
    pages, token = [], None
    while True:
        body = wire.ok(wire.get("/metrics/get-history", run_uuid=loss_run, run_id=loss_run, metric_key="loss",
                                max_results=3, page_token=token))
        pages.append([m["step"] for m in body["metrics"]])
        token = body.get("next_page_token")
        if token is None:
            break
    assert pages == [[0, 1, 2], [3, 4, 5], [6]]


def test_get_history_of_an_unlogged_key_is_empty(wire, loss_run):
    assert wire.ok(wire.get("/metrics/get-history", run_id=loss_run, metric_key="auc")) == {}


def test_get_history_errors(wire, loss_run):
    # Kiln answers 404 for an unknown run (MLflow's SQL store returns no points).
    assert_error(wire.get("/metrics/get-history", run_id="nope", metric_key="loss"), 404,
                 "RESOURCE_DOES_NOT_EXIST", "Run with id=nope not found")
    assert_error(wire.get("/metrics/get-history", run_id=loss_run), 400, "INVALID_PARAMETER_VALUE",
                 missing("metric_key"))
    assert_error(wire.get("/metrics/get-history", run_id=loss_run, metric_key="loss", max_results=0), 400,
                 "INVALID_PARAMETER_VALUE", contains="It must be a positive integer")


@pytest.fixture
def two_step_runs(wire):
    """Run a logs steps 0..9 of "m", run b steps 0..4."""
    runs = {}
    for name, steps in (("a", 10), ("b", 5)):
        run_id = wire.create_run(run_name=name)["info"]["run_id"]
        wire.log_batch(run_id, metrics=[metric("m", step * 10.0, timestamp=step, step=step) for step in range(steps)])
        runs[name] = run_id
    return runs


def bulk_steps(body):
    """{run_id: [steps]} of a get-history-bulk-interval response."""
    out = {}
    for point in body.get("metrics", []):
        assert set(point) == {"key", "value", "timestamp", "step", "run_id"}
        out.setdefault(point["run_id"], []).append(point["step"])
    return out


def test_bulk_interval_reads_repeated_run_ids_and_returns_every_step_in_range(wire, two_step_runs):
    a, b = two_step_runs["a"], two_step_runs["b"]
    body = wire.ok(wire.get("/metrics/get-history-bulk-interval", run_ids=[a, b], metric_key="m"))
    assert bulk_steps(body) == {a: list(range(10)), b: list(range(5))}
    assert list(bulk_steps(body)) == [a, b]  # run by run, in request order


def test_bulk_interval_samples_evenly_keeping_first_and_last_steps(wire, two_step_runs):
    a, b = two_step_runs["a"], two_step_runs["b"]
    body = wire.ok(wire.get("/metrics/get-history-bulk-interval", run_ids=[a, b], metric_key="m", max_results=3))
    assert bulk_steps(body) == {a: [0, 4, 9], b: [0, 4]}
    body = wire.ok(wire.get("/metrics/get-history-bulk-interval", run_ids=[a, b], metric_key="m", max_results=3,
                            start_step=2, end_step=6))
    assert bulk_steps(body) == {a: [2, 4, 6], b: [2, 4]}


def test_bulk_interval_single_run_id_as_one_query_parameter(wire, two_step_runs):
    body = wire.ok(wire.get("/metrics/get-history-bulk-interval", run_ids=two_step_runs["b"], metric_key="m"))
    assert bulk_steps(body) == {two_step_runs["b"]: [0, 1, 2, 3, 4]}


@pytest.mark.parametrize("params, message", [
    ({"metric_key": "m"}, missing("run_ids")),
    ({"run_ids": "RUN"}, missing("metric_key")),
    ({"run_ids": [f"r{i}" for i in range(101)], "metric_key": "m"},
     "GetMetricHistoryBulkInterval request must specify at most 100 run_ids. Received 101 run_ids."),
    ({"run_ids": "RUN", "metric_key": "m", "max_results": 2501}, "max_results must be between 1 and 2500."),
    ({"run_ids": "RUN", "metric_key": "m", "max_results": 0}, "max_results must be between 1 and 2500."),
    ({"run_ids": "RUN", "metric_key": "m", "start_step": 1},
     "If either start step or end step are specified, both must be specified."),
    ({"run_ids": "RUN", "metric_key": "m", "start_step": 5, "end_step": 1},
     "end_step must be greater than start_step. Found start_step=5 and end_step=1."),
])
def test_bulk_interval_bad_requests(wire, two_step_runs, params, message):
    if params.get("run_ids") == "RUN":
        params = {**params, "run_ids": two_step_runs["a"]}
    assert_error(wire.get("/metrics/get-history-bulk-interval", **params), 400, "INVALID_PARAMETER_VALUE", message)


def test_bulk_interval_unknown_run_is_404(wire, two_step_runs):
    assert_error(wire.get("/metrics/get-history-bulk-interval", run_ids=[two_step_runs["a"], "nope"],
                          metric_key="m"), 404, "RESOURCE_DOES_NOT_EXIST", "Run with id=nope not found")
