#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "serving/inference_protocol.h"

namespace kiln::serving {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kNow = 986198400000000;  // 2001-04-02T08:00:00Z

std::string LabelsError(std::string_view body, size_t max_items = 100) {
  Result<std::vector<Label>> labels = ParseLabelsRequest(body, max_items, kNow);
  if (labels.ok()) return "(parsed)";
  EXPECT_EQ(labels.status().code(), StatusCode::kInvalidArgument) << labels.status().ToString();
  return labels.status().message();
}

std::string EventsError(std::string_view body, size_t max_items = 100) {
  Result<std::vector<BusinessEvent>> events = ParseEventsRequest(body, max_items, kNow);
  if (events.ok()) return "(parsed)";
  EXPECT_EQ(events.status().code(), StatusCode::kInvalidArgument) << events.status().ToString();
  return events.status().message();
}

TEST(ParseLabelsRequestTest, ReadsAListOrASingleLabel) {
  Result<std::vector<Label>> labels = ParseLabelsRequest(R"({"labels": [
      {"id": "l-1", "prediction_id": "pred-1", "value": 1, "timestamp": "2001-04-05T10:00:00Z"},
      {"id": "l-2", "prediction_id": "pred-2", "value": false},
      {"id": "l-3", "prediction_id": "pred-3", "value": 12.5, "timestamp": 986198400000001}]})",
                                                         100, kNow);
  ASSERT_TRUE(labels.ok()) << labels.status().ToString();
  ASSERT_EQ(labels->size(), 3u);
  EXPECT_EQ((*labels)[0].label_id, "l-1");
  EXPECT_EQ((*labels)[0].prediction_id, "pred-1");
  EXPECT_EQ((*labels)[0].value, 1);
  EXPECT_EQ((*labels)[0].timestamp_micros, 986464800000000);
  EXPECT_EQ((*labels)[1].value, 0);                // false
  EXPECT_EQ((*labels)[1].timestamp_micros, kNow);  // absent: now
  EXPECT_EQ((*labels)[2].value, 12.5);
  EXPECT_EQ((*labels)[2].timestamp_micros, 986198400000001);

  labels = ParseLabelsRequest(R"({"id": "l-9", "prediction_id": "pred-9", "value": true})", 100, kNow);
  ASSERT_TRUE(labels.ok()) << labels.status().ToString();
  ASSERT_EQ(labels->size(), 1u);
  EXPECT_EQ((*labels)[0].label_id, "l-9");
  EXPECT_EQ((*labels)[0].value, 1);
}

TEST(ParseLabelsRequestTest, NamesTheFieldOfBadInput) {
  EXPECT_EQ(
      LabelsError(
          R"({"labels": [{"id": "l", "prediction_id": "p", "value": 1}, {"prediction_id": "p", "value": 1}]})"),
      "labels[1].id: missing, expected a non-empty string (the client's idempotency key)");
  EXPECT_EQ(LabelsError(R"({"id": "l", "value": 1})"),
            "prediction_id: missing, expected a non-empty string (the id of a prediction)");
  EXPECT_EQ(LabelsError(R"({"id": "l", "prediction_id": "p"})"),
            "value: missing, expected a number or a boolean");
  EXPECT_EQ(LabelsError(R"({"id": "l", "prediction_id": "p", "value": "1"})"),
            "value: expected a finite number or a boolean, got \"1\"");
  EXPECT_EQ(LabelsError(R"({"id": "l", "prediction_id": "p", "value": NaN})"),
            "value: expected a finite number or a boolean, got \"NaN\"");
  EXPECT_EQ(LabelsError(R"({"id": 7, "prediction_id": "p", "value": 1})"),
            "id: expected a string, got 7 (quote it: \"7\")");
  EXPECT_EQ(LabelsError(R"({"id": "", "prediction_id": "p", "value": 1})"),
            "id: expected a non-empty string");
  EXPECT_EQ(LabelsError(R"({"id": "l", "prediction_id": "p", "value": 1, "timestamp": true})"),
            "timestamp: expected an ISO 8601 timestamp or integer microseconds since the epoch, got true");
  EXPECT_EQ(LabelsError(R"({"id": "l", "prediction_id": "p", "value": 1, "label": 1})"),
            "unknown field 'label' (did you mean 'labels'?)");
  EXPECT_EQ(LabelsError(R"({"labels": [], "extra": 1})"), "unknown field 'extra' (expected one of: labels)");
  EXPECT_EQ(LabelsError(R"({"labels": {"id": "l"}})"), "labels: expected an array, got an object");
  EXPECT_EQ(LabelsError(R"({"labels": [1]})"), "labels[0]: expected an object, got 1");
  EXPECT_EQ(LabelsError("{}"),
            "expected {\"labels\": [...]} or a single label {\"id\", \"prediction_id\", \"value\"}");
}

