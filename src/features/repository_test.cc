// Repository::Build: validation of feature repositories read from real YAML
// folders over real CSV, JSON-lines and SQLite sources, with the exact
// error text a user sees; name resolution of the built repository.
#include "features/repository.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "common/clock.h"
#include "features/definition_loader.h"
#include "features/online_store.h"
#include "features/source_schema.h"
#include "storage/database.h"

namespace kiln::features {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;

class ScratchDir {
 public:
  ScratchDir()
      : path_(fs::temp_directory_path() / ("kiln-defs-repo-" + IdGenerator().RandomHex(8)) / "flights") {
    fs::create_directories(path_ / "data");
  }
  ~ScratchDir() { fs::remove_all(path_.parent_path()); }
  void Write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name, std::ios::binary) << text;
  }
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
};

constexpr char kFlightsCsv[] =
    "departure,ingested_at,origin,dest,delay,distance,carrier,score\n"
    "2001-01-01T08:00:00,2001-01-01T09:00:00,ORD,JFK,5,740,AA,0.5\n"
    "2001-01-01T09:30:00,2001-01-01T10:00:00,ORD,LAX,-3,1744,UA,1.5\n"
    "2001-01-02T07:15:00,2001-01-02T08:00:00,JFK,ORD,20,740,AA,2\n";

// Lines 1-12 of every test repository; views.yaml varies per test.
constexpr char kSourcesYaml[] = R"yaml(project: flights
sources:
  - name: flights
    kind: csv
    path: data/flights.csv
    timestamp_field: departure
    created_timestamp_field: ingested_at
entities:
  - name: airport
    join_keys: [origin]
  - name: route
    join_keys: [origin, dest]
)yaml";

constexpr char kViewsYaml[] = R"yaml(feature_views:
  - name: origin_delays
    entities: [airport]
    source: flights
    ttl: 7d
    features:
      - name: delay_mean_1d
        aggregation: {function: mean, column: delay, window: 1d}
      - name: delay_mean_7d
        aggregation: {function: mean, column: delay, window: 7d}
      - name: flights_1d
        aggregation: {function: count, window: 1d}
  - name: route_stats
    entities: [route]
    source: flights
    features:
      - name: distance_km
        expression: "distance * 1.609"
        expect: {min: 0, max: 10000}
      - name: long_haul
        expression: "distance > 1000"
      - name: delay_minutes
        expression: "delay"
        type: float64
on_demand_views:
  - name: request_time
    request: {departure: timestamp}
    features:
      - name: hour_of_day
        expression: "hour(departure)"
      - name: delay_trend
        expression: "origin_delays.delay_mean_1d / origin_delays.delay_mean_7d"
  - name: trend_alert
    request: {threshold: float64}
    features:
      - name: alert
        expression: "request_time.delay_trend > threshold"
feature_services:
  - name: delay_model
    features: [origin_delays.*, request_time.hour_of_day, "route_stats:distance_km"]
)yaml";

class RepositoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.Write("data/flights.csv", kFlightsCsv);
    dir_.Write("sources.yaml", kSourcesYaml);
  }

  Result<std::shared_ptr<const Repository>> Build(const std::string& views_yaml) {
    dir_.Write("views.yaml", views_yaml);
    Result<RepositoryDef> def = LoadRepositoryDir(dir_.path());
    if (!def.ok()) return def.status();
    return Repository::Build(*def, DefaultSchemaResolver(def->root));
  }

  std::shared_ptr<const Repository> BuildOk(const std::string& views_yaml) {
    auto repository = Build(views_yaml);
    EXPECT_TRUE(repository.ok()) << repository.status().message();
    return repository.ok() ? *repository : nullptr;
  }

  std::string ErrorOf(const std::string& views_yaml) {
    auto repository = Build(views_yaml);
    return repository.ok() ? "valid" : repository.status().message();
  }

  // A repository with one view over `flights` holding `features` (YAML
  // lines indented for a feature list); features start at views.yaml:6.
  std::string ErrorOfFeatures(const std::string& features) {
    return ErrorOf(
        "feature_views:\n  - name: v\n    entities: [airport]\n    source: flights\n    features:\n" +
        features);
  }

  ScratchDir dir_;
};

