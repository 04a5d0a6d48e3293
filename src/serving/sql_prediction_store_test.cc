// The SQL prediction store on SQLite and (with KILN_TEST_POSTGRES_URI)
// PostgreSQL: what a row holds, round trips, batches, queries, sampling,
// drop markers, and a prediction log writing through it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "serving/prediction_log.h"
#include "serving/serving_testing.h"

namespace kiln::serving {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing_support::Backend;
using testing_support::MakeRecord;
using testing_support::Must;
using testing_support::T;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::vector<std::string> Ids(const PredictionReadResult& result) {
  std::vector<std::string> ids;
  for (const PredictionRecord& record : result.records) ids.push_back(record.id);
  return ids;
}

class SqlPredictionStoreTest : public testing_support::DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    store_ = Must(OpenSqlPredictionStore(*database_));
  }
  void TearDown() override {
    store_.reset();
    DatabaseTest::TearDown();
  }
  void Write(std::vector<PredictionRecord> records) { Must(store_->Write(records)); }

  std::unique_ptr<PredictionStore> store_;
};

TEST_P(SqlPredictionStoreTest, ARowHoldsTheRecordsColumns) {
  PredictionRecord record = MakeRecord("pred-1", "2001-04-01T08:00:00.25Z");
  record.feature_values = {740.0, kNaN};
  Write({record});
  Must(store_->Flush());

  storage::Rows rows = Query(
      "SELECT id, timestamp_micros, model, version, alias, experiment, arm, unit_id, entity_json, request_json, "
      "features_json, features_as_of_micros, prediction FROM predictions");
  ASSERT_EQ(rows.size(), 1u);
  const storage::Row& row = rows[0];
  EXPECT_EQ(row.String(0), "pred-1");
  EXPECT_EQ(row.Int(1), T("2001-04-01T08:00:00.25Z"));
  EXPECT_EQ(row.String(2), "flights");
  EXPECT_EQ(row.Int(3), 1);
  EXPECT_EQ(row.String(4), "champion");
  EXPECT_EQ(row.String(5), "");
  EXPECT_EQ(row.String(6), "");
  EXPECT_EQ(row.String(7), "user-pred-1");
  EXPECT_EQ(row.String(8), R"({"origin":"ORD"})");
  EXPECT_EQ(row.String(9), R"({"departure":"2001-04-01T08:00:00Z"})");
  EXPECT_EQ(row.String(10), R"({"z_distance":740.0,"a_delay":null})");
  EXPECT_EQ(row.Int(11), T("2001-04-01T00:00:00Z"));
  EXPECT_EQ(row.Double(12), 0.25);
  EXPECT_EQ(store_->Describe(), GetParam() == Backend::kSqlite ? "table predictions (sqlite)"
                                                               : "table predictions (postgresql)");
}

TEST_P(SqlPredictionStoreTest, RecordsReadBackWithEveryField) {
  PredictionRecord first = MakeRecord("p1", "2001-04-01T08:00:00Z");
  first.experiment = "exp-1";
  first.arm = "b";
  first.feature_values = {kNaN, -3.5};
  first.features_as_of_micros = 0;
  first.prediction = kNaN;
  Write({first, MakeRecord("p2", "2001-04-01T08:00:01Z")});

  PredictionReadResult result = Must(store_->Read({}));
  EXPECT_EQ(result.matched, 2);
  ASSERT_THAT(Ids(result), ElementsAre("p1", "p2"));
  const PredictionRecord& back = result.records[0];
  EXPECT_EQ(back.timestamp_micros, T("2001-04-01T08:00:00Z"));
  EXPECT_EQ(back.model, "flights");
  EXPECT_EQ(back.version, 1);
  EXPECT_EQ(back.alias, "champion");
  EXPECT_EQ(back.experiment, "exp-1");
  EXPECT_EQ(back.arm, "b");
  EXPECT_EQ(back.unit_id, "user-p1");
  EXPECT_EQ(back.entity, (Json{{"origin", "ORD"}}));
  EXPECT_EQ(back.request, (Json{{"departure", "2001-04-01T08:00:00Z"}}));
  EXPECT_THAT(*back.feature_names, ElementsAre("z_distance", "a_delay"));
  EXPECT_TRUE(std::isnan(back.feature_values[0]));
  EXPECT_EQ(back.feature_values[1], -3.5);
  EXPECT_EQ(back.features_as_of_micros, 0);
  EXPECT_TRUE(std::isnan(back.prediction));
  EXPECT_EQ(result.records[1].prediction, 0.25);
  EXPECT_EQ(result.records[0].feature_names, result.records[1].feature_names);  // shared
}

TEST_P(SqlPredictionStoreTest, ALargeBatchIsStoredWhole) {
  std::vector<PredictionRecord> records;
  for (int i = 0; i < 123; ++i) {  // 100 + 2 x 10 + 3 x 1 rows per INSERT
    records.push_back(MakeRecord("p" + std::to_string(1000 + i), "2001-04-01T08:00:00Z"));
    records.back().timestamp_micros += i;
  }
  Write(records);
  PredictionReadResult result = Must(store_->Read({}));
  ASSERT_EQ(result.records.size(), 123u);
  EXPECT_EQ(result.records.front().id, "p1000");
  EXPECT_EQ(result.records.back().id, "p1122");
}

