// FeatureStore end to end: a small repository applied to a fresh SQLite
// metadata store in a temporary directory, its CSV source beside it, and
// the online store in RocksDB and (when a redis-server can be had) Redis.
// Time is a FakeClock so TTLs can be crossed on purpose.
#include "features/features_testing.h"
#include "features/feature_store.h"
#include "features/materializer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/clock.h"
#include "data/timestamp.h"
#include "features/definition_loader.h"
#include "features/migrations.h"
#include "features/online_store_testing.h"
#include "features/source_schema.h"
#include "storage/artifact_store.h"
#include "storage/migrations.h"
#include "tracking/migrations.h"
#include "tracking/tracking_store.h"

namespace kiln::features {
namespace {

using testing_support::T;
using testing_support::Value;

using ::testing::ElementsAre;
using ::testing::HasSubstr;

template <typename T>
std::string ErrorOf(const Result<T>& result) {
  EXPECT_FALSE(result.ok());
  return result.ok() ? "" : result.status().message();
}

constexpr std::string_view kRepository = R"yaml(
project: rides
sources:
  - name: trips
    kind: csv
    path: trips.csv
    timestamp_field: ts
    columns: {driver: string, fare: float64}
  - name: trip_events
    kind: push
    batch_source: trips
    timestamp_field: ts
    columns: {driver: string, fare: float64, ts: timestamp}
  - name: ratings
    kind: push
    timestamp_field: ts
    columns: {driver: string, stars: int64, ts: timestamp}
entities:
  - name: driver
    join_keys: [driver]
feature_views:
  - name: driver_fares
    entities: [driver]
    source: trips
    ttl: 1h
    features:
      - name: last_fare
        expression: fare
        expect: {min: 0, max: 1000}
  - name: driver_stats
    entities: [driver]
    source: trips
    features:
      - name: trips_1d
        aggregation: {function: count, window: 1d}
      - name: fare_mean_1d
        aggregation: {function: mean, column: fare, window: 1d}
  - name: live_fares
    entities: [driver]
    source: trip_events
    ttl: 1d
    features:
      - name: fare
        expression: fare
        expect: {min: 0}
  - name: fare_history
    entities: [driver]
    source: trips
    online: false
    features:
      - name: fare
        expression: fare
  - name: rating_stats
    entities: [driver]
    source: ratings
    features:
      - name: ratings_1d
        aggregation: {function: count, window: 1d}
on_demand_views:
  - name: request_time
    request: {pickup: timestamp}
    features:
      - name: hour_of_day
        expression: hour(pickup)
      - name: fare_per_trip
        expression: driver_fares.last_fare / driver_stats.trips_1d
feature_services:
  - name: pricing
    features:
      - driver_fares.last_fare
      - driver_stats.*
      - request_time.hour_of_day
)yaml";

// d's fare is above driver_fares' max; c's is null.
constexpr std::string_view kTrips =
    "driver,fare,ts\n"
    "a,10,2001-01-01T00:00:00Z\n"
    "a,20,2001-01-01T01:00:00Z\n"
    "b,30,2001-01-01T00:30:00Z\n"
    "c,,2001-01-01T01:30:00Z\n"
    "d,2900,2001-01-01T01:45:00Z\n";

std::vector<std::string> OnlineBackends() {
  std::vector<std::string> backends = {"rocksdb"};
  std::string why;
  if (!testing_support::RedisForTests::Uri(&why).empty()) backends.push_back("redis");
  return backends;
}

using Row = std::map<std::string, data::Value>;

class FeatureStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    directory_ = testing_support::MakeTestDirectory("kiln-feature-store-test");
    std::ofstream(directory_ / "trips.csv") << kTrips;
    database_ = testing_support::OpenTestDatabase(
        directory_, {&storage::Migrations(), &tracking::Migrations(), &Migrations()});
    artifacts_ = std::make_unique<storage::ArtifactStore>(*database_, (directory_ / "artifacts").string(), clock_);
    tracking_ = std::make_unique<tracking::TrackingStore>(*database_, clock_, ids_);
    FeatureStoreOptions store_options;
    store_options.data_dir = directory_.string();
    store_options.threads = 1;
    if (GetParam() == "redis") {
      std::string why;
      store_options.online_uri = testing_support::RedisForTests::Uri(&why);
    }
    store_ = std::make_unique<FeatureStore>(*database_, *artifacts_, *tracking_, clock_, store_options);
    repository_ = Apply(std::string(kRepository));
    // Redis is shared between tests: start from empty views.
    OnlineStore* online = Value(store_->online());
    for (const ResolvedView& view : repository_->views()) ASSERT_TRUE(online->DeleteView(OnlineViewKey(repository_->project(), view).view).ok());
  }

  void TearDown() override {
    store_.reset();
    tracking_.reset();
    artifacts_.reset();
    database_.reset();
    std::filesystem::remove_all(directory_);
  }

  std::shared_ptr<const Repository> Apply(const std::string& yaml) {
    RepositoryDef def = Value(ParseRepositoryFiles({{"repo.yaml", yaml}}, "rides", directory_.string()));
    auto repository = Value(Repository::Build(std::move(def), DefaultSchemaResolver(directory_.string())));
    Value(store_->Apply(*repository, ApplyOptions()));
    return repository;
  }

  std::vector<MaterializeViewResult> Materialize(std::string_view end, bool incremental = false) {
    MaterializeRequest request;
    request.project = "rides";
    request.end_micros = T(end);
    request.incremental = incremental;
    return Value(store_->Materialize(request));
  }

  static const MaterializeViewResult& ResultOf(const std::vector<MaterializeViewResult>& results,
                                               const std::string& view) {
    for (const MaterializeViewResult& result : results) {
      if (result.view == view) return result;
    }
    throw std::runtime_error("no result for " + view);
  }

  Result<OnlineResponse> Read(std::vector<std::string> features, std::vector<Row> rows, std::string service = "") {
    OnlineRequest request;
    request.project = "rides";
    request.service = std::move(service);
    request.features = std::move(features);
    request.rows = std::move(rows);
    return store_->GetOnlineFeatures(request);
  }

  // "value STATUS" per feature of one row, for compact assertions.
  static std::vector<std::string> Cells(const OnlineResponse& response, size_t row) {
    std::vector<std::string> out;
    for (size_t f = 0; f < response.feature_names.size(); ++f) {
      out.push_back(response.values[row][f].ToString() + " " +
                    std::string(FeatureStatusName(response.statuses[row][f])));
    }
    return out;
  }

  static data::Frame Frame(std::vector<std::pair<std::string, data::Column>> columns) {
    data::Frame frame;
    for (auto& [name, column] : columns) EXPECT_TRUE(frame.AddColumn(name, std::move(column)).ok());
    return frame;
  }
  static data::Column Strings(std::vector<std::string> values) {
    data::Column column(data::Type::kString);
    for (const std::string& value : values) column.AppendString(value);
    return column;
  }
  static data::Column Floats(std::vector<double> values) {
    data::Column column(data::Type::kFloat64);
    for (double value : values) column.AppendFloat(value);
    return column;
  }
  static data::Column Ints(std::vector<int64_t> values, data::Type type = data::Type::kInt64) {
    data::Column column(type);
    for (int64_t value : values) column.AppendInt(value);
    return column;
  }

  PushRequest Push(std::string source, data::Frame rows, PushTarget to) {
    PushRequest request;
    request.project = "rides";
    request.source = std::move(source);
    request.rows = std::move(rows);
    request.to = to;
    return request;
  }

  std::filesystem::path directory_;
  FakeClock clock_{T("2001-01-01T02:00:00Z") / 1000};
  IdGenerator ids_{7};
  std::unique_ptr<storage::Database> database_;
  std::unique_ptr<storage::ArtifactStore> artifacts_;
  std::unique_ptr<tracking::TrackingStore> tracking_;
  std::unique_ptr<FeatureStore> store_;
  std::shared_ptr<const Repository> repository_;
};

