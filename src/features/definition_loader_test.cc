// Reading feature repositories from YAML folders, and the canonical JSON
// form they are stored in.
#include "features/definition_loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/clock.h"
#include "features/definition_json.h"

namespace kiln::features {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// A fresh folder under the system temp directory, removed afterwards.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& name = "")
      : path_(fs::temp_directory_path() / ("kiln-defs-loader-" + IdGenerator().RandomHex(8)) / name) {
    fs::create_directories(path_);
  }
  ~ScratchDir() { fs::remove_all(path_.parent_path()); }
  std::string Write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name, std::ios::binary) << text;
    return (path_ / name).string();
  }
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
};

constexpr char kExample[] = R"yaml(project: flights
sources:
  - name: flights
    kind: csv
    path: ../../data/flights-3m.csv
    timestamp_field: departure
    created_timestamp_field: ingested_at
    timezone: America/Chicago
    columns: {delay: int64}
    description: BTS flights
entities:
  - name: airport
    join_keys: [origin]
feature_views:
  - name: origin_delays
    entities: [airport]
    source: flights
    ttl: 7d
    online: true
    tags: {team: ops}
    features:
      - name: delay_mean_1d
        aggregation: {function: mean, column: delay, window: 1d}
      - name: distance_km
        expression: "distance * 1.609"
        type: float64
        expect: {min: 0, max: 10000, max_null_fraction: 0.1}
on_demand_views:
  - name: request_time
    request: {departure: timestamp}
    features:
      - name: hour_of_day
        expression: "hour(departure)"
        expect: {allowed: [0, 1, 2]}
feature_services:
  - name: delay_model
    features: [origin_delays.*, "request_time:hour_of_day"]
)yaml";

std::string ErrorOf(const Result<RepositoryDef>& result) {
  return result.ok() ? "loaded" : result.status().message();
}

Result<RepositoryDef> ParseOne(const std::string& name, const std::string& text) {
  return ParseRepositoryFiles({{name, text}}, "fallback", "/repo");
}

TEST(DefinitionLoaderTest, ReadsTheFullExample) {
  ScratchDir dir("flights");
  dir.Write("repo.yaml", kExample);
  Result<RepositoryDef> loaded = LoadRepositoryDir(dir.path());
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  const RepositoryDef& def = *loaded;
  EXPECT_EQ(def.project, "flights");
  EXPECT_EQ(def.root, fs::weakly_canonical(dir.path()).string());

  ASSERT_EQ(def.sources.size(), 1u);
  const SourceDef& source = def.sources[0];
  EXPECT_EQ(source.kind, SourceKind::kCsv);
  EXPECT_EQ(source.path, "../../data/flights-3m.csv");
  EXPECT_EQ(source.timestamp_field, "departure");
  EXPECT_EQ(source.created_timestamp_field, "ingested_at");
  EXPECT_EQ(source.timezone, "America/Chicago");
  EXPECT_EQ(source.columns, (std::map<std::string, data::Type>{{"delay", data::Type::kInt64}}));
  EXPECT_EQ(source.description, "BTS flights");
  EXPECT_EQ(source.location.ToString(), "repo.yaml:3");

  ASSERT_EQ(def.entities.size(), 1u);
  EXPECT_EQ(def.entities[0].join_keys, std::vector<std::string>{"origin"});

  ASSERT_EQ(def.feature_views.size(), 1u);
  const FeatureViewDef& view = def.feature_views[0];
  EXPECT_EQ(view.entities, std::vector<std::string>{"airport"});
  EXPECT_EQ(view.ttl_seconds, 7 * 86400);
  EXPECT_TRUE(view.online);
  EXPECT_EQ(view.tags.at("team"), "ops");
  ASSERT_EQ(view.features.size(), 2u);
  ASSERT_TRUE(view.features[0].aggregation.has_value());
  EXPECT_EQ(view.features[0].aggregation->function, "mean");
  EXPECT_EQ(view.features[0].aggregation->column, "delay");
  EXPECT_EQ(view.features[0].aggregation->window_seconds, 86400);
  EXPECT_EQ(view.features[0].location.ToString(), "repo.yaml:22");
  EXPECT_EQ(view.features[1].expression, "distance * 1.609");
  EXPECT_EQ(view.features[1].declared_type, data::Type::kFloat64);
  EXPECT_EQ(view.features[1].expect.min, 0.0);
  EXPECT_EQ(view.features[1].expect.max, 10000.0);
  EXPECT_EQ(view.features[1].expect.max_null_fraction, 0.1);

  ASSERT_EQ(def.on_demand_views.size(), 1u);
  EXPECT_EQ(def.on_demand_views[0].request.at("departure"), data::Type::kTimestamp);
  EXPECT_EQ(def.on_demand_views[0].features[0].expect.allowed, (std::vector<std::string>{"0", "1", "2"}));

  ASSERT_EQ(def.feature_services.size(), 1u);
  ASSERT_EQ(def.feature_services[0].features.size(), 2u);
  EXPECT_EQ(def.feature_services[0].features[0].ToString(), "origin_delays.*");
  EXPECT_EQ(def.feature_services[0].features[1].ToString(), "request_time.hour_of_day");
}

