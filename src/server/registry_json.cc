#include "server/registry_json.h"

#include <string>

namespace kiln::server {
namespace {

Json TagsJson(const std::vector<tracking::RegistryTag>& tags) {
  Json out = Json::array();
  for (const tracking::RegistryTag& tag : tags) out.push_back({{"key", tag.key}, {"value", tag.value}});
  return out;
}

void SetIfPresent(Json& object, const char* field, const std::optional<std::string>& value) {
  if (value) object[field] = *value;
}

}  // namespace

Json ModelVersionJson(const tracking::ModelVersion& version) {
  Json out = {
      {"name", version.name},
      {"version", std::to_string(version.version)},
      {"creation_timestamp", version.creation_timestamp},
      {"last_updated_timestamp", version.last_updated_timestamp},
      {"current_stage", version.current_stage},
      {"description", version.description.value_or("")},
      {"source", version.source},
      {"status", version.status},
      {"tags", TagsJson(version.tags)},
      {"aliases", version.aliases},
  };
  SetIfPresent(out, "user_id", version.user_id);
  SetIfPresent(out, "run_id", version.run_id);
  SetIfPresent(out, "run_link", version.run_link);
  SetIfPresent(out, "status_message", version.status_message);
  return out;
}

Json RegisteredModelJson(const tracking::RegisteredModel& model) {
  Json latest = Json::array();
  for (const tracking::ModelVersion& version : model.latest_versions) latest.push_back(ModelVersionJson(version));
  Json aliases = Json::array();
  for (const tracking::RegisteredModelAlias& alias : model.aliases) {
    aliases.push_back({{"alias", alias.alias}, {"version", std::to_string(alias.version)}});
  }
  return {
      {"name", model.name},
      {"creation_timestamp", model.creation_timestamp},
      {"last_updated_timestamp", model.last_updated_timestamp},
      {"description", model.description.value_or("")},
      {"latest_versions", std::move(latest)},
      {"tags", TagsJson(model.tags)},
      {"aliases", std::move(aliases)},
  };
}

Result<int64_t> VersionField(const JsonFields& fields, std::string_view name) {
  const Json* value = fields.Get(name);
  if (value == nullptr) return MissingParameter(name);
  if (value->is_number_integer()) return value->get<int64_t>();
  if (value->is_string()) {
    const std::string& text = value->get_ref<const std::string&>();
    if (text.empty()) return MissingParameter(name);  // as MLflow's handlers treat ""
    return tracking::ParseModelVersionNumber(text);
  }
  return InvalidParameter(name, *value, "a string");
}

Result<std::vector<std::string>> StringListField(const JsonFields& fields, std::string_view name) {
  const Json* value = fields.Get(name);
  if (value != nullptr && value->is_string()) return std::vector<std::string>{value->get<std::string>()};
  return fields.OptionalStringArray(name);
}

Result<std::vector<tracking::RegistryTag>> RegistryTagsField(const JsonFields& fields, std::string_view name) {
  KILN_ASSIGN_OR_RETURN(std::vector<Json> items, fields.OptionalArray(name));
  std::vector<tracking::RegistryTag> tags;
  tags.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    std::string path = std::string(name) + "[" + std::to_string(i) + "]";
    if (!items[i].is_object()) return InvalidParameter(path, items[i], "an object with 'key' and 'value'");
    JsonFields tag(items[i]);
    auto key = tag.RequiredString("key");
    if (!key.ok()) {
      const Json* raw = tag.Get("key");
      return raw == nullptr ? MissingParameter(path + ".key") : InvalidParameter(path + ".key", *raw, "a string");
    }
    auto value = tag.OptionalString("value");
    if (!value.ok()) return InvalidParameter(path + ".value", *tag.Get("value"), "a string");
    tags.push_back({*key, value->value_or("")});
  }
  return tags;
}

}  // namespace kiln::server
