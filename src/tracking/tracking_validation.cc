#include "tracking/tracking_validation.h"

#include <cerrno>
#include <cstdlib>

#include "common/json.h"

namespace kiln::tracking {
namespace {

constexpr size_t kMaxDatasetNameLength = 500;
constexpr size_t kMaxDatasetDigestLength = 36;
constexpr size_t kMaxDatasetSourceLength = 65535;
constexpr size_t kMaxDatasetSchemaLength = 1048575;
constexpr size_t kMaxDatasetProfileLength = 16777215;
constexpr size_t kMaxInputTagKeyLength = 255;
constexpr size_t kMaxInputTagValueLength = 500;

// MLflow's invalid_value(): the value as compact ASCII JSON.
std::string ShownValue(std::string_view value) {
  return Json(std::string(value)).dump(-1, ' ', /*ensure_ascii=*/true, Json::error_handler_t::replace);
}

Status InvalidValue(std::string_view path, std::string_view value, std::string_view why) {
  return InvalidArgument("Invalid value " + ShownValue(value) + " for parameter '" + std::string(path) +
                         "' supplied: " + std::string(why));
}

bool IsKeyCharacter(unsigned char c) {
  // Python's \w is Unicode-aware; any non-ASCII byte belongs to a code point
  // we accept as a word character.
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.' || c == ' ' || c == ':' || c == '/' || c >= 0x80;
}

Status RequireNonEmpty(std::string_view path, std::string_view value) {
  if (value.empty()) return MissingParameter(path);
  return Status::Ok();
}

}  // namespace

std::string NormalizePath(std::string_view path) {
  if (path.empty()) return ".";
  size_t leading_slashes = 0;
  if (path.front() == '/') {
    // POSIX keeps exactly two leading slashes; one or three-plus become one.
    leading_slashes = (path.size() > 1 && path[1] == '/' && (path.size() == 2 || path[2] != '/')) ? 2 : 1;
  }
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view part = path.substr(start, slash - start);
    start = slash + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (leading_slashes == 0 && (parts.empty() || parts.back() == "..")) {
        parts.push_back(part);
      } else if (!parts.empty()) {
        parts.pop_back();
      }
      continue;
    }
    parts.push_back(part);
  }
  std::string out(leading_slashes, '/');
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += '/';
    out += parts[i];
  }
  return out.empty() ? "." : out;
}

size_t CharacterCount(std::string_view text) {
  size_t count = 0;
  for (unsigned char c : text) {
    if ((c & 0xC0) != 0x80) ++count;
  }
  return count;
}

std::string FieldPath(std::string_view prefix, std::string_view field) {
  if (prefix.empty()) return std::string(field);
  return std::string(prefix) + "." + std::string(field);
}

Status ValidateLength(std::string_view path, std::string_view value, size_t limit) {
  if (value.size() <= limit || CharacterCount(value) <= limit) return Status::Ok();
  return InvalidArgument("'" + std::string(path) + "' exceeds the maximum length of " + std::to_string(limit) +
                         " characters");
}

Status ValidateKey(std::string_view path, std::string_view key) {
  if (key.empty()) return MissingParameter(path);
  for (unsigned char c : key) {
    if (!IsKeyCharacter(c)) {
      return InvalidValue(path, key,
                          "Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), "
                          "spaces ( ), colon(:) and slashes (/).");
    }
  }
  std::string normalized = NormalizePath(key);
  if (normalized != key || normalized == "." || normalized.rfind("..", 0) == 0 || normalized.front() == '/') {
    return InvalidValue(path, key,
                        "Names may be treated as files in certain cases, and must not resolve to other names "
                        "when treated as such. This name would resolve to '" +
                            normalized + "'");
  }
  return ValidateLength(path, key, kMaxEntityKeyLength);
}

Status ValidateMetric(std::string_view path_prefix, const Metric& metric) {
  KILN_RETURN_IF_ERROR(ValidateKey(FieldPath(path_prefix, "key"), metric.key));
  if (metric.timestamp < 0) {
    return InvalidArgument("Invalid value " + std::to_string(metric.timestamp) + " for parameter '" +
                           FieldPath(path_prefix, "timestamp") + "' supplied: metric '" + metric.key +
                           "' (value=" + Json(JsonDouble(metric.value)).dump() +
                           "). Timestamp must be a nonnegative long (64-bit integer)");
  }
  return Status::Ok();
}

Status ValidateParam(std::string_view path_prefix, const Param& param) {
  KILN_RETURN_IF_ERROR(ValidateKey(FieldPath(path_prefix, "key"), param.key));
  return ValidateLength(FieldPath(path_prefix, "value"), param.value, kMaxParamValueLength);
}

