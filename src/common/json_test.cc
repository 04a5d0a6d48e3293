// Request-body parsing and typed field access as MLflow's server reads them.
#include "common/json.h"

#include <gtest/gtest.h>

#include <cmath>

namespace kiln {
namespace {

TEST(ParseJsonObjectTest, EmptyBodyIsAnEmptyObject) {
  Result<Json> parsed = ParseJsonObject("  \n");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, Json::object());
}

TEST(ParseJsonObjectTest, BareNonFiniteLiteralsBecomeProtobufJsonStrings) {
  Result<Json> parsed = ParseJsonObject(R"({"a": NaN, "b": [Infinity, -Infinity], "c": "NaN Infinity"})");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ((*parsed)["a"], "NaN");
  EXPECT_EQ((*parsed)["b"], Json::array({"Infinity", "-Infinity"}));
  EXPECT_EQ((*parsed)["c"], "NaN Infinity");  // inside a string: untouched
  Result<std::optional<double>> value = JsonFields(*parsed).OptionalDouble("a");
  ASSERT_TRUE(value.ok());
  EXPECT_TRUE(std::isnan(**value));
}

TEST(ParseJsonObjectTest, LiteralsInsideStringsWithEscapedQuotesStayText) {
  Result<Json> parsed = ParseJsonObject(R"({"k": "say \"NaN\"", "v": NaN})");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ((*parsed)["k"], "say \"NaN\"");
  EXPECT_EQ((*parsed)["v"], "NaN");
}

TEST(ParseJsonObjectTest, DoubleEncodedBodyIsDecodedAgain) {
  Result<Json> parsed = ParseJsonObject(R"("{\"name\": \"churn\"}")");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ((*parsed)["name"], "churn");
}

TEST(ParseJsonObjectTest, MalformedJsonNamesTheBytePosition) {
  Result<Json> parsed = ParseJsonObject(R"({"name": "x",,})");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(parsed.status().message().rfind("malformed JSON at byte 14", 0), 0u) << parsed.status().message();
  // A misspelt literal is still malformed, reported at its original position.
  parsed = ParseJsonObject(R"({"v": Nan})");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().message().rfind("malformed JSON at byte 7", 0), 0u) << parsed.status().message();
}

TEST(ParseJsonObjectTest, TopLevelMustBeAnObject) {
  for (const char* body : {"[1]", "null", "3", R"("\"just text\"")"}) {
    Result<Json> parsed = ParseJsonObject(body);
    ASSERT_FALSE(parsed.ok()) << body;
    EXPECT_EQ(parsed.status().message(), "malformed JSON: expected a JSON object") << body;
  }
}

TEST(JsonFieldsTest, Int64AcceptsNumbersAndDecimalStrings) {
  Json message = {{"n", 42}, {"s", "-7"}, {"f", 3.0}};
  JsonFields fields(message);
  EXPECT_EQ(**fields.OptionalInt64("n"), 42);
  EXPECT_EQ(**fields.OptionalInt64("s"), -7);
  EXPECT_EQ(**fields.OptionalInt64("f"), 3);
  EXPECT_FALSE(fields.OptionalInt64("absent")->has_value());
}

TEST(JsonFieldsTest, Int64RejectsValuesOutsideItsRange) {
  Json message = Json::parse(R"({"big": 18446744073709551615, "text": "9223372036854775808", "max": 9223372036854775807})");
  JsonFields fields(message);
  Result<std::optional<int64_t>> big = fields.OptionalInt64("big");
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().message(),
            "Invalid value 18446744073709551615 for parameter 'big' supplied: expected a 64-bit integer");
  EXPECT_FALSE(fields.OptionalInt64("text").ok());
  EXPECT_EQ(**fields.OptionalInt64("max"), std::numeric_limits<int64_t>::max());
}

}  // namespace
}  // namespace kiln
