#include "features/repository_validation.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <regex>

#include "data/timestamp.h"
#include "features/aggregation.h"
#include "features/online_store.h"

namespace kiln::features {
namespace {

std::string Quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

std::string TypeText(data::Type type) { return std::string(data::TypeName(type)); }

// Shortest round-trip form: 5, 1.5, 1e+20.
std::string FormatNumber(double value) {
  char buffer[32];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, end);
}

std::string ColumnList(const data::Schema& schema) {
  std::string out;
  for (const data::Field& field : schema) out += (out.empty() ? "" : ", ") + field.name;
  return out.empty() ? "none" : out;
}

const data::Field* FindField(const data::Schema& schema, std::string_view name) {
  for (const data::Field& field : schema) {
    if (field.name == name) return &field;
  }
  return nullptr;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

template <typename T>
std::vector<std::string> NamesOf(const std::vector<T>& items) {
  std::vector<std::string> names;
  for (const T& item : items) names.push_back(item.name);
  return names;
}

bool IsPlainTableName(const std::string& table) {
  static const std::regex kTable("[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)?");
  return std::regex_match(table, kTable);
}

bool IsValidProjectName(const std::string& name) {
  static const std::regex kProject("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
  return std::regex_match(name, kProject);
}

}  // namespace

bool IsValidName(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

std::string NameHint(std::string_view name, const std::vector<std::string>& candidates) {
  if (candidates.empty()) return " (none defined)";
  const std::string* best = nullptr;
  size_t best_distance = 3;
  for (const std::string& candidate : candidates) {
    const size_t distance = EditDistance(name, candidate);
    if (distance < best_distance && distance < std::max<size_t>(name.size(), 2)) {
      best = &candidate;
      best_distance = distance;
    }
  }
  if (best != nullptr) return " (did you mean " + Quoted(*best) + "?)";
  std::string known;
  for (size_t i = 0; i < candidates.size() && i < 12; ++i) known += (i ? ", " : "") + candidates[i];
  if (candidates.size() > 12) known += ", …";
  return " (known: " + known + ")";
}

std::vector<FeatureRef> DottedReferences(std::string_view text) {
  std::vector<FeatureRef> refs;
  size_t i = 0;
  auto is_word = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  };
  while (i < text.size()) {
    const char c = text[i];
    if (c == '\'' || c == '"') {  // a string literal: skip to its end
      for (++i; i < text.size() && text[i] != c; ++i) {
        if (text[i] == '\\') ++i;
      }
      ++i;
    } else if (is_word(c) || c == '.') {
      const size_t begin = i;
      while (i < text.size() && (is_word(text[i]) || text[i] == '.')) ++i;
      std::string_view word = text.substr(begin, i - begin);
      const size_t dot = word.find('.');
      if (!(c >= '0' && c <= '9') && c != '.' && dot != std::string_view::npos) {
        refs.push_back({std::string(word.substr(0, dot)), std::string(word.substr(dot + 1))});
      }
    } else {
      ++i;
    }
  }
  return refs;
}

void RepositoryValidator::Error(const Location& location, const std::string& context,
                                const std::string& problem) {
  std::string line = location.ToString();
  if (!line.empty()) line += ": ";
  if (!context.empty()) line += context + ": ";
  errors_.push_back(line + problem);
}

const SourceDef* RepositoryValidator::FindSource(std::string_view name) const {
  for (const SourceDef& source : def_.sources) {
    if (source.name == name) return &source;
  }
  return nullptr;
}

const EntityDef* RepositoryValidator::FindEntity(std::string_view name) const {
  for (const EntityDef& entity : def_.entities) {
    if (entity.name == name) return &entity;
  }
  return nullptr;
}

const FeatureViewDef* RepositoryValidator::FindView(std::string_view name) const {
  for (const FeatureViewDef& view : def_.feature_views) {
    if (view.name == name) return &view;
  }
  return nullptr;
}

const OnDemandViewDef* RepositoryValidator::FindOnDemandView(std::string_view name) const {
  for (const OnDemandViewDef& view : def_.on_demand_views) {
    if (view.name == name) return &view;
  }
  return nullptr;
}

Status RepositoryValidator::Run(std::vector<ResolvedView>* views,
                                std::vector<ResolvedOnDemandView>* on_demand_views) {
  if (def_.project.empty()) {
    Error({}, "", "the repository has no project name");
  } else if (!IsValidProjectName(def_.project)) {
    Error({}, "",
          "project " + Quoted(def_.project) +
              " is not a valid name (letters, digits, '_', '-' and '.', at most 128)");
  }
  CheckNames();
  for (SourceDef& source : def_.sources) CheckSource(source);
  for (const SourceDef& source : def_.sources) {
    if (source.kind == SourceKind::kPush) CheckPushSource(source);
  }
  for (const EntityDef& entity : def_.entities) CheckEntity(entity);
  for (FeatureViewDef& view : def_.feature_views) views->push_back(CheckView(view));
  CheckOnDemandViews(on_demand_views);
  for (const FeatureServiceDef& service : def_.feature_services) CheckService(service);

  if (errors_.empty()) return Status::Ok();
  std::string message;
  for (const std::string& error : errors_) message += (message.empty() ? "" : "\n") + error;
  return InvalidArgument(message);
}

void RepositoryValidator::CheckNames() {
  // Feature views and on-demand views share one namespace: "view.feature"
  // must name one thing.
  std::map<std::string, std::pair<std::string, Location>> views;
  auto check = [&](std::map<std::string, std::pair<std::string, Location>>& seen, const std::string& kind,
                   const std::string& name, const Location& location) {
    if (!IsValidName(name)) {
      Error(location, kind + " " + Quoted(name),
            "invalid name (use letters, digits and '_', not starting with a digit)");
      return;
    }
    auto [it, inserted] = seen.emplace(name, std::make_pair(kind, location));
    if (inserted) return;
    const std::string first = it->second.second.ToString();
    const std::string where = first.empty() ? "" : " (first at " + first + ")";
    if (it->second.first == kind) {
      Error(location, kind + " " + Quoted(name), "defined twice" + where);
    } else {
      Error(location, kind + " " + Quoted(name), "a " + it->second.first + " has the same name" + where);
    }
  };
  auto check_features = [&](const std::vector<FeatureDef>& features) {
    std::map<std::string, std::pair<std::string, Location>> seen;
    for (const FeatureDef& feature : features) check(seen, "feature", feature.name, feature.location);
  };
  std::map<std::string, std::pair<std::string, Location>> sources, entities, services;
  for (const SourceDef& source : def_.sources) check(sources, "source", source.name, source.location);
  for (const EntityDef& entity : def_.entities) check(entities, "entity", entity.name, entity.location);
  for (const FeatureViewDef& view : def_.feature_views) {
    check(views, "feature view", view.name, view.location);
    check_features(view.features);
  }
  for (const OnDemandViewDef& view : def_.on_demand_views) {
    check(views, "on-demand view", view.name, view.location);
    check_features(view.features);
  }
  for (const FeatureServiceDef& service : def_.feature_services) {
    check(services, "feature service", service.name, service.location);
  }
}

void RepositoryValidator::CheckSource(SourceDef& source) {
  const std::string context = "source " + Quoted(source.name);
  const std::string kind(SourceKindName(source.kind));
  const size_t errors_before = errors_.size();
  auto needs = [&](bool present, const char* field) {
    if (!present) Error(source.location, context, "a " + kind + " source needs '" + field + "'");
  };
  auto not_applicable = [&](const std::string& value, const char* field) {
    if (!value.empty()) {
      Error(source.location, context, std::string("'") + field + "' does not apply to a " + kind + " source");
    }
  };
  switch (source.kind) {
    case SourceKind::kCsv:
    case SourceKind::kJsonLines:
      needs(!source.path.empty(), "path");
      not_applicable(source.uri, "uri");
      not_applicable(source.table, "table");
      not_applicable(source.query, "query");
      break;
    case SourceKind::kSqlite:
    case SourceKind::kPostgres:
      if (source.kind == SourceKind::kSqlite) {
        needs(!source.path.empty(), "path");
        not_applicable(source.uri, "uri");
      } else {
        needs(!source.uri.empty(), "uri");
        not_applicable(source.path, "path");
      }
      if (source.table.empty() == source.query.empty()) {
        Error(source.location, context,
              "a " + kind + " source needs either 'table' or 'query'" +
                  (source.table.empty() ? "" : ", not both"));
      } else if (!source.table.empty() && !IsPlainTableName(source.table)) {
        Error(source.location, context,
              "table " + Quoted(source.table) + " is not a plain table name (write a 'query' instead)");
      }
      break;
    case SourceKind::kPush:
      if (source.columns.empty()) {
        Error(source.location, context, "a push source needs 'columns' (each column with its type)");
      }
      not_applicable(source.path, "path");
      not_applicable(source.uri, "uri");
      not_applicable(source.table, "table");
      not_applicable(source.query, "query");
      break;
  }
  if (source.kind != SourceKind::kPush && !source.batch_source.empty()) {
    Error(source.location, context, "'batch_source' applies to push sources only");
  }
  if (source.timestamp_field.empty()) {
    Error(source.location, context, "missing 'timestamp_field' (the column with each row's event time)");
  }
  if (source.timezone.empty()) source.timezone = "UTC";
  if (Result<std::shared_ptr<const data::TimeZone>> zone = data::TimeZone::Load(source.timezone);
      !zone.ok()) {
    Error(source.location, context, zone.status().message());
  }
  if (!source.path.empty() && !def_.root.empty() && std::filesystem::path(source.path).is_relative()) {
    source.path = (std::filesystem::path(def_.root) / source.path).lexically_normal().string();
  }
  if (errors_.size() != errors_before) return;

  data::Schema schema;
  if (source.kind == SourceKind::kPush) {
    for (const auto& [name, type] : source.columns) schema.push_back({name, type});
  } else {
    Result<data::Schema> resolved = resolver_(source);
    if (!resolved.ok()) {
      Error(source.location, context, resolved.status().message());
      return;
    }
    schema = std::move(*resolved);
    for (const auto& [name, type] : source.columns) {
      auto it =
          std::find_if(schema.begin(), schema.end(), [&](const data::Field& f) { return f.name == name; });
      if (it == schema.end()) {
        Error(source.location, context,
              "declared column " + Quoted(name) + " is not in the source (columns: " + ColumnList(schema) +
                  ")");
      } else {
        it->type = type;
      }
    }
  }
  auto check_time = [&](const std::string& field, const char* key) {
    if (field.empty()) return;
    const data::Field* found = FindField(schema, field);
    if (found == nullptr) {
      Error(
          source.location, context,
          std::string(key) + " " + Quoted(field) + " is not a column (columns: " + ColumnList(schema) + ")");
    } else if (found->type != data::Type::kTimestamp) {
      Error(source.location, context,
            std::string(key) + " " + Quoted(field) + " is " + TypeText(found->type) + ", not timestamp");
    }
  };
  check_time(source.timestamp_field, "timestamp_field");
  check_time(source.created_timestamp_field, "created_timestamp_field");
  source.columns.clear();
  for (const data::Field& field : schema) source.columns[field.name] = field.type;
  source_schemas_.emplace(source.name, std::move(schema));
}

void RepositoryValidator::CheckPushSource(const SourceDef& source) {
  if (source.batch_source.empty()) return;
  const std::string context = "source " + Quoted(source.name);
  const SourceDef* batch = FindSource(source.batch_source);
  if (batch == nullptr) {
    Error(source.location, context,
          "unknown batch_source " + Quoted(source.batch_source) +
              NameHint(source.batch_source, NamesOf(def_.sources)));
    return;
  }
  if (batch->kind == SourceKind::kPush) {
    Error(source.location, context, "batch_source " + Quoted(batch->name) + " is itself a push source");
    return;
  }
  auto push_schema = source_schemas_.find(source.name);
  auto batch_schema = source_schemas_.find(batch->name);
  if (push_schema == source_schemas_.end() || batch_schema == source_schemas_.end()) return;
  for (const data::Field& field : push_schema->second) {
    const data::Field* other = FindField(batch_schema->second, field.name);
    if (other == nullptr) {
      Error(source.location, context,
            "column " + Quoted(field.name) + " is not in batch source " + Quoted(batch->name) +
                " (columns: " + ColumnList(batch_schema->second) + ")");
    } else if (other->type != field.type) {
      Error(source.location, context,
            "column " + Quoted(field.name) + " is " + TypeText(field.type) + " here but " +
                TypeText(other->type) + " in batch source " + Quoted(batch->name));
    }
  }
}

void RepositoryValidator::CheckEntity(const EntityDef& entity) {
  const std::string context = "entity " + Quoted(entity.name);
  if (entity.join_keys.empty()) Error(entity.location, context, "needs at least one join key");
  std::set<std::string> seen;
  for (const std::string& key : entity.join_keys) {
    if (!IsValidName(key)) {
      Error(entity.location, context, "join key " + Quoted(key) + " is not a valid column name");
    } else if (!seen.insert(key).second) {
      Error(entity.location, context, "join key " + Quoted(key) + " is listed twice");
    }
  }
}

ResolvedView RepositoryValidator::CheckView(FeatureViewDef& view) {
  const std::string context = "feature view " + Quoted(view.name);
  const size_t errors_before = errors_.size();
  ResolvedView resolved;
  resolved.def = &view;
  resolved.source = FindSource(view.source);
  if (view.source.empty()) {
    Error(view.location, context, "missing 'source'");
  } else if (resolved.source == nullptr) {
    Error(view.location, context,
          "unknown source " + Quoted(view.source) + NameHint(view.source, NamesOf(def_.sources)));
  }
  if (view.entities.empty()) Error(view.location, context, "needs at least one entity");
  std::set<std::string> listed;
  std::vector<std::pair<std::string, std::string>> keys;  // (join key, entity)
  for (const std::string& name : view.entities) {
    const EntityDef* entity = FindEntity(name);
    if (entity == nullptr) {
      Error(view.location, context,
            "unknown entity " + Quoted(name) + NameHint(name, NamesOf(def_.entities)));
      continue;
    }
    if (!listed.insert(name).second) {
      Error(view.location, context, "entity " + Quoted(name) + " is listed twice");
      continue;
    }
    for (const std::string& key : entity->join_keys) {
      if (std::find(resolved.join_keys.begin(), resolved.join_keys.end(), key) != resolved.join_keys.end())
        continue;
      resolved.join_keys.push_back(key);
      keys.emplace_back(key, name);
    }
  }
  if (view.ttl_seconds < 0) Error(view.location, context, "ttl must not be negative");
  if (view.features.empty()) Error(view.location, context, "has no features");

  auto schema =
      resolved.source == nullptr ? source_schemas_.end() : source_schemas_.find(resolved.source->name);
  const bool have_schema = schema != source_schemas_.end();
  if (have_schema) {
    resolved.source_schema = schema->second;
    for (const auto& [key, entity] : keys) {
      const data::Field* field = FindField(resolved.source_schema, key);
      if (field == nullptr) {
        Error(view.location, context,
              "join key " + Quoted(key) + " (entity " + Quoted(entity) + ") is not a column of source " +
                  Quoted(view.source) + " (columns: " + ColumnList(resolved.source_schema) + ")");
      } else if (field->type != data::Type::kInt64 && field->type != data::Type::kString &&
                 field->type != data::Type::kBool) {
        Error(view.location, context,
              "join key " + Quoted(key) + " is " + TypeText(field->type) +
                  "; join keys must be int64, string or bool");
      }
    }
  }
  const InputSchema inputs(resolved.source_schema.begin(), resolved.source_schema.end());
  bool features_ok = true;
  for (FeatureDef& feature : view.features) {
    ResolvedFeature out;
    out.view = view.name;
    out.name = feature.name;
    out.def = &feature;
    const size_t before = errors_.size();
    const bool has_expression = !feature.expression.empty();
    if (has_expression == feature.aggregation.has_value()) {
      Error(feature.location, "feature " + Quoted(feature.name),
            has_expression ? "has both an 'expression' and an 'aggregation'; keep one"
                           : "needs an 'expression' or an 'aggregation'");
    }
    if (!have_schema || errors_.size() != before) {
      features_ok = false;  // without a schema, the source's own error says why
      broken_features_.insert(out.FullName());
      continue;
    }
    CheckViewFeature(resolved, feature, inputs, &out);
    if (errors_.size() != before) {
      features_ok = false;
      broken_features_.insert(out.FullName());
      continue;
    }
    view_features_.push_back({out.FullName(), out.type});
    resolved.features.push_back(std::move(out));
  }
  if (!features_ok || errors_.size() != errors_before) {
    broken_views_.insert(view.name);
    return resolved;
  }
  std::vector<std::string> names;
  std::vector<data::Type> types;
  for (const ResolvedFeature& feature : resolved.features) {
    names.push_back(feature.name);
    types.push_back(feature.type);
  }
  resolved.fingerprint = ViewFingerprint(names, types);
  return resolved;
}

void RepositoryValidator::CheckViewFeature(const ResolvedView& view, FeatureDef& feature,
                                           const InputSchema& inputs, ResolvedFeature* out) {
  // REQUIRES: exactly one of expression and aggregation (checked by CheckView).
  const std::string context = "feature " + Quoted(feature.name);
  if (!feature.expression.empty()) {
    Result<Expression> compiled = Expression::Compile(feature.expression, inputs);
    if (!compiled.ok()) {
      Error(feature.location, context, compiled.status().message());
      return;
    }
    out->type = CheckTypeAndExpectations(feature, compiled->type(), "its expression");
    out->expression = std::move(*compiled);
    return;
  }
  const AggregationDef& aggregation = *feature.aggregation;
  Result<AggregationFunction> function = ParseAggregationFunction(aggregation.function);
  if (!function.ok()) {
    Error(feature.location, context, function.status().message());
    return;
  }
  if (aggregation.window_seconds <= 0) {
    Error(feature.location, context, "aggregation window must be positive");
    return;
  }
  data::Type input = data::Type::kInt64;
  if (aggregation.column.empty()) {
    if (*function != AggregationFunction::kCount) {
      Error(feature.location, context, "aggregation " + Quoted(aggregation.function) + " needs a 'column'");
      return;
    }
  } else if (const data::Field* field = FindField(view.source_schema, aggregation.column)) {
    input = field->type;
  } else {
    Result<Expression> compiled = Expression::Compile(aggregation.column, inputs);
    if (!compiled.ok()) {
      Error(feature.location, context, "aggregation column: " + compiled.status().message());
      return;
    }
    input = compiled->type();
  }
  Result<data::Type> result = AggregationResultType(*function, input);
  if (!result.ok()) {
    Error(feature.location, context, result.status().message());
    return;
  }
  out->type = CheckTypeAndExpectations(feature, *result, "its aggregation");
}

data::Type RepositoryValidator::CheckTypeAndExpectations(FeatureDef& feature, data::Type inferred,
                                                         std::string_view origin) {
  data::Type type = inferred;
  if (feature.declared_type && *feature.declared_type != inferred) {
    if (inferred == data::Type::kInt64 && *feature.declared_type == data::Type::kFloat64) {
      type = data::Type::kFloat64;  // widened
    } else {
      Error(feature.location, "feature " + Quoted(feature.name),
            "declared type " + TypeText(*feature.declared_type) + ", but " + std::string(origin) + " gives " +
                TypeText(inferred));
      return inferred;
    }
  }
  CheckExpectations(feature, type);
  feature.declared_type = type;  // the stored form records every type
  return type;
}

void RepositoryValidator::CheckExpectations(const FeatureDef& feature, data::Type type) {
  const std::string context = "feature " + Quoted(feature.name);
  const Expectation& expect = feature.expect;
  if (expect.type && *expect.type != type) {
    Error(feature.location, context,
          "expect.type " + TypeText(*expect.type) + " does not match the feature's type " + TypeText(type));
  }
  if ((expect.min || expect.max) && !data::IsNumeric(type)) {
    Error(feature.location, context,
          "expect.min and expect.max apply to int64 and float64 features, not " + TypeText(type));
  } else if (expect.min && expect.max && *expect.min > *expect.max) {
    Error(feature.location, context,
          "expect.min " + FormatNumber(*expect.min) + " is above expect.max " + FormatNumber(*expect.max));
  }
  if (!expect.allowed.empty()) {
    if (type != data::Type::kString && type != data::Type::kInt64 && type != data::Type::kBool) {
      Error(feature.location, context,
            "expect.allowed applies to string, int64 and bool features, not " + TypeText(type));
    } else {
      for (const std::string& value : expect.allowed) {
        if (type == data::Type::kInt64) {
          int64_t parsed = 0;
          auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), parsed);
          if (error != std::errc() || end != value.data() + value.size()) {
            Error(feature.location, context, "expect.allowed value " + Quoted(value) + " is not an int64");
          }
        } else if (type == data::Type::kBool && value != "true" && value != "false") {
          Error(feature.location, context, "expect.allowed value " + Quoted(value) + " is not true or false");
        }
      }
    }
  }
  if (expect.max_null_fraction && !(*expect.max_null_fraction >= 0 && *expect.max_null_fraction <= 1)) {
    Error(feature.location, context,
          "expect.max_null_fraction must be between 0 and 1, got " + FormatNumber(*expect.max_null_fraction));
  }
}

