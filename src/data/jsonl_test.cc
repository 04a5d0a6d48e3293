#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "data/csv.h"

namespace kiln::data {
namespace {

ReadOptions Named(std::string name) {
  ReadOptions options;
  options.source_name = std::move(name);
  return options;
}

Frame Parse(std::string_view text, const ReadOptions& options = ReadOptions()) {
  Result<Frame> frame = ParseJsonLines(text, options);
  EXPECT_TRUE(frame.ok()) << frame.status().message();
  return frame.ok() ? std::move(frame).value() : Frame();
}

std::string ErrorOf(std::string_view text, const ReadOptions& options = Named("events.jsonl")) {
  Result<Frame> frame = ParseJsonLines(text, options);
  return frame.ok() ? "parsed" : frame.status().message();
}

TEST(JsonLinesTest, UnionOfKeysWithInferredTypes) {
  Frame frame = Parse(
      "{\"id\": 1, \"score\": 1, \"name\": \"ann\", \"ok\": true}\n"
      "\n"
      "{\"id\": 2, \"score\": 2.5, \"extra\": \"x\", \"ok\": null}\r\n"
      "{\"score\": NaN, \"id\": 3, \"name\": \"\", \"mixed\": 1, \"inf\": -Infinity}\n"
      "{\"mixed\": \"a\", \"id\": 4, \"inf\": Infinity, \"name\": \"NaN, Infinity\"}\n");
  EXPECT_EQ(frame.names(), (std::vector<std::string>{"id", "score", "name", "ok", "extra", "mixed", "inf"}));
  ASSERT_EQ(frame.num_rows(), 4u);
  EXPECT_EQ(frame.column(0).type(), Type::kInt64);
  EXPECT_EQ(frame.column(0).ints(), (std::vector<int64_t>{1, 2, 3, 4}));
  EXPECT_EQ(frame.column(1).type(), Type::kFloat64);
  EXPECT_EQ(frame.column(1).floats()[0], 1.0);
  EXPECT_TRUE(std::isnan(frame.column(1).floats()[2]));
  EXPECT_TRUE(frame.column(1).IsNull(3));
  EXPECT_EQ(frame.column(2).type(), Type::kString);
  EXPECT_TRUE(frame.column(2).IsNull(1));
  EXPECT_FALSE(frame.column(2).IsNull(2));
  EXPECT_EQ(frame.column(2).strings()[3], "NaN, Infinity");
  EXPECT_EQ(frame.column(3).type(), Type::kBool);
  EXPECT_EQ(frame.column(3).NullCount(), 3u);
  EXPECT_EQ(frame.column(4).NullCount(), 3u);
  EXPECT_EQ(frame.column(5).type(), Type::kString);
  EXPECT_EQ(frame.column(5).strings()[2], "1");
  EXPECT_EQ(frame.column(6).floats()[2], -std::numeric_limits<double>::infinity());
  EXPECT_EQ(frame.column(6).floats()[3], std::numeric_limits<double>::infinity());
}

TEST(JsonLinesTest, DeclaredTypesTimestampsProjectionAndMaxRows) {
  ReadOptions options;
  options.types = {{"amount", Type::kFloat64}, {"code", Type::kString}};
  options.timestamp_columns = {"at"};
  options.timezone = *TimeZone::Load("+05:30");
  options.columns = {"at", "amount", "code"};
  options.max_rows = 2;
  Frame frame = Parse(
      "{\"at\": \"2001-01-05 07:30\", \"amount\": 3, \"code\": 7, \"skip\": 1}\n"
      "{\"at\": \"2001-01-05T07:30:00Z\", \"amount\": 0.5, \"code\": true}\n"
      "{\"at\": 5}\n",
      options);
  EXPECT_EQ(frame.names(), (std::vector<std::string>{"at", "amount", "code"}));
  ASSERT_EQ(frame.num_rows(), 2u);
  EXPECT_EQ(FormatTimestamp(frame.column(0).ints()[0]), "2001-01-05T02:00:00Z");
  EXPECT_EQ(FormatTimestamp(frame.column(0).ints()[1]), "2001-01-05T07:30:00Z");
  EXPECT_EQ(frame.column(1).floats(), (std::vector<double>{3.0, 0.5}));
  EXPECT_EQ(frame.column(2).strings(), (std::vector<std::string>{"7", "true"}));
}

TEST(JsonLinesTest, ErrorsNameTheFileLineAndProblem) {
  EXPECT_EQ(ErrorOf("{\"a\": 1}\n{\"a\": 2}\n\n{\"x\": {\"y\": 1}}\n"),
            "events.jsonl:4: field 'x' is an object; only scalars are supported");
  EXPECT_EQ(ErrorOf("{\"x\": [1, 2]}\n"),
            "events.jsonl:1: field 'x' is an array; only scalars are supported");
  EXPECT_EQ(ErrorOf("[1, 2]\n"), "events.jsonl:1: expected a JSON object, found an array");
  EXPECT_EQ(ErrorOf("{\"a\": 1}\n3\n"), "events.jsonl:2: expected a JSON object, found a number");
  EXPECT_EQ(ErrorOf("{\"a\": 1, \"a\": 2}\n"), "events.jsonl:1: duplicate key 'a'");
  EXPECT_EQ(ErrorOf("{\"a\": 1}\n{\"a\": x}\n"),
            "events.jsonl:2: invalid JSON at column 7: syntax error while parsing value - "
            "invalid literal; last read: '\"a\": x'");
  ReadOptions timed = Named("events.jsonl");
  timed.timestamp_columns = {"ts"};
  EXPECT_EQ(ErrorOf("{\"ts\": \"2001-01-01\"}\n{\"ts\": 1700000000}\n", timed),
            "events.jsonl:2: column 'ts': 1700000000 is a number; timestamps must be ISO 8601 "
            "strings");
  EXPECT_EQ(ErrorOf("{\"ts\": \"2001-02-30\"}\n", timed),
            "events.jsonl:1: column 'ts': '2001-02-30' is not an ISO 8601 timestamp: day 30 is "
            "out of range for 2001-02");
  ReadOptions typed = Named("events.jsonl");
  typed.types = {{"n", Type::kInt64}};
  EXPECT_EQ(ErrorOf("{\"n\": 1}\n{\"n\": 1.5}\n", typed),
            "events.jsonl:2: column 'n': '1.5' is not an int64");
  EXPECT_EQ(ReadJsonLines("/nonexistent/events.jsonl", ReadOptions()).status().message(),
            "/nonexistent/events.jsonl: no such file");
}

}  // namespace
}  // namespace kiln::data