TEST(ParseLabelsRequestTest, RepeatedIdsMustCarryTheSameContent) {
  Result<std::vector<Label>> same = ParseLabelsRequest(
      R"({"labels": [{"id": "l", "prediction_id": "p", "value": 1}, {"id": "l", "prediction_id": "p", "value": 1}]})",
      100, kNow);
  ASSERT_TRUE(same.ok()) << same.status().ToString();
  EXPECT_EQ(same->size(), 2u);  // the store reports the second as a duplicate
  EXPECT_EQ(LabelsError(R"({"labels": [{"id": "l", "prediction_id": "p", "value": 1},
                                       {"id": "l", "prediction_id": "p", "value": 0}]})"),
            "labels[1].id: 'l' is also the id of labels[0], with different content");
}

TEST(ParseLabelsRequestTest, RefusesTooManyLabelsAsResourceExhausted) {
  Result<std::vector<Label>> labels = ParseLabelsRequest(
      R"({"labels": [{"id": "a", "prediction_id": "p", "value": 1}, {"id": "b", "prediction_id": "p", "value": 1},
                     {"id": "c", "prediction_id": "p", "value": 1}]})",
      2, kNow);
  ASSERT_FALSE(labels.ok());
  EXPECT_EQ(labels.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(labels.status().message(), "batch of 3 labels exceeds the limit of 2");
}

TEST(ParseEventsRequestTest, ReadsEventsWithDefaults) {
  Result<std::vector<BusinessEvent>> events = ParseEventsRequest(R"({"events": [
      {"id": "e-1", "unit_id": "customer-7", "name": "conversion"},
      {"id": "e-2", "unit_id": "customer-8", "name": "claim", "value": 1250.5, "timestamp": "2001-04-03",
       "properties": {"channel": "web", "items": [1, 2]}}]})",
                                                                 100, kNow);
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].event_id, "e-1");
  EXPECT_EQ((*events)[0].unit_id, "customer-7");
  EXPECT_EQ((*events)[0].name, "conversion");
  EXPECT_EQ((*events)[0].value, 1);  // default
  EXPECT_EQ((*events)[0].timestamp_micros, kNow);
  EXPECT_EQ((*events)[0].properties, Json::object());
  EXPECT_EQ((*events)[1].value, 1250.5);
  EXPECT_EQ((*events)[1].timestamp_micros, 986256000000000);
  EXPECT_EQ((*events)[1].properties, Json({{"channel", "web"}, {"items", {1, 2}}}));

  events = ParseEventsRequest(R"({"id": "e", "unit_id": "u", "name": "click", "value": false})", 1, kNow);
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  EXPECT_EQ((*events)[0].value, 0);
}

TEST(ParseEventsRequestTest, NamesTheFieldOfBadInput) {
  EXPECT_EQ(EventsError(R"({"events": [{"id": "e", "unit_id": "u"}]})"),
            "events[0].name: missing, expected a non-empty string such as \"conversion\"");
  EXPECT_EQ(EventsError(R"({"id": "e", "name": "click"})"), "unit_id: missing, expected a non-empty string");
  EXPECT_EQ(EventsError(R"({"id": "e", "unit_id": "u", "name": ""})"), "name: expected a non-empty string");
  EXPECT_EQ(EventsError(R"({"id": "e", "unit_id": "u", "name": ")" + std::string(129, 'n') + "\"}"),
            "name: 129 bytes is longer than the limit of 128");
  EXPECT_EQ(EventsError(R"({"id": "e", "unit_id": "u", "name": "c", "properties": [1]})"),
            "properties: expected an object, got an array");
  EXPECT_EQ(EventsError(R"({"id": "e", "unit_id": "u", "name": "c", "value": "high"})"),
            "value: expected a finite number or a boolean, got \"high\"");
  EXPECT_EQ(EventsError(R"({"id": "e", "unit_id": "u", "name": "c", "propertys": {}})"),
            "unknown field 'propertys' (did you mean 'properties'?)");
  EXPECT_THAT(EventsError(R"({"id": "e", "unit_id": "u", "name": "c", "timestamp": "yesterday"})"),
              HasSubstr("timestamp: 'yesterday' is not an ISO 8601 timestamp"));
  EXPECT_EQ(
      EventsError(
          R"({"events": [{"id": "e", "unit_id": "u", "name": "c"}, {"id": "e", "unit_id": "v", "name": "c"}]})"),
      "events[1].id: 'e' is also the id of events[0], with different content");
}

TEST(ParseEventsRequestTest, RefusesTooManyEventsAsResourceExhausted) {
  Result<std::vector<BusinessEvent>> events =
      ParseEventsRequest(R"({"events": [{"id": "a", "unit_id": "u", "name": "c"}]})", 0, kNow);
  ASSERT_FALSE(events.ok());
  EXPECT_EQ(events.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(events.status().message(), "batch of 1 events exceeds the limit of 0");
}

}  // namespace
}  // namespace kiln::serving
