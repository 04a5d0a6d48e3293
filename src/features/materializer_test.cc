// Materialization over a small repository with a CSV source written to a
// temporary folder, a fresh SQLite metadata store and a RocksDB online store:
// the latest row per entity, windows anchored at the end of the interval,
// the window lead-in before `start`, and online values equal to the
// training-set values at end − 1 µs.
#include "features/features_testing.h"
#include "features/materializer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/clock.h"
#include "data/timestamp.h"
#include "features/definition_loader.h"
#include "features/migrations.h"
#include "features/source_schema.h"
#include "features/training_set.h"
#include "storage/database.h"

namespace kiln::features {
namespace {

using testing_support::T;
using testing_support::Value;

using ::testing::ElementsAre;

constexpr std::string_view kRepository = R"yaml(
project: rides
sources:
  - name: trips
    kind: csv
    path: trips.csv
    timestamp_field: ts
    created_timestamp_field: created
    columns: {driver: string, fare: float64}
entities:
  - name: driver
    join_keys: [driver]
feature_views:
  - name: latest_fare
    entities: [driver]
    source: trips
    features:
      - name: fare
        expression: fare
      - name: fare_cents
        expression: fare * 100
  - name: fare_stats
    entities: [driver]
    source: trips
    features:
      - name: trips_1h
        aggregation: {function: count, window: 1h}
      - name: fare_sum_1h
        aggregation: {function: sum, column: fare, window: 1h}
      - name: big_fares_1h
        aggregation: {function: sum, column: "if(fare > 15, 1.0, 0.0)", window: 1h}
)yaml";

// a: two rows at 01:00, the later-created one wins; one row at 00:59:59.999999
// (just outside a 1h window ending at 02:00) and one exactly at 01:00.
// b: one row after the end (never read). A row with no driver.
constexpr std::string_view kTrips =
    "driver,fare,ts,created\n"
    "a,10,2001-01-01T00:59:59.999999Z,2001-01-01T01:00:00Z\n"
    "a,20,2001-01-01T01:00:00Z,2001-01-01T01:00:00Z\n"
    "a,25,2001-01-01T01:00:00Z,2001-01-01T01:05:00Z\n"
    "b,7,2001-01-01T01:30:00Z,2001-01-01T01:30:00Z\n"
    "b,8,2001-01-01T02:00:00Z,2001-01-01T02:00:00Z\n"
    ",99,2001-01-01T01:10:00Z,2001-01-01T01:10:00Z\n";

class MaterializerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = testing_support::MakeTestDirectory("kiln-materializer-test");
    std::ofstream(directory_ / "trips.csv") << kTrips;
    database_ = testing_support::OpenTestDatabase(directory_, {&Migrations()});
    RepositoryDef def = Value(ParseRepositoryFiles({{"repo.yaml", std::string(kRepository)}}, "rides",
                                                   directory_.string()));
    repository_ = Value(Repository::Build(std::move(def), DefaultSchemaResolver(directory_.string())));
    online_ = Value(OpenOnlineStore("", directory_.string()));
  }
  void TearDown() override {
    online_.reset();
    database_.reset();
    std::filesystem::remove_all(directory_);
  }

  // The stored record of driver `driver` in `view`, if any.
  std::optional<OnlineRecord> Stored(const std::string& view_name, const std::string& driver) {
    const ResolvedView& view = *repository_->FindView(view_name);
    std::vector<data::Value> key = {data::Value::String(driver)};
    std::vector<std::string> keys = {EncodeEntityKey(key)};
    std::vector<data::Type> types = ViewFeatureTypes(view);
    std::vector<std::optional<OnlineRecord>> out;
    EXPECT_TRUE(online_->Read(OnlineViewKey(repository_->project(), view), types, keys, &out).ok());
    return out.at(0);
  }

  std::vector<std::string> Texts(const OnlineRecord& record) {
    std::vector<std::string> out;
    for (const data::Value& value : record.values) out.push_back(value.ToString());
    return out;
  }

  std::filesystem::path directory_;
  std::unique_ptr<storage::Database> database_;
  std::shared_ptr<const Repository> repository_;
  std::unique_ptr<OnlineStore> online_;
  FakeClock clock_{T("2001-01-02T00:00:00Z") / 1000};
};

