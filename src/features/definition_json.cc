#include "features/definition_json.h"

#include <algorithm>
#include <cmath>

#include "common/hashing.h"

namespace kiln::features {
namespace {

void PutIfSet(Json& out, const char* key, const std::string& value) {
  if (!value.empty()) out[key] = value;
}

Json TypeMapJson(const std::map<std::string, data::Type>& types) {
  Json out = Json::object();
  for (const auto& [name, type] : types) out[name] = std::string(data::TypeName(type));
  return out;
}

}  // namespace

Json FeatureToJson(const FeatureDef& feature) {
  Json out = {{"name", feature.name}};
  PutIfSet(out, "expression", feature.expression);
  if (feature.aggregation) {
    Json aggregation = {{"function", feature.aggregation->function},
                        {"window_seconds", feature.aggregation->window_seconds}};
    PutIfSet(aggregation, "column", feature.aggregation->column);
    out["aggregation"] = std::move(aggregation);
  }
  if (feature.declared_type) out["type"] = std::string(data::TypeName(*feature.declared_type));
  if (!feature.expect.empty()) {
    const Expectation& e = feature.expect;
    Json expect = Json::object();
    if (e.type) expect["type"] = std::string(data::TypeName(*e.type));
    if (e.min) expect["min"] = *e.min;
    if (e.max) expect["max"] = *e.max;
    if (!e.allowed.empty()) expect["allowed"] = e.allowed;
    if (e.max_null_fraction) expect["max_null_fraction"] = *e.max_null_fraction;
    out["expect"] = std::move(expect);
  }
  PutIfSet(out, "description", feature.description);
  return out;
}

namespace {

Json FeaturesJson(const std::vector<FeatureDef>& features) {
  Json out = Json::array();
  for (const FeatureDef& feature : features) out.push_back(FeatureToJson(feature));
  return out;
}

}  // namespace

Json SourceToJson(const SourceDef& source) {
  Json out = {{"name", source.name},
              {"kind", std::string(SourceKindName(source.kind))},
              {"timestamp_field", source.timestamp_field},
              {"timezone", source.timezone}};
  PutIfSet(out, "path", source.path);
  PutIfSet(out, "uri", source.uri);
  PutIfSet(out, "table", source.table);
  PutIfSet(out, "query", source.query);
  PutIfSet(out, "created_timestamp_field", source.created_timestamp_field);
  if (!source.columns.empty()) out["columns"] = TypeMapJson(source.columns);
  PutIfSet(out, "batch_source", source.batch_source);
  PutIfSet(out, "description", source.description);
  return out;
}

Json EntityToJson(const EntityDef& entity) {
  Json out = {{"name", entity.name}, {"join_keys", entity.join_keys}};
  PutIfSet(out, "description", entity.description);
  return out;
}

Json FeatureViewToJson(const FeatureViewDef& view) {
  Json out = {{"name", view.name},     {"entities", view.entities},
              {"source", view.source}, {"ttl_seconds", view.ttl_seconds},
              {"online", view.online}, {"features", FeaturesJson(view.features)}};
  if (!view.tags.empty()) out["tags"] = view.tags;
  PutIfSet(out, "description", view.description);
  return out;
}

Json OnDemandViewToJson(const OnDemandViewDef& view) {
  Json out = {
      {"name", view.name}, {"request", TypeMapJson(view.request)}, {"features", FeaturesJson(view.features)}};
  PutIfSet(out, "description", view.description);
  return out;
}

Json FeatureServiceToJson(const FeatureServiceDef& service) {
  Json features = Json::array();
  for (const FeatureRef& ref : service.features) features.push_back(ref.ToString());
  Json out = {{"name", service.name}, {"features", std::move(features)}};
  PutIfSet(out, "description", service.description);
  return out;
}

namespace {

// The objects of one kind as a JSON array sorted by name (stable for ties).
template <typename T, typename ToJson>
Json SortedByName(const std::vector<T>& items, ToJson to_json) {
  std::vector<const T*> sorted;
  for (const T& item : items) sorted.push_back(&item);
  std::stable_sort(sorted.begin(), sorted.end(), [](const T* a, const T* b) { return a->name < b->name; });
  Json out = Json::array();
  for (const T* item : sorted) out.push_back(to_json(*item));
  return out;
}

// ---- Reading ----

// Typed access to one JSON object of the definition, at `path` (for
// messages). Absent and null fields are left at their defaults.
class ObjectReader {
 public:
  ObjectReader(const Json& json, std::string path) : json_(json), path_(std::move(path)) {}

