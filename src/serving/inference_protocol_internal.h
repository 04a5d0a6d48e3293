#pragma once
// Helpers shared by the request parsers of inference_protocol.h (OIP infer,
// predict, labels, events): body parsing with a nesting limit, field
// checks with did-you-mean hints, and the wording of error messages.
// Not part of the serving module's contract. Pure functions, thread-safe.

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "common/json.h"
#include "common/status.h"

namespace kiln::serving::internal {

// The deepest nesting of arrays and objects a request body may have. Deeper
// bodies are refused before nlohmann builds them: copying or printing a JSON
// value recurses once per level, so unbounded depth could overflow the stack.
inline constexpr size_t kMaxJsonDepth = 64;
// Client ids, prediction ids, unit ids and event names: at most this many bytes.
inline constexpr size_t kMaxIdBytes = 128;

// ParseJsonObject (common/json.h) after a linear scan that refuses nesting
// deeper than kMaxJsonDepth: "malformed JSON: nested deeper than 64 levels".
Result<Json> ParseRequestBody(std::string_view body);

// "rows[3]" + "entity" → "rows[3].entity"; "" + "entity" → "entity".
std::string FieldPath(std::string_view parent, std::string_view field);
// "inputs" + 2 → "inputs[2]".
std::string IndexPath(std::string_view parent, size_t index);

// A JSON value as an error message shows it: 17, true, null, "abc" (long
// strings cut), an array, an object.
std::string Describe(const Json& value);
// 'name' with quotes, cut to 64 bytes for messages.
std::string QuoteName(std::string_view name);

// "<path>: expected <expected>, got <Describe(value)>" (kInvalidArgument).
Status WrongType(std::string_view path, std::string_view expected, const Json& value);
// "<path>: missing, expected <expected>" (kInvalidArgument).
Status MissingField(std::string_view path, std::string_view expected);
// kResourceExhausted "batch of <count> <noun> exceeds the limit of <limit>".
Status LimitExceeded(uint64_t count, std::string_view noun, uint64_t limit);

// Refuses a member of `object` not in `allowed`: "<path>: unknown field 'shap'
// (did you mean 'shape'?)" or "(expected one of: a, b, c)". `hints` are
// extra names offered as did-you-mean candidates only.
// REQUIRES: object.is_object().
Status CheckFields(const Json& object, std::string_view path, std::initializer_list<std::string_view> allowed,
                   std::initializer_list<std::string_view> hints = {});

// The member `name` of `object`, or nullptr when absent or null.
const Json* FindField(const Json& object, std::string_view name);
Json* FindField(Json& object, std::string_view name);

// A client id: a non-empty string of at most kMaxIdBytes bytes.
Result<std::string> ParseId(const Json& value, std::string_view path);
// ISO 8601 text (naive = UTC) or integer microseconds since the epoch.
Result<int64_t> ParseTimestampValue(const Json& value, std::string_view path);
// A number or a boolean (true = 1); finite.
Result<double> ParseOutcomeValue(const Json& value, std::string_view path);

}  // namespace kiln::serving::internal
