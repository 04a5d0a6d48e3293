// FeatureRegistry: plan and apply of feature repositories, versions of
// repositories and feature services, run against SQLite (a fresh file per
// test) and, when KILN_TEST_POSTGRES_URI is set (scripts/with-postgres),
// against PostgreSQL (the public schema recreated per test).
#include "features/features_testing.h"
#include "features/feature_registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "common/hashing.h"
#include "features/definition_json.h"
#include "features/definition_loader.h"
#include "features/migrations.h"
#include "features/source_schema.h"
#include "storage/postgres_test_schema.h"

namespace kiln::features {
namespace {

using testing_support::Value;

namespace fs = std::filesystem;
using ::testing::ElementsAre;

constexpr char kFlightsCsv[] =
    "departure,origin,dest,delay,distance\n"
    "2001-01-01T08:00:00,ORD,JFK,5,740\n"
    "2001-01-01T09:30:00,ORD,LAX,-3,1744\n";

constexpr char kRepositoryYaml[] = R"yaml(project: flights
sources:
  - name: flights
    kind: csv
    path: flights.csv
    timestamp_field: departure
entities:
  - name: airport
    join_keys: [origin]
feature_views:
  - name: origin_delays
    entities: [airport]
    source: flights
    ttl: 7d
    features:
      - name: delay_mean_1d
        aggregation: {function: mean, column: delay, window: 1d}
      - name: delay_double
        expression: "delay * 2"
  - name: origin_extra
    entities: [airport]
    source: flights
    online: false
    features:
      - name: distance_km
        expression: "distance * 1.609"
on_demand_views:
  - name: request_time
    request: {departure: timestamp}
    features:
      - name: hour_of_day
        expression: "hour(departure)"
feature_services:
  - name: delay_model
    features: [origin_delays.*, request_time.hour_of_day]
  - name: extra_model
    features: [origin_extra.distance_km]
)yaml";

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  if (at == std::string::npos) throw std::runtime_error("test YAML lacks: " + from);
  return text.replace(at, from.size(), to);
}

std::vector<std::string> Backends() {
  std::vector<std::string> backends = {"sqlite"};
  if (std::getenv("KILN_TEST_POSTGRES_URI") != nullptr) backends.push_back("postgres");
  return backends;
}

class FeatureRegistryTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    directory_ = fs::temp_directory_path() / ("kiln-defs-registry-" + IdGenerator().RandomHex(8));
    fs::create_directories(directory_ / "repo");
    std::ofstream(directory_ / "repo" / "flights.csv") << kFlightsCsv;
    storage::DatabaseOptions options;
    options.pool_size = 4;
    options.durable_commits = false;
    if (GetParam() == "postgres") {
      schema_ = std::make_unique<storage::PostgresTestSchema>(std::getenv("KILN_TEST_POSTGRES_URI"));
      ASSERT_TRUE(schema_->ok()) << schema_->error();
      options.uri = schema_->uri();
      database_ = Value(storage::Database::Open(options));
    } else {
      options.uri = "sqlite:" + (directory_ / "kiln.db").string();
      database_ = Value(storage::Database::Open(options));
    }
    ASSERT_TRUE(database_->Migrate({&Migrations()}).ok());
    registry_ = std::make_unique<FeatureRegistry>(*database_, clock_);
  }

  void TearDown() override {
    registry_.reset();
    database_.reset();
    schema_.reset();
    fs::remove_all(directory_);
  }

  std::shared_ptr<const Repository> Build(const std::string& yaml) {
    std::ofstream(directory_ / "repo" / "repo.yaml", std::ios::trunc) << yaml;
    RepositoryDef def = Value(LoadRepositoryDir((directory_ / "repo").string()));
    return Value(Repository::Build(std::move(def), DefaultSchemaResolver((directory_ / "repo").string())));
  }

  ApplyResult Apply(const std::string& yaml, const std::string& who = "alice") {
    return Value(registry_->Apply(*Build(yaml), ApplyOptions{who, std::nullopt}));
  }

  int64_t CountRows(const std::string& sql) {
    auto connection = Value(database_->Acquire());
    return Value(connection->Query(sql))[0].Int(0);
  }

  Status Execute(const std::string& sql, const std::vector<storage::SqlValue>& params = {}) {
    auto connection = Value(database_->Acquire());
    return connection->Execute(sql, params).status();
  }

  FakeClock clock_{1'700'000'000'000};
  fs::path directory_;
  std::unique_ptr<storage::PostgresTestSchema> schema_;  // PostgreSQL only
  std::unique_ptr<storage::Database> database_;
  std::unique_ptr<FeatureRegistry> registry_;
};