TEST_F(RepositoryTest, ResolvesViewsTypesAndOnDemandInputs) {
  auto repository = BuildOk(kViewsYaml);
  ASSERT_NE(repository, nullptr);
  EXPECT_EQ(repository->project(), "flights");

  const ResolvedView* origin = repository->FindView("origin_delays");
  ASSERT_NE(origin, nullptr);
  EXPECT_EQ(origin->source->name, "flights");
  EXPECT_THAT(origin->join_keys, ElementsAre("origin"));
  ASSERT_EQ(origin->features.size(), 3u);
  EXPECT_EQ(origin->features[0].type, data::Type::kFloat64);
  EXPECT_EQ(origin->features[2].type, data::Type::kInt64);  // count
  EXPECT_FALSE(origin->features[0].expression.has_value());
  std::vector<std::string> names = {"delay_mean_1d", "delay_mean_7d", "flights_1d"};
  std::vector<data::Type> types = {data::Type::kFloat64, data::Type::kFloat64, data::Type::kInt64};
  EXPECT_EQ(origin->fingerprint, ViewFingerprint(names, types));

  const ResolvedView* route = repository->FindView("route_stats");
  ASSERT_NE(route, nullptr);
  EXPECT_THAT(route->join_keys, ElementsAre("origin", "dest"));
  EXPECT_EQ(route->features[0].type, data::Type::kFloat64);
  ASSERT_TRUE(route->features[0].expression.has_value());
  EXPECT_EQ(route->features[0].expression->text(), "distance * 1.609");
  EXPECT_EQ(route->features[1].type, data::Type::kBool);
  // int64 declared float64 is widened; the expression itself stays int64.
  EXPECT_EQ(route->features[2].type, data::Type::kFloat64);
  EXPECT_EQ(route->features[2].expression->type(), data::Type::kInt64);

  // Source schema from the CSV: header order, sampled types, timestamps forced.
  ASSERT_EQ(route->source_schema.size(), 8u);
  EXPECT_EQ(route->source_schema[0].name, "departure");
  EXPECT_EQ(route->source_schema[0].type, data::Type::kTimestamp);
  EXPECT_EQ(route->source_schema[1].type, data::Type::kTimestamp);
  EXPECT_EQ(route->source_schema[4].type, data::Type::kInt64);
  EXPECT_EQ(route->source_schema[7].type, data::Type::kFloat64);

  const ResolvedOnDemandView* request_time = repository->FindOnDemandView("request_time");
  ASSERT_NE(request_time, nullptr);
  ASSERT_EQ(request_time->inputs.size(), 3u);  // request fields, then what the features read
  EXPECT_EQ(request_time->inputs[0].name, "departure");
  EXPECT_EQ(request_time->inputs[1].name, "origin_delays.delay_mean_1d");
  EXPECT_EQ(request_time->inputs[2].name, "origin_delays.delay_mean_7d");
  EXPECT_EQ(request_time->features[0].type, data::Type::kInt64);
  EXPECT_EQ(request_time->features[1].type, data::Type::kFloat64);

  const ResolvedOnDemandView* alert = repository->FindOnDemandView("trend_alert");
  ASSERT_NE(alert, nullptr);
  ASSERT_EQ(alert->inputs.size(), 2u);
  EXPECT_EQ(alert->inputs[1].name, "request_time.delay_trend");
  EXPECT_EQ(alert->features[0].type, data::Type::kBool);
}

TEST_F(RepositoryTest, DefinitionIsNormalisedToItsSelfContainedForm) {
  auto repository = BuildOk(kViewsYaml);
  ASSERT_NE(repository, nullptr);
  const SourceDef* source = repository->FindSource("flights");
  ASSERT_NE(source, nullptr);
  EXPECT_EQ(source->path, (fs::path(repository->def().root) / "data" / "flights.csv").string());
  EXPECT_TRUE(fs::path(source->path).is_absolute());
  EXPECT_EQ(source->columns.size(), 8u);
  EXPECT_EQ(source->columns.at("carrier"), data::Type::kString);
  EXPECT_EQ(source->columns.at("departure"), data::Type::kTimestamp);
  EXPECT_EQ(repository->FindView("origin_delays")->def->features[0].declared_type, data::Type::kFloat64);
  EXPECT_EQ(repository->FindOnDemandView("request_time")->def->features[0].declared_type, data::Type::kInt64);

  // The stored form builds again without reading any source.
  fs::remove(fs::path(dir_.path()) / "data" / "flights.csv");
  auto again = Repository::Build(repository->def(), StoredSchemaResolver());
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ((*again)->FindView("origin_delays")->fingerprint,
            repository->FindView("origin_delays")->fingerprint);
}