TEST(DefinitionLoaderTest, MergesFilesInNameOrderAndDefaultsTheProjectToTheFolderName) {
  ScratchDir dir("churn_repo");
  dir.Write("b.yml", "entities:\n  - name: second\n    join_keys: [k]\n");
  dir.Write("a.yaml", "entities:\n  - name: first\n    join_keys: [k]\n");
  dir.Write("notes.txt", "not: [yaml");
  dir.Write(".hidden.yaml", "not: [yaml");
  Result<RepositoryDef> loaded = LoadRepositoryDir(dir.path());
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(loaded->project, "churn_repo");
  ASSERT_EQ(loaded->entities.size(), 2u);
  EXPECT_EQ(loaded->entities[0].name, "first");
  EXPECT_EQ(loaded->entities[1].location.ToString(), "b.yml:2");
}

TEST(DefinitionLoaderTest, ProjectMayBeSetInOneFileOnly) {
  Result<RepositoryDef> loaded =
      ParseRepositoryFiles({{"a.yaml", "project: one\n"}, {"b.yaml", "\n\nproject: two\n"}}, "x", "");
  EXPECT_EQ(ErrorOf(loaded),
            "b.yaml:3: project is set again (first set in a.yaml:1); set it in one file only");
}

TEST(DefinitionLoaderTest, ReportsUnknownKeysWithFileLineAndTheKnownKeys) {
  Result<RepositoryDef> loaded = ParseOne("views.yaml",
                                          "feature_views:\n"
                                          "  - name: x\n"
                                          "    source: flights\n"
                                          "    ttl_hours: 3\n");
  EXPECT_EQ(ErrorOf(loaded),
            "views.yaml:4: feature view 'x': unknown key 'ttl_hours' "
            "(known: description, entities, features, name, online, source, tags, ttl)");
}

TEST(DefinitionLoaderTest, ReportsEveryErrorOfEveryFileTogether) {
  Result<RepositoryDef> loaded =
      ParseRepositoryFiles({{"a.yaml",
                             "sources:\n"
                             "  - name: s\n"
                             "    kind: parquet\n"
                             "    columns: {delay: integr}\n"
                             "entities:\n"
                             "  - join_keys: [k]\n"},
                            {"b.yaml",
                             "feature_views:\n"
                             "  - name: v\n"
                             "    ttl: 5x\n"
                             "    online: maybe\n"
                             "    features:\n"
                             "      - name: f\n"
                             "        aggregation: {function: mean, column: delay}\n"
                             "        expect: {min: low, maximum: 3}\n"
                             "        type: decimal\n"
                             "feature_services:\n"
                             "  - name: svc\n"
                             "    features: [nodot]\n"}},
                           "p", "");
  EXPECT_EQ(
      ErrorOf(loaded),
      "a.yaml:3: source 's': unknown kind 'parquet' (expected csv, jsonl, sqlite, postgres or push)\n"
      "a.yaml:4: source 's': column 'delay': unknown type 'integr' (expected one of bool, int64, float64, "
      "string, timestamp)\n"
      "a.yaml:6: entity #1: missing 'name'\n"
      "b.yaml:3: feature view 'v': 'ttl': '5x' is not a duration (use s, m, h, d, w)\n"
      "b.yaml:4: feature view 'v': 'online' must be true or false, got 'maybe'\n"
      "b.yaml:7: feature 'f': aggregation needs a 'window' such as 1h or 7d\n"
      "b.yaml:8: feature 'f': expect: unknown key 'maximum' (known: allowed, max, max_null_fraction, min, "
      "type)\n"
      "b.yaml:8: feature 'f': 'min' must be a finite number, got 'low'\n"
      "b.yaml:9: feature 'f': 'type': unknown type 'decimal' (expected one of bool, int64, float64, string, "
      "timestamp)\n"
      "b.yaml:12: feature service 'svc': 'nodot' is not a feature reference (use view.feature, "
      "view:feature or view.*)");
}

TEST(DefinitionLoaderTest, ReportsMalformedYamlWithItsLine) {
  Result<RepositoryDef> loaded = ParseOne("bad.yaml", "entities:\n  - name: a\n    join_keys: [k\n");
  EXPECT_THAT(ErrorOf(loaded), ::testing::StartsWith("bad.yaml:4: invalid YAML: "));
}

