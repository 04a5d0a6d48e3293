#pragma once
// JSON ⇄ Value conversions shared by the feature-store API, the prediction
// server and the skew check. Stateless.

#include <string>

#include "common/json.h"
#include "common/status.h"
#include "data/value.h"

namespace kiln::data {

// A JSON value as a Value of `type`. Timestamps take ISO 8601 strings
// (naive = UTC) or numbers (epoch seconds); int64 takes integral numbers;
// float64 takes numbers and "NaN"/"Infinity"/"-Infinity"; null is null.
// Errors name the field: "entities.origin[3]: expected a string, got 17".
Result<Value> ValueFromJson(const Json& json, Type type, const std::string& where);
// Timestamps as ISO 8601 strings, NaN/±Inf as "NaN"/"Infinity"/"-Infinity"
// (protobuf JSON), null as null.
Json ValueToJson(const Value& value);

}  // namespace kiln::data
