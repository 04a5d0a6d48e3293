#include "common/json_writer.h"

#include <gtest/gtest.h>

#include <limits>

namespace kiln {
namespace {

TEST(JsonWriterTest, WritesNestedValuesThatParseBack) {
  std::string out;
  JsonWriter writer(&out);
  writer.BeginObject();
  writer.Field("name", "a \"quoted\" \\ name\n\t\x01");
  writer.Field("count", int64_t{-42});
  writer.Key("values");
  writer.BeginArray();
  writer.Double(0.1);
  writer.Double(3.0);
  writer.Double(1e300);
  writer.Double(std::numeric_limits<double>::quiet_NaN());
  writer.Double(std::numeric_limits<double>::infinity());
  writer.Double(-std::numeric_limits<double>::infinity());
  writer.EndArray();
  writer.Key("empty");
  writer.BeginObject();
  writer.EndObject();
  writer.Key("flags");
  writer.BeginArray();
  writer.Bool(true);
  writer.Null();
  writer.Value(Json{{"x", 1}});
  writer.EndArray();
  writer.EndObject();

  Json parsed = Json::parse(out);
  EXPECT_EQ(parsed["name"], "a \"quoted\" \\ name\n\t\x01");
  EXPECT_EQ(parsed["count"], -42);
  EXPECT_EQ(parsed["values"][0].get<double>(), 0.1);
  EXPECT_TRUE(parsed["values"][1].is_number_float());
  EXPECT_EQ(parsed["values"][2].get<double>(), 1e300);
  EXPECT_EQ(parsed["values"][3], "NaN");
  EXPECT_EQ(parsed["values"][4], "Infinity");
  EXPECT_EQ(parsed["values"][5], "-Infinity");
  EXPECT_TRUE(parsed["empty"].is_object() && parsed["empty"].empty());
  EXPECT_EQ(parsed["flags"][2]["x"], 1);
}

TEST(JsonWriterTest, InvalidUtf8BecomesReplacementCharacter) {
  std::string out;
  JsonWriter writer(&out);
  writer.String(std::string("ok \xc3\xa9 bad \xff end \xe2\x82", 18));
  Json parsed = Json::parse(out);  // throws if the output were invalid
  EXPECT_EQ(parsed.get<std::string>(), "ok \xc3\xa9 bad \xef\xbf\xbd end \xef\xbf\xbd\xef\xbf\xbd");
}

}  // namespace
}  // namespace kiln
