// Online readiness through FeatureStore::CheckOnlineReadiness: a small
// flights repository applied to a fresh SQLite store in a temporary
// directory, materialized into RocksDB, then changed in ways that do and do
// not matter to the online records. Time is a FakeClock.
#include "features/online_readiness.h"

#include <gmock/gmock.h>
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

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing_support::T;
using testing_support::Value;

// {ORIGIN_DELAYS} and {CONTEXT} are replaced by the tests' variants.
constexpr std::string_view kRepository = R"yaml(
project: flights
sources:
  - name: delays
    kind: csv
    path: delays.csv
    timestamp_field: ts
    columns: {origin: string, delay: float64}
entities:
  - name: airport
    join_keys: [origin]
feature_views:
{ORIGIN_DELAYS}
  - name: origin_counts
    entities: [airport]
    source: delays
    features:
      - name: flights_1d
        aggregation: {function: count, window: 1d}
{CONTEXT}
)yaml";

constexpr std::string_view kOriginDelays = R"yaml(  - name: origin_delays
    entities: [airport]
    source: delays
    ttl: 1d
    features:
      - name: delay_last
        expression: delay
      - name: delay_mean_1d
        aggregation: {function: mean, column: delay, window: 1d})yaml";

constexpr std::string_view kContext = R"yaml(on_demand_views:
  - name: context
    request: {dep_hour: int64}
    features:
      - name: busy_score
        expression: origin_counts.flights_1d * 2
feature_services:
  - name: delay_model
    features: [origin_delays.*, context.busy_score])yaml";

constexpr std::string_view kDelays =
    "origin,delay,ts\n"
    "SFO,10,2024-01-01T08:00:00Z\n"
    "SFO,20,2024-01-01T09:00:00Z\n"
    "JFK,5,2024-01-01T10:00:00Z\n";

std::string Replace(std::string text, std::string_view key, std::string_view value) {
  size_t at = text.find(key);
  if (at != std::string::npos) text.replace(at, key.size(), value);
  return text;
}

class OnlineReadinessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = testing_support::MakeTestDirectory("kiln-online-readiness-test");
    std::ofstream(directory_ / "delays.csv") << kDelays;
    database_ = testing_support::OpenTestDatabase(
        directory_, {&storage::Migrations(), &tracking::Migrations(), &Migrations()});
    artifacts_ =
        std::make_unique<storage::ArtifactStore>(*database_, (directory_ / "artifacts").string(), clock_);
    tracking_ = std::make_unique<tracking::TrackingStore>(*database_, clock_, ids_);
    FeatureStoreOptions options;
    options.data_dir = directory_.string();
    options.threads = 1;
    store_ = std::make_unique<FeatureStore>(*database_, *artifacts_, *tracking_, clock_, options);
    online_ = Value(store_->online())->Describe();
  }

  void TearDown() override {
    store_.reset();
    tracking_.reset();
    artifacts_.reset();
    database_.reset();
    std::filesystem::remove_all(directory_);
  }

  // Applies the repository with these variants, one second after the last step.
  void Apply(std::string_view origin_delays = kOriginDelays, std::string_view context = kContext) {
    clock_.Advance(1000);
    std::string yaml =
        Replace(Replace(std::string(kRepository), "{ORIGIN_DELAYS}", origin_delays), "{CONTEXT}", context);
    RepositoryDef def = Value(ParseRepositoryFiles({{"repo.yaml", yaml}}, "flights", directory_.string()));
    auto repository = Value(Repository::Build(std::move(def), DefaultSchemaResolver(directory_.string())));
    Value(store_->Apply(*repository, ApplyOptions()));
  }

  void Materialize() {
    clock_.Advance(1000);
    MaterializeRequest request;
    request.project = "flights";
    request.end_micros = T("2024-01-02T00:00:00Z");
    Value(store_->Materialize(request));
  }

  OnlineReadiness Check(int64_t service_version) {
    return Value(store_->CheckOnlineReadiness("flights", "delay_model", service_version));
  }

  FakeClock clock_{1'704'067'200'000};  // 2024-01-01T00:00:00Z
  IdGenerator ids_{3};
  std::filesystem::path directory_;
  std::unique_ptr<storage::Database> database_;
  std::unique_ptr<storage::ArtifactStore> artifacts_;
  std::unique_ptr<tracking::TrackingStore> tracking_;
  std::unique_ptr<FeatureStore> store_;
  std::string online_;
};

