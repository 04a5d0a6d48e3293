"""MLflow protocol conformance over real HTTP for the model registry
(model_registry.proto: registered models, versions, aliases, the deprecated
stage endpoints old clients use, get-download-uri) and the artifacts service
(mlflow_artifacts.proto: PUT, GET, DELETE, list; and the tracking service's
artifacts/list), as MLflow's Python client sends and reads them."""

import pytest

from mlflow_wire import (AJAX_API, AJAX_ARTIFACTS, ARTIFACTS, MODEL_VERSION_FIELDS, REGISTERED_MODEL_FIELDS, Wire,
                         assert_error, assert_fields, missing)


@pytest.fixture
def wire(server):
    return Wire(server)


def create_model(wire, name="churn", **fields):
    return wire.ok(wire.post("/registered-models/create", {"name": name, **fields}))["registered_model"]


def create_version(wire, name="churn", source="mlflow-artifacts:/0/r/artifacts/model", **fields):
    return wire.ok(wire.post("/model-versions/create", {"name": name, "source": source, **fields}))["model_version"]


def set_alias(wire, alias, version, name="churn"):
    return wire.ok(wire.post("/registered-models/alias", {"name": name, "alias": alias, "version": version}))


# --- Registered models and versions ---

def test_registered_model_has_mlflows_fields_and_types(wire):
    model = create_model(wire, tags=[{"key": "team", "value": "risk"}], description="churn model")
    assert_fields(model, REGISTERED_MODEL_FIELDS)
    assert (model["name"], model["description"]) == ("churn", "churn model")
    assert model["tags"] == [{"key": "team", "value": "risk"}]
    assert model["latest_versions"] == [] and model["aliases"] == []
    assert wire.ok(wire.get("/registered-models/get", name="churn"))["registered_model"] == model


def test_duplicate_and_unknown_models(wire):
    create_model(wire)
    assert_error(wire.post("/registered-models/create", {"name": "churn"}), 400, "RESOURCE_ALREADY_EXISTS",
                 "Registered Model (name=churn) already exists.")
    assert_error(wire.get("/registered-models/get", name="nope"), 404, "RESOURCE_DOES_NOT_EXIST",
                 "Registered Model with name=nope not found")
    assert_error(wire.post("/model-versions/create", {"name": "nope", "source": "s3://b/m"}), 404,
                 "RESOURCE_DOES_NOT_EXIST", "Registered Model with name=nope not found")


def test_model_versions_are_numbered_strings_ready_in_stage_none(wire):
    create_model(wire)
    first = create_version(wire, tags=[{"key": "auc", "value": "0.8"}], description="first")
    assert_fields(first, MODEL_VERSION_FIELDS, absent=["run_id", "run_link", "status_message"])
    assert (first["version"], first["status"], first["current_stage"]) == ("1", "READY", "None")
    assert first["tags"] == [{"key": "auc", "value": "0.8"}] and first["description"] == "first"
    assert create_version(wire)["version"] == "2"
    got = wire.ok(wire.get("/model-versions/get", name="churn", version="1"))["model_version"]
    assert got == first


def test_register_model_from_a_run_as_mlflow_register_model_does(wire):
    run = wire.create_run()["info"]
    create_model(wire)
    # mlflow.register_model("runs:/<id>/model") sends the resolved location with the run id.
    version = create_version(wire, source=run["artifact_uri"] + "/model", run_id=run["run_id"], run_link="")
    assert version["run_id"] == run["run_id"]
    from_uri = create_version(wire, source=f"runs:/{run['run_id']}/model")
    assert (from_uri["source"], from_uri["run_id"]) == (f"runs:/{run['run_id']}/model", run["run_id"])
    for number in ("1", "2"):
        uri = wire.ok(wire.get("/model-versions/get-download-uri", name="churn", version=number))
        assert uri == {"artifact_uri": run["artifact_uri"] + "/model"}
    assert_error(wire.post("/model-versions/create", {"name": "churn", "source": "runs:/nope/model"}), 404,
                 "RESOURCE_DOES_NOT_EXIST", "Run with id=nope not found")