TEST_P(FeatureStoreTest, MaterializeThenReadEveryStatus) {
  std::vector<MaterializeViewResult> results = Materialize("2001-01-01T02:00:00Z");
  ASSERT_EQ(results.size(), 4u);  // every online view
  const MaterializeViewResult& fares = ResultOf(results, "driver_fares");
  EXPECT_EQ(fares.rows_read, 5);
  EXPECT_EQ(fares.entities, 4);
  EXPECT_EQ(fares.entities_written, 3);
  EXPECT_EQ(fares.rows_quarantined, 1);
  EXPECT_EQ(fares.entities, fares.entities_written + fares.rows_quarantined);  // nothing dropped
  EXPECT_EQ(ResultOf(results, "driver_stats").entities_written, 4);
  EXPECT_EQ(ResultOf(results, "rating_stats").rows_read, 0);

  const data::Value pickup = data::Value::Timestamp(T("2001-01-01T05:20:00Z"));
  std::vector<Row> rows = {
      {{"driver", data::Value::String("a")}, {"pickup", pickup}},
      {{"driver", data::Value::String("b")}, {"pickup", pickup}},
      {{"driver", data::Value::String("c")}, {"pickup", pickup}},
      {{"driver", data::Value::String("z")}, {"pickup", pickup}},
      {{"driver", data::Value::String("d")}, {"pickup", data::Value::String("2001-01-01T07:00:00+01:00")}},
  };
  OnlineResponse response = Value(Read({}, rows, "pricing"));
  EXPECT_THAT(response.feature_names, ElementsAre("driver_fares.last_fare", "driver_stats.trips_1d",
                                                  "driver_stats.fare_mean_1d", "request_time.hour_of_day"));
  EXPECT_EQ(response.service_version, 1);
  // a's last row is exactly one TTL (1h) old: still fresh.
  EXPECT_THAT(Cells(response, 0), ElementsAre("20.0 PRESENT", "2 PRESENT", "15.0 PRESENT", "5 PRESENT"));
  EXPECT_EQ(response.event_micros[0][0], T("2001-01-01T01:00:00Z"));
  // b's is 1h30 old: null, with the event time still reported.
  EXPECT_THAT(Cells(response, 1), ElementsAre("null OUTSIDE_MAX_AGE", "1 PRESENT", "30.0 PRESENT", "5 PRESENT"));
  EXPECT_EQ(response.event_micros[1][0], T("2001-01-01T00:30:00Z"));
  EXPECT_THAT(Cells(response, 2), ElementsAre("null NULL_VALUE", "1 PRESENT", "null NULL_VALUE", "5 PRESENT"));
  // An unknown entity: null, except its count, which is 0 as over an empty window offline.
  EXPECT_THAT(Cells(response, 3), ElementsAre("null NOT_FOUND", "0 NOT_FOUND", "null NOT_FOUND", "5 PRESENT"));
  EXPECT_EQ(response.event_micros[3][0], 0);
  // d was quarantined from driver_fares only; its request time came as text.
  EXPECT_THAT(Cells(response, 4), ElementsAre("null NOT_FOUND", "1 PRESENT", "2900.0 PRESENT", "6 PRESENT"));

  // One millisecond later a's row is past the TTL too.
  clock_.Advance(1);
  OnlineResponse later = Value(Read({"driver_fares.last_fare"}, {{{"driver", data::Value::String("a")}}}));
  EXPECT_THAT(Cells(later, 0), ElementsAre("null OUTSIDE_MAX_AGE"));
  EXPECT_EQ(later.service_version, 0);

  // Without metadata: the same values, no names or types.
  OnlineRequest bare;
  bare.project = "rides";
  bare.service = "pricing";
  bare.rows = rows;
  bare.with_metadata = false;
  OnlineResponse values_only = Value(store_->GetOnlineFeatures(bare));
  EXPECT_TRUE(values_only.feature_names.empty());
  EXPECT_TRUE(values_only.feature_types.empty());
  ASSERT_EQ(values_only.values.size(), 5u);
  EXPECT_EQ(values_only.values[2][1].ToString(), "1");
  EXPECT_EQ(values_only.statuses[0][0], FeatureStatus::kOutsideMaxAge);
}

