#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "serving/inference_protocol.h"

namespace kiln::serving {
namespace {

using ::testing::HasSubstr;

std::string PredictError(std::string_view body, size_t max_rows = 100) {
  Result<PredictRequest> request = ParsePredictRequest(body, max_rows);
  if (request.ok()) return "(parsed)";
  EXPECT_EQ(request.status().code(), StatusCode::kInvalidArgument) << request.status().ToString();
  return request.status().message();
}

TEST(ParsePredictRequestTest, ReadsOneRow) {
  Result<PredictRequest> request = ParsePredictRequest(R"({
    "entity": {"origin": "ORD", "destination": "LGA", "flight": 1234},
    "request": {"departure": "2001-04-02T08:15:00Z", "distance": 740.5, "holiday": false, "gate": null},
    "unit_id": "customer-7",
    "id": "pred-client-1"
  })",
                                                       100);
  ASSERT_TRUE(request.ok()) << request.status().ToString();
  EXPECT_FALSE(request->batch);
  EXPECT_FALSE(request->as_of_micros.has_value());
  ASSERT_EQ(request->rows.size(), 1u);
  const PredictRow& row = request->rows[0];
  EXPECT_EQ(row.entity, Json({{"origin", "ORD"}, {"destination", "LGA"}, {"flight", 1234}}));
  EXPECT_EQ(row.request["departure"], "2001-04-02T08:15:00Z");
  EXPECT_EQ(row.request["distance"], 740.5);
  EXPECT_EQ(row.request["holiday"], false);
  EXPECT_TRUE(row.request["gate"].is_null());  // a missing value, for the feature's policy
  EXPECT_EQ(row.unit_id, "customer-7");
  EXPECT_EQ(row.prediction_id, "pred-client-1");
}

TEST(ParsePredictRequestTest, ReadsRowsAsOneBatchWithAsOf) {
  Result<PredictRequest> request = ParsePredictRequest(R"({
    "rows": [{"entity": {"origin": "ORD"}}, {"request": {"distance": 10}, "unit_id": "u2", "id": "p2"}],
    "as_of": "2001-04-02T08:00:00+01:00"
  })",
                                                       100);
  ASSERT_TRUE(request.ok()) << request.status().ToString();
  EXPECT_TRUE(request->batch);
  ASSERT_EQ(request->rows.size(), 2u);
  EXPECT_EQ(request->rows[0].entity, Json({{"origin", "ORD"}}));
  EXPECT_EQ(request->rows[0].request, Json::object());
  EXPECT_EQ(request->rows[0].unit_id, "");
  EXPECT_FALSE(request->rows[0].prediction_id.has_value());
  EXPECT_EQ(request->rows[1].unit_id, "u2");
  EXPECT_EQ(request->rows[1].prediction_id, "p2");
  EXPECT_EQ(request->as_of_micros, 986194800000000);  // 2001-04-02T07:00:00Z
}

TEST(ParsePredictRequestTest, AsOfIsIso8601OrIntegerMicroseconds) {
  Result<PredictRequest> request =
      ParsePredictRequest(R"({"entity": {"a": 1}, "as_of": 986198400000000})", 1);
  ASSERT_TRUE(request.ok()) << request.status().ToString();
  EXPECT_EQ(request->as_of_micros, 986198400000000);
  request = ParsePredictRequest(R"({"entity": {"a": 1}, "as_of": "2001-04-02"})", 1);
  ASSERT_TRUE(request.ok()) << request.status().ToString();
  EXPECT_EQ(request->as_of_micros, 986169600000000);  // naive = UTC

  EXPECT_EQ(PredictError(R"({"entity": {"a": 1}, "as_of": 1.5})"),
            "as_of: expected an ISO 8601 timestamp or integer microseconds since the epoch, got 1.5");
  EXPECT_THAT(PredictError(R"({"entity": {"a": 1}, "as_of": "2001-13-01"})"),
              HasSubstr("as_of: '2001-13-01' is not an ISO 8601 timestamp"));
}