void RepositoryValidator::CheckService(const FeatureServiceDef& service) {
  const std::string context = "feature service " + Quoted(service.name);
  if (service.features.empty()) Error(service.location, context, "has no features");
  std::vector<std::string> view_names = NamesOf(def_.feature_views);
  for (const OnDemandViewDef& view : def_.on_demand_views) view_names.push_back(view.name);
  std::set<std::string> seen;
  for (const FeatureRef& ref : service.features) {
    const FeatureViewDef* view = FindView(ref.view);
    const OnDemandViewDef* on_demand = view == nullptr ? FindOnDemandView(ref.view) : nullptr;
    if (view == nullptr && on_demand == nullptr) {
      Error(service.location, context,
            "unknown view " + Quoted(ref.view) + " in " + Quoted(ref.ToString()) +
                NameHint(ref.view, view_names));
      continue;
    }
    const std::vector<FeatureDef>& features = view != nullptr ? view->features : on_demand->features;
    std::vector<std::string> names = NamesOf(features);
    if (ref.feature != "*" && std::find(names.begin(), names.end(), ref.feature) == names.end()) {
      Error(service.location, context,
            (view != nullptr ? "feature view " : "on-demand view ") + Quoted(ref.view) + " has no feature " +
                Quoted(ref.feature) + NameHint(ref.feature, names));
      continue;
    }
    for (const std::string& name : names) {
      if (ref.feature != "*" && name != ref.feature) continue;
      const std::string full = ref.view + "." + name;
      if (!seen.insert(full).second)
        Error(service.location, context, "feature " + Quoted(full) + " is listed twice");
    }
  }
}

}  // namespace kiln::features