TEST_F(MaterializerTest, ComputeViewRecordsPicksTheLatestRowPerEntity) {
  const ResolvedView& view = *repository_->FindView("latest_fare");
  data::Frame rows = Value(ReadSource(repository_->def(), *view.source, SourceReadOptions()));
  ViewRecords records = Value(ComputeViewRecords(view, rows, T("2001-01-01T01:59:59Z"), false, 1));
  EXPECT_EQ(records.rows_without_key, 1);
  ASSERT_EQ(records.frame.num_rows(), 2u);
  EXPECT_THAT(records.frame.names(), ElementsAre("driver", "ts", "fare", "fare_cents"));
  EXPECT_EQ(records.first_feature_column, 2u);
  // a: the tie at 01:00 goes to the later created row (25); b: 7, its 02:00 row is after as_of.
  EXPECT_EQ(records.frame.column(0).Get(0).ToString(), "a");
  EXPECT_EQ(records.frame.column(2).Get(0).ToString(), "25.0");
  EXPECT_EQ(records.frame.column(3).Get(0).ToString(), "2500.0");
  EXPECT_EQ(records.frame.column(2).Get(1).ToString(), "7.0");
  EXPECT_THAT(records.event_micros, ElementsAre(T("2001-01-01T01:00:00Z"), T("2001-01-01T01:30:00Z")));
  EXPECT_EQ(records.entity_keys[0], EncodeEntityKey(std::vector<data::Value>{data::Value::String("a")}));
}

TEST_F(MaterializerTest, AggregationsNeedWithAggregations) {
  const ResolvedView& view = *repository_->FindView("fare_stats");
  data::Frame rows = Value(ReadSource(repository_->def(), *view.source, SourceReadOptions()));
  auto result = ComputeViewRecords(view, rows, T("2001-01-01T01:59:59Z"), false, 1);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().message(),
            "feature view 'fare_stats' has aggregation feature 'trips_1h', which cannot be computed from pushed "
            "rows alone; push to the offline store and materialize instead");
}

TEST_F(MaterializerTest, WindowsAreAnchoredAtTheEndOfTheInterval) {
  Materializer materializer(*database_, *online_, clock_);
  const int64_t end = T("2001-01-01T02:00:00Z");
  MaterializeViewResult result =
      Value(materializer.Run(*repository_, *repository_->FindView("fare_stats"), std::nullopt, end, {}));
  EXPECT_EQ(result.rows_read, 5);  // the row at 02:00 is outside [start, end)
  EXPECT_EQ(result.rows_without_key, 1);
  EXPECT_EQ(result.entities, 2);
  EXPECT_EQ(result.entities_written, 2);
  EXPECT_EQ(result.rows_quarantined, 0);
  EXPECT_EQ(result.start_micros, T("2001-01-01T00:59:59.999999Z"));  // unbounded: the earliest event
  EXPECT_EQ(result.end_micros, end);

  // The window is [01:00, 02:00): a's row at 00:59:59.999999 is out, the three at 01:00 are in.
  std::optional<OnlineRecord> a = Stored("fare_stats", "a");
  ASSERT_TRUE(a.has_value());
  EXPECT_THAT(Texts(*a), ElementsAre("2", "45.0", "2.0"));
  EXPECT_EQ(a->event_micros, T("2001-01-01T01:00:00Z"));
  EXPECT_EQ(a->written_micros, clock_.NowMillis() * 1000);
  std::optional<OnlineRecord> b = Stored("fare_stats", "b");
  ASSERT_TRUE(b.has_value());
  EXPECT_THAT(Texts(*b), ElementsAre("1", "7.0", "0.0"));
  EXPECT_EQ(Value(materializer.LastEnd("rides", "fare_stats")), std::optional<int64_t>(end));
  EXPECT_EQ(Value(materializer.LastEnd("rides", "latest_fare")), std::nullopt);
  // Another online store has materialized nothing yet.
  std::unique_ptr<OnlineStore> other = Value(OpenOnlineStore("rocksdb:" + (directory_ / "other").string(), ""));
  EXPECT_EQ(Value(Materializer(*database_, *other, clock_).LastEnd("rides", "fare_stats")), std::nullopt);
}

