// The prediction record's JSON form and the file prediction store: what a
// line looks like, round trips, rotation, reopening, torn last lines,
// queries, sampling and drop markers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "serving/prediction_log.h"
#include "serving/serving_testing.h"

namespace kiln::serving {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using testing_support::MakeRecord;
using testing_support::Must;
using testing_support::T;
using testing_support::TestDirectory;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void WriteText(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Segment file names, in sequence order.
std::vector<std::string> Segments(const TestDirectory& directory) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(directory.path())) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
    return a.substr(a.rfind('-')) < b.substr(b.rfind('-'));
  });
  return names;
}

std::vector<std::string> Ids(const PredictionReadResult& result) {
  std::vector<std::string> ids;
  for (const PredictionRecord& record : result.records) ids.push_back(record.id);
  return ids;
}

void Write(PredictionStore& store, std::vector<PredictionRecord> records) { Must(store.Write(records)); }

// --- The record's JSON form --------------------------------------------------

TEST(PredictionRecordJsonTest, ALineHoldsEveryFieldWithFeaturesInModelOrder) {
  PredictionRecord record = MakeRecord("pred-1", "2001-04-01T08:00:00.25Z");
  record.feature_values = {740.0, kNaN};
  std::string line;
  AppendPredictionRecordJson(record, &line);
  EXPECT_EQ(line,
            R"({"kind":"prediction","id":"pred-1","timestamp":"2001-04-01T08:00:00.250000Z","model":"flights",)"
            R"("version":1,"alias":"champion","experiment":"","arm":"","unit_id":"user-pred-1",)"
            R"("entity":{"origin":"ORD"},"request":{"departure":"2001-04-01T08:00:00Z"},)"
            R"("features":{"z_distance":740.0,"a_delay":null},"features_as_of":"2001-04-01T00:00:00Z",)"
            R"("prediction":0.25})");

  PredictionRecord back = Must(ParsePredictionRecordJson(line));
  EXPECT_EQ(back.id, "pred-1");
  EXPECT_EQ(back.timestamp_micros, T("2001-04-01T08:00:00.25Z"));
  EXPECT_EQ(back.model, "flights");
  EXPECT_EQ(back.version, 1);
  EXPECT_EQ(back.alias, "champion");
  EXPECT_EQ(back.unit_id, "user-pred-1");
  EXPECT_EQ(back.entity, (Json{{"origin", "ORD"}}));
  EXPECT_EQ(back.request, (Json{{"departure", "2001-04-01T08:00:00Z"}}));
  ASSERT_NE(back.feature_names, nullptr);
  EXPECT_THAT(*back.feature_names, ElementsAre("z_distance", "a_delay"));
  ASSERT_EQ(back.feature_values.size(), 2u);
  EXPECT_EQ(back.feature_values[0], 740.0);
  EXPECT_TRUE(std::isnan(back.feature_values[1]));
  EXPECT_EQ(back.features_as_of_micros, T("2001-04-01T00:00:00Z"));
  EXPECT_EQ(back.prediction, 0.25);
}

TEST(PredictionRecordJsonTest, UnknownFeatureTimeIsNullAndNonFinitePredictionsAreStrings) {
  PredictionRecord record = MakeRecord("p", "2001-04-01T08:00:00Z");
  record.features_as_of_micros = 0;
  record.prediction = kNaN;
  Json json = PredictionRecordToJson(record);
  EXPECT_TRUE(json["features_as_of"].is_null());
  EXPECT_EQ(json["prediction"], "NaN");
  PredictionRecord back = Must(PredictionRecordFromJson(json));
  EXPECT_EQ(back.features_as_of_micros, 0);
  EXPECT_TRUE(std::isnan(back.prediction));
  // The Json form sorts object keys; the text form keeps the model's order.
  EXPECT_THAT(*back.feature_names, ElementsAre("a_delay", "z_distance"));
  EXPECT_THAT(back.feature_values, ElementsAre(12.5, 740.0));
}