TEST(ParsePredictRequestTest, NamesTheFieldOfWrongTypes) {
  EXPECT_EQ(PredictError(R"({"entity": {"origin": "ORD"}, "unit_id": 17})"),
            "unit_id: expected a string, got 17 (quote it: \"17\")");
  EXPECT_EQ(PredictError(R"({"rows": [{"entity": {"origin": "ORD"}}, {"entity": {"origin": ["ORD"]}}]})"),
            "rows[1].entity.origin: expected a string, number or boolean, got an array");
  EXPECT_EQ(PredictError(R"({"entity": {"origin": null}})"),
            "entity.origin: expected a string, number or boolean, got null");
  EXPECT_EQ(PredictError(R"({"request": {"when": {"t": 1}}})"),
            "request.when: expected a string, number, boolean or null, got an object");
  EXPECT_EQ(PredictError(R"({"entity": ["ORD"]})"),
            "entity: expected an object of field names to values, got an array");
  EXPECT_EQ(PredictError(R"({"rows": [{"entity": {"a": 1}}, "x"]})"),
            "rows[1]: expected a row object, got \"x\"");
  EXPECT_EQ(PredictError(R"({"rows": []})"),
            "rows: expected a non-empty array of row objects, got an empty array");
  EXPECT_EQ(PredictError(R"({"entity": {"a": 1}, "id": ""})"), "id: expected a non-empty string");
  EXPECT_EQ(PredictError(R"({"entity": {"a": 1}, "id": ")" + std::string(129, 'x') + "\"}"),
            "id: 129 bytes is longer than the limit of 128");
  EXPECT_TRUE(ParsePredictRequest(R"({"entity": {"a": 1}, "id": ")" + std::string(128, 'x') + "\"}", 1).ok());
}

TEST(ParsePredictRequestTest, RefusesUnknownAndMisplacedFields) {
  EXPECT_EQ(PredictError(R"({"entiti": {"origin": "ORD"}})"),
            "unknown field 'entiti' (did you mean 'entity'?)");
  EXPECT_EQ(PredictError(R"({"row": []})"), "unknown field 'row' (did you mean 'rows'?)");
  EXPECT_EQ(PredictError(R"({"entity": {"a": 1}, "model": "m"})"),
            "unknown field 'model' (expected one of: entity, request, unit_id, id, as_of)");
  EXPECT_EQ(PredictError(R"({"rows": [{"entity": {"a": 1}, "unitid": "u"}]})"),
            "rows[0]: unknown field 'unitid' (did you mean 'unit_id'?)");
  EXPECT_EQ(
      PredictError(R"({"rows": [{"entity": {"a": 1}}], "unit_id": "u"})"),
      "unit_id: a body with \"rows\" takes \"entity\", \"request\", \"unit_id\" and \"id\" inside each row");
  EXPECT_EQ(PredictError(R"({"rows": [{"entity": {"a": 1}, "as_of": 5}]})"),
            "rows[0].as_of: \"as_of\" applies to the whole batch; put it next to \"rows\"");
  EXPECT_THAT(PredictError(R"({"entity": {"a": 1}, "timestamp": "2001-04-02"})"),
              HasSubstr("unknown field 'timestamp' (a replay's prediction time is \"as_of\""));
  EXPECT_EQ(PredictError("{}"),
            "body: expected \"entity\" (the entity keys) and/or \"request\" (the request fields)");
  EXPECT_EQ(PredictError(R"({"rows": [{"unit_id": "u"}]})"),
            "rows[0]: expected \"entity\" (the entity keys) and/or \"request\" (the request fields)");
}

TEST(ParsePredictRequestTest, RefusesRepeatedPredictionIdsInABatch) {
  EXPECT_EQ(PredictError(R"({"rows": [{"entity": {"a": 1}, "id": "p"}, {"entity": {"a": 2}, "id": "q"},
                                      {"entity": {"a": 3}, "id": "p"}]})"),
            "rows[2].id: 'p' is also the id of rows[0]");
}

TEST(ParsePredictRequestTest, RefusesTooManyRowsAsResourceExhausted) {
  std::string body = R"({"rows": [)";
  for (int i = 0; i < 5; ++i) body += std::string(i ? "," : "") + R"({"entity": {"a": 1}})";
  body += "]}";
  Result<PredictRequest> request = ParsePredictRequest(body, 4);
  ASSERT_FALSE(request.ok());
  EXPECT_EQ(request.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(request.status().message(), "batch of 5 rows exceeds the limit of 4");
  EXPECT_TRUE(ParsePredictRequest(body, 5).ok());
}

}  // namespace
}  // namespace kiln::serving
