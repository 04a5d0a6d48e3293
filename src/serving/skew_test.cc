// CheckSkew end to end: a real FeatureStore (SQLite metadata, RocksDB online
// store, CSV sources in a temporary directory) is materialized, online
// features are read through GetOnlineFeatures as the prediction server reads
// them, logged as PredictionRecords (float32 values, NaN = null), and
// recomputed offline by the skew check.
#include "serving/skew.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "common/clock.h"
#include "data/timestamp.h"
#include "features/definition_loader.h"
#include "features/feature_store.h"
#include "features/features_testing.h"
#include "features/migrations.h"
#include "features/source_schema.h"
#include "storage/artifact_store.h"
#include "storage/migrations.h"
#include "tracking/migrations.h"
#include "tracking/tracking_store.h"

namespace kiln::serving {
namespace {

using features::testing_support::T;
using features::testing_support::Value;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr std::string_view kRepository = R"yaml(
project: rides
sources:
  - name: trips
    kind: csv
    path: trips.csv
    timestamp_field: ts
    columns: {driver: string, fare: float64}
  - name: zones
    kind: csv
    path: zones.csv
    timestamp_field: ts
    columns: {zone: int64, surge: float64}
entities:
  - name: driver
    join_keys: [driver]
  - name: zone
    join_keys: [zone]
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
  - name: zone_surge
    entities: [zone]
    source: zones
    features:
      - name: surge
        expression: surge
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
      - zone_surge.surge
      - request_time.hour_of_day
      - request_time.fare_per_trip
)yaml";

// c's fare is null; d's is above driver_fares' max (quarantined online).
constexpr std::string_view kTrips =
    "driver,fare,ts\n"
    "a,10,2001-01-01T00:00:00Z\n"
    "a,20,2001-01-01T01:00:00Z\n"
    "a,40,2001-01-01T01:40:00Z\n"
    "b,30,2001-01-01T00:30:00Z\n"
    "c,,2001-01-01T01:30:00Z\n"
    "d,2900,2001-01-01T01:45:00Z\n";
constexpr std::string_view kZones =
    "zone,surge,ts\n"
    "7,1.5,2001-01-01T00:00:00Z\n"
    "7,2.25,2001-01-01T01:50:00Z\n"
    "8,0.1,2001-01-01T00:10:00Z\n";

// One request row as a client sends it.
struct Request {
  std::string driver;
  int64_t zone = 0;
  std::string pickup;  // ISO 8601
};

// A value as the model takes it: float32, NaN for null.
double ModelInput(const data::Value& value) {
  if (value.null) return std::nan("");
  const double number = value.type == data::Type::kFloat64 ? value.f : static_cast<double>(value.i);
  return static_cast<double>(static_cast<float>(number));
}

class SkewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = features::testing_support::MakeTestDirectory("kiln-skew-test");
    std::ofstream(directory_ / "trips.csv") << kTrips;
    std::ofstream(directory_ / "zones.csv") << kZones;
    database_ = features::testing_support::OpenTestDatabase(
        directory_, {&storage::Migrations(), &tracking::Migrations(), &features::Migrations()});
    artifacts_ =
        std::make_unique<storage::ArtifactStore>(*database_, (directory_ / "artifacts").string(), clock_);
    tracking_ = std::make_unique<tracking::TrackingStore>(*database_, clock_, ids_);
    features::FeatureStoreOptions options;
    options.data_dir = directory_.string();
    options.threads = 1;
    store_ = std::make_unique<features::FeatureStore>(*database_, *artifacts_, *tracking_, clock_, options);
    features::RepositoryDef def = Value(features::ParseRepositoryFiles(
        {{"repo.yaml", std::string(kRepository)}}, "rides", directory_.string()));
    auto repository = Value(
        features::Repository::Build(std::move(def), features::DefaultSchemaResolver(directory_.string())));
    Value(store_->Apply(*repository, features::ApplyOptions()));
  }

  void TearDown() override {
    store_.reset();
    tracking_.reset();
    artifacts_.reset();
    database_.reset();
    std::filesystem::remove_all(directory_);
  }

  void Materialize(std::string_view end) {
    features::MaterializeRequest request;
    request.project = "rides";
    request.end_micros = T(end);
    Value(store_->Materialize(request));
  }

  // What the prediction server does per request row: read the service's
  // online features now, note the store's materialization point, and log
  // the model's float32 inputs.
  std::vector<PredictionRecord> Serve(const std::vector<Request>& requests) {
    const std::optional<int64_t> as_of = Value(store_->MaterializedUntil("rides", "pricing"));
    features::OnlineRequest online;
    online.project = "rides";
    online.service = "pricing";
    for (const Request& request : requests) {
      online.rows.push_back({{"driver", data::Value::String(request.driver)},
                             {"zone", data::Value::Int(request.zone)},
                             {"pickup", data::Value::String(request.pickup)}});
    }
    last_response_ = Value(store_->GetOnlineFeatures(online));
    auto names = std::make_shared<const std::vector<std::string>>(last_response_.feature_names);
    std::vector<PredictionRecord> records;
    for (size_t row = 0; row < requests.size(); ++row) {
      PredictionRecord record;
      record.id = "pred-" + std::to_string(next_id_++);
      record.timestamp_micros = clock_.NowMillis() * 1000;
      record.model = "fares";
      record.version = 1;
      record.entity = Json{{"driver", requests[row].driver}, {"zone", requests[row].zone}};
      record.request = Json{{"pickup", requests[row].pickup}};
      record.feature_names = names;
      for (const data::Value& value : last_response_.values[row])
        record.feature_values.push_back(ModelInput(value));
      record.features_as_of_micros = as_of.value_or(0);
      records.push_back(std::move(record));
    }
    return records;
  }

  Result<SkewReport> Check(const std::vector<PredictionRecord>& records,
                           SkewOptions options = SkewOptions()) {
    return CheckSkew(*store_, "rides", "pricing", records, options);
  }

  static const FeatureSkew& FeatureOf(const SkewReport& report, const std::string& name) {
    for (const FeatureSkew& feature : report.features) {
      if (feature.feature == name) return feature;
    }
    throw std::runtime_error("no feature " + name + " in the report");
  }

  // "feature mismatches/compared" for every feature with a mismatch.
  static std::vector<std::string> Mismatched(const SkewReport& report) {
    std::vector<std::string> out;
    for (const FeatureSkew& feature : report.features) {
      if (feature.mismatches > 0) {
        out.push_back(feature.feature + " " + std::to_string(feature.mismatches) + "/" +
                      std::to_string(feature.compared));
      }
    }
    return out;
  }

  std::filesystem::path directory_;
  FakeClock clock_{T("2001-01-01T02:00:00Z") / 1000};
  IdGenerator ids_{7};
  std::unique_ptr<storage::Database> database_;
  std::unique_ptr<storage::ArtifactStore> artifacts_;
  std::unique_ptr<tracking::TrackingStore> tracking_;
  std::unique_ptr<features::FeatureStore> store_;
  int next_id_ = 0;
  features::OnlineResponse last_response_;
};