TEST(DefinitionLoaderTest, ReportsWrongShapes) {
  EXPECT_EQ(ErrorOf(ParseOne("r.yaml", "- just\n- a list\n")),
            "r.yaml:1: expected a map with keys entities, feature_services, feature_views, format_version, "
            "on_demand_views, project, sources, got (a list)");
  EXPECT_EQ(ErrorOf(ParseOne("r.yaml", "entities: {name: a}\n")),
            "r.yaml:1: 'entities' must be a list, got (a map)");
  EXPECT_EQ(ErrorOf(ParseOne("r.yaml", "format_version: 2\n")),
            "r.yaml:1: format_version '2' is not supported (this kiln reads 1)");
  EXPECT_EQ(ErrorOf(ParseOne("r.yaml", "sources:\n  - name: s\n    kind: csv\n    kind: csv\n")),
            "r.yaml:4: source 's': key 'kind' appears twice");
  EXPECT_EQ(ErrorOf(ParseOne("r.yaml", "sources:\n  - name: s\n")),
            "r.yaml:2: source 's': missing 'kind' (csv, jsonl, sqlite, postgres or push)");
}

TEST(DefinitionLoaderTest, RefusesFoldersWithoutDefinitions) {
  ScratchDir dir("empty");
  EXPECT_EQ(ErrorOf(LoadRepositoryDir(dir.path())), dir.path() + ": no *.yaml or *.yml files");
  EXPECT_EQ(ErrorOf(LoadRepositoryDir(dir.path() + "/missing")), dir.path() + "/missing: no such directory");
  const std::string file = dir.Write("views.yaml", "project: p\n");
  EXPECT_EQ(ErrorOf(LoadRepositoryDir(file)), file + ": not a directory");
}

TEST(DefinitionLoaderTest, AnEmptyFileIsFine) {
  Result<RepositoryDef> loaded =
      ParseRepositoryFiles({{"empty.yaml", ""}, {"a.yaml", "project: p\n"}}, "x", "");
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(loaded->project, "p");
}

// YAML → RepositoryDef → JSON → RepositoryDef gives the same definitions.
TEST(DefinitionJsonTest, RoundTripsThroughCanonicalJson) {
  Result<RepositoryDef> loaded = ParseOne("repo.yaml", kExample);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  const std::string json = CanonicalRepositoryJson(*loaded);
  Result<RepositoryDef> back = ParseRepositoryJson(json);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(CanonicalRepositoryJson(*back), json);
  EXPECT_EQ(RepositoryDigest(*back), RepositoryDigest(*loaded));

  const RepositoryDef& def = *back;
  EXPECT_EQ(def.project, "flights");
  EXPECT_EQ(def.sources[0].timezone, "America/Chicago");
  EXPECT_EQ(def.sources[0].created_timestamp_field, "ingested_at");
  EXPECT_EQ(def.feature_views[0].ttl_seconds, 7 * 86400);
  EXPECT_EQ(def.feature_views[0].features[0].aggregation->window_seconds, 86400);
  EXPECT_EQ(def.feature_views[0].features[1].expect.max_null_fraction, 0.1);
  EXPECT_EQ(def.feature_views[0].tags.at("team"), "ops");
  EXPECT_EQ(def.on_demand_views[0].features[0].expect.allowed, (std::vector<std::string>{"0", "1", "2"}));
  EXPECT_EQ(def.feature_services[0].features[1].ToString(), "request_time.hour_of_day");
  EXPECT_EQ(def.feature_views[0].features[1].location.line, 0);  // locations are not stored
}

TEST(DefinitionJsonTest, IsCanonicalWhateverTheOrderOfObjects) {
  Result<RepositoryDef> a = ParseRepositoryFiles(
      {{"a.yaml", "entities:\n  - name: x\n    join_keys: [k]\n  - name: y\n    join_keys: [k]\n"}}, "p", "");
  Result<RepositoryDef> b = ParseRepositoryFiles(
      {{"b.yaml", "\n\nentities:\n  - name: y\n    join_keys: [k]\n  - name: x\n    join_keys: [k]\n"}}, "p",
      "");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(CanonicalRepositoryJson(*a), CanonicalRepositoryJson(*b));
  EXPECT_EQ(
      CanonicalRepositoryJson(*a),
      R"({"entities":[{"join_keys":["k"],"name":"x"},{"join_keys":["k"],"name":"y"}],"feature_services":[],)"
      R"("feature_views":[],"format_version":1,"on_demand_views":[],"project":"p","sources":[]})");
}

TEST(DefinitionJsonTest, RefusesUnknownKeysAndOtherVersions) {
  EXPECT_EQ(
      ErrorOf(ParseRepositoryJson(R"({"project":"p","feature_views":[{"name":"v","features":[{"name":"f",)"
                                  R"("ttl_hours":1}]}]})")),
      "definition JSON: feature_views[0].features[0]: unknown key 'ttl_hours'");
  EXPECT_EQ(ErrorOf(ParseRepositoryJson(R"({"format_version":2,"project":"p"})")),
            "definition JSON: format_version 2 is not supported (this kiln reads 1)");
  EXPECT_EQ(ErrorOf(ParseRepositoryJson("{")), "definition JSON: malformed JSON");
  EXPECT_EQ(ErrorOf(ParseRepositoryJson(
                R"({"project":"p","sources":[{"name":"s","kind":"csv","columns":{"a":1}}]})")),
            "definition JSON: sources[0]: 'columns.a' must be a type name");
}

}  // namespace
}  // namespace kiln::features
