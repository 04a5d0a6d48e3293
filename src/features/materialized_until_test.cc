// FeatureStore::MaterializedUntil: the online store's materialization point
// for a feature service, over a fresh SQLite metadata store and RocksDB
// online store in a temporary directory.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/clock.h"
#include "features/definition_loader.h"
#include "features/feature_store.h"
#include "features/features_testing.h"
#include "features/migrations.h"
#include "features/source_schema.h"
#include "storage/artifact_store.h"
#include "storage/migrations.h"
#include "tracking/migrations.h"
#include "tracking/tracking_store.h"

namespace kiln::features {
namespace {

using testing_support::T;
using testing_support::Value;

// `pricing` reads driver_fares directly and driver_stats only through the
// on-demand feature fare_per_trip; zone_surge is read by no service but `zones`.
constexpr std::string_view kRepository = R"yaml(
project: rides
sources:
  - name: trips
    kind: csv
    path: trips.csv
    timestamp_field: ts
    columns: {driver: string, fare: float64}
entities:
  - name: driver
    join_keys: [driver]
feature_views:
  - name: driver_fares
    entities: [driver]
    source: trips
    features:
      - name: last_fare
        expression: fare
  - name: driver_stats
    entities: [driver]
    source: trips
    features:
      - name: trips_1d
        aggregation: {function: count, window: 1d}
  - name: zone_surge
    entities: [driver]
    source: trips
    features:
      - name: surge
        expression: fare * 2
on_demand_views:
  - name: derived
    request: {pickup: timestamp}
    features:
      - name: fare_per_trip
        expression: driver_fares.last_fare / driver_stats.trips_1d
      - name: hour_of_day
        expression: hour(pickup)
feature_services:
  - name: pricing
    features: [driver_fares.last_fare, derived.fare_per_trip]
  - name: clock_only
    features: [derived.hour_of_day]
)yaml";

class MaterializedUntilTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = testing_support::MakeTestDirectory("kiln-materialized-until-test");
    std::ofstream(directory_ / "trips.csv") << "driver,fare,ts\na,10,2001-01-01T00:00:00Z\n";
    database_ = testing_support::OpenTestDatabase(
        directory_, {&storage::Migrations(), &tracking::Migrations(), &Migrations()});
    artifacts_ =
        std::make_unique<storage::ArtifactStore>(*database_, (directory_ / "artifacts").string(), clock_);
    tracking_ = std::make_unique<tracking::TrackingStore>(*database_, clock_, ids_);
    FeatureStoreOptions options;
    options.data_dir = directory_.string();
    options.threads = 1;
    store_ = std::make_unique<FeatureStore>(*database_, *artifacts_, *tracking_, clock_, options);
    RepositoryDef def =
        Value(ParseRepositoryFiles({{"repo.yaml", std::string(kRepository)}}, "rides", directory_.string()));
    auto repository = Value(Repository::Build(std::move(def), DefaultSchemaResolver(directory_.string())));
    Value(store_->Apply(*repository, ApplyOptions()));
  }

  void TearDown() override {
    store_.reset();
    tracking_.reset();
    artifacts_.reset();
    database_.reset();
    std::filesystem::remove_all(directory_);
  }

  void Materialize(const std::string& view, std::string_view end) {
    MaterializeRequest request;
    request.project = "rides";
    request.views = {view};
    request.end_micros = T(end);
    Value(store_->Materialize(request));
  }

  std::optional<int64_t> Until(const std::string& service) {
    return Value(store_->MaterializedUntil("rides", service));
  }

  std::filesystem::path directory_;
  FakeClock clock_{T("2001-01-02T00:00:00Z") / 1000};
  IdGenerator ids_{7};
  std::unique_ptr<storage::Database> database_;
  std::unique_ptr<storage::ArtifactStore> artifacts_;
  std::unique_ptr<tracking::TrackingStore> tracking_;
  std::unique_ptr<FeatureStore> store_;
};

TEST_F(MaterializedUntilTest, IsTheEarliestLatestEndOverTheViewsTheServiceReads) {
  EXPECT_EQ(Until("pricing"), std::nullopt);  // never materialized

  Materialize("driver_fares", "2001-01-01T03:00:00Z");
  EXPECT_EQ(Until("pricing"), std::nullopt);  // driver_stats (read by fare_per_trip) never was

  Materialize("driver_stats", "2001-01-01T02:00:00Z");
  EXPECT_EQ(Until("pricing"), T("2001-01-01T02:00:00Z"));

  // A view the service does not read changes nothing.
  Materialize("zone_surge", "2001-01-01T01:00:00Z");
  EXPECT_EQ(Until("pricing"), T("2001-01-01T02:00:00Z"));

  // The latest end of each view counts: driver_stats is now ahead.
  Materialize("driver_stats", "2001-01-01T04:00:00Z");
  EXPECT_EQ(Until("pricing"), T("2001-01-01T03:00:00Z"));

  // The only project may be left unnamed.
  EXPECT_EQ(Value(store_->MaterializedUntil("", "pricing")), T("2001-01-01T03:00:00Z"));
  // A service of request-time features only reads nothing materialized.
  EXPECT_EQ(Until("clock_only"), std::nullopt);
}

TEST_F(MaterializedUntilTest, UnknownProjectOrServiceIsAnError) {
  Result<std::optional<int64_t>> service = store_->MaterializedUntil("rides", "pricnig");
  ASSERT_FALSE(service.ok());
  EXPECT_EQ(service.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service.status().message(),
            "unknown feature service 'pricnig' in project 'rides' (did you mean 'pricing'?)");
  Result<std::optional<int64_t>> project = store_->MaterializedUntil("trains", "pricing");
  ASSERT_FALSE(project.ok());
  EXPECT_NE(project.status().message().find("'trains'"), std::string::npos) << project.status().message();
}

}  // namespace
}  // namespace kiln::features