std::vector<std::string> ServiceFeatureNames(const ServiceVersion& version) {
  std::vector<std::string> names;
  for (const ServiceFeature& feature : version.features) {
    names.push_back(feature.name + ":" + std::string(data::TypeName(feature.type)));
  }
  return names;
}

TEST_P(FeatureRegistryTest, FirstApplyStoresVersionOneAndServiceVersions) {
  auto repository = Build(kRepositoryYaml);
  ApplyPlan plan = Value(registry_->Plan(*repository));
  EXPECT_EQ(plan.base_version, 0);
  EXPECT_FALSE(plan.breaking());
  EXPECT_EQ(FormatPlan(plan),
            "+ source flights: source 'flights' added\n"
            "+ entity airport: entity 'airport' added\n"
            "+ feature view origin_delays: feature view 'origin_delays' added\n"
            "+ feature view origin_extra: feature view 'origin_extra' added\n"
            "+ on-demand view request_time: on-demand view 'request_time' added\n"
            "+ feature service delay_model: feature service 'delay_model' added\n"
            "+ feature service extra_model: feature service 'extra_model' added");

  ApplyResult result = Value(registry_->Apply(*repository, ApplyOptions{"alice", 0}));
  EXPECT_TRUE(result.applied);
  EXPECT_EQ(result.version, 1);
  EXPECT_EQ(result.plan.digest, plan.digest);
  ASSERT_EQ(result.new_service_versions.size(), 2u);
  EXPECT_EQ(result.new_service_versions[0].service, "delay_model");
  EXPECT_EQ(result.new_service_versions[0].version, 1);
  EXPECT_THAT(ServiceFeatureNames(result.new_service_versions[0]),
              ElementsAre("origin_delays.delay_mean_1d:float64", "origin_delays.delay_double:int64",
                          "request_time.hour_of_day:int64"));

  ServiceVersion service = Value(registry_->GetService("flights", "extra_model"));
  EXPECT_EQ(service.version, 1);
  EXPECT_EQ(service.repository_version, 1);
  EXPECT_EQ(service.created_at_millis, 1'700'000'000'000);
  EXPECT_THAT(ServiceFeatureNames(service), ElementsAre("origin_extra.distance_km:float64"));

  std::vector<RepositoryVersion> versions = Value(registry_->ListVersions("flights"));
  ASSERT_EQ(versions.size(), 1u);
  EXPECT_EQ(versions[0].applied_by, "alice");
  EXPECT_EQ(versions[0].created_at_millis, 1'700'000'000'000);
  auto connection = Value(database_->Acquire());
  storage::Rows stored =
      Value(connection->Query("SELECT definition, digest FROM feature_repository_versions WHERE project = "
                              "'flights' AND version = 1"));
  EXPECT_EQ(stored[0].String(0), CanonicalRepositoryJson(repository->def()));
  EXPECT_EQ(stored[0].String(1), Sha256Hex(stored[0].String(0)));
  EXPECT_EQ(versions[0].digest, stored[0].String(1));
}

TEST_P(FeatureRegistryTest, ApplyingIdenticalDefinitionsIsANoOp) {
  Apply(kRepositoryYaml);
  clock_.Advance(1000);
  // Comments and layout are not definitions.
  ApplyResult again = Apply(std::string("# the flights repository\n\n") + kRepositoryYaml, "bob");
  EXPECT_FALSE(again.applied);
  EXPECT_EQ(again.version, 1);
  EXPECT_EQ(again.plan.base_version, 1);
  EXPECT_EQ(FormatPlan(again.plan), "no changes");
  EXPECT_TRUE(again.new_service_versions.empty());
  EXPECT_EQ(Value(registry_->ListVersions("flights")).size(), 1u);
  EXPECT_EQ(CountRows("SELECT COUNT(*) FROM feature_service_versions"), 2);
}

