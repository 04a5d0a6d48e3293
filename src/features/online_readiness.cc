#include "features/online_readiness.h"

#include <algorithm>
#include <map>
#include <set>

#include "data/timestamp.h"
#include "features/definition_json.h"

namespace kiln::features {
namespace {

// The view's part of the name "view.feature".
std::string ViewOf(const std::string& feature) { return feature.substr(0, feature.find('.')); }

Json WithoutKeys(Json json, std::initializer_list<const char*> keys) {
  for (const char* key : keys) json.erase(key);
  return json;
}

// What shapes a view's stored records, per feature: everything but the
// description.
std::map<std::string, Json> FeatureShapes(const FeatureViewDef& view) {
  std::map<std::string, Json> out;
  for (const FeatureDef& feature : view.features)
    out[feature.name] = WithoutKeys(FeatureToJson(feature), {"description"});
  return out;
}

const FeatureViewDef* FindViewDef(const RepositoryDef& def, const std::string& name) {
  for (const FeatureViewDef& view : def.feature_views) {
    if (view.name == name) return &view;
  }
  return nullptr;
}

const SourceDef* FindSourceDef(const RepositoryDef& def, const std::string& name) {
  for (const SourceDef& source : def.sources) {
    if (source.name == name) return &source;
  }
  return nullptr;
}

// The source and, for a push source, its batch source: what materialization reads.
Json SourceShape(const RepositoryDef& def, const std::string& name) {
  Json out = Json::array();
  for (const SourceDef* source = FindSourceDef(def, name); source != nullptr;
       source = source->batch_source.empty() ? nullptr : FindSourceDef(def, source->batch_source)) {
    out.push_back(WithoutKeys(SourceToJson(*source), {"description"}));
    if (out.size() > 8) break;  // stored definitions have no cycles; stay finite regardless
  }
  return out;
}

Json EntityShape(const RepositoryDef& def, const std::vector<std::string>& entities) {
  Json out = Json::array();
  for (const std::string& name : entities) {
    for (const EntityDef& entity : def.entities) {
      if (entity.name == name) out.push_back(entity.join_keys);
    }
  }
  return out;
}

// How view `name` changed from `before` to `after` in what shapes its
// stored records; empty when it did not.
std::vector<std::string> ViewChanges(const RepositoryDef& before, int64_t before_version,
                                     const RepositoryDef& after, const std::string& name) {
  const FeatureViewDef* old_view = FindViewDef(before, name);
  const FeatureViewDef* new_view = FindViewDef(after, name);
  if (new_view == nullptr) return {};
  if (old_view == nullptr)
    return {"it did not exist in repository version " + std::to_string(before_version)};
  std::vector<std::string> changes;
  std::map<std::string, Json> old_features = FeatureShapes(*old_view);
  std::map<std::string, Json> new_features = FeatureShapes(*new_view);
  for (const FeatureDef& feature : new_view->features) {
    auto old_feature = old_features.find(feature.name);
    if (old_feature == old_features.end()) {
      changes.push_back("feature " + feature.name + " added");
    } else if (old_feature->second != new_features[feature.name]) {
      changes.push_back("feature " + feature.name + " changed");
    }
  }
  for (const FeatureDef& feature : old_view->features) {
    if (new_features.count(feature.name) == 0) changes.push_back("feature " + feature.name + " removed");
  }
  if (old_view->entities != new_view->entities ||
      EntityShape(before, old_view->entities) != EntityShape(after, new_view->entities)) {
    changes.push_back("its entities or join keys changed");
  }
  if (old_view->source != new_view->source) {
    changes.push_back("its source changed from '" + old_view->source + "' to '" + new_view->source + "'");
  } else if (SourceShape(before, old_view->source) != SourceShape(after, new_view->source)) {
    changes.push_back("its source '" + new_view->source + "' changed");
  }
  return changes;
}

std::string Joined(const std::vector<std::string>& parts, const std::string& separator) {
  std::string out;
  for (const std::string& part : parts) out += (out.empty() ? "" : separator) + part;
  return out;
}

std::string TimeText(int64_t millis) { return data::FormatTimestamp(millis * 1000); }

}  // namespace

std::string DescribeFeatureListChange(const std::vector<ServiceFeature>& from,
                                      const std::vector<ServiceFeature>& to) {
  if (from == to) return "";
  std::map<std::string, data::Type> old_types;
  for (const ServiceFeature& feature : from) old_types[feature.name] = feature.type;
  std::map<std::string, data::Type> new_types;
  for (const ServiceFeature& feature : to) new_types[feature.name] = feature.type;
  std::vector<std::string> added, removed, retyped;
  for (const ServiceFeature& feature : to) {
    auto old_type = old_types.find(feature.name);
    if (old_type == old_types.end()) {
      added.push_back(feature.name);
    } else if (old_type->second != feature.type) {
      retyped.push_back(feature.name + " " + std::string(data::TypeName(old_type->second)) + " → " +
                        std::string(data::TypeName(feature.type)));
    }
  }
  for (const ServiceFeature& feature : from) {
    if (new_types.count(feature.name) == 0) removed.push_back(feature.name);
  }
  std::vector<std::string> parts;
  if (!added.empty()) parts.push_back("added " + Joined(added, ", "));
  if (!removed.empty()) parts.push_back("removed " + Joined(removed, ", "));
  if (!retyped.empty()) parts.push_back("retyped " + Joined(retyped, ", "));
  if (parts.empty()) parts.push_back("reordered");  // same names and types, another order
  return Joined(parts, "; ");
}

Result<OnlineReadiness> OnlineReadinessChecker::Check(const Repository& current, int64_t repository_version,
                                                      const std::string& online_store,
                                                      const std::string& service, int64_t service_version) {
  if (service_version < 1) {
    return InvalidArgument("feature service version must be at least 1, got " +
                           std::to_string(service_version));
  }
  const std::string& project = current.project();
  KILN_ASSIGN_OR_RETURN(ServiceVersion trained, registry_.GetService(project, service, service_version));
  KILN_ASSIGN_OR_RETURN(ServiceVersion latest, registry_.GetService(project, service));
  OnlineReadiness out;
  out.project = project;
  out.service = service;
  out.service_version = service_version;
  out.current_service_version = latest.version;
  out.is_current_version = latest.version == service_version;
  out.same_features = latest.features == trained.features;
  out.repository_version = repository_version;
  out.online_store = online_store;
  if (!out.same_features) {
    out.problems.push_back(
        "feature service '" + service + "' is at version " + std::to_string(latest.version) +
        "; the model was trained on version " + std::to_string(service_version) +
        " and its features differ: " + DescribeFeatureListChange(trained.features, latest.features));
  }

  // The feature views the trained version reads online, directly or
  // through on-demand views (whose inputs name "view.feature").
  std::vector<std::string> pending;
  for (const ServiceFeature& feature : trained.features) pending.push_back(ViewOf(feature.name));
  std::set<std::string> seen;
  for (size_t i = 0; i < pending.size(); ++i) {
    const std::string name = pending[i];
    if (!seen.insert(name).second) continue;
    if (const ResolvedOnDemandView* on_demand = current.FindOnDemandView(name)) {
      for (const data::Field& input : on_demand->inputs) {
        if (input.name.find('.') != std::string::npos) pending.push_back(ViewOf(input.name));
      }
      continue;
    }
    ViewReadiness view;
    view.view = name;
    const ResolvedView* resolved = current.FindView(name);
    if (resolved == nullptr) {
      view.exists = false;
      out.problems.push_back("view '" + name + "' (used by version " + std::to_string(service_version) +
                             " of feature service '" + service + "') no longer exists in project '" +
                             project + "' (repository version " + std::to_string(repository_version) + ")");
    } else if (!resolved->def->online) {
      view.exists = false;
      out.problems.push_back("feature view '" + name + "' is not served online (online: false)");
    } else {
      KILN_RETURN_IF_ERROR(CheckView(current, repository_version, online_store, view));
      if (!view.materialized) {
        out.problems.push_back("feature view '" + name + "' was never materialized to " + online_store);
      } else if (view.definition_changed && view.materialized_repository_version) {
        out.problems.push_back("feature view '" + name + "' changed after its last materialization to " +
                               online_store + " (finished " + TimeText(*view.last_finished_millis) +
                               " with repository version " +
                               std::to_string(*view.materialized_repository_version) + "; now version " +
                               std::to_string(repository_version) + "): " + view.change);
      } else if (view.definition_changed) {
        out.problems.push_back("feature view '" + name +
                               "' may have changed after its last materialization to " + online_store +
                               " (finished " + TimeText(*view.last_finished_millis) + "): " + view.change);
      }
    }
    out.views.push_back(std::move(view));
  }
  out.ready = out.problems.empty();
  return out;
}

Status OnlineReadinessChecker::CheckView(const Repository& current, int64_t repository_version,
                                         const std::string& online_store, ViewReadiness& view) {
  const std::string& project = current.project();
  int64_t finished = 0;
  std::optional<int64_t> version_then;
  {
    KILN_ASSIGN_OR_RETURN(storage::PooledConnection connection, database_.Acquire());
    KILN_ASSIGN_OR_RETURN(
        storage::Rows rows,
        connection->Query("SELECT MAX(end_micros), MAX(finished_at) FROM feature_materializations "
                          "WHERE project = ? AND view = ? AND online_store = ?",
                          {project, view.view, online_store}));
    if (rows.empty() || rows[0].IsNull(0)) return Status::Ok();  // never materialized here
    view.materialized = true;
    view.last_end_micros = rows[0].Int(0);
    finished = rows[0].Int(1);
    view.last_finished_millis = finished;
    KILN_ASSIGN_OR_RETURN(storage::Rows versions,
                          connection->Query("SELECT MAX(version) FROM feature_repository_versions "
                                            "WHERE project = ? AND created_at <= ?",
                                            {project, finished}));
    if (!versions.empty() && !versions[0].IsNull(0)) version_then = versions[0].Int(0);
  }
  view.materialized_repository_version = version_then;
  if (!version_then) {
    // No version was applied by then as far as the clocks tell: the current
    // one came later.
    KILN_ASSIGN_OR_RETURN(RepositoryVersion info, registry_.GetVersionInfo(project, repository_version));
    view.definition_changed = true;
    view.change = "the current definitions (repository version " + std::to_string(repository_version) +
                  ") were applied at " + TimeText(info.created_at_millis) + ", after it finished";
    return Status::Ok();
  }
  if (*version_then == repository_version) return Status::Ok();
  KILN_ASSIGN_OR_RETURN(RepositoryDef before, registry_.Get(project, *version_then));
  std::vector<std::string> changes = ViewChanges(before, *version_then, current.def(), view.view);
  view.definition_changed = !changes.empty();
  view.change = Joined(changes, "; ");
  return Status::Ok();
}

}  // namespace kiln::features
