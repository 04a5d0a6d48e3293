#pragma once
// Internal to the training module: typed reads of fields of the JSON files
// the built-in trainer writes (kiln-model.json, trainer jobs), with errors
// that name the file and the field path: "trainer job: split.seed: expected
// a non-negative integer, got -1". Stateless; thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/status.h"

namespace kiln::training {

// Where a field is: the document ("trainer job") and the path of the
// object holding it ("split"; empty at the top level).
class JsonFieldReader {
 public:
  JsonFieldReader(const Json& object, std::string document, std::string path)
      : object_(object), document_(std::move(document)), path_(std::move(path)) {}

  // Error unless the object is a JSON object.
  Status CheckObject() const {
    if (object_.is_object()) return Status::Ok();
    return Error(path_.empty() ? "the document" : path_, "expected an object, got " + object_.dump());
  }
  // Absent or null → nullopt.
  const Json* Find(std::string_view name) const {
    if (!object_.is_object()) return nullptr;
    auto it = object_.find(name);
    return it == object_.end() || it->is_null() ? nullptr : &*it;
  }
  std::string FieldPath(std::string_view name) const {
    return path_.empty() ? std::string(name) : path_ + "." + std::string(name);
  }
  Status Error(std::string_view field, std::string_view message) const {
    return InvalidArgument(document_ + ": " + std::string(field) + ": " + std::string(message));
  }
  Status Missing(std::string_view name) const {
    return InvalidArgument(document_ + ": " + FieldPath(name) + " is required");
  }

  Result<std::optional<std::string>> OptionalString(std::string_view name) const {
    const Json* value = Find(name);
    if (value == nullptr) return std::optional<std::string>();
    if (!value->is_string()) return Error(FieldPath(name), "expected a string, got " + value->dump());
    return std::optional<std::string>(value->get<std::string>());
  }
  Result<std::string> String(std::string_view name, bool required) const {
    KILN_ASSIGN_OR_RETURN(std::optional<std::string> value, OptionalString(name));
    if (!value && required) return Missing(name);
    return value.value_or("");
  }
  Result<std::optional<int64_t>> OptionalInt64(std::string_view name) const {
    const Json* value = Find(name);
    if (value == nullptr) return std::optional<int64_t>();
    if (value->is_number_unsigned() && value->get<uint64_t>() <= INT64_MAX) {
      return std::optional<int64_t>(static_cast<int64_t>(value->get<uint64_t>()));
    }
    if (!value->is_number_integer() || value->is_number_unsigned()) {
      return Error(FieldPath(name), "expected an integer, got " + value->dump());
    }
    return std::optional<int64_t>(value->get<int64_t>());
  }
  Result<int64_t> Int64(std::string_view name, int64_t default_value) const {
    KILN_ASSIGN_OR_RETURN(std::optional<int64_t> value, OptionalInt64(name));
    return value.value_or(default_value);
  }
  Result<uint64_t> Uint64(std::string_view name, uint64_t default_value) const {
    const Json* value = Find(name);
    if (value == nullptr) return default_value;
    if (!value->is_number_unsigned()) {
      return Error(FieldPath(name), "expected a non-negative integer, got " + value->dump());
    }
    return value->get<uint64_t>();
  }
  Result<double> Double(std::string_view name, double default_value) const {
    const Json* value = Find(name);
    if (value == nullptr) return default_value;
    if (!value->is_number()) return Error(FieldPath(name), "expected a number, got " + value->dump());
    return value->get<double>();
  }
  Result<std::vector<std::string>> StringArray(std::string_view name) const {
    const Json* value = Find(name);
    std::vector<std::string> result;
    if (value == nullptr) return result;
    if (!value->is_array())
      return Error(FieldPath(name), "expected an array of strings, got " + value->dump());
    for (size_t i = 0; i < value->size(); ++i) {
      if (!(*value)[i].is_string()) {
        return Error(FieldPath(name) + "[" + std::to_string(i) + "]",
                     "expected a string, got " + (*value)[i].dump());
      }
      result.push_back((*value)[i].get<std::string>());
    }
    return result;
  }
  // A nested object's reader; a missing object reads as empty.
  Result<JsonFieldReader> Object(std::string_view name) const {
    const Json* value = Find(name);
    static const Json kEmpty = Json::object();
    if (value == nullptr) return JsonFieldReader(kEmpty, document_, FieldPath(name));
    JsonFieldReader nested(*value, document_, FieldPath(name));
    KILN_RETURN_IF_ERROR(nested.CheckObject());
    return nested;
  }

  const Json& object() const { return object_; }
  const std::string& document() const { return document_; }
  const std::string& path() const { return path_; }

 private:
  const Json& object_;
  std::string document_;
  std::string path_;
};

}  // namespace kiln::training