TEST_F(RepositoryTest, ResolvesFeatureReferencesAndServices) {
  auto repository = BuildOk(kViewsYaml);
  ASSERT_NE(repository, nullptr);
  auto features =
      repository->ResolveFeatures({"route_stats.long_haul", "origin_delays:flights_1d", "request_time.*"});
  ASSERT_TRUE(features.ok()) << features.status().message();
  std::vector<std::string> names;
  for (const ResolvedFeature& feature : *features) names.push_back(feature.FullName());
  EXPECT_THAT(names, ElementsAre("route_stats.long_haul", "origin_delays.flights_1d",
                                 "request_time.hour_of_day", "request_time.delay_trend"));

  auto service = repository->ResolveService("delay_model");
  ASSERT_TRUE(service.ok()) << service.status().message();
  names.clear();
  for (const ResolvedFeature& feature : *service) names.push_back(feature.FullName());
  EXPECT_THAT(names,
              ElementsAre("origin_delays.delay_mean_1d", "origin_delays.delay_mean_7d",
                          "origin_delays.flights_1d", "request_time.hour_of_day", "route_stats.distance_km"));

  EXPECT_EQ(repository->ResolveFeatures({"route_stats.long_hual"}).status().message(),
            "feature view 'route_stats' has no feature 'long_hual' (did you mean 'long_haul'?)");
  EXPECT_EQ(repository->ResolveFeatures({"route_stat.long_haul"}).status().message(),
            "unknown view 'route_stat' in 'route_stat.long_haul' (did you mean 'route_stats'?)");
  EXPECT_EQ(repository->ResolveFeatures({"long_haul"}).status().message(),
            "'long_haul' is not a feature reference (use view.feature, view:feature or view.*)");
  EXPECT_EQ(repository->ResolveService("delay_modle").status().message(),
            "unknown feature service 'delay_modle' in project 'flights' (did you mean 'delay_model'?)");
  EXPECT_EQ(repository->ResolveService("delay_modle").status().code(), StatusCode::kNotFound);
}

TEST_F(RepositoryTest, RequestFieldsFollowOnDemandReferences) {
  auto repository = BuildOk(kViewsYaml);
  ASSERT_NE(repository, nullptr);
  auto alert = repository->ResolveFeatures({"trend_alert.alert"});
  ASSERT_TRUE(alert.ok());
  EXPECT_EQ(repository->RequestFields(*alert),
            (std::map<std::string, data::Type>{{"threshold", data::Type::kFloat64}}));
  auto hour = repository->ResolveFeatures({"request_time.hour_of_day", "origin_delays.*"});
  ASSERT_TRUE(hour.ok());
  EXPECT_EQ(repository->RequestFields(*hour),
            (std::map<std::string, data::Type>{{"departure", data::Type::kTimestamp}}));
}

TEST_F(RepositoryTest, ExpressionErrorsAreAppendedToTheFeatureLine) {
  EXPECT_EQ(ErrorOfFeatures("      - name: x\n        expression: \"delai * 2\"\n"),
            "views.yaml:6: feature 'x': at column 1: unknown column 'delai' (did you mean 'delay'?)");
  EXPECT_EQ(ErrorOfFeatures("      - name: x\n        expression: \"1 + hours(departure)\"\n"),
            "views.yaml:6: feature 'x': at column 5: unknown function 'hours' (did you mean 'hour'?)");
}

