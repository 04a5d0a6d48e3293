#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "data/csv.h"

namespace kiln::data {
namespace {

ReadOptions Named(std::string name) {
  ReadOptions options;
  options.source_name = std::move(name);
  return options;
}

std::string ErrorOf(std::string_view text, const ReadOptions& options = Named("flights.csv")) {
  Result<Frame> frame = ParseCsv(text, options);
  return frame.ok() ? "parsed" : frame.status().message();
}

Frame Parse(std::string_view text, const ReadOptions& options = ReadOptions()) {
  Result<Frame> frame = ParseCsv(text, options);
  EXPECT_TRUE(frame.ok()) << frame.status().message();
  return frame.ok() ? std::move(frame).value() : Frame();
}

std::string WriteTemp(const std::string& name, std::string_view text) {
  const std::string path = testing::TempDir() + "/" + name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

TEST(CsvReaderTest, InfersTypesOverAllRows) {
  Frame frame = Parse(
      "id,score,name,flag,mixed,late_float,empty,ratio\n"
      "1,0.5,ann,true,1,1,,nan\n"
      "2,,bob,FALSE,true,2,,inf\n"
      "-3,1e3,\"c, d\",True,x,2.5,,-inf\n");
  ASSERT_EQ(frame.num_rows(), 3u);
  const std::vector<Type> expected = {Type::kInt64,  Type::kFloat64, Type::kString,  Type::kBool,
                                      Type::kString, Type::kFloat64, Type::kFloat64, Type::kFloat64};
  for (size_t c = 0; c < expected.size(); ++c) {
    EXPECT_EQ(frame.column(c).type(), expected[c]) << frame.names()[c];
  }
  EXPECT_EQ(frame.column(0).ints(), (std::vector<int64_t>{1, 2, -3}));
  EXPECT_TRUE(frame.column(1).IsNull(1));
  EXPECT_EQ(frame.column(1).floats()[2], 1000.0);
  EXPECT_EQ(frame.column(2).strings()[2], "c, d");
  EXPECT_EQ(frame.column(3).ints(), (std::vector<int64_t>{1, 0, 1}));
  EXPECT_EQ(frame.column(4).strings(), (std::vector<std::string>{"1", "true", "x"}));
  EXPECT_EQ(frame.column(6).NullCount(), 3u);
  EXPECT_TRUE(std::isnan(frame.column(7).floats()[0]));
  EXPECT_EQ(frame.column(7).floats()[2], -std::numeric_limits<double>::infinity());
}

TEST(CsvReaderTest, HandlesRfc4180QuotingCrlfAndBlankLines) {
  Frame frame = Parse(
      "\xEF\xBB\xBF"
      "a,\"b \"\"x\"\"\"\r\n"
      "\"multi\nline\",\"say \"\"hi\"\"\"\r\n"
      "\r\n"
      "plain,\"\"\r\n"
      "last,\"é, ü\"");
  EXPECT_EQ(frame.names(), (std::vector<std::string>{"a", "b \"x\""}));
  ASSERT_EQ(frame.num_rows(), 3u);
  EXPECT_EQ(frame.column(0).strings(), (std::vector<std::string>{"multi\nline", "plain", "last"}));
  EXPECT_EQ(frame.column(1).strings()[0], "say \"hi\"");
  // A quoted empty field is an empty string in a string column, not null.
  EXPECT_FALSE(frame.column(1).IsNull(1));
  EXPECT_EQ(frame.column(1).strings()[1], "");
  EXPECT_EQ(frame.column(1).strings()[2], "é, ü");
}

TEST(CsvReaderTest, QuotedEmptyFieldIsNullInANumericColumn) {
  Frame frame = Parse("\"x\",\"y\"\n\"1\",\"a\"\n\"\",\"b\"\n");
  EXPECT_EQ(frame.column(0).type(), Type::kInt64);
  EXPECT_TRUE(frame.column(0).IsNull(1));
}

TEST(CsvReaderTest, SingleColumnBlankLineIsANull) {
  Frame frame = Parse("x\n1\n\n3\n");
  ASSERT_EQ(frame.num_rows(), 3u);
  EXPECT_TRUE(frame.column(0).IsNull(1));
}

TEST(CsvReaderTest, DeclaredTypesTimestampsAndZones) {
  ReadOptions options = Named("events.csv");
  options.types = {{"code", Type::kString}, {"amount", Type::kFloat64}, {"ok", Type::kBool}};
  options.timestamp_columns = {"at"};
  options.timezone = *TimeZone::Load("America/New_York");
  Frame frame = Parse(
      "at,code,amount,ok\n"
      "2001-04-01 02:30,007,3,1\n"
      "2001-07-01T12:00:00Z,12,,false\n"
      ",x,1.5,\n",
      options);
  ASSERT_EQ(frame.num_rows(), 3u);
  EXPECT_EQ(frame.column(0).type(), Type::kTimestamp);
  EXPECT_EQ(FormatTimestamp(frame.column(0).ints()[0]), "2001-04-01T07:30:00Z");
  EXPECT_EQ(FormatTimestamp(frame.column(0).ints()[1]), "2001-07-01T12:00:00Z");
  EXPECT_TRUE(frame.column(0).IsNull(2));
  EXPECT_EQ(frame.column(1).strings()[0], "007");
  EXPECT_EQ(frame.column(2).type(), Type::kFloat64);
  EXPECT_EQ(frame.column(2).floats()[0], 3.0);
  EXPECT_EQ(frame.column(3).ints()[0], 1);
  EXPECT_TRUE(frame.column(3).IsNull(2));
}

TEST(CsvReaderTest, ProjectsColumnsInTheGivenOrderAndStopsAtMaxRows) {
  ReadOptions options;
  options.columns = {"c", "a"};
  options.max_rows = 2;
  Frame frame = Parse("a,b,c\n1,x,2\n3,y,4\n5,z,oops\n", options);
  EXPECT_EQ(frame.names(), (std::vector<std::string>{"c", "a"}));
  ASSERT_EQ(frame.num_rows(), 2u);
  EXPECT_EQ(frame.column(0).type(), Type::kInt64);
  EXPECT_EQ(frame.column(0).ints(), (std::vector<int64_t>{2, 4}));
}

TEST(CsvReaderTest, ErrorsNameTheFileLineAndColumn) {
  EXPECT_EQ(ErrorOf("a,b,c,d,e\n1,2,3,4,5\n1,2,3,4\n"), "flights.csv:3: expected 5 fields, found 4");
  EXPECT_EQ(ErrorOf("a,b\n1,2,3\n"), "flights.csv:2: expected 2 fields, found 3");
  ReadOptions typed = Named("flights.csv");
  typed.types = {{"delay", Type::kInt64}};
  EXPECT_EQ(ErrorOf("origin,delay\nSFO,3\nJFK,abc\n", typed),
            "flights.csv:3: column 'delay': 'abc' is not an int64");
  EXPECT_EQ(ErrorOf("origin,delay\nSFO,3\nJFK,1.5\n", typed),
            "flights.csv:3: column 'delay': '1.5' is not an int64");
  ReadOptions timed = Named("flights.csv");
  timed.timestamp_columns = {"date"};
  EXPECT_EQ(ErrorOf("date,x\n2001-01-01,1\n\n2001-13-01,2\n", timed),
            "flights.csv:4: column 'date': '2001-13-01' is not an ISO 8601 timestamp: month 13 "
            "is out of range");
  EXPECT_EQ(ErrorOf("date,origin,origin\n"), "flights.csv:1: duplicate column 'origin'");
  EXPECT_EQ(ErrorOf("a,,c\n"), "flights.csv:1: column 2 has an empty name");
  EXPECT_EQ(ErrorOf(""), "flights.csv: empty file (a header row is required)");
  EXPECT_EQ(ErrorOf("\n1\n"), "flights.csv:1: empty header row (a header row is required)");
  EXPECT_EQ(ErrorOf("a,b\n1,2\n3,4\n5,6\n\"x\ny\",1\n9,\"unterminated\n10,11\n"),
            "flights.csv:7: unterminated quoted field");
  EXPECT_EQ(ErrorOf("a,b\n\"x\"y,1\n"),
            "flights.csv:2: unexpected 'y' after the closing quote of column 'a'");
  ReadOptions projected = Named("flights.csv");
  projected.columns = {"a", "zz"};
  EXPECT_EQ(ErrorOf("a,b\n1,2\n", projected), "flights.csv: no column 'zz' (columns: a, b)");
  ReadOptions declared = Named("flights.csv");
  declared.types = {{"zz", Type::kInt64}};
  EXPECT_EQ(ErrorOf("a,b\n1,2\n", declared),
            "flights.csv: a type is declared for column 'zz', which is not in the file "
            "(columns: a, b)");
  ReadOptions conflicting = Named("flights.csv");
  conflicting.types = {{"a", Type::kInt64}};
  conflicting.timestamp_columns = {"a"};
  EXPECT_EQ(ErrorOf("a,b\n1,2\n", conflicting),
            "flights.csv: column 'a' is listed as a timestamp column but declared int64");
}

TEST(CsvReaderTest, ReadsFilesAndReportsMissingOnes) {
  const std::string path = WriteTemp("small.csv", "a,b\n1,x\n2,y\n");
  Result<Frame> frame = ReadCsv(path, ReadOptions());
  ASSERT_TRUE(frame.ok()) << frame.status().message();
  EXPECT_EQ(frame->num_rows(), 2u);
  Result<std::vector<std::string>> header = ReadCsvHeader(path);
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(*header, (std::vector<std::string>{"a", "b"}));

  Result<Frame> missing = ReadCsv("/nonexistent/flights.csv", ReadOptions());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "/nonexistent/flights.csv: no such file");
  EXPECT_EQ(ReadCsvHeader("/nonexistent/flights.csv").status().message(),
            "/nonexistent/flights.csv: no such file");

  const std::string bad = WriteTemp("bad.csv", "a,b\n1,2\n3\n");
  EXPECT_EQ(ReadCsv(bad, ReadOptions()).status().message(), bad + ":3: expected 2 fields, found 1");
}

// A body large enough to be cut into chunks and read on several threads,
// with quoted line breaks so that the cuts must respect quotes.
std::string BigCsv(size_t rows, bool stray_quote) {
  std::string text = "id,note,value\n";
  for (size_t i = 0; i < rows; ++i) {
    text += std::to_string(i);
    if (i % 7 == 0) {
      text += ",\"line\n" + std::to_string(i) + ", \"\"q\"\"\"";
    } else if (stray_quote && i == rows / 3) {
      text += ",a\"b";
    } else {
      text += ",n" + std::to_string(i);
    }
    text += "," + std::to_string(i * 0.5) + "\n";
  }
  return text;
}

void ExpectBigFrame(const Frame& frame, size_t rows, bool stray_quote) {
  ASSERT_EQ(frame.num_rows(), rows);
  ASSERT_EQ(frame.column(0).type(), Type::kInt64);
  ASSERT_EQ(frame.column(2).type(), Type::kFloat64);
  for (size_t i = 0; i < rows; ++i) {
    ASSERT_EQ(frame.column(0).ints()[i], static_cast<int64_t>(i));
    std::string note = i % 7 == 0                       ? "line\n" + std::to_string(i) + ", \"q\""
                       : (stray_quote && i == rows / 3) ? "a\"b"
                                                        : "n" + std::to_string(i);
    ASSERT_EQ(frame.column(1).strings()[i], note) << i;
    ASSERT_EQ(frame.column(2).floats()[i], i * 0.5);
  }
}

TEST(CsvReaderTest, LargeInputsReadInParallelMatchTheirRows) {
  const size_t rows = 300000;
  ExpectBigFrame(Parse(BigCsv(rows, false)), rows, false);
  ExpectBigFrame(Parse(BigCsv(rows, true)), rows, true);
}

TEST(CsvReaderTest, SamplesTheFirstRowsOfALargeFile) {
  const size_t rows = 300000;
  const std::string text = BigCsv(rows, false);
  ASSERT_GT(text.size(), size_t{4} << 20);  // more than the first prefix read
  const std::string path = WriteTemp("big.csv", text);
  for (size_t max_rows : {size_t{5}, rows - 10, rows + 10}) {
    ReadOptions options;
    options.max_rows = max_rows;
    Result<Frame> frame = ReadCsv(path, options);
    ASSERT_TRUE(frame.ok()) << frame.status().message();
    ASSERT_EQ(frame->num_rows(), std::min(max_rows, rows));
    EXPECT_EQ(frame->column(1).strings()[0], "line\n0, \"q\"");
    EXPECT_EQ(frame->column(0).ints().back(), static_cast<int64_t>(frame->num_rows() - 1));
  }
  Result<std::vector<std::string>> header = ReadCsvHeader(path);
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(*header, (std::vector<std::string>{"id", "note", "value"}));
}

TEST(CsvReaderTest, LargeInputErrorsGiveTheTrueLine) {
  const size_t rows = 300000;
  std::string text = BigCsv(rows, false);
  // Row 250000 sits far into a later chunk; 1 header line + one extra line
  // per quoted note before it.
  const size_t target = 250000;
  const std::string needle = "\n" + std::to_string(target) + ",n";
  const size_t at = text.find(needle);
  ASSERT_NE(at, std::string::npos);
  text.replace(at + 1, std::to_string(target).size(), "bad");
  ReadOptions options = Named("big.csv");
  options.types = {{"id", Type::kInt64}};
  const size_t line = 1 + target + (target + 6) / 7 + 1;
  EXPECT_EQ(ErrorOf(text, options),
            "big.csv:" + std::to_string(line) + ": column 'id': 'bad' is not an int64");
  std::string unterminated = BigCsv(rows, false) + "1,\"open,2\n3,4,5\n";
  EXPECT_EQ(ErrorOf(unterminated, options),
            "big.csv:" + std::to_string(1 + rows + (rows + 6) / 7 + 1) + ": unterminated quoted field");
}

}  // namespace
}  // namespace kiln::data