TEST(PredictionRecordJsonTest, ErrorsNameTheField) {
  Json good = PredictionRecordToJson(MakeRecord("p", "2001-04-01T08:00:00Z"));
  auto error = [&](const char* field, Json value) {
    Json json = good;
    if (value.is_discarded()) {
      json.erase(field);
    } else {
      json[field] = value;
    }
    auto result = PredictionRecordFromJson(json);
    EXPECT_FALSE(result.ok()) << field;
    EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
    return result.status().message();
  };
  const Json kAbsent = Json(Json::value_t::discarded);
  EXPECT_EQ(error("version", "3"), "field 'version': expected an integer");
  EXPECT_EQ(error("version", 1.5), "field 'version': expected an integer");
  EXPECT_EQ(error("id", kAbsent), "field 'id': missing");
  EXPECT_EQ(error("id", ""), "field 'id': must not be empty");
  EXPECT_EQ(error("model", 7), "field 'model': expected a string");
  EXPECT_EQ(error("timestamp", 12), "field 'timestamp': expected an ISO 8601 timestamp string");
  EXPECT_THAT(error("timestamp", "2001-13-01"), StartsWith("field 'timestamp': '2001-13-01' is not an ISO 8601"));
  EXPECT_EQ(error("entity", Json::array()), "field 'entity': expected a JSON object");
  EXPECT_EQ(error("features", Json{{"a", "x"}}), "field 'features': value of 'a' must be a number or null");
  EXPECT_EQ(error("prediction", kAbsent), "field 'prediction': missing");
  EXPECT_EQ(error("prediction", true), "field 'prediction': expected a number");
  EXPECT_EQ(error("kind", "drops"), "field 'kind': expected \"prediction\", got \"drops\"");
  EXPECT_THAT(ParsePredictionRecordJson("{\"id\": ").status().message(), StartsWith("malformed JSON at byte"));
}

// --- The file store ------------------------------------------------------------

TEST(FilePredictionStoreTest, WrittenRecordsReadBackWithEveryField) {
  TestDirectory directory("kiln-prediction-log");
  auto store = Must(OpenFilePredictionStore(directory.string()));
  PredictionRecord first = MakeRecord("p1", "2001-04-01T08:00:00Z");
  first.experiment = "exp-1";
  first.arm = "b";
  first.feature_values = {kNaN, -3.5};
  first.prediction = -std::numeric_limits<double>::infinity();
  Write(*store, {first, MakeRecord("p2", "2001-04-01T08:00:01Z")});
  Must(store->Flush());

  PredictionReadResult result = Must(store->Read({}));
  EXPECT_EQ(result.matched, 2);
  EXPECT_EQ(result.skipped_lines, 0);
  ASSERT_THAT(Ids(result), ElementsAre("p1", "p2"));
  const PredictionRecord& back = result.records[0];
  EXPECT_EQ(back.experiment, "exp-1");
  EXPECT_EQ(back.arm, "b");
  EXPECT_TRUE(std::isnan(back.feature_values[0]));
  EXPECT_EQ(back.feature_values[1], -3.5);
  EXPECT_EQ(back.prediction, -std::numeric_limits<double>::infinity());
  EXPECT_THAT(*back.feature_names, ElementsAre("z_distance", "a_delay"));
  // Records of one model version share one list of names.
  EXPECT_EQ(result.records[0].feature_names, result.records[1].feature_names);
}

TEST(FilePredictionStoreTest, ASegmentStartsWithItsFormatVersionAndEndsWithItsRangeWhenFinished) {
  TestDirectory directory("kiln-prediction-log");
  {
    auto store = Must(OpenFilePredictionStore(directory.string()));
    Write(*store, {MakeRecord("p1", "2001-04-01T08:00:05Z"), MakeRecord("p2", "2001-04-01T08:00:01Z")});
    Must(store->WriteDrop({3, T("2001-04-01T08:00:02Z"), T("2001-04-01T08:00:09Z")}));
  }
  ASSERT_THAT(Segments(directory), ElementsAre("predictions-20010401T080005Z-000001.jsonl"));
  std::vector<std::string> lines = Lines(ReadText(directory.path() / Segments(directory)[0]));
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0], R"({"kind":"segment","format_version":1,"segment":1})");
  EXPECT_THAT(lines[1], StartsWith(R"({"kind":"prediction","id":"p1",)"));
  EXPECT_THAT(lines[2], StartsWith(R"({"kind":"prediction","id":"p2",)"));
  EXPECT_EQ(lines[3], R"({"kind":"drops","count":3,"first":"2001-04-01T08:00:02Z","last":"2001-04-01T08:00:09Z"})");
  EXPECT_EQ(lines[4],
            R"({"kind":"segment_end","records":2,"drop_markers":1,)"
            R"("min_timestamp":"2001-04-01T08:00:01Z","max_timestamp":"2001-04-01T08:00:09Z"})");
}