TEST_F(RepositoryTest, FeatureShapeAggregationAndTypeErrors) {
  EXPECT_EQ(
      ErrorOfFeatures("      - name: both\n"
                      "        expression: delay\n"
                      "        aggregation: {function: sum, column: delay, window: 1h}\n"
                      "      - name: neither\n"
                      "        type: int64\n"
                      "      - name: median_1d\n"
                      "        aggregation: {function: median, column: delay, window: 1d}\n"
                      "      - name: mean_carrier\n"
                      "        aggregation: {function: mean, column: carrier, window: 1d}\n"
                      "      - name: zero_window\n"
                      "        aggregation: {function: sum, column: delay, window: 0}\n"
                      "      - name: no_column\n"
                      "        aggregation: {function: max, window: 1h}\n"
                      "      - name: bad_column\n"
                      "        aggregation: {function: max, column: \"delai + 1\", window: 1h}\n"
                      "      - name: typed\n"
                      "        aggregation: {function: mean, column: delay, window: 1h}\n"
                      "        type: int64\n"
                      "      - name: text\n"
                      "        expression: carrier\n"
                      "        type: bool\n"),
      "views.yaml:6: feature 'both': has both an 'expression' and an 'aggregation'; keep one\n"
      "views.yaml:9: feature 'neither': needs an 'expression' or an 'aggregation'\n"
      "views.yaml:11: feature 'median_1d': unknown aggregation function 'median' (expected one of count, "
      "sum, "
      "mean, avg, min, max, stddev, last)\n"
      "views.yaml:13: feature 'mean_carrier': mean needs an int64 or float64 column, not string\n"
      "views.yaml:15: feature 'zero_window': aggregation window must be positive\n"
      "views.yaml:17: feature 'no_column': aggregation 'max' needs a 'column'\n"
      "views.yaml:19: feature 'bad_column': aggregation column: at column 1: unknown column 'delai' (did you "
      "mean 'delay'?)\n"
      "views.yaml:21: feature 'typed': declared type int64, but its aggregation gives float64\n"
      "views.yaml:24: feature 'text': declared type bool, but its expression gives string");
}

TEST_F(RepositoryTest, ExpectationErrors) {
  EXPECT_EQ(
      ErrorOfFeatures("      - name: a\n"
                      "        expression: carrier\n"
                      "        expect: {min: 0}\n"
                      "      - name: b\n"
                      "        expression: score\n"
                      "        expect: {allowed: [1, 2]}\n"
                      "      - name: c\n"
                      "        expression: delay\n"
                      "        expect: {allowed: [1, two], min: 5, max: 1, max_null_fraction: 1.5}\n"
                      "      - name: d\n"
                      "        expression: \"delay > 0\"\n"
                      "        expect: {allowed: [true, yes], type: int64}\n"
                      "      - name: e\n"
                      "        expression: carrier\n"
                      "        expect: {allowed: [AA, UA], max_null_fraction: 0}\n"),
      "views.yaml:6: feature 'a': expect.min and expect.max apply to int64 and float64 features, not string\n"
      "views.yaml:9: feature 'b': expect.allowed applies to string, int64 and bool features, not float64\n"
      "views.yaml:12: feature 'c': expect.min 5 is above expect.max 1\n"
      "views.yaml:12: feature 'c': expect.allowed value 'two' is not an int64\n"
      "views.yaml:12: feature 'c': expect.max_null_fraction must be between 0 and 1, got 1.5\n"
      "views.yaml:15: feature 'd': expect.type int64 does not match the feature's type bool\n"
      "views.yaml:15: feature 'd': expect.allowed value 'yes' is not true or false");
}

TEST_F(RepositoryTest, NameAndReferenceErrors) {
  EXPECT_EQ(
      ErrorOf("entities:\n"
              "  - name: airport\n"
              "    join_keys: [origin]\n"
              "  - name: plane\n"
              "    join_keys: [tail, tail]\n"
              "  - name: 9lives\n"
              "    join_keys: [x]\n"
              "feature_views:\n"
              "  - name: v\n"
              "    entities: [airprt, route, plane]\n"
              "    source: flight\n"
              "    features:\n"
              "      - name: f\n"
              "        expression: delay\n"
              "      - name: f\n"
              "        expression: delay\n"
              "  - name: w\n"
              "    entities: [route, plane]\n"
              "    source: flights\n"
              "    features: []\n"
              "  - name: z\n"
              "    entities: []\n"
              "    source: flights\n"
              "    features:\n"
              "      - name: g\n"
              "        expression: score\n"
              "on_demand_views:\n"
              "  - name: v\n"
              "    features:\n"
              "      - name: h\n"
              "        expression: \"1\"\n"),
      "views.yaml:2: entity 'airport': defined twice (first at sources.yaml:9)\n"
      "views.yaml:6: entity '9lives': invalid name (use letters, digits and '_', not starting with a digit)\n"
      "views.yaml:15: feature 'f': defined twice (first at views.yaml:13)\n"
      "views.yaml:28: on-demand view 'v': a feature view has the same name (first at views.yaml:9)\n"
      "views.yaml:4: entity 'plane': join key 'tail' is listed twice\n"
      "views.yaml:9: feature view 'v': unknown source 'flight' (did you mean 'flights'?)\n"
      "views.yaml:9: feature view 'v': unknown entity 'airprt' (did you mean 'airport'?)\n"
      "views.yaml:17: feature view 'w': has no features\n"
      "views.yaml:17: feature view 'w': join key 'tail' (entity 'plane') is not a column of source 'flights' "
      "(columns: departure, ingested_at, origin, dest, delay, distance, carrier, score)\n"
      "views.yaml:21: feature view 'z': needs at least one entity");
}