  Status Check(std::initializer_list<std::string_view> known) const {
    if (!json_.is_object()) return Fail("expected an object");
    for (const auto& item : json_.items()) {
      if (std::find(known.begin(), known.end(), item.key()) == known.end()) {
        return Fail("unknown key '" + item.key() + "'");
      }
    }
    return Status::Ok();
  }

  const Json* Get(const char* key) const {
    auto it = json_.find(key);
    return it == json_.end() || it->is_null() ? nullptr : &*it;
  }

  Status String(const char* key, std::string* out) const {
    const Json* value = Get(key);
    if (value == nullptr) return Status::Ok();
    if (!value->is_string()) return Fail(std::string("'") + key + "' must be a string");
    *out = value->get<std::string>();
    return Status::Ok();
  }

  Status RequiredString(const char* key, std::string* out) const {
    if (Get(key) == nullptr) return Fail(std::string("missing '") + key + "'");
    return String(key, out);
  }

  Status Int(const char* key, int64_t* out) const {
    const Json* value = Get(key);
    if (value == nullptr) return Status::Ok();
    if (!value->is_number_integer()) return Fail(std::string("'") + key + "' must be an integer");
    *out = value->get<int64_t>();
    return Status::Ok();
  }

  Status Bool(const char* key, bool* out) const {
    const Json* value = Get(key);
    if (value == nullptr) return Status::Ok();
    if (!value->is_boolean()) return Fail(std::string("'") + key + "' must be true or false");
    *out = value->get<bool>();
    return Status::Ok();
  }

  Status Number(const char* key, std::optional<double>* out) const {
    const Json* value = Get(key);
    if (value == nullptr) return Status::Ok();
    if (!value->is_number() || !std::isfinite(value->get<double>())) {
      return Fail(std::string("'") + key + "' must be a finite number");
    }
    *out = value->get<double>();
    return Status::Ok();
  }

  Status StringList(const char* key, std::vector<std::string>* out) const {
    const Json* value = Get(key);
    if (value == nullptr) return Status::Ok();
    if (!value->is_array()) return Fail(std::string("'") + key + "' must be an array of strings");
    for (const Json& item : *value) {
      if (!item.is_string()) return Fail(std::string("'") + key + "' must be an array of strings");
      out->push_back(item.get<std::string>());
    }
    return Status::Ok();
  }

  Status Type(const char* key, std::optional<data::Type>* out) const {
    const Json* value = Get(key);
    if (value == nullptr) return Status::Ok();
    if (!value->is_string()) return Fail(std::string("'") + key + "' must be a type name");
    Result<data::Type> type = data::ParseType(value->get<std::string>());
    if (!type.ok()) return Fail(std::string("'") + key + "': " + type.status().message());
    *out = *type;
    return Status::Ok();
  }

  Status TypeMap(const char* key, std::map<std::string, data::Type>* out) const {
    const Json* value = Get(key);
    if (value == nullptr) return Status::Ok();
    if (!value->is_object()) return Fail(std::string("'") + key + "' must map names to types");
    for (const auto& item : value->items()) {
      if (!item.value().is_string())
        return Fail(std::string("'") + key + "." + item.key() + "' must be a type name");
      Result<data::Type> type = data::ParseType(item.value().get<std::string>());
      if (!type.ok()) {
        return Fail(std::string("'") + key + "." + item.key() + "': " + type.status().message());
      }
      (*out)[item.key()] = *type;
    }
    return Status::Ok();
  }

  Status StringMap(const char* key, std::map<std::string, std::string>* out) const {
    const Json* value = Get(key);
    if (value == nullptr) return Status::Ok();
    if (!value->is_object()) return Fail(std::string("'") + key + "' must map names to strings");
    for (const auto& item : value->items()) {
      if (!item.value().is_string())
        return Fail(std::string("'") + key + "." + item.key() + "' must be a string");
      (*out)[item.key()] = item.value().get<std::string>();
    }
    return Status::Ok();
  }

  // Calls `read(element, element_path)` for each element of an array field.
  template <typename ReadFn>
  Status Array(const char* key, ReadFn read) const {
    const Json* value = Get(key);
    if (value == nullptr) return Status::Ok();
    if (!value->is_array()) return Fail(std::string("'") + key + "' must be an array");
    for (size_t i = 0; i < value->size(); ++i) {
      std::string path = (path_.empty() ? "" : path_ + ".") + key + "[" + std::to_string(i) + "]";
      KILN_RETURN_IF_ERROR(read((*value)[i], path));
    }
    return Status::Ok();
  }