def test_unknown_and_malformed_versions(wire):
    create_model(wire)
    create_version(wire)
    assert_error(wire.get("/model-versions/get", name="churn", version="9"), 404, "RESOURCE_DOES_NOT_EXIST",
                 "Model Version (name=churn, version=9) not found")
    assert_error(wire.get("/model-versions/get-download-uri", name="churn", version="9"), 404,
                 "RESOURCE_DOES_NOT_EXIST")
    assert_error(wire.get("/model-versions/get", name="churn", version="one"), 400, "INVALID_PARAMETER_VALUE",
                 "Parameter 'version' must be an integer, got 'one'.")
    updated = wire.ok(wire.send("PATCH", "/model-versions/update", {"name": "churn", "version": 1,
                                                                     "description": "as a JSON integer"}))
    assert updated["model_version"]["description"] == "as a JSON integer"


@pytest.mark.parametrize("method, endpoint, body, field", [
    ("GET", "/model-versions/get", {"name": "churn", "version": ""}, "version"),
    ("GET", "/registered-models/get", {"name": ""}, "name"),
    ("POST", "/registered-models/alias", {"name": "churn", "alias": "", "version": "1"}, "alias"),
    ("POST", "/model-versions/transition-stage", {"name": "churn", "version": "1", "stage": ""}, "stage"),
    ("POST", "/registered-models/rename", {"name": "churn", "new_name": ""}, "new_name"),
    ("POST", "/model-versions/create", {"name": "churn"}, "source"),
    ("POST", "/model-versions/set-tag", {"name": "churn", "version": "1", "value": "v"}, "key"),
])
def test_empty_or_absent_required_fields_are_missing(wire, method, endpoint, body, field):
    create_model(wire)
    create_version(wire)
    reply = wire.get(endpoint, **body) if method == "GET" else wire.send(method, endpoint, body)
    assert_error(reply, 400, "INVALID_PARAMETER_VALUE", missing(field))


# --- Aliases ---

def test_alias_shapes_on_model_and_version(wire):
    create_model(wire)
    create_version(wire)
    create_version(wire)
    assert set_alias(wire, "champion", "1") == {}
    set_alias(wire, "challenger", 2)
    model = wire.ok(wire.get("/registered-models/get", name="churn"))["registered_model"]
    assert model["aliases"] == [{"alias": "challenger", "version": "2"}, {"alias": "champion", "version": "1"}]
    by_alias = wire.ok(wire.get("/registered-models/alias", name="churn", alias="champion"))["model_version"]
    assert (by_alias["version"], by_alias["aliases"]) == ("1", ["champion"])


def test_setting_an_alias_again_moves_it_and_deleting_is_idempotent(wire):
    create_model(wire)
    create_version(wire)
    create_version(wire)
    set_alias(wire, "champion", "1")
    set_alias(wire, "champion", "2")
    assert wire.ok(wire.get("/registered-models/alias", name="churn", alias="champion"))["model_version"][
        "version"] == "2"
    for _ in range(2):
        assert wire.ok(wire.send("DELETE", "/registered-models/alias", {"name": "churn", "alias": "champion"})) == {}
    # Kiln answers 404 for an unknown alias (MLflow: 400 INVALID_PARAMETER_VALUE, same message).
    assert_error(wire.get("/registered-models/alias", name="churn", alias="champion"), 404,
                 "RESOURCE_DOES_NOT_EXIST", "Registered model alias champion not found.")


@pytest.mark.parametrize("alias, message", [
    ("latest", "'latest' alias name (case insensitive) is reserved."),
    ("V3", "Version alias name 'V3' is reserved."),
    ("best model", "Invalid alias name: 'best model'. Names may only contain alphanumerics, underscores (_), "
                   "and dashes (-)."),
])
def test_reserved_and_malformed_alias_names(wire, alias, message):
    create_model(wire)
    create_version(wire)
    assert_error(wire.post("/registered-models/alias", {"name": "churn", "alias": alias, "version": "1"}), 400,
                 "INVALID_PARAMETER_VALUE", message)


def test_alias_to_an_unknown_version_is_404(wire):
    create_model(wire)
    assert_error(wire.post("/registered-models/alias", {"name": "churn", "alias": "champion", "version": "3"}),
                 404, "RESOURCE_DOES_NOT_EXIST", "Model Version (name=churn, version=3) not found")


# --- Deprecated stages, for old clients ---