TEST_F(RepositoryTest, JoinKeysMustBeIntegersStringsOrBooleans) {
  EXPECT_EQ(
      ErrorOf("entities:\n"
              "  - name: scored\n"
              "    join_keys: [score]\n"
              "feature_views:\n"
              "  - name: v\n"
              "    entities: [scored]\n"
              "    source: flights\n"
              "    features:\n"
              "      - name: f\n"
              "        expression: delay\n"),
      "views.yaml:5: feature view 'v': join key 'score' is float64; join keys must be int64, string or bool");
}

TEST_F(RepositoryTest, SourceErrors) {
  dir_.Write("data/events.csv", "at,user\nnot a time,1\n");
  dir_.Write("data/plain.csv", "at,user\n1,2\n");
  std::string error = ErrorOf(
      "sources:\n"
      "  - name: nopath\n"
      "    kind: csv\n"
      "    timestamp_field: at\n"
      "    table: t\n"
      "  - name: both\n"
      "    kind: sqlite\n"
      "    path: x.db\n"
      "    table: t\n"
      "    query: SELECT 1\n"
      "    timestamp_field: at\n"
      "  - name: push_untyped\n"
      "    kind: push\n"
      "    timestamp_field: at\n"
      "    timezone: Mars/Base\n"
      "  - name: missing_ts\n"
      "    kind: csv\n"
      "    path: data/flights.csv\n"
      "    timestamp_field: arrival\n"
      "    columns: {gate: string}\n"
      "  - name: bad_times\n"
      "    kind: csv\n"
      "    path: data/events.csv\n"
      "    timestamp_field: at\n"
      "  - name: int_times\n"
      "    kind: csv\n"
      "    path: data/plain.csv\n"
      "    timestamp_field: at\n"
      "    columns: {at: int64}\n"
      "  - name: absent\n"
      "    kind: csv\n"
      "    path: data/absent.csv\n"
      "    timestamp_field: at\n");
  std::vector<std::string> lines;
  for (size_t start = 0, end; start <= error.size(); start = end + 1) {
    end = error.find('\n', start);
    if (end == std::string::npos) end = error.size();
    lines.push_back(error.substr(start, end - start));
  }
  ASSERT_EQ(lines.size(), 10u) << error;
  EXPECT_EQ(lines[0], "views.yaml:2: source 'nopath': a csv source needs 'path'");
  EXPECT_EQ(lines[1], "views.yaml:2: source 'nopath': 'table' does not apply to a csv source");
  EXPECT_EQ(lines[2],
            "views.yaml:6: source 'both': a sqlite source needs either 'table' or 'query', not both");
  EXPECT_EQ(
      lines[3],
      "views.yaml:12: source 'push_untyped': a push source needs 'columns' (each column with its type)");
  EXPECT_EQ(lines[4],
            "views.yaml:12: source 'push_untyped': unknown time zone 'Mars/Base' (not UTC, ±hh:mm or an "
            "IANA name under /usr/share/zoneinfo)");
  EXPECT_EQ(lines[5],
            "views.yaml:16: source 'missing_ts': declared column 'gate' is not in the source (columns: "
            "departure, ingested_at, origin, dest, delay, distance, carrier, score)");
  EXPECT_EQ(lines[6],
            "views.yaml:16: source 'missing_ts': timestamp_field 'arrival' is not a column (columns: "
            "departure, ingested_at, origin, dest, delay, distance, carrier, score)");
  EXPECT_EQ(lines[7],
            "views.yaml:21: source 'bad_times': " + dir_.path() +
                "/data/events.csv:2: column 'at': 'not a time' is not an ISO 8601 timestamp: expected "
                "YYYY-MM-DD");
  EXPECT_EQ(lines[8], "views.yaml:25: source 'int_times': timestamp_field 'at' is int64, not timestamp");
  EXPECT_EQ(lines[9], "views.yaml:30: source 'absent': " + dir_.path() + "/data/absent.csv: no such file");
}

