#pragma once
// JSON helpers over nlohmann::json: parsing with positioned errors, typed
// field access with MLflow-style messages, and protobuf-JSON doubles
// (NaN and ±Infinity travel as the strings "NaN", "Infinity", "-Infinity").

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace kiln {

using Json = nlohmann::json;

// Parses a request body as MLflow's server does: an empty body is an empty
// object; the bare literals NaN, Infinity and -Infinity that Python's json
// module writes are read as the strings "NaN", "Infinity", "-Infinity"; a
// body that is a JSON string holding a JSON object (older MLflow clients
// encode twice) is decoded again.
// Errors: kInvalidArgument "malformed JSON at byte N: ...", or "expected a
// JSON object" when the top level is not an object.
Result<Json> ParseJsonObject(std::string_view text);

// A double as protobuf JSON writes it.
Json JsonDouble(double value);

// Typed access to the fields of a JSON object (a request message). Absent
// and null fields are "missing". Wrong types produce kInvalidArgument naming
// the field, e.g. "Invalid value 12 for parameter 'name': expected a string".
class JsonFields {
 public:
  explicit JsonFields(const Json& object) : object_(object) {}

  bool Has(std::string_view name) const;
  const Json* Get(std::string_view name) const;

  Result<std::string> RequiredString(std::string_view name) const;
  Result<std::optional<std::string>> OptionalString(std::string_view name) const;
  // Accepts numbers and decimal strings (protobuf JSON allows both for int64);
  // values outside int64 are kInvalidArgument.
  Result<std::optional<int64_t>> OptionalInt64(std::string_view name) const;
  Result<int64_t> RequiredInt64(std::string_view name) const;
  // Accepts numbers and "NaN", "Infinity", "-Infinity" (and numeric strings).
  Result<std::optional<double>> OptionalDouble(std::string_view name) const;
  Result<double> RequiredDouble(std::string_view name) const;
  Result<std::optional<bool>> OptionalBool(std::string_view name) const;
  // An array field; missing gives an empty array.
  Result<std::vector<Json>> OptionalArray(std::string_view name) const;
  Result<std::vector<std::string>> OptionalStringArray(std::string_view name) const;

 private:
  const Json& object_;
};

Status MissingParameter(std::string_view name);
Status InvalidParameter(std::string_view name, const Json& value, std::string_view expected);

}  // namespace kiln