def test_transition_stage_and_latest_versions_per_stage(wire):
    create_model(wire)
    for _ in range(3):
        create_version(wire)
    moved = wire.ok(wire.post("/model-versions/transition-stage", {"name": "churn", "version": "1",
                                                                    "stage": "production",
                                                                    "archive_existing_versions": False}))
    assert moved["model_version"]["current_stage"] == "Production"
    wire.ok(wire.post("/model-versions/transition-stage", {"name": "churn", "version": "2", "stage": "Production",
                                                           "archive_existing_versions": True}))
    latest = wire.ok(wire.get("/registered-models/get", name="churn"))["registered_model"]["latest_versions"]
    assert {(v["current_stage"], v["version"]) for v in latest} == {("Archived", "1"), ("Production", "2"),
                                                                    ("None", "3")}
    posted = wire.ok(wire.post("/registered-models/get-latest-versions", {"name": "churn", "stages": ["Production"]}))
    assert [v["version"] for v in posted["model_versions"]] == ["2"]
    queried = wire.ok(wire.get("/registered-models/get-latest-versions", name="churn", stages=["None", "Archived"]))
    assert sorted(v["version"] for v in queried["model_versions"]) == ["1", "3"]


def test_bad_stage_names_are_invalid_parameter_value(wire):
    create_model(wire)
    create_version(wire)
    message = "Invalid Model Version stage: Live. Value must be one of None, Staging, Production, Archived."
    assert_error(wire.post("/model-versions/transition-stage", {"name": "churn", "version": "1", "stage": "Live"}),
                 400, "INVALID_PARAMETER_VALUE", message)
    assert_error(wire.post("/registered-models/get-latest-versions", {"name": "churn", "stages": ["Live"]}), 400,
                 "INVALID_PARAMETER_VALUE", message)


# --- Search, update, rename, tags, delete ---

def test_search_registered_models_pages_and_filters(wire):
    for name in ("churn-a", "churn-b", "fraud"):
        create_model(wire, name)
    first = wire.ok(wire.get("/registered-models/search", filter="name LIKE 'churn%'", max_results=1))
    assert [m["name"] for m in first["registered_models"]] == ["churn-a"]
    second = wire.ok(wire.get("/registered-models/search", filter="name LIKE 'churn%'", max_results=1,
                              page_token=first["next_page_token"]))
    assert [m["name"] for m in second["registered_models"]] == ["churn-b"]
    assert "next_page_token" not in second
    ordered = wire.ok(wire.get("/registered-models/search", order_by=["name DESC"]))
    assert [m["name"] for m in ordered["registered_models"]] == ["fraud", "churn-b", "churn-a"]
    assert_error(wire.get("/registered-models/search", max_results=1001), 400, "INVALID_PARAMETER_VALUE",
                 contains="1000")


def test_search_registered_models_returns_100_per_page_by_default(wire):
    for i in range(101):
        create_model(wire, f"m{i:03d}")
    first = wire.ok(wire.get("/registered-models/search"))
    assert len(first["registered_models"]) == 100 and first["registered_models"][0]["name"] == "m000"
    rest = wire.ok(wire.get("/registered-models/search", page_token=first["next_page_token"]))
    assert [m["name"] for m in rest["registered_models"]] == ["m100"] and "next_page_token" not in rest


def test_search_model_versions_by_name_and_run(wire):
    run_id = wire.create_run()["info"]["run_id"]
    create_model(wire)
    create_version(wire)
    create_version(wire, source=f"runs:/{run_id}/model")
    by_name = wire.ok(wire.get("/model-versions/search", filter="name = 'churn'"))["model_versions"]
    assert sorted(v["version"] for v in by_name) == ["1", "2"]
    by_run = wire.ok(wire.get("/model-versions/search", filter=f"run_id = '{run_id}'"))["model_versions"]
    assert [v["version"] for v in by_run] == ["2"]
    assert_error(wire.get("/model-versions/search", max_results=200001), 400, "INVALID_PARAMETER_VALUE",
                 contains="200000")


def test_update_descriptions_and_rename_carries_versions(wire):
    create_model(wire)
    create_version(wire)
    updated = wire.ok(wire.send("PATCH", "/registered-models/update", {"name": "churn", "description": "d"}))
    assert updated["registered_model"]["description"] == "d"
    renamed = wire.ok(wire.post("/registered-models/rename", {"name": "churn", "new_name": "attrition"}))
    assert renamed["registered_model"]["name"] == "attrition"
    assert wire.ok(wire.get("/model-versions/get", name="attrition", version="1"))["model_version"][
        "name"] == "attrition"
    assert_error(wire.get("/registered-models/get", name="churn"), 404, "RESOURCE_DOES_NOT_EXIST")
    create_model(wire, "fraud")
    assert_error(wire.post("/registered-models/rename", {"name": "fraud", "new_name": "attrition"}), 400,
                 "RESOURCE_ALREADY_EXISTS")