TEST_F(RepositoryTest, PushSourcesUseDeclaredColumnsAndMatchTheirBatchSource) {
  EXPECT_EQ(
      ErrorOf("sources:\n"
              "  - name: live\n"
              "    kind: push\n"
              "    batch_source: flights\n"
              "    timestamp_field: departure\n"
              "    columns: {departure: timestamp, origin: string, delay: float64, gate: string}\n"
              "  - name: orphan\n"
              "    kind: push\n"
              "    batch_source: flight\n"
              "    timestamp_field: at\n"
              "    columns: {at: timestamp}\n"
              "  - name: batchless\n"
              "    kind: csv\n"
              "    path: data/flights.csv\n"
              "    timestamp_field: departure\n"
              "    batch_source: flights\n"),
      "views.yaml:12: source 'batchless': 'batch_source' applies to push sources only\n"
      "views.yaml:2: source 'live': column 'delay' is float64 here but int64 in batch source 'flights'\n"
      "views.yaml:2: source 'live': column 'gate' is not in batch source 'flights' (columns: departure, "
      "ingested_at, origin, dest, delay, distance, carrier, score)\n"
      "views.yaml:7: source 'orphan': unknown batch_source 'flight' (did you mean 'flights'?)");

  auto repository = BuildOk(
      "sources:\n"
      "  - name: live\n"
      "    kind: push\n"
      "    batch_source: flights\n"
      "    timestamp_field: departure\n"
      "    columns: {departure: timestamp, origin: string, delay: int64}\n"
      "feature_views:\n"
      "  - name: live_delays\n"
      "    entities: [airport]\n"
      "    source: live\n"
      "    features:\n"
      "      - name: delay_last\n"
      "        aggregation: {function: last, column: delay, window: 1h}\n");
  ASSERT_NE(repository, nullptr);
  EXPECT_EQ(repository->FindView("live_delays")->features[0].type, data::Type::kInt64);
  EXPECT_EQ(repository->FindView("live_delays")->source_schema.size(), 3u);
}

TEST_F(RepositoryTest, OnDemandErrorsAndCycles) {
  EXPECT_EQ(
      ErrorOf("on_demand_views:\n"
              "  - name: a\n"
              "    request: {x: float64}\n"
              "    features:\n"
              "      - name: fa\n"
              "        expression: \"b.fb + x\"\n"
              "  - name: b\n"
              "    request: {x: int64}\n"
              "    features:\n"
              "      - name: fb\n"
              "        expression: \"a.fa * 2\"\n"
              "  - name: c\n"
              "    features:\n"
              "      - name: fc\n"
              "        aggregation: {function: count, window: 1d}\n"
              "      - name: fd\n"
              "        expression: \"c.fd + 1\"\n"
              "  - name: d\n"
              "    request: {y: float64}\n"
              "    features:\n"
              "      - name: fe\n"
              "        expression: \"a.fa + y\"\n"
              "      - name: ff\n"
              "        expression: \"origin_delays.delay_mean_2d + y\"\n"
              "      - name: fg\n"
              "        expression: \"y\"\n"
              "        type: string\n"),
      "views.yaml:7: on-demand view 'b': request field 'x' is int64 here but float64 in on-demand view 'a'\n"
      "views.yaml:2: on-demand view 'a' → 'b' → 'a' form a cycle\n"
      "views.yaml:12: on-demand view 'c' → 'c' form a cycle\n"
      "views.yaml:14: feature 'fc': on-demand features are expressions; 'aggregation' is not allowed here\n"
      "views.yaml:23: feature 'ff': at column 1: unknown column 'origin_delays.delay_mean_2d'"
      " (inputs: y)\n"
      "views.yaml:25: feature 'fg': declared type string, but its expression gives float64");
}