TEST_P(SqlPredictionStoreTest, AFailingBatchStoresNothingAndNamesTheTable) {
  Write({MakeRecord("p1", "2001-04-01T08:00:00Z")});
  Status status = store_->Write(std::vector<PredictionRecord>{MakeRecord("p2", "2001-04-01T08:00:01Z"),
                                                              MakeRecord("p1", "2001-04-01T08:00:02Z")});
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("writing 2 predictions to table predictions ("));
  EXPECT_THAT(Ids(Must(store_->Read({}))), ElementsAre("p1"));
}

TEST_P(SqlPredictionStoreTest, QueriesFilterByModelVersionAndTimeOldestFirst) {
  Write({MakeRecord("late", "2001-04-01T10:00:00Z"), MakeRecord("early", "2001-04-01T08:00:00Z"),
         MakeRecord("v2", "2001-04-01T09:00:00Z", "flights", 2), MakeRecord("other", "2001-04-01T09:00:00Z", "churn"),
         MakeRecord("end", "2001-04-01T11:00:00Z")});
  Must(store_->WriteDrop({2, T("2001-04-01T07:00:00Z"), T("2001-04-01T07:30:00Z")}));
  Must(store_->WriteDrop({5, T("2001-04-01T10:30:00Z"), T("2001-04-01T11:30:00Z")}));

  PredictionQuery query;
  query.model = "flights";
  EXPECT_THAT(Ids(Must(store_->Read(query))), ElementsAre("early", "v2", "late", "end"));
  query.version = 1;
  EXPECT_THAT(Ids(Must(store_->Read(query))), ElementsAre("early", "late", "end"));
  query.start_micros = T("2001-04-01T08:00:00Z");
  query.end_micros = T("2001-04-01T11:00:00Z");
  PredictionReadResult result = Must(store_->Read(query));
  EXPECT_THAT(Ids(result), ElementsAre("early", "late"));
  EXPECT_EQ(result.matched, 2);
  ASSERT_EQ(result.drops.size(), 1u);
  EXPECT_EQ(result.drops[0].count, 5);
  EXPECT_EQ(result.drops[0].first_micros, T("2001-04-01T10:30:00Z"));
  EXPECT_EQ(result.drops[0].last_micros, T("2001-04-01T11:30:00Z"));
  EXPECT_EQ(Must(store_->Read({})).drops.size(), 2u);
}

TEST_P(SqlPredictionStoreTest, SamplingIsSeededAndDeterministic) {
  std::vector<PredictionRecord> records;
  for (int i = 0; i < 100; ++i) {
    records.push_back(MakeRecord("p" + std::to_string(i), "2001-04-01T08:00:00Z"));
    records.back().timestamp_micros += i;
  }
  Write(records);
  PredictionQuery query;
  query.sample = 5;
  query.seed = 11;
  PredictionReadResult first = Must(store_->Read(query));
  EXPECT_EQ(first.matched, 100);
  ASSERT_EQ(first.records.size(), 5u);
  EXPECT_EQ(Ids(Must(store_->Read(query))), Ids(first));
  for (size_t i = 1; i < first.records.size(); ++i) {
    EXPECT_LT(first.records[i - 1].timestamp_micros, first.records[i].timestamp_micros);
  }
  query.seed = 12;
  EXPECT_NE(Ids(Must(store_->Read(query))), Ids(first));
  query.sample = 500;
  EXPECT_EQ(Must(store_->Read(query)).records.size(), 100u);
}

TEST_P(SqlPredictionStoreTest, APredictionLogWritesThroughIt) {
  auto state_store = Must(OpenSqlPredictionStore(*database_));
  PredictionLog log(std::move(state_store));
  for (int i = 0; i < 250; ++i) {
    PredictionRecord record = MakeRecord("p" + std::to_string(i), "2001-04-01T08:00:00Z");
    record.timestamp_micros += i;
    ASSERT_TRUE(log.Append(std::move(record)));
  }
  Must(log.Drain());
  EXPECT_EQ(Query("SELECT COUNT(*) FROM predictions")[0].Int(0), 250);
  EXPECT_EQ(log.stats().written, 250);
  Must(log.Close());
}

INSTANTIATE_TEST_SUITE_P(Backends, SqlPredictionStoreTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         testing_support::BackendName);

class UnmigratedStoreTest : public testing_support::DatabaseTest {
 protected:
  UnmigratedStoreTest() { migrate_ = false; }
};

TEST_P(UnmigratedStoreTest, OpeningWithoutTheMigrationsSaysSo) {
  auto store = OpenSqlPredictionStore(*database_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(store.status().message(),
              HasSubstr("has no usable predictions table (are the serving migrations applied?)"));
}

INSTANTIATE_TEST_SUITE_P(Backends, UnmigratedStoreTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         testing_support::BackendName);

}  // namespace
}  // namespace kiln::serving