  std::string Child(const char* key) const { return (path_.empty() ? "" : path_ + ".") + key; }

  Status Fail(const std::string& problem) const {
    return InvalidArgument("definition JSON: " + (path_.empty() ? "" : path_ + ": ") + problem);
  }

 private:
  const Json& json_;
  std::string path_;
};

Status ReadFeature(const Json& json, const std::string& path, FeatureDef* feature) {
  ObjectReader in(json, path);
  KILN_RETURN_IF_ERROR(in.Check({"aggregation", "description", "expect", "expression", "name", "type"}));
  KILN_RETURN_IF_ERROR(in.RequiredString("name", &feature->name));
  KILN_RETURN_IF_ERROR(in.String("expression", &feature->expression));
  if (const Json* aggregation = in.Get("aggregation")) {
    ObjectReader a(*aggregation, in.Child("aggregation"));
    KILN_RETURN_IF_ERROR(a.Check({"column", "function", "window_seconds"}));
    AggregationDef def;
    KILN_RETURN_IF_ERROR(a.RequiredString("function", &def.function));
    KILN_RETURN_IF_ERROR(a.String("column", &def.column));
    KILN_RETURN_IF_ERROR(a.Int("window_seconds", &def.window_seconds));
    feature->aggregation = def;
  }
  KILN_RETURN_IF_ERROR(in.Type("type", &feature->declared_type));
  if (const Json* expect = in.Get("expect")) {
    ObjectReader e(*expect, in.Child("expect"));
    KILN_RETURN_IF_ERROR(e.Check({"allowed", "max", "max_null_fraction", "min", "type"}));
    KILN_RETURN_IF_ERROR(e.Type("type", &feature->expect.type));
    KILN_RETURN_IF_ERROR(e.Number("min", &feature->expect.min));
    KILN_RETURN_IF_ERROR(e.Number("max", &feature->expect.max));
    KILN_RETURN_IF_ERROR(e.StringList("allowed", &feature->expect.allowed));
    KILN_RETURN_IF_ERROR(e.Number("max_null_fraction", &feature->expect.max_null_fraction));
  }
  return in.String("description", &feature->description);
}

template <typename Def>
Status ReadFeatures(const ObjectReader& in, Def* def) {
  return in.Array("features", [&](const Json& item, const std::string& path) {
    def->features.emplace_back();
    return ReadFeature(item, path, &def->features.back());
  });
}

Status ReadSource(const Json& json, const std::string& path, SourceDef* source) {
  ObjectReader in(json, path);
  KILN_RETURN_IF_ERROR(in.Check({"batch_source", "columns", "created_timestamp_field", "description", "kind",
                                 "name", "path", "query", "table", "timestamp_field", "timezone", "uri"}));
  KILN_RETURN_IF_ERROR(in.RequiredString("name", &source->name));
  std::string kind;
  KILN_RETURN_IF_ERROR(in.RequiredString("kind", &kind));
  Result<SourceKind> parsed = ParseSourceKind(kind);
  if (!parsed.ok()) return in.Fail(parsed.status().message());
  source->kind = *parsed;
  KILN_RETURN_IF_ERROR(in.String("path", &source->path));
  KILN_RETURN_IF_ERROR(in.String("uri", &source->uri));
  KILN_RETURN_IF_ERROR(in.String("table", &source->table));
  KILN_RETURN_IF_ERROR(in.String("query", &source->query));
  KILN_RETURN_IF_ERROR(in.String("timestamp_field", &source->timestamp_field));
  KILN_RETURN_IF_ERROR(in.String("created_timestamp_field", &source->created_timestamp_field));
  KILN_RETURN_IF_ERROR(in.String("timezone", &source->timezone));
  KILN_RETURN_IF_ERROR(in.TypeMap("columns", &source->columns));
  KILN_RETURN_IF_ERROR(in.String("batch_source", &source->batch_source));
  return in.String("description", &source->description);
}

Status ReadEntity(const Json& json, const std::string& path, EntityDef* entity) {
  ObjectReader in(json, path);
  KILN_RETURN_IF_ERROR(in.Check({"description", "join_keys", "name"}));
  KILN_RETURN_IF_ERROR(in.RequiredString("name", &entity->name));
  KILN_RETURN_IF_ERROR(in.StringList("join_keys", &entity->join_keys));
  return in.String("description", &entity->description);
}

Status ReadView(const Json& json, const std::string& path, FeatureViewDef* view) {
  ObjectReader in(json, path);
  KILN_RETURN_IF_ERROR(
      in.Check({"description", "entities", "features", "name", "online", "source", "tags", "ttl_seconds"}));
  KILN_RETURN_IF_ERROR(in.RequiredString("name", &view->name));
  KILN_RETURN_IF_ERROR(in.StringList("entities", &view->entities));
  KILN_RETURN_IF_ERROR(in.String("source", &view->source));
  KILN_RETURN_IF_ERROR(in.Int("ttl_seconds", &view->ttl_seconds));
  KILN_RETURN_IF_ERROR(in.Bool("online", &view->online));
  KILN_RETURN_IF_ERROR(ReadFeatures(in, view));
  KILN_RETURN_IF_ERROR(in.StringMap("tags", &view->tags));
  return in.String("description", &view->description);
}

Status ReadOnDemandView(const Json& json, const std::string& path, OnDemandViewDef* view) {
  ObjectReader in(json, path);
  KILN_RETURN_IF_ERROR(in.Check({"description", "features", "name", "request"}));
  KILN_RETURN_IF_ERROR(in.RequiredString("name", &view->name));
  KILN_RETURN_IF_ERROR(in.TypeMap("request", &view->request));
  KILN_RETURN_IF_ERROR(ReadFeatures(in, view));
  return in.String("description", &view->description);
}

Status ReadService(const Json& json, const std::string& path, FeatureServiceDef* service) {
  ObjectReader in(json, path);
  KILN_RETURN_IF_ERROR(in.Check({"description", "features", "name"}));
  KILN_RETURN_IF_ERROR(in.RequiredString("name", &service->name));
  std::vector<std::string> refs;
  KILN_RETURN_IF_ERROR(in.StringList("features", &refs));
  for (const std::string& text : refs) {
    Result<FeatureRef> ref = ParseFeatureRef(text);
    if (!ref.ok()) return ObjectReader(json, in.Child("features")).Fail(ref.status().message());
    service->features.push_back(*ref);
  }
  return in.String("description", &service->description);
}

template <typename T, typename ReadFn>
Status ReadList(const ObjectReader& in, const char* key, std::vector<T>* out, ReadFn read) {
  return in.Array(key, [&](const Json& item, const std::string& path) {
    out->emplace_back();
    return read(item, path, &out->back());
  });
}

}  // namespace

Json RepositoryToJson(const RepositoryDef& def) {
  return Json{{"format_version", kRepositoryFormatVersion},
              {"project", def.project},
              {"sources", SortedByName(def.sources, SourceToJson)},
              {"entities", SortedByName(def.entities, EntityToJson)},
              {"feature_views", SortedByName(def.feature_views, FeatureViewToJson)},
              {"on_demand_views", SortedByName(def.on_demand_views, OnDemandViewToJson)},
              {"feature_services", SortedByName(def.feature_services, FeatureServiceToJson)}};
}

std::string CanonicalRepositoryJson(const RepositoryDef& def) {
  return RepositoryToJson(def).dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string RepositoryDigest(const RepositoryDef& def) { return Sha256Hex(CanonicalRepositoryJson(def)); }

Result<RepositoryDef> RepositoryFromJson(const Json& json) {
  ObjectReader in(json, "");
  KILN_RETURN_IF_ERROR(in.Check({"entities", "feature_services", "feature_views", "format_version",
                                 "on_demand_views", "project", "sources"}));
  RepositoryDef def;
  int64_t version = kRepositoryFormatVersion;
  KILN_RETURN_IF_ERROR(in.Int("format_version", &version));
  if (version != kRepositoryFormatVersion) {
    return in.Fail("format_version " + std::to_string(version) + " is not supported (this kiln reads " +
                   std::to_string(kRepositoryFormatVersion) + ")");
  }
  KILN_RETURN_IF_ERROR(in.RequiredString("project", &def.project));
  KILN_RETURN_IF_ERROR(ReadList(in, "sources", &def.sources, ReadSource));
  KILN_RETURN_IF_ERROR(ReadList(in, "entities", &def.entities, ReadEntity));
  KILN_RETURN_IF_ERROR(ReadList(in, "feature_views", &def.feature_views, ReadView));
  KILN_RETURN_IF_ERROR(ReadList(in, "on_demand_views", &def.on_demand_views, ReadOnDemandView));
  KILN_RETURN_IF_ERROR(ReadList(in, "feature_services", &def.feature_services, ReadService));
  return def;
}

Result<RepositoryDef> ParseRepositoryJson(std::string_view text) {
  Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return InvalidArgument("definition JSON: malformed JSON");
  return RepositoryFromJson(json);
}

}  // namespace kiln::features
