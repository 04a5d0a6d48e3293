"""The feature store through its front doors: the CLI (plan, apply,
materialize), the HTTP API and the Python client (training sets, online
reads, push, quarantine), on both online stores (RocksDB in the data
directory; Redis when scripts/with-redis exported KILN_TEST_REDIS_URI) and
both metadata stores."""

import csv
import datetime as dt
import json
import os
import sys
import uuid

import pytest

from server_harness import REPO, KilnServer, run_kiln

sys.path.insert(0, os.path.join(REPO, "python"))
from kiln import FeatureStoreClient, KilnClient, KilnError  # noqa: E402

REDIS_URI = os.environ.get("KILN_TEST_REDIS_URI", "")
ONLINE_STORES = ["rocksdb"] + (["redis"] if REDIS_URI else [])

NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0, second=0)


def iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def hours_ago(hours):
    return NOW - dt.timedelta(hours=hours)


# Flights landed: (origin, destination, landed, delay). ORD has recent
# flights, SFO only flights older than the 1-day TTL of the row view.
EVENTS = [
    ("ORD", "LGA", hours_ago(30), 10),
    ("ORD", "LGA", hours_ago(5), 40),
    ("ORD", "BOS", hours_ago(3), -5),
    ("ORD", "LGA", hours_ago(1), 20),
    ("SFO", "LAX", hours_ago(50), 7),
    ("SFO", "LAX", hours_ago(49), 9),
]

DEFINITIONS = {
    "feature_store.yaml": "project: {project}\n",
    "sources.yaml": """
sources:
  - name: landed
    kind: csv
    path: events.csv
    timestamp_field: landed
    columns: {{delay: int64}}
  - name: live
    kind: push
    batch_source: landed
    timestamp_field: landed
    columns: {{origin: string, destination: string, landed: timestamp, delay: int64}}
""",
    "entities.yaml": """
entities:
  - name: airport
    join_keys: [origin]
  - name: route
    join_keys: [origin, destination]
""",
    "views.yaml": """
feature_views:
  - name: airport_stats
    entities: [airport]
    source: landed
    ttl: 7d
    features:
      - name: flights_1d
        aggregation: {{function: count, window: 1d}}
      - name: delay_mean_1d
        aggregation: {{function: mean, column: delay, window: 1d}}
  - name: route_last
    entities: [route]
    source: live
    ttl: 1d
    features:
      - name: last_delay
        expression: delay
        expect: {{min: -60, max: 600}}
      - name: late
        expression: delay > 15
""",
    "on_demand.yaml": """
on_demand_views:
  - name: request_time
    request: {{departure: timestamp}}
    features:
      - name: hour_of_day
        expression: hour(departure)
      - name: delay_per_flight
        expression: airport_stats.delay_mean_1d / airport_stats.flights_1d
""",
    "services.yaml": """
feature_services:
  - name: delays
    features: [airport_stats.*, route_last.last_delay, request_time.hour_of_day]
""",
}