TEST(FilePredictionStoreTest, SegmentsRotatePastTheSizeLimitAndReadAcrossThem) {
  TestDirectory directory("kiln-prediction-log");
  std::string line;
  AppendPredictionRecordJson(MakeRecord("p1", "2001-04-01T08:00:00Z"), &line);
  const int64_t limit = static_cast<int64_t>(line.size()) * 3 / 2;  // room for one record, not two
  auto store = Must(OpenFilePredictionStore(directory.string(), limit));
  // A batch is never split: one bigger than the limit fills a segment alone.
  Write(*store, {MakeRecord("p1", "2001-04-01T08:00:00Z"), MakeRecord("p2", "2001-04-01T08:00:01Z")});
  Write(*store, {MakeRecord("p3", "2001-04-01T09:00:00Z")});
  Write(*store, {MakeRecord("p4", "2001-04-01T10:00:00Z")});
  Must(store->Flush());

  EXPECT_THAT(Segments(directory), ElementsAre("predictions-20010401T080000Z-000001.jsonl",
                                               "predictions-20010401T090000Z-000002.jsonl",
                                               "predictions-20010401T100000Z-000003.jsonl"));
  std::vector<std::string> first = Lines(ReadText(directory.path() / Segments(directory)[0]));
  EXPECT_THAT(first.back(), StartsWith(R"({"kind":"segment_end","records":2,)"));
  std::vector<std::string> second = Lines(ReadText(directory.path() / Segments(directory)[1]));
  EXPECT_THAT(second.back(), StartsWith(R"({"kind":"segment_end","records":1,)"));
  EXPECT_LE(fs::file_size(directory.path() / Segments(directory)[1]) - second.back().size() - 1,
            static_cast<uintmax_t>(limit));
  EXPECT_THAT(Ids(Must(store->Read({}))), ElementsAre("p1", "p2", "p3", "p4"));
}

TEST(FilePredictionStoreTest, ReopeningContinuesInANewSegmentAndLeavesOldOnesAlone) {
  TestDirectory directory("kiln-prediction-log");
  {
    auto store = Must(OpenFilePredictionStore(directory.string()));
    Write(*store, {MakeRecord("p1", "2001-04-01T08:00:00Z")});
  }
  const fs::path old_segment = directory.path() / Segments(directory)[0];
  const std::string old_bytes = ReadText(old_segment);

  auto store = Must(OpenFilePredictionStore(directory.string()));
  Write(*store, {MakeRecord("p2", "2001-04-02T08:00:00Z")});
  Must(store->Flush());

  EXPECT_THAT(Segments(directory), ElementsAre("predictions-20010401T080000Z-000001.jsonl",
                                               "predictions-20010402T080000Z-000002.jsonl"));
  EXPECT_EQ(ReadText(old_segment), old_bytes);
  EXPECT_THAT(Ids(Must(store->Read({}))), ElementsAre("p1", "p2"));
}

TEST(FilePredictionStoreTest, ATornLastLineIsSkippedWithAWarning) {
  TestDirectory directory("kiln-prediction-log");
  {
    auto store = Must(OpenFilePredictionStore(directory.string()));
    Write(*store, {MakeRecord("p1", "2001-04-01T08:00:00Z"), MakeRecord("p2", "2001-04-01T08:00:01Z")});
  }
  // What a crash in the middle of the next batch leaves: no summary, half a line.
  const fs::path segment = directory.path() / Segments(directory)[0];
  std::vector<std::string> lines = Lines(ReadText(segment));
  lines.pop_back();
  std::string crashed;
  for (const std::string& line : lines) crashed += line + "\n";
  std::string half;
  AppendPredictionRecordJson(MakeRecord("p3", "2001-04-01T08:00:02Z"), &half);
  WriteText(segment, crashed + half.substr(0, 40));

  auto store = Must(OpenFilePredictionStore(directory.string()));
  PredictionReadResult result = Must(store->Read({}));
  EXPECT_THAT(Ids(result), ElementsAre("p1", "p2"));
  EXPECT_EQ(result.skipped_lines, 1);
  ASSERT_EQ(result.warnings.size(), 1u);
  EXPECT_EQ(result.warnings[0], segment.string() +
                                    ": skipped a torn last line 4 (40 bytes without a newline; the writer stopped "
                                    "mid-write)");

  // Writing goes on in a new segment; the torn one stays as it is.
  Write(*store, {MakeRecord("p4", "2001-04-01T08:00:03Z")});
  EXPECT_EQ(ReadText(segment), crashed + half.substr(0, 40));
  EXPECT_THAT(Ids(Must(store->Read({}))), ElementsAre("p1", "p2", "p4"));
}