TEST_P(FeatureStoreTest, OnDemandFeaturesReadLookedUpFeaturesAndRequestFields) {
  Materialize("2001-01-01T02:00:00Z");
  clock_.Set(T("2001-01-01T01:30:00Z") / 1000);  // b's fare is fresh again
  std::vector<Row> rows = {{{"driver", data::Value::String("a")}},
                           {{"driver", data::Value::String("b")}},
                           {{"driver", data::Value::String("z")}}};
  OnlineResponse response = Value(Read({"request_time.fare_per_trip", "driver_fares.last_fare"}, rows));
  EXPECT_THAT(Cells(response, 0), ElementsAre("10.0 PRESENT", "20.0 PRESENT"));
  EXPECT_THAT(Cells(response, 1), ElementsAre("30.0 PRESENT", "30.0 PRESENT"));
  EXPECT_THAT(Cells(response, 2), ElementsAre("null NULL_VALUE", "null NOT_FOUND"));
  // fare_per_trip needs no request field: 'pickup' is not required.

  // A feature asked twice comes back twice; out-of-order features of one view.
  OnlineResponse repeated = Value(Read({"driver_stats.fare_mean_1d", "driver_stats.trips_1d",
                                        "driver_stats.fare_mean_1d"},
                                       {{{"driver", data::Value::String("a")}}}));
  EXPECT_THAT(Cells(repeated, 0), ElementsAre("15.0 PRESENT", "2 PRESENT", "15.0 PRESENT"));
}

