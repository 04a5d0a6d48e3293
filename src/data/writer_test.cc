#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "data/csv.h"
#include "data/frame_matchers.h"

namespace kiln::data {
namespace {

// Every type, with nulls, NaN, infinities, -0.0, quotes, delimiters, line
// breaks, an empty string and non-ASCII text.
Frame Awkward() {
  Column flags(Type::kBool), ints(Type::kInt64), floats(Type::kFloat64), strings(Type::kString),
      times(Type::kTimestamp);
  flags.Append(Value::Bool(true));
  flags.AppendNull();
  flags.Append(Value::Bool(false));
  flags.Append(Value::Bool(true));
  flags.Append(Value::Bool(false));
  ints.AppendInt(std::numeric_limits<int64_t>::min());
  ints.AppendInt(std::numeric_limits<int64_t>::max());
  ints.AppendNull();
  ints.AppendInt(0);
  ints.AppendInt(-7);
  floats.AppendFloat(std::numeric_limits<double>::quiet_NaN());
  floats.AppendFloat(-0.0);
  floats.AppendFloat(0.1);
  floats.AppendNull();
  floats.AppendFloat(3.0);
  strings.AppendString("say \"hi\", ok");
  strings.AppendString("two\nlines\r\nhere");
  strings.AppendString("");
  strings.AppendNull();
  strings.AppendString("naïve ☃ 😀");
  times.AppendInt(978679815250000);
  times.AppendNull();
  times.AppendInt(-1);
  times.AppendInt(0);
  times.AppendInt(4102444800000000);
  Frame frame;
  EXPECT_TRUE(frame.AddColumn("flag", std::move(flags)).ok());
  EXPECT_TRUE(frame.AddColumn("count", std::move(ints)).ok());
  EXPECT_TRUE(frame.AddColumn("ratio, \"x\"", std::move(floats)).ok());
  EXPECT_TRUE(frame.AddColumn("text", std::move(strings)).ok());
  EXPECT_TRUE(frame.AddColumn("at", std::move(times)).ok());
  return frame;
}

ReadOptions Declared(const Frame& frame) {
  ReadOptions options;
  for (const Field& field : frame.schema()) options.types[field.name] = field.type;
  return options;
}

TEST(WriterTest, CsvRoundTripsBitwise) {
  const Frame frame = Awkward();
  std::ostringstream out;
  ASSERT_TRUE(WriteCsv(frame, out).ok());
  Result<Frame> back = ParseCsv(out.str(), Declared(frame));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_TRUE(FramesBitwiseEqual(frame, *back));
}

TEST(WriterTest, CsvTextIsExactAndDeterministic) {
  const Frame frame = Awkward();
  std::ostringstream first, second;
  ASSERT_TRUE(WriteCsv(frame, first).ok());
  ASSERT_TRUE(WriteCsv(frame, second).ok());
  EXPECT_EQ(first.str(), second.str());
  EXPECT_EQ(first.str(),
            "flag,count,\"ratio, \"\"x\"\"\",text,at\n"
            "true,-9223372036854775808,nan,\"say \"\"hi\"\", ok\",2001-01-05T07:30:15.250000Z\n"
            ",9223372036854775807,-0.0,\"two\nlines\r\nhere\",\n"
            "false,,0.1,\"\",1969-12-31T23:59:59.999999Z\n"
            "true,0,,,1970-01-01T00:00:00Z\n"
            "false,-7,3.0,naïve ☃ 😀,2100-01-01T00:00:00Z\n");
}

TEST(WriterTest, CsvRoundTripsByInferenceWhenTypesAreUnambiguous) {
  Frame frame = Awkward();
  ASSERT_TRUE(frame.RemoveColumn("at").ok());
  std::ostringstream out;
  ASSERT_TRUE(WriteCsv(frame, out).ok());
  Result<Frame> back = ParseCsv(out.str(), ReadOptions());
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_TRUE(FramesBitwiseEqual(frame, *back));
}

TEST(WriterTest, CsvFileRoundTrip) {
  const Frame frame = Awkward();
  const std::string path = testing::TempDir() + "/awkward.csv";
  ASSERT_TRUE(WriteCsvFile(frame, path).ok());
  Result<Frame> back = ReadCsv(path, Declared(frame));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_TRUE(FramesBitwiseEqual(frame, *back));
  EXPECT_EQ(WriteCsvFile(frame, "/nonexistent/dir/x.csv").message(),
            "cannot write /nonexistent/dir/x.csv: No such file or directory");
}

TEST(WriterTest, JsonLinesRoundTripsBitwise) {
  Frame frame = Awkward();
  std::ostringstream out;
  ASSERT_TRUE(WriteJsonLines(frame, out).ok());
  Result<Frame> back = ParseJsonLines(out.str(), Declared(frame));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_TRUE(FramesBitwiseEqual(frame, *back));

  // Without declared types only the timestamps (strings in JSON) change.
  Result<Frame> inferred = ParseJsonLines(out.str(), ReadOptions());
  ASSERT_TRUE(inferred.ok()) << inferred.status().message();
  ASSERT_TRUE(frame.RemoveColumn("at").ok());
  Result<Frame> without_at = inferred->Select({"flag", "count", "ratio, \"x\"", "text"});
  ASSERT_TRUE(without_at.ok());
  EXPECT_TRUE(FramesBitwiseEqual(frame, *without_at));
}

TEST(WriterTest, JsonLinesTextIsExact) {
  const Frame frame = Awkward();
  std::ostringstream out;
  ASSERT_TRUE(WriteJsonLines(frame, out).ok());
  std::istringstream lines(out.str());
  std::string first, second;
  std::getline(lines, first);
  std::getline(lines, second);
  EXPECT_EQ(first,
            "{\"flag\":true,\"count\":-9223372036854775808,\"ratio, \\\"x\\\"\":NaN,"
            "\"text\":\"say \\\"hi\\\", ok\",\"at\":\"2001-01-05T07:30:15.250000Z\"}");
  EXPECT_EQ(second,
            "{\"flag\":null,\"count\":9223372036854775807,\"ratio, \\\"x\\\"\":-0.0,"
            "\"text\":\"two\\nlines\\r\\nhere\",\"at\":null}");
}

}  // namespace
}  // namespace kiln::data