TEST_F(MaterializerTest, AStartReadsTheLongestWindowBeforeIt) {
  Materializer materializer(*database_, *online_, clock_);
  const int64_t start = T("2001-01-01T01:45:00Z");
  const int64_t end = T("2001-01-01T02:30:00Z");
  MaterializeViewResult result =
      Value(materializer.Run(*repository_, *repository_->FindView("fare_stats"), start, end, {}));
  // [00:45, 02:30): every row.
  EXPECT_EQ(result.rows_read, 6);
  EXPECT_EQ(result.start_micros, start);
  // a's events left the window ending at 02:30: its aggregates are rewritten as empty.
  std::optional<OnlineRecord> a = Stored("fare_stats", "a");
  ASSERT_TRUE(a.has_value());
  EXPECT_THAT(Texts(*a), ElementsAre("0", "null", "null"));

  // A row view reads [start, end) only.
  MaterializeViewResult rows_only =
      Value(materializer.Run(*repository_, *repository_->FindView("latest_fare"), start, end, {}));
  EXPECT_EQ(rows_only.rows_read, 1);
  EXPECT_EQ(rows_only.entities_written, 1);
  EXPECT_FALSE(Stored("latest_fare", "a").has_value());
  EXPECT_THAT(Texts(*Stored("latest_fare", "b")), ElementsAre("8.0", "800.0"));
}

TEST_F(MaterializerTest, OnlineValuesEqualTrainingSetValuesAtTheEnd) {
  Materializer materializer(*database_, *online_, clock_);
  const int64_t end = T("2001-01-01T02:00:00Z");
  for (const char* view : {"latest_fare", "fare_stats"}) {
    ASSERT_TRUE(materializer.Run(*repository_, *repository_->FindView(view), std::nullopt, end, {}).ok());
  }
  TrainingSetRequest request;
  request.features = {"latest_fare.*", "fare_stats.*"};
  data::Column drivers(data::Type::kString);
  drivers.AppendString("a");
  drivers.AppendString("b");
  data::Column times(data::Type::kTimestamp);
  times.AppendInt(end - 1);
  times.AppendInt(end - 1);
  ASSERT_TRUE(request.entities.AddColumn("driver", drivers).ok());
  ASSERT_TRUE(request.entities.AddColumn("event_timestamp", times).ok());
  TrainingSet set = Value(BuildTrainingSet(*repository_, request, SourceReadOptions()));
  size_t checked = 0;
  for (const char* view_name : {"latest_fare", "fare_stats"}) {
    const ResolvedView& view = *repository_->FindView(view_name);
    for (size_t row = 0; row < 2; ++row) {
      std::optional<OnlineRecord> record = Stored(view_name, row == 0 ? "a" : "b");
      ASSERT_TRUE(record.has_value());
      for (size_t f = 0; f < view.features.size(); ++f) {
        const data::Column* offline = set.frame.Find(view.features[f].FullName());
        ASSERT_NE(offline, nullptr);
        EXPECT_TRUE(offline->Get(row).BitwiseEquals(record->values[f]))
            << view.features[f].FullName() << " row " << row << ": offline " << offline->Get(row).ToString()
            << ", online " << record->values[f].ToString();
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 10u);
}

TEST_F(MaterializerTest, StartMustBeBeforeEnd) {
  Materializer materializer(*database_, *online_, clock_);
  auto result = materializer.Run(*repository_, *repository_->FindView("latest_fare"), T("2001-01-01T02:00:00Z"),
                                 T("2001-01-01T02:00:00Z"), {});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().message(),
            "materialize 'latest_fare': start 2001-01-01T02:00:00Z is not before end 2001-01-01T02:00:00Z");
}

}  // namespace
}  // namespace kiln::features