TEST_F(RepositoryTest, OnDemandFeaturesMustBeExpressions) {
  EXPECT_EQ(
      ErrorOf("on_demand_views:\n"
              "  - name: c\n"
              "    features:\n"
              "      - name: fc\n"
              "        aggregation: {function: count, window: 1d}\n"
              "      - name: fd\n"
              "        description: nothing to compute\n"),
      "views.yaml:4: feature 'fc': on-demand features are expressions; 'aggregation' is not allowed here\n"
      "views.yaml:6: feature 'fd': needs an 'expression'");
}

TEST_F(RepositoryTest, BrokenFeaturesAreNotReportedAgainWhereTheyAreUsed) {
  EXPECT_EQ(ErrorOf("feature_views:\n"
                    "  - name: v\n"
                    "    entities: [airport]\n"
                    "    source: flights\n"
                    "    features:\n"
                    "      - name: f\n"
                    "        expression: \"delai\"\n"
                    "on_demand_views:\n"
                    "  - name: o\n"
                    "    features:\n"
                    "      - name: g\n"
                    "        expression: \"v.f * 2\"\n"),
            "views.yaml:6: feature 'f': at column 1: unknown column 'delai' (did you mean 'delay'?)");
}

TEST_F(RepositoryTest, FeatureServiceErrors) {
  EXPECT_EQ(
      ErrorOf(std::string(kViewsYaml) +
              "  - name: broken\n"
              "    features: [origin_delay.*, origin_delays.delay_mean_2d, origin_delays.*,\n"
              "               origin_delays.flights_1d]\n"
              "  - name: empty\n"
              "    features: []\n"),
      "views.yaml:41: feature service 'broken': unknown view 'origin_delay' in 'origin_delay.*' (did you "
      "mean "
      "'origin_delays'?)\n"
      "views.yaml:41: feature service 'broken': feature view 'origin_delays' has no feature 'delay_mean_2d' "
      "(did you mean 'delay_mean_1d'?)\n"
      "views.yaml:41: feature service 'broken': feature 'origin_delays.flights_1d' is listed twice\n"
      "views.yaml:44: feature service 'empty': has no features");
}

TEST_F(RepositoryTest, ProjectNamesAreChecked) {
  Result<RepositoryDef> def = LoadRepositoryDir(dir_.path());
  ASSERT_TRUE(def.ok()) << def.status().message();
  def->project = "my project!";
  auto repository = Repository::Build(*def, DefaultSchemaResolver(def->root));
  EXPECT_EQ(repository.status().message(),
            "project 'my project!' is not a valid name (letters, digits, '_', '-' and '.', at most 128)");
}

TEST_F(RepositoryTest, JsonLinesSourcesAreSampled) {
  dir_.Write("data/events.jsonl",
             "{\"at\": \"2001-01-01T00:00:00Z\", \"origin\": \"ORD\", \"n\": 3, \"ok\": true}\n"
             "{\"at\": \"2001-01-02T00:00:00+02:00\", \"origin\": \"JFK\", \"n\": 4.5, \"ok\": false}\n");
  auto repository = BuildOk(
      "sources:\n"
      "  - name: events\n"
      "    kind: jsonl\n"
      "    path: data/events.jsonl\n"
      "    timestamp_field: at\n"
      "feature_views:\n"
      "  - name: ev\n"
      "    entities: [airport]\n"
      "    source: events\n"
      "    features:\n"
      "      - name: n_sum\n"
      "        aggregation: {function: sum, column: n, window: 1d}\n");
  ASSERT_NE(repository, nullptr);
  const SourceDef* source = repository->FindSource("events");
  EXPECT_EQ(source->columns, (std::map<std::string, data::Type>{{"at", data::Type::kTimestamp},
                                                                {"n", data::Type::kFloat64},
                                                                {"ok", data::Type::kBool},
                                                                {"origin", data::Type::kString}}));
}

