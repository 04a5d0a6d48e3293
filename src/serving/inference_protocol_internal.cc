#include "serving/inference_protocol_internal.h"

#include <cmath>
#include <limits>
#include <vector>

#include "data/timestamp.h"
#include "features/expression_binder.h"

namespace kiln::serving::internal {

namespace {

// Longest name for which a did-you-mean hint is computed (edit distance is
// quadratic) and longest text an error message quotes.
constexpr size_t kMaxQuotedBytes = 64;

// `text` cut to at most `limit` bytes on a UTF-8 character boundary, with
// "…" appended when cut.
std::string Cut(std::string_view text, size_t limit) {
  if (text.size() <= limit) return std::string(text);
  size_t end = limit;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return std::string(text.substr(0, end)) + "…";
}

// Refuses arrays and objects nested deeper than kMaxJsonDepth. Exact for
// valid JSON; for invalid JSON the parser fails anyway.
Status CheckNestingDepth(std::string_view text) {
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) {
        return InvalidArgument("malformed JSON: nested deeper than " + std::to_string(kMaxJsonDepth) +
                               " levels at byte " + std::to_string(i));
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return Status::Ok();
}

// The length of the valid UTF-8 sequence at text[i], or 0 when invalid.
size_t Utf8SequenceLength(std::string_view text, size_t i) {
  const unsigned char lead = static_cast<unsigned char>(text[i]);
  size_t length = lead < 0x80           ? 1
                  : (lead >> 5) == 0x6  ? 2
                  : (lead >> 4) == 0xE  ? 3
                  : (lead >> 3) == 0x1E ? 4
                                        : 0;
  if (length == 0 || i + length > text.size()) return 0;
  for (size_t k = 1; k < length; ++k) {
    if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return 0;
  }
  return length;
}

// nlohmann's parse errors quote the offending token: cut it to a readable
// length and replace bytes that are not UTF-8 with U+FFFD, so the message
// can travel in a JSON error body.
std::string SanitizeMessage(std::string_view message) {
  constexpr size_t kMaxMessageBytes = 300;
  std::string out;
  for (size_t i = 0; i < message.size();) {
    if (out.size() >= kMaxMessageBytes) return out + "…";
    const size_t length = Utf8SequenceLength(message, i);
    if (length == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(message.substr(i, length));
      i += length;
    }
  }
  return out;
}

}  // namespace

Result<Json> ParseRequestBody(std::string_view body) {
  KILN_RETURN_IF_ERROR(CheckNestingDepth(body));
  const size_t first = body.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && body[first] == '"') {
    // ParseJsonObject decodes a body that is a JSON string holding JSON
    // (older MLflow clients); the inner text gets the same depth check.
    Json outer = Json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (outer.is_string()) KILN_RETURN_IF_ERROR(CheckNestingDepth(outer.get_ref<const std::string&>()));
  }
  Result<Json> parsed = ParseJsonObject(body);
  if (!parsed.ok()) return InvalidArgument(SanitizeMessage(parsed.status().message()));
  return parsed;
}

std::string FieldPath(std::string_view parent, std::string_view field) {
  if (parent.empty()) return std::string(field);
  std::string path(parent);
  path += '.';
  path += field;
  return path;
}

std::string IndexPath(std::string_view parent, size_t index) {
  std::string path(parent);
  path += '[';
  path += std::to_string(index);
  path += ']';
  return path;
}

std::string Describe(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::array:
      return value.empty() ? "an empty array" : "an array";
    case Json::value_t::object:
      return "an object";
    case Json::value_t::string:
      return Json(Cut(value.get_ref<const std::string&>(), kMaxQuotedBytes))
          .dump(-1, ' ', false, Json::error_handler_t::replace);
    default:
      return value.dump(-1, ' ', false, Json::error_handler_t::replace);
  }
}

std::string QuoteName(std::string_view name) { return "'" + Cut(name, kMaxQuotedBytes) + "'"; }

Status WrongType(std::string_view path, std::string_view expected, const Json& value) {
  return InvalidArgument(std::string(path) + ": expected " + std::string(expected) + ", got " +
                         Describe(value));
}

Status MissingField(std::string_view path, std::string_view expected) {
  return InvalidArgument(std::string(path) + ": missing, expected " + std::string(expected));
}

Status LimitExceeded(uint64_t count, std::string_view noun, uint64_t limit) {
  return ResourceExhausted("batch of " + std::to_string(count) + " " + std::string(noun) +
                           " exceeds the limit of " + std::to_string(limit));
}

Status CheckFields(const Json& object, std::string_view path, std::initializer_list<std::string_view> allowed,
                   std::initializer_list<std::string_view> hints) {
  for (const auto& [key, value] : object.items()) {
    bool known = false;
    for (std::string_view name : allowed) known = known || key == name;
    if (known) continue;
    std::string message = std::string(path) + (path.empty() ? "" : ": ") + "unknown field " + QuoteName(key);
    std::string closest;
    if (key.size() <= kMaxQuotedBytes) {
      std::vector<std::string> candidates(allowed.begin(), allowed.end());
      candidates.insert(candidates.end(), hints.begin(), hints.end());
      closest = features::ClosestName(key, candidates);
    }
    if (!closest.empty()) {
      message += " (did you mean '" + closest + "'?)";
    } else {
      message += " (expected one of: ";
      bool first = true;
      for (std::string_view name : allowed) {
        message += (first ? "" : ", ") + std::string(name);
        first = false;
      }
      message += ")";
    }
    return InvalidArgument(std::move(message));
  }
  return Status::Ok();
}

const Json* FindField(const Json& object, std::string_view name) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

Json* FindField(Json& object, std::string_view name) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

Result<std::string> ParseId(const Json& value, std::string_view path) {
  if (!value.is_string()) {
    if (value.is_number()) {
      return InvalidArgument(std::string(path) + ": expected a string, got " + Describe(value) +
                             " (quote it: \"" + value.dump() + "\")");
    }
    return WrongType(path, "a non-empty string", value);
  }
  const std::string& id = value.get_ref<const std::string&>();
  if (id.empty()) return InvalidArgument(std::string(path) + ": expected a non-empty string");
  if (id.size() > kMaxIdBytes) {
    return InvalidArgument(std::string(path) + ": " + std::to_string(id.size()) +
                           " bytes is longer than the limit of " + std::to_string(kMaxIdBytes));
  }
  return id;
}

Result<int64_t> ParseTimestampValue(const Json& value, std::string_view path) {
  static constexpr std::string_view kExpected =
      "an ISO 8601 timestamp or integer microseconds since the epoch";
  if (value.is_number_unsigned()) {
    if (value.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return WrongType(path, kExpected, value);
    }
    return static_cast<int64_t>(value.get<uint64_t>());
  }
  if (value.is_number_integer()) return value.get<int64_t>();
  if (!value.is_string() || value.get_ref<const std::string&>().size() > kMaxQuotedBytes) {
    return WrongType(path, kExpected, value);
  }
  Result<int64_t> micros = data::ParseTimestamp(value.get_ref<const std::string&>(), data::TimeZone::Utc());
  if (!micros.ok()) return InvalidArgument(std::string(path) + ": " + micros.status().message());
  return *micros;
}

Result<double> ParseOutcomeValue(const Json& value, std::string_view path) {
  if (value.is_boolean()) return value.get<bool>() ? 1.0 : 0.0;
  if (value.is_number()) {
    const double number = value.get<double>();
    if (std::isfinite(number)) return number;
  }
  return WrongType(path, "a finite number or a boolean", value);
}

}  // namespace kiln::serving::internal