def test_tags_on_models_and_versions(wire):
    create_model(wire)
    create_version(wire)
    wire.ok(wire.post("/registered-models/set-tag", {"name": "churn", "key": "team", "value": "risk"}))
    wire.ok(wire.post("/model-versions/set-tag", {"name": "churn", "version": "1", "key": "auc", "value": "0.8"}))
    assert wire.ok(wire.get("/registered-models/get", name="churn"))["registered_model"]["tags"] == [
        {"key": "team", "value": "risk"}]
    assert wire.ok(wire.get("/model-versions/get", name="churn", version="1"))["model_version"]["tags"] == [
        {"key": "auc", "value": "0.8"}]
    for _ in range(2):  # deleting an absent tag is not an error
        wire.ok(wire.send("DELETE", "/registered-models/delete-tag", {"name": "churn", "key": "team"}))
        wire.ok(wire.send("DELETE", "/model-versions/delete-tag", {"name": "churn", "version": "1", "key": "auc"}))
    assert_error(wire.post("/registered-models/set-tag", {"name": "churn", "key": "k", "value": "v" * 5001}), 400,
                 "INVALID_PARAMETER_VALUE", contains="5000")
    assert_error(wire.post("/model-versions/set-tag", {"name": "churn", "version": "7", "key": "k", "value": "v"}),
                 404, "RESOURCE_DOES_NOT_EXIST")


def test_deleting_versions_and_models_with_json_bodies(wire):
    create_model(wire)
    create_version(wire)
    create_version(wire)
    set_alias(wire, "champion", "2")
    assert wire.ok(wire.send("DELETE", "/model-versions/delete", {"name": "churn", "version": "2"})) == {}
    assert_error(wire.send("DELETE", "/model-versions/delete", {"name": "churn", "version": "2"}), 404,
                 "RESOURCE_DOES_NOT_EXIST")
    assert wire.ok(wire.get("/registered-models/get", name="churn"))["registered_model"]["aliases"] == []
    assert create_version(wire)["version"] == "3"  # a deleted number is never handed out again
    assert wire.ok(wire.send("DELETE", "/registered-models/delete", {"name": "churn"})) == {}
    assert_error(wire.send("DELETE", "/registered-models/delete", {"name": "churn"}), 404, "RESOURCE_DOES_NOT_EXIST")


REGISTRY_ENDPOINTS = [
    ("POST", "/registered-models/create"), ("GET", "/registered-models/get"), ("POST", "/registered-models/rename"),
    ("PATCH", "/registered-models/update"), ("DELETE", "/registered-models/delete"),
    ("GET", "/registered-models/search"), ("POST", "/registered-models/get-latest-versions"),
    ("GET", "/registered-models/get-latest-versions"), ("POST", "/registered-models/set-tag"),
    ("DELETE", "/registered-models/delete-tag"), ("POST", "/registered-models/alias"),
    ("DELETE", "/registered-models/alias"), ("GET", "/registered-models/alias"), ("POST", "/model-versions/create"),
    ("GET", "/model-versions/get"), ("PATCH", "/model-versions/update"), ("POST", "/model-versions/transition-stage"),
    ("DELETE", "/model-versions/delete"), ("GET", "/model-versions/search"),
    ("GET", "/model-versions/get-download-uri"), ("POST", "/model-versions/set-tag"),
    ("DELETE", "/model-versions/delete-tag"),
]


@pytest.mark.parametrize("method, endpoint", REGISTRY_ENDPOINTS)
def test_every_registry_endpoint_is_served_under_both_prefixes(server, method, endpoint):
    answers = []
    for prefix in ("/api/2.0/mlflow", AJAX_API):
        client = Wire(server, prefix)
        status, body = client.get(endpoint) if method == "GET" else client.send(method, endpoint, {})
        assert status != 405, body
        assert status != 404 or body["error_code"] != "ENDPOINT_NOT_FOUND", body
        answers.append((status, body))
    assert answers[0] == answers[1]


# --- Artifacts ---

def put(server, path, data, prefix=ARTIFACTS):
    return server.request("PUT", f"{prefix}/{path}", raw=data, headers={"Content-Type": "application/octet-stream"})


def download(server, path, prefix=ARTIFACTS):
    conn = server.connection()
    try:
        conn.request("GET", f"{prefix}/{path}")
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