TEST_P(FeatureRegistryTest, PlanShowsAddedChangedAndRemovedWithBreakingReasons) {
  Apply(kRepositoryYaml);
  std::string next = Replace(kRepositoryYaml, "ttl: 7d", "ttl: 1d");
  next = Replace(next, "expression: \"delay * 2\"",
                 "expression: \"delay * 2.5\"\n      - name: delay_max_1d\n"
                 "        aggregation: {function: max, column: delay, window: 1d}");
  next = Replace(next,
                 "  - name: origin_extra\n    entities: [airport]\n    source: flights\n    online: false\n"
                 "    features:\n      - name: distance_km\n        expression: \"distance * 1.609\"\n",
                 "");
  next = Replace(next, "features: [origin_extra.distance_km]", "features: [origin_delays.delay_mean_1d]");
  next = Replace(next, "entities:\n  - name: airport\n",
                 "entities:\n  - name: route\n    join_keys: [origin, dest]\n  - name: airport\n");

  ApplyPlan plan = Value(registry_->Plan(*Build(next)));
  EXPECT_EQ(plan.base_version, 1);
  EXPECT_TRUE(plan.breaking());
  EXPECT_EQ(
      FormatPlan(plan),
      "+ entity route: entity 'route' added\n"
      "~ feature view origin_delays (breaking): feature view 'origin_delays' ttl changed 1w → 1d; "
      "feature view 'origin_delays' must be materialized again before online reads return its new values\n"
      "- feature view origin_extra (breaking): feature view 'origin_extra' removed while feature service "
      "'extra_model' uses it\n"
      "~ feature origin_delays.delay_double (breaking): feature 'delay_double' changed type int64 → float64; "
      "feature 'delay_double' expression changed 'delay * 2' → 'delay * 2.5'\n"
      "+ feature origin_delays.delay_max_1d: feature 'delay_max_1d' added\n"
      "~ feature service delay_model (breaking): feature service 'delay_model': "
      "'origin_delays.delay_double' changed type int64 → float64; feature service 'delay_model' now also "
      "serves 'origin_delays.delay_max_1d'\n"
      "~ feature service extra_model (breaking): feature service 'extra_model' no longer serves "
      "'origin_extra.distance_km'; feature service 'extra_model' now also serves "
      "'origin_delays.delay_mean_1d'");
  ASSERT_EQ(plan.changes.size(), 7u);
  EXPECT_EQ(plan.changes[2].kind, ObjectKind::kFeatureView);
  EXPECT_EQ(plan.changes[2].change, ChangeType::kRemoved);
  EXPECT_TRUE(plan.changes[2].breaking);
  EXPECT_FALSE(plan.changes[4].breaking);

  ApplyResult result = Apply(next);
  EXPECT_EQ(result.version, 2);
  EXPECT_EQ(FormatPlan(result.plan), FormatPlan(plan));
  ASSERT_EQ(result.new_service_versions.size(), 2u);
  EXPECT_EQ(result.new_service_versions[0].version, 2);
  EXPECT_EQ(result.new_service_versions[1].version, 2);
  EXPECT_EQ(Value(registry_->Get("flights", 1)).feature_views.size(), 2u);
  EXPECT_EQ(Value(registry_->Get("flights")).feature_views.size(), 1u);
}

TEST_P(FeatureRegistryTest, SourceAndOnDemandChangesAreExplained) {
  Apply(kRepositoryYaml);
  std::ofstream(directory_ / "repo" / "flights.csv", std::ios::trunc)
      << "departure,origin,dest,delay,distance,gate\n2001-01-01T08:00:00,ORD,JFK,5,740.5,B2\n";
  std::string next = Replace(kRepositoryYaml, "timestamp_field: departure",
                             "timestamp_field: departure\n    timezone: America/Chicago");
  next = Replace(next, "request: {departure: timestamp}", "request: {departure: timestamp, tz: string}");
  ApplyPlan plan = Value(registry_->Plan(*Build(next)));
  EXPECT_EQ(
      FormatPlan(plan),
      "~ source flights (breaking): source 'flights' timezone changed 'UTC' → 'America/Chicago'; "
      "source 'flights' column 'distance' changed type int64 → float64; source 'flights' column 'gate' "
      "added\n"
      "~ on-demand view request_time (breaking): on-demand view 'request_time' request field 'tz' added: "
      "callers must send it");
}