Status ValidateRunTag(std::string_view path_prefix, const RunTag& tag) {
  KILN_RETURN_IF_ERROR(ValidateKey(FieldPath(path_prefix, "key"), tag.key));
  return ValidateLength(FieldPath(path_prefix, "value"), tag.value, kMaxTagValueLength);
}

Status ValidateExperimentTag(const ExperimentTag& tag) {
  KILN_RETURN_IF_ERROR(ValidateKey("key", tag.key));
  KILN_RETURN_IF_ERROR(ValidateLength("key", tag.key, kMaxExperimentTagKeyLength));
  return ValidateLength("value", tag.value, kMaxExperimentTagValueLength);
}

Status ValidateExperimentName(std::string_view name) {
  if (name.empty()) return InvalidArgument("Invalid experiment name: ''");
  return ValidateLength("name", name, kMaxExperimentNameLength);
}

Status ValidateArtifactLocation(std::string_view location) {
  if (location.rfind("runs:", 0) == 0) {
    return InvalidArgument("Artifact location cannot be a runs:/ URI. Given: '" + std::string(location) + "'");
  }
  if (location.find('#') != std::string_view::npos || location.find(';') != std::string_view::npos) {
    return InvalidArgument("'artifact_location' URL can't include fragments or params.");
  }
  return Status::Ok();
}

Status ValidateDatasetInput(std::string_view path_prefix, const DatasetInput& input) {
  std::string dataset = FieldPath(path_prefix, "dataset");
  const Dataset& d = input.dataset;
  KILN_RETURN_IF_ERROR(RequireNonEmpty(FieldPath(dataset, "name"), d.name));
  KILN_RETURN_IF_ERROR(RequireNonEmpty(FieldPath(dataset, "digest"), d.digest));
  KILN_RETURN_IF_ERROR(RequireNonEmpty(FieldPath(dataset, "source_type"), d.source_type));
  KILN_RETURN_IF_ERROR(RequireNonEmpty(FieldPath(dataset, "source"), d.source));
  KILN_RETURN_IF_ERROR(ValidateLength(FieldPath(dataset, "name"), d.name, kMaxDatasetNameLength));
  KILN_RETURN_IF_ERROR(ValidateLength(FieldPath(dataset, "digest"), d.digest, kMaxDatasetDigestLength));
  KILN_RETURN_IF_ERROR(ValidateLength(FieldPath(dataset, "source"), d.source, kMaxDatasetSourceLength));
  if (d.schema) {
    KILN_RETURN_IF_ERROR(ValidateLength(FieldPath(dataset, "schema"), *d.schema, kMaxDatasetSchemaLength));
  }
  if (d.profile) {
    KILN_RETURN_IF_ERROR(ValidateLength(FieldPath(dataset, "profile"), *d.profile, kMaxDatasetProfileLength));
  }
  for (size_t i = 0; i < input.tags.size(); ++i) {
    std::string tag = FieldPath(path_prefix, "tags[" + std::to_string(i) + "]");
    KILN_RETURN_IF_ERROR(RequireNonEmpty(FieldPath(tag, "key"), input.tags[i].key));
    KILN_RETURN_IF_ERROR(ValidateLength(FieldPath(tag, "key"), input.tags[i].key, kMaxInputTagKeyLength));
    KILN_RETURN_IF_ERROR(ValidateLength(FieldPath(tag, "value"), input.tags[i].value, kMaxInputTagValueLength));
  }
  return Status::Ok();
}

Status ValidateBatchLimit(std::string_view what, size_t limit, size_t count) {
  if (count <= limit) return Status::Ok();
  std::string name(what);
  return InvalidArgument("A batch logging request can contain at most " + std::to_string(limit) + " " + name +
                         ". Got " + std::to_string(count) + " " + name + ". Please split up " + name +
                         " across multiple requests and try again.");
}

Status ExperimentNotFound(std::string_view experiment_id) {
  return NotFound("No Experiment with id=" + std::string(experiment_id) + " exists");
}

Status RunNotFound(std::string_view run_id) {
  return NotFound("Run with id=" + std::string(run_id) + " not found");
}

Result<int64_t> ParseExperimentId(std::string_view experiment_id) {
  std::string text(experiment_id);
  bool digits = !text.empty() && text.size() <= 18;
  for (char c : text) digits = digits && c >= '0' && c <= '9';
  if (!digits) return ExperimentNotFound(experiment_id);
  return static_cast<int64_t>(std::strtoll(text.c_str(), nullptr, 10));
}

}  // namespace kiln::tracking