TEST_P(FeatureStoreTest, OnlineRequestErrorsNameTheRowAndField) {
  Materialize("2001-01-01T02:00:00Z");
  EXPECT_EQ(ErrorOf(Read({"driver_fares.last_fare"}, {{{"driver", data::Value::Int(3)}}})),
            "row 0: join key 'driver' must be string, got int64");
  EXPECT_EQ(ErrorOf(Read({"driver_fares.last_fare"}, {{{"driver", data::Value::String("a")}}, {}})),
            "row 1: join key 'driver' is missing (feature view 'driver_fares' needs it)");
  std::vector<Row> rows = {{{"driver", data::Value::String("a")}, {"pickup", data::Value::Timestamp(0)}},
                           {{"driver", data::Value::String("a")}, {"pickup", data::Value::Timestamp(0)}},
                           {{"driver", data::Value::String("a")}}};
  EXPECT_EQ(ErrorOf(Read({}, rows, "pricing")), "row 2: request field 'pickup' is required by request_time.hour_of_day");
  EXPECT_EQ(ErrorOf(Read({"request_time.hour_of_day"}, {{{"pickup", data::Value::Float(1.5)}}})),
            "row 0: request field 'pickup' must be timestamp, got float64");
  EXPECT_EQ(ErrorOf(Read({}, {}, "")), "give a feature service or a list of features");
  EXPECT_THAT(ErrorOf(Read({"driver_fares.nope"}, {})), HasSubstr("has no feature 'nope'"));
  EXPECT_EQ(ErrorOf(Read({"fare_history.fare"}, {})), "feature view 'fare_history' is not served online (online: false)");
  // A null key is a miss, not an error.
  OnlineResponse response = Value(Read({"driver_fares.last_fare"}, {{{"driver", data::Value::Null(data::Type::kString)}}}));
  EXPECT_THAT(Cells(response, 0), ElementsAre("null NOT_FOUND"));
}

TEST_P(FeatureStoreTest, QuarantineKeepsTheReasonAndTheRow) {
  Materialize("2001-01-01T02:00:00Z");
  std::vector<QuarantinedRow> rows = Value(store_->ListQuarantine("rides", 10));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].project, "rides");
  EXPECT_EQ(rows[0].object, "driver_fares");
  EXPECT_EQ(rows[0].origin, "materialize");
  EXPECT_EQ(rows[0].reason, "feature 'last_fare' = 2900 above max 1000");
  EXPECT_EQ(rows[0].row_json, "{\"driver\":\"d\",\"ts\":\"2001-01-01T01:45:00Z\",\"last_fare\":2900.0}");
  EXPECT_EQ(rows[0].created_millis, clock_.NowMillis());
  EXPECT_TRUE(Value(store_->ListQuarantine("other", 10)).empty());
}