TEST_P(FeatureRegistryTest, ServiceVersionsChangeOnlyWithTheirFeatureList) {
  Apply(kRepositoryYaml);
  const std::string described =
      Replace(kRepositoryYaml, "    online: false\n", "    online: false\n    description: distances\n");
  ApplyResult result = Apply(described);
  EXPECT_EQ(result.version, 2);
  EXPECT_TRUE(result.new_service_versions.empty());
  EXPECT_EQ(FormatPlan(result.plan),
            "~ feature view origin_extra: feature view 'origin_extra' description changed");

  const std::string without =
      Replace(described, "  - name: extra_model\n    features: [origin_extra.distance_km]\n", "");
  result = Apply(without);
  EXPECT_EQ(result.version, 3);
  EXPECT_EQ(FormatPlan(result.plan),
            "- feature service extra_model (breaking): feature service 'extra_model' removed");
  EXPECT_EQ(Value(registry_->GetService("flights", "extra_model")).version, 1);  // history stays

  result = Apply(described);  // back, with the same features as its version 1
  EXPECT_EQ(result.version, 4);
  EXPECT_TRUE(result.new_service_versions.empty());

  result = Apply(Replace(described, "features: [origin_extra.distance_km]",
                         "features: [origin_extra.*, "
                         "origin_delays.delay_double]"));
  EXPECT_EQ(result.version, 5);
  ASSERT_EQ(result.new_service_versions.size(), 1u);
  EXPECT_EQ(result.new_service_versions[0].version, 2);
  EXPECT_EQ(result.new_service_versions[0].repository_version, 5);

  std::vector<ServiceVersion> history = Value(registry_->ListServiceVersions("flights", "extra_model"));
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].version, 2);
  EXPECT_THAT(ServiceFeatureNames(history[0]),
              ElementsAre("origin_extra.distance_km:float64", "origin_delays.delay_double:int64"));
  EXPECT_THAT(ServiceFeatureNames(Value(registry_->GetService("flights", "extra_model", 1))),
              ElementsAre("origin_extra.distance_km:float64"));
  EXPECT_EQ(Value(registry_->GetService("flights", "delay_model")).version, 1);

  EXPECT_EQ(registry_->GetService("flights", "extra_model", 7).status().message(),
            "feature service 'extra_model' of project 'flights' has no version 7 (latest is 2)");
  EXPECT_EQ(registry_->GetService("flights", "nope").status().message(),
            "feature project 'flights' has no feature service 'nope'");
  EXPECT_EQ(registry_->GetService("trains", "x").status().message(),
            "no feature repository applied for project 'trains' (run kiln features apply)");
}

// A failure after the repository row was written (here: a damaged stored
// service version) rolls everything back: the previous version stays.
TEST_P(FeatureRegistryTest, ApplyIsAtomic) {
  Apply(kRepositoryYaml);
  ASSERT_TRUE(
      Execute("INSERT INTO feature_service_versions (project, service, version, features, "
              "repository_version, created_at) VALUES ('flights', 'delay_model', 9, 'not json', 1, 0)")
          .ok());
  const std::string next = Replace(kRepositoryYaml, "ttl: 7d", "ttl: 2d");
  Result<ApplyResult> failed = registry_->Apply(*Build(next), ApplyOptions{"alice", std::nullopt});
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), StatusCode::kInternal);
  EXPECT_EQ(failed.status().message(), "stored feature service features are not a JSON array");

  EXPECT_EQ(Value(registry_->ListVersions("flights")).size(), 1u);
  EXPECT_EQ(Value(registry_->Get("flights")).feature_views[0].ttl_seconds, 7 * 86400);
  EXPECT_EQ(CountRows("SELECT COUNT(*) FROM feature_service_versions"), 3);

  ASSERT_TRUE(Execute("DELETE FROM feature_service_versions WHERE version = 9").ok());
  EXPECT_EQ(Value(registry_->Apply(*Build(next), ApplyOptions{"alice", std::nullopt})).version, 2);
}