TEST(FilePredictionStoreTest, ABrokenLineInsideASegmentIsAnErrorNamingFileLineAndField) {
  TestDirectory directory("kiln-prediction-log");
  {
    auto store = Must(OpenFilePredictionStore(directory.string()));
    Write(*store, {MakeRecord("p1", "2001-04-01T08:00:00Z"), MakeRecord("p2", "2001-04-01T08:00:01Z")});
  }
  const fs::path segment = directory.path() / Segments(directory)[0];
  std::string text = ReadText(segment);
  size_t at = text.find(R"("version":1)", text.find(R"("id":"p2")"));
  WriteText(segment, text.replace(at, 11, R"("version":"1")"));

  auto store = Must(OpenFilePredictionStore(directory.string()));
  auto result = store->Read({});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(result.status().message(),
            "prediction log " + segment.string() + " line 3: field 'version': expected an integer");
}

TEST(FilePredictionStoreTest, ASegmentOfANewerFormatIsRefused) {
  TestDirectory directory("kiln-prediction-log");
  WriteText(directory.path() / "predictions-20010401T080000Z-000001.jsonl",
            "{\"kind\":\"segment\",\"format_version\":2,\"segment\":1}\n");
  auto store = Must(OpenFilePredictionStore(directory.string()));
  auto result = store->Read({});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(result.status().message(),
              HasSubstr("line 1: format_version 2 is newer than this kiln reads (1); upgrade kiln"));
}

TEST(FilePredictionStoreTest, QueriesFilterByModelVersionAndTimeOldestFirst) {
  TestDirectory directory("kiln-prediction-log");
  auto store = Must(OpenFilePredictionStore(directory.string()));
  Write(*store, {MakeRecord("late", "2001-04-01T10:00:00Z"), MakeRecord("early", "2001-04-01T08:00:00Z"),
                 MakeRecord("v2", "2001-04-01T09:00:00Z", "flights", 2),
                 MakeRecord("other", "2001-04-01T09:00:00Z", "churn", 1),
                 MakeRecord("end", "2001-04-01T11:00:00Z")});
  Must(store->WriteDrop({2, T("2001-04-01T07:00:00Z"), T("2001-04-01T07:30:00Z")}));
  Must(store->WriteDrop({5, T("2001-04-01T10:30:00Z"), T("2001-04-01T11:30:00Z")}));

  PredictionQuery query;
  query.model = "flights";
  EXPECT_THAT(Ids(Must(store->Read(query))), ElementsAre("early", "v2", "late", "end"));
  query.version = 1;
  EXPECT_THAT(Ids(Must(store->Read(query))), ElementsAre("early", "late", "end"));
  query.start_micros = T("2001-04-01T08:00:00Z");
  query.end_micros = T("2001-04-01T11:00:00Z");  // exclusive
  PredictionReadResult result = Must(store->Read(query));
  EXPECT_THAT(Ids(result), ElementsAre("early", "late"));
  EXPECT_EQ(result.matched, 2);
  ASSERT_EQ(result.drops.size(), 1u);  // the one overlapping [08:00, 11:00)
  EXPECT_EQ(result.drops[0].count, 5);
  EXPECT_EQ(Must(store->Read({})).drops.size(), 2u);
}

TEST(FilePredictionStoreTest, IdsAndModelsNeedingEscapesAreFilteredLikeAnyOther) {
  TestDirectory directory("kiln-prediction-log");
  auto store = Must(OpenFilePredictionStore(directory.string()));
  Write(*store, {MakeRecord("quote\"d", "2001-04-01T08:00:00Z", "flights"),
                 MakeRecord("back\\slash", "2001-04-01T09:00:00Z", "fl\"ights"),
                 MakeRecord("plain", "2001-04-01T10:00:00Z", "flights", 2)});
  PredictionQuery query;
  query.model = "flights";
  query.version = 1;
  EXPECT_THAT(Ids(Must(store->Read(query))), ElementsAre("quote\"d"));
  query.model = "fl\"ights";
  EXPECT_THAT(Ids(Must(store->Read(query))), ElementsAre("back\\slash"));
  query = PredictionQuery{};
  query.start_micros = T("2001-04-01T08:30:00Z");
  EXPECT_THAT(Ids(Must(store->Read(query))), ElementsAre("back\\slash", "plain"));
}