TEST_F(OnlineReadinessTest, ViewsMustBeMaterializedIntoThisOnlineStore) {
  Apply();
  // A materialization into another store does not count.
  auto connection = Value(database_->Acquire());
  ASSERT_TRUE(connection
                  ->Execute("INSERT INTO feature_materializations (project, view, start_micros, end_micros, "
                            "rows_read, rows_written, rows_quarantined, online_store, finished_at) "
                            "VALUES ('flights', 'origin_delays', 0, 1, 0, 0, 0, 'redis://elsewhere:6379', 1)")
                  .ok());

  OnlineReadiness before = Check(1);
  EXPECT_FALSE(before.ready);
  EXPECT_THAT(before.problems,
              ElementsAre("feature view 'origin_delays' was never materialized to " + online_,
                          "feature view 'origin_counts' was never materialized to " + online_));
  // origin_counts is needed through the on-demand view context.
  ASSERT_EQ(before.views.size(), 2u);
  EXPECT_EQ(before.views[0].view, "origin_delays");
  EXPECT_EQ(before.views[1].view, "origin_counts");
  EXPECT_FALSE(before.views[0].materialized);
  EXPECT_TRUE(before.is_current_version);
  EXPECT_TRUE(before.same_features);
  EXPECT_EQ(before.online_store, online_);

  Materialize();
  OnlineReadiness after = Check(1);
  EXPECT_TRUE(after.ready);
  EXPECT_THAT(after.problems, IsEmpty());
  ASSERT_EQ(after.views.size(), 2u);
  EXPECT_TRUE(after.views[0].materialized);
  EXPECT_EQ(after.views[0].last_end_micros, T("2024-01-02T00:00:00Z"));
  EXPECT_EQ(after.views[0].last_finished_millis, clock_.NowMillis());
  EXPECT_EQ(after.views[0].materialized_repository_version, 1);
  EXPECT_FALSE(after.views[0].definition_changed);
}

TEST_F(OnlineReadinessTest, AChangedViewAndAChangedServiceAreReportedWithWhatChanged) {
  Apply();
  Materialize();
  const int64_t materialized_at = clock_.NowMillis();
  Apply(Replace(std::string(kOriginDelays), "expression: delay",
                "expression: delay * 60\n      - name: delay_max_1d\n"
                "        aggregation: {function: max, column: delay, window: 1d}"));

  OnlineReadiness old_model = Check(1);
  EXPECT_FALSE(old_model.ready);
  EXPECT_FALSE(old_model.is_current_version);
  EXPECT_FALSE(old_model.same_features);
  EXPECT_EQ(old_model.current_service_version, 2);
  EXPECT_EQ(old_model.repository_version, 2);
  const std::string view_problem = "feature view 'origin_delays' changed after its last materialization to " +
                                   online_ + " (finished " + data::FormatTimestamp(materialized_at * 1000) +
                                   " with repository version 1; now version 2): feature delay_last changed; "
                                   "feature delay_max_1d added";
  EXPECT_THAT(
      old_model.problems,
      ElementsAre("feature service 'delay_model' is at version 2; the model was trained on version 1 and "
                  "its features differ: added origin_delays.delay_max_1d",
                  view_problem));
  EXPECT_TRUE(old_model.views[0].definition_changed);
  EXPECT_FALSE(old_model.views[1].definition_changed);  // origin_counts did not change

  EXPECT_THAT(Check(2).problems, ElementsAre(view_problem));
  Materialize();
  EXPECT_TRUE(Check(2).ready);
  EXPECT_THAT(Check(1).problems,
              ElementsAre(::testing::StartsWith("feature service 'delay_model' is at version 2")));
}