TEST_P(FeatureRegistryTest, ExpectedVersionRefusesAnApplyThatWasPlannedAgainstAnother) {
  Apply(kRepositoryYaml);
  Result<ApplyResult> stale =
      registry_->Apply(*Build(Replace(kRepositoryYaml, "ttl: 7d", "ttl: 3d")), ApplyOptions{"bob", 0});
  EXPECT_EQ(stale.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(stale.status().message(),
            "feature project 'flights' is at version 1, not 0 as planned; plan again");
  EXPECT_EQ(Value(registry_->ListVersions("flights")).size(), 1u);
}

TEST_P(FeatureRegistryTest, GetReturnsTheSelfContainedStoredDefinition) {
  auto repository = Build(kRepositoryYaml);
  Value(registry_->Apply(*repository, ApplyOptions{"alice", std::nullopt}));
  RepositoryDef stored = Value(registry_->Get("flights"));
  EXPECT_EQ(CanonicalRepositoryJson(stored), CanonicalRepositoryJson(repository->def()));
  EXPECT_EQ(stored.sources[0].path, (directory_ / "repo" / "flights.csv").string());
  EXPECT_EQ(stored.sources[0].columns.at("delay"), data::Type::kInt64);
  EXPECT_EQ(stored.feature_views[0].features[1].declared_type, data::Type::kInt64);

  // Validated again from the stored columns, without the CSV.
  fs::remove(directory_ / "repo" / "flights.csv");
  std::shared_ptr<const Repository> again = Value(registry_->GetRepository("flights"));
  EXPECT_EQ(again->FindView("origin_delays")->fingerprint,
            repository->FindView("origin_delays")->fingerprint);
  EXPECT_EQ(Value(registry_->GetVersionInfo("flights")).version, 1);

  EXPECT_EQ(registry_->Get("flights", 2).status().message(),
            "feature project 'flights' has no version 2 (latest is 1)");
  EXPECT_EQ(registry_->Get("trains").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(registry_->Get("trains").status().message(),
            "no feature repository applied for project 'trains' (run kiln features apply)");
}

TEST_P(FeatureRegistryTest, ListsProjectsWithTheirLatestVersion) {
  Apply(kRepositoryYaml);
  clock_.Advance(5);
  Apply(Replace(kRepositoryYaml, "ttl: 7d", "ttl: 2d"));
  Apply(Replace(kRepositoryYaml, "project: flights", "project: airlines"));
  std::vector<ProjectSummary> projects = Value(registry_->ListProjects());
  ASSERT_EQ(projects.size(), 2u);
  EXPECT_EQ(projects[0].project, "airlines");
  EXPECT_EQ(projects[0].latest_version, 1);
  EXPECT_EQ(projects[1].project, "flights");
  EXPECT_EQ(projects[1].latest_version, 2);
  EXPECT_EQ(projects[1].updated_at_millis, 1'700'000'000'005);
  std::vector<RepositoryVersion> versions = Value(registry_->ListVersions("flights"));
  ASSERT_EQ(versions.size(), 2u);
  EXPECT_EQ(versions[0].version, 2);
  EXPECT_NE(versions[0].digest, versions[1].digest);
}

// The tables other parts of the feature store write exist with their
// constraints on both backends.
TEST_P(FeatureRegistryTest, MaterializationAndQuarantineTablesExist) {
  EXPECT_TRUE(
      Execute("INSERT INTO feature_materializations (project, view, start_micros, end_micros, rows_read, "
              "rows_written, rows_quarantined, online_store, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
              {std::string("flights"), std::string("origin_delays"), int64_t{0}, int64_t{3600000000},
               int64_t{10}, int64_t{4}, int64_t{1}, std::string("rocksdb:/tmp/x"), int64_t{17}})
          .ok());
  EXPECT_EQ(CountRows("SELECT MAX(end_micros) FROM feature_materializations WHERE project = 'flights' AND "
                      "view = 'origin_delays'"),
            3600000000);
  EXPECT_TRUE(
      Execute("INSERT INTO feature_quarantine (id, project, view_or_source, origin, reason, row_json, "
              "created_at) VALUES (1, 'flights', 'origin_delays', 'push', 'too big', '{}', 5)")
          .ok());
  EXPECT_FALSE(
      Execute("INSERT INTO feature_quarantine (id, project, view_or_source, origin, reason, row_json, "
              "created_at) VALUES (2, 'flights', 'origin_delays', 'guess', 'x', '{}', 5)")
          .ok());
  EXPECT_EQ(CountRows("SELECT COUNT(*) FROM feature_quarantine"), 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, FeatureRegistryTest, ::testing::ValuesIn(Backends()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace kiln::features