TEST(FilePredictionStoreTest, FinishedSegmentsOutsideTheTimeRangeAreNotRead) {
  TestDirectory directory("kiln-prediction-log");
  {
    auto store = Must(OpenFilePredictionStore(directory.string(), /*segment_bytes=*/1));  // a segment per write
    Write(*store, {MakeRecord("april-1", "2001-04-01T08:00:00Z")});
    Write(*store, {MakeRecord("april-2", "2001-04-02T08:00:00Z")});
  }
  // Damage the first segment inside: a read that opens it fails.
  const fs::path first = directory.path() / Segments(directory)[0];
  std::string text = ReadText(first);
  WriteText(first, text.insert(text.find('\n') + 1, "not json\n"));

  auto store = Must(OpenFilePredictionStore(directory.string()));
  EXPECT_FALSE(store->Read({}).ok());
  PredictionQuery query;
  query.start_micros = T("2001-04-02T00:00:00Z");
  EXPECT_THAT(Ids(Must(store->Read(query))), ElementsAre("april-2"));
}

TEST(FilePredictionStoreTest, SamplingIsUniformlySeededAndDeterministic) {
  TestDirectory directory("kiln-prediction-log");
  auto store = Must(OpenFilePredictionStore(directory.string(), /*segment_bytes=*/20'000));
  std::vector<PredictionRecord> records;
  for (int i = 0; i < 100; ++i) {
    records.push_back(MakeRecord("p" + std::to_string(i), "2001-04-01T08:00:00Z"));
    records.back().timestamp_micros += i;
  }
  for (size_t begin = 0; begin < records.size(); begin += 10) {
    Write(*store, std::vector<PredictionRecord>(records.begin() + begin, records.begin() + begin + 10));
  }

  PredictionQuery query;
  query.sample = 5;
  query.seed = 11;
  PredictionReadResult first = Must(store->Read(query));
  EXPECT_EQ(first.matched, 100);
  ASSERT_EQ(first.records.size(), 5u);
  EXPECT_EQ(Ids(Must(store->Read(query))), Ids(first));
  for (size_t i = 1; i < first.records.size(); ++i) {
    EXPECT_LT(first.records[i - 1].timestamp_micros, first.records[i].timestamp_micros);  // oldest first
  }
  query.seed = 12;
  EXPECT_NE(Ids(Must(store->Read(query))), Ids(first));
  query.sample = 500;  // more than match: all of them
  EXPECT_EQ(Must(store->Read(query)).records.size(), 100u);
}

TEST(FilePredictionStoreTest, OpeningNeedsAUsableDirectoryAndAPositiveSegmentSize) {
  TestDirectory directory("kiln-prediction-log");
  auto zero = OpenFilePredictionStore(directory.string(), 0);
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.status().message(), "prediction log segment size must be positive, got 0");
  WriteText(directory.path() / "file", "x");
  auto blocked = OpenFilePredictionStore((directory.path() / "file" / "predictions").string());
  ASSERT_FALSE(blocked.ok());
  EXPECT_EQ(blocked.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(blocked.status().message(), StartsWith("cannot create prediction log directory "));
  EXPECT_EQ(Must(OpenFilePredictionStore(directory.string()))->Describe(), "file " + directory.string());
}

TEST(FilePredictionStoreTest, APredictionLogOverTheFileStoreKeepsEverythingAcrossRestarts) {
  TestDirectory directory("kiln-prediction-log");
  for (int run = 0; run < 2; ++run) {
    PredictionLog log(Must(OpenFilePredictionStore(directory.string())));
    for (int i = 0; i < 100; ++i) {
      ASSERT_TRUE(log.Append(MakeRecord("r" + std::to_string(run) + "-" + std::to_string(i),
                                        run == 0 ? "2001-04-01T08:00:00Z" : "2001-04-02T08:00:00Z")));
    }
    Must(log.Close());
  }
  auto store = Must(OpenFilePredictionStore(directory.string()));
  PredictionReadResult result = Must(store->Read({}));
  EXPECT_EQ(result.matched, 200);
  EXPECT_EQ(result.skipped_lines, 0);
  EXPECT_EQ(Segments(directory).size(), 2u);
}

}  // namespace
}  // namespace kiln::serving