constexpr const char* kPickup = "2001-01-01T05:20:00Z";

TEST_F(SkewTest, ServedFeaturesMatchTheirOfflineRecomputation) {
  Materialize("2001-01-01T02:00:00Z");
  // b's pickup comes with an offset, as a client may send it.
  std::vector<PredictionRecord> records =
      Serve({{"a", 7, kPickup}, {"b", 8, "2001-01-01T07:00:00+01:00"}, {"c", 7, kPickup}});
  // The online values the records hold (a: 3 trips, mean 70/3; b: its
  // last fare is 1h30 old, past driver_fares' TTL; c: null fare).
  EXPECT_EQ(records[0].feature_values[0], 40.0);
  EXPECT_EQ(records[0].feature_values[2], static_cast<double>(static_cast<float>(70.0 / 3.0)));
  EXPECT_TRUE(std::isnan(records[1].feature_values[0]));
  EXPECT_EQ(records[1].feature_values[3], static_cast<double>(0.1f));
  EXPECT_EQ(records[1].feature_values[4], 6.0);  // hour(07:00+01:00) in UTC
  EXPECT_TRUE(std::isnan(records[2].feature_values[5]));

  SkewReport report = Value(Check(records));
  EXPECT_EQ(report.project, "rides");
  EXPECT_EQ(report.feature_service, "pricing");
  EXPECT_EQ(report.predictions, 3);
  EXPECT_EQ(report.skipped, 0);
  EXPECT_EQ(report.mismatches, 0);
  std::vector<std::string> names;
  for (const FeatureSkew& feature : report.features) {
    names.push_back(feature.feature);
    EXPECT_EQ(feature.compared, 3) << feature.feature;
    EXPECT_EQ(feature.mismatches, 0) << feature.feature;
    EXPECT_TRUE(feature.examples.empty()) << feature.feature;
  }
  EXPECT_THAT(names,
              ElementsAre("driver_fares.last_fare", "driver_stats.trips_1d", "driver_stats.fare_mean_1d",
                          "zone_surge.surge", "request_time.hour_of_day", "request_time.fare_per_trip"));
  EXPECT_EQ(report.staleness_p50_micros, 0);
  EXPECT_EQ(report.staleness_max_micros, 0);

  // Offline values are rounded to float32 as the model's inputs were: equal
  // even without tolerance.
  SkewOptions exact;
  exact.abs_tolerance = 0;
  exact.rel_tolerance = 0;
  EXPECT_EQ(Value(Check(records, exact)).mismatches, 0);
}