def write_repository(directory, project, events=EVENTS):
    os.makedirs(directory, exist_ok=True)
    for name, text in DEFINITIONS.items():
        with open(os.path.join(directory, name), "w") as out:
            out.write(text.format(project=project))
    with open(os.path.join(directory, "events.csv"), "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["origin", "destination", "landed", "delay"])
        for origin, destination, landed, delay in events:
            writer.writerow([origin, destination, iso(landed), delay])
    return directory


@pytest.fixture(params=ONLINE_STORES)
def online_store(request):
    if request.param == "rocksdb":
        return ""
    return REDIS_URI.rstrip("/") + "/" + str(uuid.uuid4().int % 15 + 1)


@pytest.fixture
def feature_server(tmp_path, store_uri, online_store):
    args = ["--online", online_store] if online_store else []
    instance = KilnServer(str(tmp_path / "data"), store=store_uri, extra_args=args)
    project = "p" + uuid.uuid4().hex[:8]
    repository = write_repository(str(tmp_path / "repo"), project)
    yield instance, project, repository
    assert instance.stop() == 0


def client_for(server, project):
    return FeatureStoreClient(KilnClient(server.url), project=project)


def apply(server, repository):
    return run_kiln("features", "apply", repository, "--server", server.url)


def test_plan_then_apply_then_plan_again_shows_no_changes(feature_server):
    server, project, repository = feature_server
    plan = json.loads(run_kiln("features", "plan", repository, "--server", server.url, "--json").stdout)
    assert plan["current_version"] == 0
    assert {(c["kind"], c["name"], c["change"]) for c in plan["changes"]} >= {
        ("feature view", "airport_stats", "added"), ("feature service", "delays", "added")}
    applied = apply(server, repository)
    assert "is now at version 1" in applied.stdout
    again = run_kiln("features", "plan", repository, "--server", server.url)
    assert "no changes" in again.stdout


def test_breaking_change_is_named_in_the_plan(feature_server):
    server, project, repository = feature_server
    apply(server, repository)
    views = os.path.join(repository, "views.yaml")
    with open(views) as f:
        text = f.read()
    with open(views, "w") as f:
        f.write(text.replace("expression: delay > 15\n", "expression: delay > 30\n"))
    plan = json.loads(run_kiln("features", "plan", repository, "--server", server.url, "--json").stdout)
    changed = [c for c in plan["changes"] if c["change"] == "changed"]
    assert any(c["breaking"] for c in changed), plan


def test_invalid_definitions_are_refused_with_file_and_line(feature_server):
    server, project, repository = feature_server
    views = os.path.join(repository, "views.yaml")
    with open(views) as f:
        text = f.read()
    with open(views, "w") as f:
        f.write(text.replace("expression: delay > 15", "expression: delai > 15"))
    result = run_kiln("features", "apply", repository, "--server", server.url, check=False)
    assert result.returncode == 1
    assert "views.yaml:" in result.stderr
    assert "unknown column 'delai'" in result.stderr
    # Nothing was applied.
    status, body = server.request("GET", f"/api/features/views?project={project}")
    assert status == 404, body


def test_training_set_is_point_in_time_correct_and_recorded_on_the_run(feature_server):
    server, project, repository = feature_server
    apply(server, repository)
    client = KilnClient(server.url)
    features = FeatureStoreClient(client, project=project)
    run = client.create_run(client.project_id("delays"))
    run_id = run["info"]["run_id"]
    entities = [
        {"origin": "ORD", "destination": "LGA", "departure": iso(hours_ago(2)), "delay": 25},
        {"origin": "ORD", "destination": "LGA", "departure": iso(hours_ago(31)), "delay": 0},
        {"origin": "XXX", "destination": "LGA", "departure": iso(hours_ago(2)), "delay": 3},
    ]
    info = features.training_set("delays", entities=entities, timestamp_column="departure",
                                 labels=["delayed = delay > 15"], run_id=run_id, name="train")
    assert info["rows"] == 3
    # Entity columns first (JSON objects carry no order: they come sorted), then features.
    assert sorted(info["columns"][:4]) == ["delayed", "departure", "destination", "origin"]
    assert info["columns"][4:7] == ["airport_stats.flights_1d", "airport_stats.delay_mean_1d",
                                    "route_last.last_delay"]
    path = features.download_training_set(info, os.path.join(server.data_dir, "..", "train.csv"))
    with open(path) as f:
        rows = list(csv.DictReader(f))
    first, second, missing = rows
    # Two hours ago ORD had seen the flights landed 30 h (outside 1 d) and 5 h and 3 h ago.
    assert first["airport_stats.flights_1d"] == "2"
    assert float(first["airport_stats.delay_mean_1d"]) == pytest.approx((40 - 5) / 2)
    assert first["route_last.last_delay"] == "40"
    assert first["request_time.hour_of_day"] == str(hours_ago(2).hour)
    assert first["delayed"] == "true"
    # 31 hours ago nothing had landed yet: counts are 0, the rest null.
    assert second["airport_stats.flights_1d"] == "0"
    assert second["airport_stats.delay_mean_1d"] == ""
    assert second["route_last.last_delay"] == ""
    assert missing["route_last.last_delay"] == ""
    # Same inputs, same bytes, same digest: the data version.
    again = features.training_set("delays", entities=entities, timestamp_column="departure",
                                  labels=["delayed = delay > 15"])
    assert again["digest"] == info["digest"]
    inputs = client.get_run(run_id)["inputs"]["dataset_inputs"]
    # MLflow caps a dataset digest at 36 characters; the source names the whole one.
    assert inputs[0]["dataset"]["digest"] == info["digest"][:36]
    assert info["digest"] in inputs[0]["dataset"]["source"]
    assert inputs[0]["dataset"]["name"] == "train"


def test_materialize_then_online_reads_report_every_status(feature_server):
    server, project, repository = feature_server
    apply(server, repository)
    run_kiln("features", "materialize", "--server", server.url, "--project", project, "--end", iso(NOW))
    features = client_for(server, project)
    answer = features.get_online_features(
        "delays", {"origin": ["ORD", "SFO", "XXX"], "destination": ["LGA", "LAX", "LGA"],
                   "departure": [iso(NOW)] * 3})
    statuses = answer.statuses()
    values = answer.to_dict()
    assert answer.feature_names[:2] == ["origin", "destination"]
    assert statuses["route_last.last_delay"] == ["PRESENT", "OUTSIDE_MAX_AGE", "NOT_FOUND"]
    assert values["route_last.last_delay"] == [20, None, None]
    # The airport view keeps 7 days: SFO's 2-day-old counts are served.
    assert values["airport_stats.flights_1d"][0] == 3
    assert statuses["airport_stats.flights_1d"][1] == "PRESENT"
    assert statuses["airport_stats.delay_mean_1d"][1] == "NULL_VALUE"  # no flight in the last day
    assert values["request_time.hour_of_day"] == [NOW.hour] * 3


def test_push_updates_online_and_offline_and_quarantines_bad_rows(feature_server):
    server, project, repository = feature_server
    apply(server, repository)
    features = client_for(server, project)
    result = features.push("live", {"origin": ["ORD", "ORD"], "destination": ["LGA", "BOS"],
                                    "landed": [iso(NOW), iso(NOW)], "delay": [55, 9999]},
                           to="online_and_offline")
    assert result["rows_received"] == 2
    assert result["rows_quarantined"] == 1
    assert "9999" in result["quarantine_reasons"][0] and "600" in result["quarantine_reasons"][0]
    assert result["rows_written_offline"] == 1
    online = features.get_online_features(features=["route_last.last_delay", "route_last.late"],
                                          entities={"origin": ["ORD", "ORD"], "destination": ["LGA", "BOS"]})
    assert online.to_dict()["route_last.last_delay"] == [55, None]
    assert online.to_dict()["route_last.late"] == [True, None]
    quarantined = features.quarantine()
    assert len(quarantined) == 1 and quarantined[0]["origin"] == "push"
    # The offline push is visible to training sets.
    info = features.training_set(features=["route_last.last_delay"], timestamp_column="at",
                                 entities={"origin": ["ORD"], "destination": ["LGA"],
                                           "at": [iso(NOW + dt.timedelta(minutes=1))]})
    path = features.download_training_set(info, os.path.join(server.data_dir, "..", "pushed.csv"))
    with open(path) as f:
        assert list(csv.DictReader(f))[0]["route_last.last_delay"] == "55"


def test_bad_requests_get_clear_errors(feature_server):
    server, project, repository = feature_server
    apply(server, repository)
    status, body = server.request("POST", "/api/features/online", {
        "project": project, "feature_service": "delays", "entities": {"origin": [17]}})
    assert status == 400 and "entities.origin[0]: expected a string, got 17" in body["message"]
    status, body = server.request("POST", "/api/features/online", {
        "project": project, "feature_service": "nope", "entities": {"origin": ["ORD"]}})
    assert status == 404 and "nope" in body["message"]
    status, body = server.request("POST", "/api/features/online", {
        "project": project, "features": ["airport_stats.nope"], "entities": {"origin": ["ORD"]}})
    assert status in (400, 404) and "nope" in body["message"]
    status, body = server.request("POST", "/api/features/online", raw="{not json")
    assert status == 400 and "malformed JSON" in body["message"]
    status, body = server.request("POST", "/api/features/push", {
        "project": project, "push_source_name": "live", "df": {"origin": ["ORD"], "delay": ["late"]}})
    assert status == 400 and "delay" in body["message"]
    status, body = server.request("POST", "/api/features/training-set", {
        "project": project, "feature_service": "delays", "entities_file": "/etc/passwd"})
    # The test server runs with auth off on loopback: the role check applies to tokens,
    # and a file that is not CSV entity rows is refused by the reader.
    assert status in (400, 403, 404), body
    with pytest.raises(KilnError) as error:
        client_for(server, project).training_set("delays", entities={"origin": ["ORD"]},
                                                 timestamp_column="departure")
    assert "departure" in str(error.value)


def test_cli_training_set_over_http_writes_the_csv(feature_server, tmp_path):
    server, project, repository = feature_server
    apply(server, repository)
    entities = tmp_path / "entities.csv"
    entities.write_text("origin,destination,departure,delay\n"
                        f"ORD,LGA,{iso(hours_ago(2))},25\nSFO,LAX,{iso(hours_ago(2))},0\n")
    output = tmp_path / "train.csv"
    result = run_kiln("features", "training-set", "--server", server.url, "--project", project,
                      "--service", "delays", "--entities", str(entities), "--timestamp-column", "departure",
                      "--label", "delayed = delay > 15", "--output", str(output))
    assert "rows          2" in result.stdout
    with open(output) as f:
        rows = list(csv.DictReader(f))
    assert [row["delayed"] for row in rows] == ["true", "false"]
    assert rows[0]["route_last.last_delay"] == "40"
    bad = run_kiln("features", "training-set", "--server", server.url, "--project", project,
                   "--service", "delays", "--entities", str(tmp_path / "missing.csv"), check=False)
    assert bad.returncode == 1 and "missing.csv" in bad.stderr