@pytest.fixture
def run_root(wire):
    """A run's artifact_uri and its path in the artifact store."""
    uri = wire.create_run()["info"]["artifact_uri"]
    assert uri.startswith("mlflow-artifacts:/")
    return uri, uri[len("mlflow-artifacts:/"):]


def test_upload_download_and_list_as_the_http_artifact_repository_does(server, run_root):
    _, root = run_root
    assert put(server, f"{root}/model/MLmodel", "flavors: {}\n") == (200, {})
    assert put(server, f"{root}/metrics.json", '{"auc": 0.8}') == (200, {})
    status, headers, content = download(server, f"{root}/model/MLmodel")
    assert (status, content) == (200, b"flavors: {}\n")
    assert headers["Content-Disposition"] == 'attachment; filename="MLmodel"'
    assert headers["X-Content-Type-Options"] == "nosniff"
    status, listed = server.request("GET", f"{ARTIFACTS}?path={root}")
    assert status == 200
    assert listed == {"files": [{"path": "metrics.json", "is_dir": False, "file_size": 12},
                                {"path": "model", "is_dir": True}]}
    assert server.request("GET", f"{ARTIFACTS}?path={root}/model")[1] == {
        "files": [{"path": "MLmodel", "is_dir": False, "file_size": 12}]}
    assert server.request("GET", f"{ARTIFACTS}?path={root}/nothing")[1] == {"files": []}


def test_run_artifact_listing_is_relative_to_the_run_root(wire, server, run_root):
    uri, root = run_root
    run_id = root.split("/")[1]
    put(server, f"{root}/model/MLmodel", "x")
    assert wire.ok(wire.get("/artifacts/list", run_id=run_id)) == {
        "root_uri": uri, "files": [{"path": "model", "is_dir": True}]}
    assert wire.ok(wire.get("/artifacts/list", run_uuid=run_id, path="model")) == {
        "root_uri": uri, "files": [{"path": "model/MLmodel", "is_dir": False, "file_size": 1}]}
    assert_error(wire.get("/artifacts/list", run_id="nope"), 404, "RESOURCE_DOES_NOT_EXIST")
    assert_error(wire.get("/artifacts/list"), 400, "INVALID_PARAMETER_VALUE", missing("run_id"))
    assert_error(wire.get("/artifacts/list", run_id=run_id, path="../x"), 400, "INVALID_PARAMETER_VALUE")


def test_artifact_errors_in_mlflow_shape(server, run_root):
    _, root = run_root
    put(server, f"{root}/model/MLmodel", "x")
    assert_error(server.request("GET", f"{ARTIFACTS}/{root}/absent.txt"), 404, "RESOURCE_DOES_NOT_EXIST")
    assert_error(server.request("GET", f"{ARTIFACTS}/{root}/model"), 400, "INVALID_PARAMETER_VALUE",
                 contains="is a directory")
    assert_error(put(server, "../outside.txt", "x"), 400, "INVALID_PARAMETER_VALUE",
                 contains="'.' and '..' segments are not allowed")
    assert_error(server.request("GET", f"{ARTIFACTS}?path=../etc"), 400, "INVALID_PARAMETER_VALUE")


def test_delete_removes_files_and_directories_and_absent_paths_are_not_an_error(server, run_root):
    _, root = run_root
    put(server, f"{root}/model/MLmodel", "x")
    put(server, f"{root}/keep.txt", "y")
    assert server.request("DELETE", f"{ARTIFACTS}/{root}/model") == (200, {})
    assert download(server, f"{root}/model/MLmodel")[0] == 404
    assert download(server, f"{root}/keep.txt")[2] == b"y"
    # MLflow's artifact repositories skip absent paths; mlflow gc deletes every deleted run's artifacts.
    assert server.request("DELETE", f"{ARTIFACTS}/{root}/model") == (200, {})
    assert server.request("DELETE", f"{ARTIFACTS}/{root}/never-logged") == (200, {})


def test_artifacts_are_served_under_the_ajax_prefix_too(server, run_root):
    _, root = run_root
    assert put(server, f"{root}/a.txt", "hello", prefix=AJAX_ARTIFACTS) == (200, {})
    assert download(server, f"{root}/a.txt")[2] == b"hello"
    assert server.request("GET", f"{AJAX_ARTIFACTS}?path={root}")[1] == {
        "files": [{"path": "a.txt", "is_dir": False, "file_size": 5}]}
    assert server.request("DELETE", f"{AJAX_ARTIFACTS}/{root}/a.txt") == (200, {})
