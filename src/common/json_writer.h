#pragma once
// JsonWriter: appends JSON text straight to a string, for large responses
// (search-runs pages, metric histories) where building a nlohmann::json
// tree first costs more than the query. Doubles follow protobuf JSON (NaN
// and +-Infinity as strings); invalid UTF-8 becomes U+FFFD so the output is
// always valid JSON. Single-threaded; the caller balances Begin/End.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"

namespace kiln {

class JsonWriter {
 public:
  explicit JsonWriter(std::string* out) : out_(out) {}

  void BeginObject();
  void EndObject();
  void BeginArray();
  void EndArray();
  // REQUIRES: inside an object, and the previous call was not Key().
  void Key(std::string_view key);

  void String(std::string_view value);
  void Int(int64_t value);
  void Double(double value);  // protobuf JSON: "NaN", "Infinity", "-Infinity"
  void Bool(bool value);
  void Null();
  void Value(const Json& value);  // any nlohmann value, for small irregular parts

  // Key + value in one call.
  void Field(std::string_view key, std::string_view value) { Key(key), String(value); }
  void Field(std::string_view key, const char* value) { Key(key), String(value); }
  void Field(std::string_view key, const std::string& value) { Key(key), String(value); }
  void Field(std::string_view key, int64_t value) { Key(key), Int(value); }

 private:
  void BeforeValue();

  std::string* out_;
  std::vector<bool> has_items_;  // per open container: wrote an element yet?
  bool after_key_ = false;
};

// Appends `text` as a JSON string literal (with quotes) to `out`.
void AppendJsonString(std::string* out, std::string_view text);

}  // namespace kiln