// A real SQLite file: declared column types map to Kiln types; an
// expression column without one takes its sampled storage class.
TEST_F(RepositoryTest, SqliteSourcesMapDeclaredTypes) {
  const std::string path = dir_.path() + "/data/flights.db";
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE TABLE flights (departure TIMESTAMP, origin TEXT, delay INTEGER, "
                         "distance REAL, cancelled BOOLEAN, landed DATETIME, ratio DOUBLE, code VARCHAR(3));"
                         "INSERT INTO flights VALUES ('2001-01-01 08:00:00', 'ORD', 5, 740.0, 0, "
                         "'2001-01-01 10:00:00', 0.5, 'AA1');",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto repository = BuildOk(
      "sources:\n"
      "  - name: db_table\n"
      "    kind: sqlite\n"
      "    path: data/flights.db\n"
      "    table: flights\n"
      "    timestamp_field: departure\n"
      "  - name: db_query\n"
      "    kind: sqlite\n"
      "    path: data/flights.db\n"
      "    query: SELECT departure, origin, delay * 2 AS double_delay, distance / 2 AS half FROM flights\n"
      "    timestamp_field: departure\n");
  ASSERT_NE(repository, nullptr);
  EXPECT_EQ(repository->FindSource("db_table")->columns,
            (std::map<std::string, data::Type>{{"cancelled", data::Type::kBool},
                                               {"code", data::Type::kString},
                                               {"delay", data::Type::kInt64},
                                               {"departure", data::Type::kTimestamp},
                                               {"distance", data::Type::kFloat64},
                                               {"landed", data::Type::kTimestamp},
                                               {"origin", data::Type::kString},
                                               {"ratio", data::Type::kFloat64}}));
  EXPECT_EQ(repository->FindSource("db_query")->columns,
            (std::map<std::string, data::Type>{{"departure", data::Type::kTimestamp},
                                               {"double_delay", data::Type::kInt64},
                                               {"half", data::Type::kFloat64},
                                               {"origin", data::Type::kString}}));

  EXPECT_EQ(ErrorOf("sources:\n"
                    "  - name: db_missing\n"
                    "    kind: sqlite\n"
                    "    path: data/flights.db\n"
                    "    table: planes\n"
                    "    timestamp_field: departure\n"),
            "views.yaml:2: source 'db_missing': " + path + ": table planes: no such table: planes");
}

// PostgreSQL sources are described through a temporary view; runs when
// KILN_TEST_POSTGRES_URI is set (scripts/with-postgres).
TEST_F(RepositoryTest, PostgresSourcesMapColumnTypes) {
  const char* uri = std::getenv("KILN_TEST_POSTGRES_URI");
  if (uri == nullptr) GTEST_SKIP() << "KILN_TEST_POSTGRES_URI is not set";
  {
    storage::DatabaseOptions options;
    options.uri = uri;
    options.pool_size = 1;
    auto database = storage::Database::Open(options);
    ASSERT_TRUE(database.ok()) << database.status().message();
    auto connection = (*database)->Acquire();
    ASSERT_TRUE(connection.ok());
    ASSERT_TRUE(
        (*connection)
            ->ExecuteScript("DROP TABLE IF EXISTS kiln_defs_flights; "
                            "CREATE TABLE kiln_defs_flights (departure TIMESTAMPTZ, origin VARCHAR(3), "
                            "delay INTEGER, distance DOUBLE PRECISION, cancelled BOOLEAN, day DATE, "
                            "amount NUMERIC(10, 2), n BIGINT)")
            .ok());
  }
  auto repository = BuildOk(std::string("sources:\n"
                                        "  - name: pg\n"
                                        "    kind: postgres\n"
                                        "    uri: ") +
                            uri +
                            "\n"
                            "    table: kiln_defs_flights\n"
                            "    timestamp_field: departure\n"
                            "  - name: pg_query\n"
                            "    kind: postgres\n"
                            "    uri: " +
                            uri +
                            "\n"
                            "    query: SELECT departure, delay * 2.5 AS scaled FROM kiln_defs_flights;\n"
                            "    timestamp_field: departure\n");
  ASSERT_NE(repository, nullptr);
  EXPECT_EQ(repository->FindSource("pg")->columns,
            (std::map<std::string, data::Type>{{"amount", data::Type::kFloat64},
                                               {"cancelled", data::Type::kBool},
                                               {"day", data::Type::kTimestamp},
                                               {"delay", data::Type::kInt64},
                                               {"departure", data::Type::kTimestamp},
                                               {"distance", data::Type::kFloat64},
                                               {"n", data::Type::kInt64},
                                               {"origin", data::Type::kString}}));
  EXPECT_EQ(repository->FindSource("pg_query")->columns,
            (std::map<std::string, data::Type>{{"departure", data::Type::kTimestamp},
                                               {"scaled", data::Type::kFloat64}}));
}

}  // namespace
}  // namespace kiln::features