TEST_F(SkewTest, ValuesWithheldByTheTtlAtPredictionTimeAreNotSkew) {
  Materialize("2001-01-01T02:00:00Z");
  // 02:45: a's last fare (01:40) is past the 1h TTL online, though it was
  // fresh at the materialization point; fare_per_trip reads it as null.
  clock_.Set(T("2001-01-01T02:45:00Z") / 1000);
  std::vector<PredictionRecord> records = Serve({{"a", 7, kPickup}, {"b", 8, kPickup}});
  ASSERT_TRUE(std::isnan(records[0].feature_values[0]));
  ASSERT_TRUE(std::isnan(records[0].feature_values[5]));
  ASSERT_EQ(records[0].feature_values[1], 3.0);  // aggregations have no TTL offline or online here

  SkewReport report = Value(Check(records));
  EXPECT_EQ(report.mismatches, 0) << ::testing::PrintToString(Mismatched(report));
  EXPECT_EQ(report.staleness_p50_micros, 45 * 60 * data::kMicrosPerSecond);
  EXPECT_EQ(report.staleness_max_micros, 45 * 60 * data::kMicrosPerSecond);
}

TEST_F(SkewTest, ACorruptedValueIsReportedForThatFeatureOnly) {
  Materialize("2001-01-01T02:00:00Z");
  std::vector<PredictionRecord> records = Serve({{"a", 7, kPickup}, {"b", 8, kPickup}, {"c", 7, kPickup}});
  const double offline = records[1].feature_values[2];  // b's fare_mean_1d: 30
  records[1].feature_values[2] = offline + 0.5;
  records[2].feature_values[0] = 12;  // c's last fare is null offline

  SkewReport report = Value(Check(records));
  EXPECT_THAT(Mismatched(report), ElementsAre("driver_fares.last_fare 1/3", "driver_stats.fare_mean_1d 1/3"));
  EXPECT_EQ(report.mismatches, 2);
  const FeatureSkew& mean = FeatureOf(report, "driver_stats.fare_mean_1d");
  EXPECT_DOUBLE_EQ(mean.max_abs_difference, 0.5);
  ASSERT_EQ(mean.examples.size(), 1u);
  EXPECT_EQ(mean.examples[0].prediction_id, "pred-1");
  EXPECT_EQ(mean.examples[0].entity, R"({"driver":"b","zone":8})");
  EXPECT_EQ(mean.examples[0].online, 30.5);
  EXPECT_EQ(mean.examples[0].offline, 30.0);
  const FeatureSkew& fare = FeatureOf(report, "driver_fares.last_fare");
  ASSERT_EQ(fare.examples.size(), 1u);
  EXPECT_EQ(fare.examples[0].prediction_id, "pred-2");
  EXPECT_EQ(fare.examples[0].online, 12.0);
  EXPECT_TRUE(std::isnan(fare.examples[0].offline));

  // Within the tolerance the difference is not a mismatch.
  SkewOptions tolerant;
  tolerant.abs_tolerance = 0.5;
  EXPECT_THAT(Mismatched(Value(Check(records, tolerant))), ElementsAre("driver_fares.last_fare 1/3"));
  // max_examples caps the examples, not the count.
  for (PredictionRecord& record : records) record.feature_values[3] += 1;
  SkewOptions two;
  two.max_examples = 2;
  const FeatureSkew& surge = FeatureOf(Value(Check(records, two)), "zone_surge.surge");
  EXPECT_EQ(surge.mismatches, 3);
  EXPECT_EQ(surge.examples.size(), 2u);
}

TEST_F(SkewTest, StaleRecordsAreComparedAsOfTheirOwnMaterializationPoint) {
  // a's fare of 01:40 is at the end of the interval, so not materialized:
  // online records are computed as of end − 1 µs.
  Materialize("2001-01-01T01:40:00Z");
  clock_.Set(T("2001-01-01T01:50:00Z") / 1000);
  std::vector<PredictionRecord> records = Serve({{"a", 7, kPickup}, {"b", 8, kPickup}});
  ASSERT_EQ(records[0].features_as_of_micros, T("2001-01-01T01:40:00Z"));
  ASSERT_EQ(records[0].feature_values[0], 20.0);  // a's fare of 01:00
  // The store moves on; the logged predictions stay as they were served.
  clock_.Set(T("2001-01-01T02:00:00Z") / 1000);
  Materialize("2001-01-01T02:00:00Z");

  SkewReport report = Value(Check(records));
  EXPECT_EQ(report.mismatches, 0) << ::testing::PrintToString(Mismatched(report));
  EXPECT_EQ(report.staleness_p50_micros, 10 * 60 * data::kMicrosPerSecond);

  // Compared at the newer point instead, a's features differ: the check
  // really reads offline values as of each record's point.
  for (PredictionRecord& record : records) record.features_as_of_micros = T("2001-01-01T02:00:00Z");
  EXPECT_THAT(
      Mismatched(Value(Check(records))),
      ElementsAre("driver_fares.last_fare 1/2", "driver_stats.trips_1d 1/2", "driver_stats.fare_mean_1d 1/2",
                  "zone_surge.surge 1/2", "request_time.fare_per_trip 1/2"));
}