TEST_P(FeatureStoreTest, IncrementalMaterializationResumesFromTheLastEnd) {
  MaterializeRequest request;
  request.project = "rides";
  request.views = {"driver_fares", "driver_stats"};
  request.end_micros = T("2001-01-01T01:00:00Z");
  request.incremental = true;  // nothing recorded yet: from the beginning
  std::vector<MaterializeViewResult> first = Value(store_->Materialize(request));
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].rows_read, 2);  // a 00:00, b 00:30
  EXPECT_EQ(first[0].start_micros, T("2001-01-01T00:00:00Z"));

  request.end_micros = T("2001-01-01T02:00:00Z");
  std::vector<MaterializeViewResult> second = Value(store_->Materialize(request));
  EXPECT_EQ(second[0].start_micros, T("2001-01-01T01:00:00Z"));
  EXPECT_EQ(second[0].rows_read, 3);  // a 01:00, c, d
  EXPECT_EQ(second[0].entities_written + second[0].rows_quarantined, 3);
  EXPECT_EQ(second[1].start_micros, T("2001-01-01T01:00:00Z"));
  EXPECT_EQ(second[1].rows_read, 5);  // the 1d window reaches back over every row

  std::vector<MaterializeViewResult> third = Value(store_->Materialize(request));
  EXPECT_EQ(third[0].start_micros, third[0].end_micros);
  EXPECT_EQ(third[0].rows_read, 0);

  OnlineResponse response = Value(Read({"driver_fares.last_fare", "driver_stats.trips_1d"},
                                       {{{"driver", data::Value::String("a")}}}));
  EXPECT_THAT(Cells(response, 0), ElementsAre("20.0 PRESENT", "2 PRESENT"));

  request.views = {"nope"};
  EXPECT_EQ(ErrorOf(store_->Materialize(request)), "project 'rides' has no feature view 'nope'");
  request.views = {"fare_history"};
  EXPECT_EQ(ErrorOf(store_->Materialize(request)), "feature view 'fare_history' is not served online (online: false)");
}

TEST_P(FeatureStoreTest, PushOnlineQuarantinesAndWritesTheRest) {
  PushResult result = Value(store_->Push(Push(
      "trip_events",
      Frame({{"driver", Strings({"p", "q", "p"})},
             {"fare", Floats({5, -1, 6})},
             {"ts", Ints({T("2001-01-01T01:50:00Z"), T("2001-01-01T01:51:00Z"), T("2001-01-01T01:40:00Z")},
                         data::Type::kTimestamp)}}),
      PushTarget::kOnline)));
  EXPECT_EQ(result.rows_received, 3);
  EXPECT_EQ(result.rows_quarantined, 1);
  EXPECT_EQ(result.rows_written_online, 1);  // p's latest record
  EXPECT_EQ(result.rows_written_offline, 0);
  EXPECT_THAT(result.quarantine_reasons, ElementsAre("feature 'live_fares.fare' = -1 below min 0"));

  OnlineResponse response = Value(Read({"live_fares.fare"}, {{{"driver", data::Value::String("p")}},
                                                             {{"driver", data::Value::String("q")}}}));
  EXPECT_THAT(Cells(response, 0), ElementsAre("5.0 PRESENT"));
  EXPECT_THAT(Cells(response, 1), ElementsAre("null NOT_FOUND"));

  // An older event does not replace the newer record.
  Value(store_->Push(Push("trip_events",
                          Frame({{"driver", Strings({"p"})},
                                 {"fare", Floats({1})},
                                 {"ts", Ints({T("2001-01-01T01:00:00Z")}, data::Type::kTimestamp)}}),
                          PushTarget::kOnline)));
  EXPECT_THAT(Cells(Value(Read({"live_fares.fare"}, {{{"driver", data::Value::String("p")}}})), 0),
              ElementsAre("5.0 PRESENT"));

  std::vector<QuarantinedRow> quarantined = Value(store_->ListQuarantine("rides", 10));
  ASSERT_EQ(quarantined.size(), 1u);
  EXPECT_EQ(quarantined[0].object, "trip_events");
  EXPECT_EQ(quarantined[0].origin, "push");
  EXPECT_EQ(quarantined[0].row_json, "{\"driver\":\"q\",\"fare\":-1.0,\"ts\":\"2001-01-01T01:51:00Z\"}");
}

