// OutcomeStore on SQLite and (with KILN_TEST_POSTGRES_URI) PostgreSQL:
// labels and business events, idempotency on the client's ids (duplicates
// counted, conflicts refused with the differing values, nothing of a
// refused batch stored), validation and queries.
#include "serving/outcome_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <limits>
#include <thread>

#include "serving/serving_testing.h"

namespace kiln::serving {
namespace {

using ::testing::ElementsAre;
using testing_support::Backend;
using testing_support::Must;
using testing_support::T;

class OutcomeStoreTest : public testing_support::DatabaseTest {
 protected:
  void SetUp() override {
    DatabaseTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    store_ = std::make_unique<OutcomeStore>(*database_, clock_);
  }
  void TearDown() override {
    store_.reset();
    DatabaseTest::TearDown();
  }

  Result<RecordCounts> Add(std::vector<Label> labels) { return store_->AddLabels(labels); }
  Result<RecordCounts> Add(std::vector<BusinessEvent> events) { return store_->AddEvents(events); }
  int64_t Count(const std::string& table) { return Query("SELECT COUNT(*) FROM " + table)[0].Int(0); }

  FakeClock clock_{1'700'000'000'000};
  std::unique_ptr<OutcomeStore> store_;
};

Label MakeLabel(const std::string& id, const std::string& prediction, double value, std::string_view iso) {
  return Label{id, prediction, value, T(iso)};
}

BusinessEvent MakeEvent(const std::string& id, const std::string& unit, const std::string& name, double value,
                        std::string_view iso, Json properties = Json::object()) {
  BusinessEvent event{id, unit, name, value, T(iso)};
  event.properties = std::move(properties);
  return event;
}

std::vector<std::string> LabelIds(const std::vector<Label>& labels) {
  std::vector<std::string> ids;
  for (const Label& label : labels) ids.push_back(label.label_id);
  return ids;
}

std::vector<std::string> EventIds(const std::vector<BusinessEvent>& events) {
  std::vector<std::string> ids;
  for (const BusinessEvent& event : events) ids.push_back(event.event_id);
  return ids;
}

TEST_P(OutcomeStoreTest, LabelsAreStoredAndListedByPrediction) {
  RecordCounts counts = Must(Add({MakeLabel("l-1", "pred-1", 1, "2001-04-03T00:00:00Z"),
                                  MakeLabel("l-2", "pred-2", 0, "2001-04-02T00:00:00Z"),
                                  MakeLabel("l-3", "pred-3", 0.5, "2001-04-04T00:00:00Z")}));
  EXPECT_EQ(counts.created, 3);
  EXPECT_EQ(counts.duplicates, 0);

  std::vector<Label> all = Must(store_->ListLabels({}));
  EXPECT_THAT(LabelIds(all), ElementsAre("l-2", "l-1", "l-3"));  // by timestamp
  EXPECT_EQ(all[1].prediction_id, "pred-1");
  EXPECT_EQ(all[1].value, 1);
  EXPECT_EQ(all[1].timestamp_micros, T("2001-04-03T00:00:00Z"));

  LabelQuery query;
  query.prediction_ids = {"pred-3", "pred-1", "pred-unknown"};
  EXPECT_THAT(LabelIds(Must(store_->ListLabels(query))), ElementsAre("l-1", "l-3"));
  query.limit = 1;
  EXPECT_THAT(LabelIds(Must(store_->ListLabels(query))), ElementsAre("l-1"));
  EXPECT_EQ(Query("SELECT created_at FROM prediction_labels WHERE label_id = 'l-1'")[0].Int(0), 1'700'000'000'000);
}

TEST_P(OutcomeStoreTest, SendingALabelAgainIsADuplicateNotANewLabel) {
  Must(Add({MakeLabel("l-1", "pred-1", 1, "2001-04-03T00:00:00Z")}));
  RecordCounts counts = Must(Add({MakeLabel("l-1", "pred-1", 1, "2001-04-03T00:00:00Z"),
                                  MakeLabel("l-2", "pred-2", 0, "2001-04-03T00:00:00Z")}));
  EXPECT_EQ(counts.created, 1);
  EXPECT_EQ(counts.duplicates, 1);
  EXPECT_EQ(Count("prediction_labels"), 2);
}

TEST_P(OutcomeStoreTest, ALabelIdWithDifferentContentIsRefusedAndNothingOfTheBatchIsStored) {
  Must(Add({MakeLabel("l-7", "pred-1", 1, "2001-04-03T00:00:00Z")}));

  auto refused = Add({MakeLabel("l-8", "pred-2", 1, "2001-04-03T00:00:00Z"),
                      MakeLabel("l-7", "pred-1", 0, "2001-04-03T00:00:00Z")});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(refused.status().message(),
            "label 'l-7' was already recorded with a different value (prediction pred-1, value 1 vs 0)");
  EXPECT_EQ(Count("prediction_labels"), 1);  // l-8 was not stored either

  auto other_prediction = Add({MakeLabel("l-7", "pred-2", 1, "2001-04-04T00:00:00Z")});
  EXPECT_EQ(other_prediction.status().message(),
            "label 'l-7' was already recorded with a different prediction (prediction pred-1 vs pred-2, "
            "timestamp 2001-04-03T00:00:00Z vs 2001-04-04T00:00:00Z)");
}

TEST_P(OutcomeStoreTest, RepeatsInsideOneBatchFollowTheSameRules) {
  RecordCounts counts = Must(Add({MakeLabel("l-1", "pred-1", 1, "2001-04-03T00:00:00Z"),
                                  MakeLabel("l-1", "pred-1", 1, "2001-04-03T00:00:00Z")}));
  EXPECT_EQ(counts.created, 1);
  EXPECT_EQ(counts.duplicates, 1);

  auto refused = Add({MakeLabel("l-2", "pred-2", 1, "2001-04-03T00:00:00Z"),
                      MakeLabel("l-2", "pred-2", 0.5, "2001-04-03T00:00:00Z")});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(refused.status().message(),
            "label 'l-2' appears twice in the batch with a different value (prediction pred-2, value 1 vs 0.5)");
  EXPECT_EQ(Count("prediction_labels"), 1);
}

TEST_P(OutcomeStoreTest, InvalidLabelsAreRefusedBeforeAnythingIsStored) {
  auto message = [&](Label label) {
    auto result = Add({MakeLabel("ok", "pred-1", 1, "2001-04-03T00:00:00Z"), label});
    EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
    return result.status().message();
  };
  EXPECT_EQ(message(MakeLabel("", "pred-1", 1, "2001-04-03T00:00:00Z")), "labels[1]: label_id must not be empty");
  EXPECT_EQ(message(MakeLabel("l-1", "", 1, "2001-04-03T00:00:00Z")),
            "label 'l-1': prediction_id must not be empty");
  EXPECT_EQ(message(MakeLabel("l-1", "pred-1", std::numeric_limits<double>::quiet_NaN(), "2001-04-03T00:00:00Z")),
            "label 'l-1': value must be a finite number, got NaN");
  EXPECT_EQ(Count("prediction_labels"), 0);
  EXPECT_EQ(store_->ListLabels(LabelQuery{{}, 0}).status().message(), "limit must be positive, got 0");
}

TEST_P(OutcomeStoreTest, EventsAreStoredIdempotentlyAndListedByUnitNameAndTime) {
  RecordCounts counts = Must(Add({MakeEvent("e-1", "u-1", "conversion", 1, "2001-04-01T10:00:00Z",
                                            Json{{"order", "o-9"}, {"amount", 12.5}}),
                                  MakeEvent("e-2", "u-1", "claim", 250, "2001-04-01T09:00:00Z"),
                                  MakeEvent("e-3", "u-2", "conversion", 1, "2001-04-02T10:00:00Z")}));
  EXPECT_EQ(counts.created, 3);
  counts = Must(Add({MakeEvent("e-1", "u-1", "conversion", 1, "2001-04-01T10:00:00Z",
                               Json{{"amount", 12.5}, {"order", "o-9"}})}));
  EXPECT_EQ(counts.created, 0);
  EXPECT_EQ(counts.duplicates, 1);

  std::vector<BusinessEvent> all = Must(store_->ListEvents({}));
  EXPECT_THAT(EventIds(all), ElementsAre("e-2", "e-1", "e-3"));
  EXPECT_EQ(all[1].unit_id, "u-1");
  EXPECT_EQ(all[1].name, "conversion");
  EXPECT_EQ(all[1].value, 1);
  EXPECT_EQ(all[1].timestamp_micros, T("2001-04-01T10:00:00Z"));
  EXPECT_EQ(all[1].properties, (Json{{"order", "o-9"}, {"amount", 12.5}}));

  EventQuery query;
  query.unit_id = "u-1";
  EXPECT_THAT(EventIds(Must(store_->ListEvents(query))), ElementsAre("e-2", "e-1"));
  query.name = "conversion";
  EXPECT_THAT(EventIds(Must(store_->ListEvents(query))), ElementsAre("e-1"));
  query = EventQuery{};
  query.name = "conversion";
  query.start_micros = T("2001-04-01T10:00:00Z");
  query.end_micros = T("2001-04-02T10:00:00Z");  // exclusive
  EXPECT_THAT(EventIds(Must(store_->ListEvents(query))), ElementsAre("e-1"));
  query = EventQuery{};
  query.limit = 2;
  EXPECT_THAT(EventIds(Must(store_->ListEvents(query))), ElementsAre("e-2", "e-1"));
}

TEST_P(OutcomeStoreTest, AnEventIdWithDifferentContentIsRefusedNamingTheDifferences) {
  Must(Add({MakeEvent("e-1", "u-1", "conversion", 1, "2001-04-01T10:00:00Z", Json{{"order", "o-9"}})}));

  auto value = Add({MakeEvent("e-2", "u-2", "claim", 1, "2001-04-01T10:00:00Z"),
                    MakeEvent("e-1", "u-1", "conversion", 2, "2001-04-01T10:00:00Z", Json{{"order", "o-9"}})});
  ASSERT_FALSE(value.ok());
  EXPECT_EQ(value.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(value.status().message(),
            "event 'e-1' was already recorded with a different value (unit u-1, name conversion, value 1 vs 2)");
  EXPECT_EQ(Count("business_events"), 1);

  auto properties = Add({MakeEvent("e-1", "u-1", "conversion", 1, "2001-04-01T10:00:00Z", Json{{"order", "o-8"}})});
  EXPECT_EQ(properties.status().message(),
            "event 'e-1' was already recorded with a different properties (unit u-1, name conversion, "
            "properties {\"order\":\"o-9\"} vs {\"order\":\"o-8\"})");
  auto unit = Add({MakeEvent("e-1", "u-2", "conversion", 1, "2001-04-01T10:00:00Z", Json{{"order", "o-9"}})});
  EXPECT_EQ(unit.status().message(),
            "event 'e-1' was already recorded with a different unit (unit u-1 vs u-2, name conversion)");
}

TEST_P(OutcomeStoreTest, InvalidEventsAreRefused) {
  auto message = [&](BusinessEvent event) {
    auto result = Add({event});
    EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
    return result.status().message();
  };
  EXPECT_EQ(message(MakeEvent("", "u", "n", 1, "2001-04-01T10:00:00Z")), "events[0]: event_id must not be empty");
  EXPECT_EQ(message(MakeEvent("e", "", "n", 1, "2001-04-01T10:00:00Z")), "event 'e': unit_id must not be empty");
  EXPECT_EQ(message(MakeEvent("e", "u", "", 1, "2001-04-01T10:00:00Z")), "event 'e': name must not be empty");
  EXPECT_EQ(message(MakeEvent("e", "u", "n", std::numeric_limits<double>::infinity(), "2001-04-01T10:00:00Z")),
            "event 'e': value must be a finite number, got Infinity");
  EXPECT_EQ(message(MakeEvent("e", "u", "n", 1, "2001-04-01T10:00:00Z", Json::array())),
            "event 'e': properties must be a JSON object");
  EXPECT_EQ(Count("business_events"), 0);
}

TEST_P(OutcomeStoreTest, ConcurrentWritersOfTheSameIdsStoreEachOnce) {
  std::vector<std::thread> threads;
  std::atomic<int64_t> created{0}, duplicates{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        auto counts = store_->AddLabels(std::vector<Label>{
            MakeLabel("l-" + std::to_string(i), "pred-" + std::to_string(i), 1, "2001-04-03T00:00:00Z")});
        ASSERT_TRUE(counts.ok()) << counts.status().ToString();
        created += counts->created;
        duplicates += counts->duplicates;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(created.load(), 20);
  EXPECT_EQ(duplicates.load(), 60);
  EXPECT_EQ(Count("prediction_labels"), 20);
}

INSTANTIATE_TEST_SUITE_P(Backends, OutcomeStoreTest, ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         testing_support::BackendName);

}  // namespace
}  // namespace kiln::serving