TEST_F(OnlineReadinessTest, DescriptionsTagsAndTtlDoNotMakeAViewStale) {
  Apply();
  Materialize();
  Apply(Replace(Replace(std::string(kOriginDelays), "ttl: 1d", "ttl: 2d\n    description: delays by origin"),
                "expression: delay", "expression: delay\n        description: the latest delay"));
  OnlineReadiness readiness = Check(1);
  EXPECT_TRUE(readiness.ready) << ::testing::PrintToString(readiness.problems);
  EXPECT_EQ(readiness.repository_version, 2);
  EXPECT_EQ(readiness.views[0].materialized_repository_version, 1);
}

TEST_F(OnlineReadinessTest, ViewsThatAreGoneOrOfflineCannotServe) {
  Apply();
  Materialize();
  Apply(Replace(std::string(kOriginDelays), "ttl: 1d", "ttl: 1d\n    online: false"),
        "feature_services:\n  - name: delay_model\n    features: [origin_delays.*]");
  OnlineReadiness readiness = Check(1);
  EXPECT_FALSE(readiness.ready);
  EXPECT_THAT(
      readiness.problems,
      ElementsAre("feature service 'delay_model' is at version 2; the model was trained on version 1 and "
                  "its features differ: removed context.busy_score",
                  "feature view 'origin_delays' is not served online (online: false)",
                  "view 'context' (used by version 1 of feature service 'delay_model') no longer exists in "
                  "project 'flights' (repository version 2)"));
}

TEST_F(OnlineReadinessTest, AMaterializationOlderThanEveryVersionCountsAsStale) {
  Apply();
  const int64_t applied_at = clock_.NowMillis();
  auto connection = Value(database_->Acquire());
  for (const char* view : {"origin_delays", "origin_counts"}) {
    ASSERT_TRUE(
        connection
            ->Execute("INSERT INTO feature_materializations (project, view, start_micros, end_micros, "
                      "rows_read, rows_written, rows_quarantined, online_store, finished_at) "
                      "VALUES ('flights', ?, 0, 1, 0, 0, 0, ?, ?)",
                      {std::string(view), online_, applied_at - 5000})
            .ok());
  }
  OnlineReadiness readiness = Check(1);
  ASSERT_EQ(readiness.problems.size(), 2u);
  EXPECT_EQ(readiness.problems[0],
            "feature view 'origin_delays' may have changed after its last materialization to " + online_ +
                " (finished " + data::FormatTimestamp((applied_at - 5000) * 1000) +
                "): the current definitions (repository version 1) were applied at " +
                data::FormatTimestamp(applied_at * 1000) + ", after it finished");
  EXPECT_EQ(readiness.views[0].materialized_repository_version, std::nullopt);
}

TEST_F(OnlineReadinessTest, UnknownServicesAndVersionsAreErrors) {
  Apply();
  auto zero = store_->CheckOnlineReadiness("flights", "delay_model", 0);
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(zero.status().message(), "feature service version must be at least 1, got 0");
  auto missing = store_->CheckOnlineReadiness("flights", "delay_model", 9);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(),
            "feature service 'delay_model' of project 'flights' has no version 9 (latest is 1)");
  auto unknown = store_->CheckOnlineReadiness("flights", "nope", 1);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().message(), "feature project 'flights' has no feature service 'nope'");
  auto project = store_->CheckOnlineReadiness("trains", "delay_model", 1);
  ASSERT_FALSE(project.ok());
  EXPECT_EQ(project.status().code(), StatusCode::kNotFound);
}

TEST(FeatureListChangeTest, NamesWhatWasAddedRemovedRetypedOrReordered) {
  using data::Type;
  std::vector<ServiceFeature> before = {
      {"a.x", Type::kFloat64}, {"a.y", Type::kInt64}, {"b.z", Type::kString}};
  EXPECT_EQ(DescribeFeatureListChange(before, before), "");
  EXPECT_EQ(DescribeFeatureListChange(
                before, {{"a.x", Type::kFloat64}, {"a.y", Type::kFloat64}, {"c.w", Type::kBool}}),
            "added c.w; removed b.z; retyped a.y int64 → float64");
  EXPECT_EQ(DescribeFeatureListChange(
                before, {{"a.y", Type::kInt64}, {"a.x", Type::kFloat64}, {"b.z", Type::kString}}),
            "reordered");
}

}  // namespace
}  // namespace kiln::features