TEST_P(FeatureStoreTest, PushOfflineFeedsTrainingSets) {
  PushResult offline = Value(store_->Push(
      Push("trip_events",
           Frame({{"driver", Strings({"p"})}, {"fare", Floats({7})}, {"ts", Strings({"2001-01-01T01:55:00Z"})}}),
           PushTarget::kOffline)));
  EXPECT_EQ(offline.rows_written_offline, 1);
  EXPECT_EQ(offline.rows_written_online, 0);
  PushResult both = Value(store_->Push(
      Push("trip_events",
           Frame({{"driver", Strings({"r"})}, {"fare", Ints({9})}, {"ts", Strings({"2001-01-01T01:56:00Z"})}}),
           PushTarget::kOnlineAndOffline)));
  EXPECT_EQ(both.rows_written_offline, 1);
  EXPECT_EQ(both.rows_written_online, 1);
  EXPECT_THAT(Cells(Value(Read({"live_fares.fare"}, {{{"driver", data::Value::String("p")}},
                                                     {{"driver", data::Value::String("r")}}})),
                    0),
              ElementsAre("null NOT_FOUND"));

  TrainingSetJob job;
  job.project = "rides";
  job.name = "live";
  job.request.features = {"live_fares.fare"};
  job.request.entities = Frame({{"driver", Strings({"p", "r", "a"})},
                                {"event_timestamp", Ints({T("2001-01-01T02:00:00Z"), T("2001-01-01T02:00:00Z"),
                                                          T("2001-01-01T02:00:00Z")},
                                                         data::Type::kTimestamp)}});
  TrainingSetInfo info = Value(store_->CreateTrainingSet(job));
  EXPECT_EQ(info.rows, 3);
  std::ifstream csv(Value(artifacts_->ObjectPath(info.artifact_path)));
  std::string text((std::istreambuf_iterator<char>(csv)), std::istreambuf_iterator<char>());
  // p and r from pushed rows, a from the batch source.
  EXPECT_EQ(text,
            "driver,event_timestamp,live_fares.fare\n"
            "p,2001-01-01T02:00:00Z,7.0\n"
            "r,2001-01-01T02:00:00Z,9.0\n"
            "a,2001-01-01T02:00:00Z,20.0\n");

  // Materializing the push view reads the pushed rows on top of the batch source.
  MaterializeRequest request;
  request.project = "rides";
  request.views = {"live_fares"};
  request.end_micros = T("2001-01-01T02:00:00Z");
  MaterializeViewResult result = Value(store_->Materialize(request)).at(0);
  EXPECT_EQ(result.rows_read, 7);
  EXPECT_THAT(Cells(Value(Read({"live_fares.fare"}, {{{"driver", data::Value::String("p")}}})), 0),
              ElementsAre("7.0 PRESENT"));
}