TEST_F(SkewTest, AQuarantinedOnlineRecordShowsAsSkew) {
  Materialize("2001-01-01T02:00:00Z");
  // d's fare (2900) failed driver_fares' expectation: online has no record,
  // a training set has the value.
  std::vector<PredictionRecord> records = Serve({{"d", 7, kPickup}});
  SkewReport report = Value(Check(records));
  EXPECT_THAT(Mismatched(report),
              ElementsAre("driver_fares.last_fare 1/1", "request_time.fare_per_trip 1/1"));
  const FeatureSkew& fare = FeatureOf(report, "driver_fares.last_fare");
  ASSERT_EQ(fare.examples.size(), 1u);
  EXPECT_TRUE(std::isnan(fare.examples[0].online));
  EXPECT_EQ(fare.examples[0].offline, 2900.0);
}

TEST_F(SkewTest, RecordsWithoutFeaturesAreSkippedAndUnknownInputsNotCompared) {
  Materialize("2001-01-01T02:00:00Z");
  std::vector<PredictionRecord> records = Serve({{"a", 7, kPickup}});
  PredictionRecord bare = records[0];
  bare.id = "pred-bare";
  bare.feature_names = nullptr;
  bare.feature_values.clear();
  records.push_back(bare);
  // A model input that is not a feature of the service.
  auto names = std::make_shared<std::vector<std::string>>(*records[0].feature_names);
  names->push_back("passengers");
  records[0].feature_names = names;
  records[0].feature_values.push_back(2);

  SkewReport report = Value(Check(records));
  EXPECT_EQ(report.predictions, 1);
  EXPECT_EQ(report.skipped, 1);
  EXPECT_EQ(report.mismatches, 0);
  ASSERT_EQ(report.features.size(), 7u);
  EXPECT_EQ(report.features.back().feature, "passengers");
  EXPECT_EQ(report.features.back().compared, 0);
}

TEST_F(SkewTest, ErrorsNameThePredictionAndTheField) {
  Materialize("2001-01-01T02:00:00Z");
  std::vector<PredictionRecord> records = Serve({{"a", 7, kPickup}, {"b", 8, kPickup}});
  auto error_of = [&](const std::vector<PredictionRecord>& changed, const std::string& service = "pricing") {
    Result<SkewReport> report = CheckSkew(*store_, "rides", service, changed, SkewOptions());
    EXPECT_FALSE(report.ok());
    return report.ok() ? std::string() : report.status().message();
  };

  std::vector<PredictionRecord> keyless = records;
  keyless[1].entity.erase("zone");
  EXPECT_EQ(error_of(keyless), "prediction pred-1: entity lacks join key 'zone'");
  std::vector<PredictionRecord> mistyped = records;
  mistyped[0].entity["zone"] = "seven";
  EXPECT_EQ(error_of(mistyped), "prediction pred-0: entity.zone: expected an int64, got \"seven\"");
  std::vector<PredictionRecord> bad_time = records;
  bad_time[1].request["pickup"] = "yesterday";
  EXPECT_THAT(error_of(bad_time), HasSubstr("prediction pred-1: request.pickup"));
  std::vector<PredictionRecord> other_model = records;
  other_model[1].feature_names = std::make_shared<const std::vector<std::string>>(
      std::vector<std::string>{"a", "b", "c", "d", "e", "f"});
  EXPECT_EQ(
      error_of(other_model),
      "prediction pred-1: its feature names differ from those of prediction pred-0 (check one model version "
      "at a time)");

  EXPECT_EQ(error_of(records, "pricnig"),
            "unknown feature service 'pricnig' in project 'rides' (did you mean 'pricing'?)");
  Result<SkewReport> no_project = CheckSkew(*store_, "trains", "pricing", records, SkewOptions());
  ASSERT_FALSE(no_project.ok());
  EXPECT_THAT(no_project.status().message(), HasSubstr("'trains'"));
  // A null key is not missing: as online, it finds nothing (so a's logged
  // fare no longer matches).
  std::vector<PredictionRecord> null_key = records;
  null_key[0].entity["driver"] = nullptr;
  SkewReport report = Value(CheckSkew(*store_, "rides", "pricing", null_key, SkewOptions()));
  EXPECT_EQ(FeatureOf(report, "driver_fares.last_fare").mismatches, 1);
}

}  // namespace
}  // namespace kiln::serving