TEST_P(FeatureStoreTest, PushRefusalsAreExplained) {
  auto rows = [&] {
    return Frame({{"driver", Strings({"p"})}, {"stars", Ints({5})}, {"ts", Strings({"2001-01-01T01:00:00Z"})}});
  };
  EXPECT_EQ(ErrorOf(store_->Push(Push("ratings", rows(), PushTarget::kOnline))),
            "cannot push to the online store: feature view 'rating_stats' (fed by push source 'ratings') has "
            "aggregation feature 'ratings_1d', which needs the events of its whole window; push to the offline "
            "store and run kiln features materialize instead");
  EXPECT_EQ(Value(store_->Push(Push("ratings", rows(), PushTarget::kOffline))).rows_written_offline, 1);

  EXPECT_EQ(ErrorOf(store_->Push(Push("trips", rows(), PushTarget::kOnline))),
            "source 'trips' is a csv source; only push sources accept pushed rows");
  EXPECT_EQ(ErrorOf(store_->Push(Push("nope", rows(), PushTarget::kOnline))), "project 'rides' has no source 'nope'");
  EXPECT_EQ(ErrorOf(store_->Push(Push(
                "ratings", Frame({{"driver", Strings({"p", "q"})}, {"stars", Strings({"5", "x"})},
                                  {"ts", Strings({"2001-01-01T01:00:00Z", "2001-01-01T01:00:00Z"})}}),
                PushTarget::kOffline))),
            "row 0: column 'stars' must be int64, got string");
  EXPECT_EQ(ErrorOf(store_->Push(Push(
                "ratings", Frame({{"driver", Strings({"p", "q"})}, {"stars", Floats({5, 4.5})},
                                  {"ts", Strings({"2001-01-01T01:00:00Z", "2001-01-01T01:00:00Z"})}}),
                PushTarget::kOffline))),
            "row 1: column 'stars' must be int64, got 4.5");
  EXPECT_EQ(ErrorOf(store_->Push(Push("ratings", Frame({{"driver", Strings({"p"})}, {"stars", Ints({5})}}),
                                      PushTarget::kOffline))),
            "rows lack column 'ts' of push source 'ratings' (columns: driver, stars, ts)");
  EXPECT_EQ(ErrorOf(store_->Push(Push("ratings",
                                      Frame({{"driver", Strings({"p"})}, {"stars", Ints({5})}, {"extra", Ints({1})},
                                             {"ts", Strings({"2001-01-01T01:00:00Z"})}}),
                                      PushTarget::kOffline))),
            "unknown column 'extra' for push source 'ratings' (columns: driver, stars, ts)");
  data::Column times(data::Type::kTimestamp);
  times.AppendNull();
  EXPECT_EQ(ErrorOf(store_->Push(Push("ratings", Frame({{"driver", Strings({"p"})}, {"stars", Ints({5})}, {"ts", times}}),
                                      PushTarget::kOffline))),
            "row 0: column 'ts' (the event timestamp) is null");
  EXPECT_EQ(ErrorOf(ParsePushTarget("both")), "unknown push target 'both' (expected online, offline or online_and_offline)");
  EXPECT_EQ(Value(ParsePushTarget("online_and_offline")), PushTarget::kOnlineAndOffline);
}

TEST_P(FeatureStoreTest, TrainingSetDigestIsStableAndRecordedOnTheRun) {
  TrainingSetJob job;
  job.project = "rides";
  job.request.service = "pricing";
  job.request.entities = Frame({{"driver", Strings({"a", "b"})},
                                {"event_timestamp", Ints({T("2001-01-01T01:30:00Z"), T("2001-01-01T01:30:00Z")},
                                                         data::Type::kTimestamp)},
                                {"pickup", Ints({T("2001-01-01T01:30:00Z"), T("2001-01-01T03:00:00Z")},
                                              data::Type::kTimestamp)},
                                {"tip", Floats({1, 0})}});
  job.request.labels = {"tip"};
  TrainingSetInfo first = Value(store_->CreateTrainingSet(job));
  TrainingSetInfo second = Value(store_->CreateTrainingSet(job));
  EXPECT_EQ(first.digest.size(), 64u);
  EXPECT_EQ(first.digest, second.digest);
  EXPECT_EQ(first.artifact_path, "feature-sets/rides/" + first.digest + ".csv");
  EXPECT_EQ(first.rows, 2);
  EXPECT_EQ(first.service_version, 1);
  EXPECT_EQ(first.repository_version, 1);
  EXPECT_TRUE(first.artifact_uri.empty());
  EXPECT_EQ(Value(artifacts_->Stat(first.artifact_path)).digest, first.digest);

  const std::string experiment = Value(tracking_->CreateExperiment("pricing-model", "", {}));
  tracking::CreateRunRequest create;
  create.experiment_id = experiment;
  tracking::Run run = Value(tracking_->CreateRun(create));
  job.run_id = run.info.run_id;
  TrainingSetInfo recorded = Value(store_->CreateTrainingSet(job));
  EXPECT_EQ(recorded.digest, first.digest);
  EXPECT_EQ(recorded.artifact_uri, run.info.artifact_uri + "/training_set/pricing.csv");
  const std::string run_path = experiment + "/" + run.info.run_id + "/artifacts/training_set/pricing.csv";
  EXPECT_EQ(Value(artifacts_->Stat(run_path)).digest, first.digest);

  tracking::Run stored = Value(tracking_->GetRun(run.info.run_id));
  ASSERT_EQ(stored.inputs.dataset_inputs.size(), 1u);
  const tracking::DatasetInput& input = stored.inputs.dataset_inputs[0];
  EXPECT_EQ(input.dataset.name, "pricing");
  EXPECT_EQ(input.dataset.digest, first.digest.substr(0, 36));
  EXPECT_EQ(input.dataset.source_type, "kiln-feature-service");
  EXPECT_EQ(input.dataset.source,
            "{\"project\":\"rides\",\"service\":\"pricing\",\"service_version\":1,\"repository_version\":1,"
            "\"digest\":\"" + first.digest + "\",\"artifact_path\":\"" + first.artifact_path + "\"}");
  EXPECT_EQ(input.dataset.schema.value_or(""),
            "{\"mlflow_colspec\":[{\"name\":\"driver\",\"type\":\"string\"},"
            "{\"name\":\"event_timestamp\",\"type\":\"datetime\"},{\"name\":\"pickup\",\"type\":\"datetime\"},"
            "{\"name\":\"tip\",\"type\":\"double\"},{\"name\":\"driver_fares.last_fare\",\"type\":\"double\"},"
            "{\"name\":\"driver_stats.trips_1d\",\"type\":\"long\"},"
            "{\"name\":\"driver_stats.fare_mean_1d\",\"type\":\"double\"},"
            "{\"name\":\"request_time.hour_of_day\",\"type\":\"long\"}]}");
  EXPECT_EQ(input.dataset.profile.value_or(""), "{\"num_rows\":2}");
  ASSERT_EQ(input.tags.size(), 1u);
  EXPECT_EQ(input.tags[0].key, "mlflow.data.context");
  EXPECT_EQ(input.tags[0].value, "training");

  auto rows = Value(database_->Acquire())->Query("SELECT COUNT(*) FROM feature_training_sets WHERE digest = ?",
                                                 {first.digest});
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ((*rows)[0].Int(0), 1);
}

TEST_P(FeatureStoreTest, CurrentFollowsAppliedVersions) {
  std::shared_ptr<const Repository> current = Value(store_->Current("rides"));
  EXPECT_NE(current->FindView("driver_fares"), nullptr);
  EXPECT_EQ(Value(store_->Current("")).get(), current.get());  // the only project
  EXPECT_EQ(ErrorOf(store_->Current("other")), "no feature repository applied for project 'other' (run kiln features apply)");

  std::string changed(kRepository);
  changed.replace(changed.find("ttl: 1h"), 7, "ttl: 3h");
  Apply(changed);
  std::shared_ptr<const Repository> next = Value(store_->Current("rides"));
  EXPECT_NE(next.get(), current.get());
  EXPECT_EQ(next->FindView("driver_fares")->def->ttl_seconds, 3 * 3600);
  // The new TTL applies to reads at once: b's fare (1h30 old) is fresh again.
  Materialize("2001-01-01T02:00:00Z");
  EXPECT_THAT(Cells(Value(Read({"driver_fares.last_fare"}, {{{"driver", data::Value::String("b")}}})), 0),
              ElementsAre("30.0 PRESENT"));
}

INSTANTIATE_TEST_SUITE_P(FeatureStore, FeatureStoreTest, ::testing::ValuesIn(OnlineBackends()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace kiln::features
