#include "features/feature_registry_diff.h"

#include <algorithm>
#include <map>
#include <set>

#include "data/timestamp.h"
#include "features/definition_json.h"

namespace kiln::features {
namespace {

std::string Quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

std::string TypeText(std::optional<data::Type> type) {
  return type ? std::string(data::TypeName(*type)) : "untyped";
}

std::string ListText(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return "[" + out + "]";
}

std::string QuotedList(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + Quoted(item);
  return out;
}

std::string TtlText(int64_t seconds) { return seconds == 0 ? "none" : data::FormatDuration(seconds); }

// "'distance * 1.609'" or "mean(delay, 1d)".
std::string ComputationText(const FeatureDef& feature) {
  if (!feature.aggregation) return Quoted(feature.expression);
  const AggregationDef& a = *feature.aggregation;
  return a.function + "(" + (a.column.empty() ? "*" : a.column) + ", " +
         data::FormatDuration(a.window_seconds) + ")";
}

// The reasons one object changed; breaking when any of them is.
struct Reasons {
  std::vector<std::string> texts;
  bool breaking = false;
  void Add(std::string text, bool is_breaking) {
    texts.push_back(std::move(text));
    breaking = breaking || is_breaking;
  }
  bool empty() const { return texts.empty(); }
  std::string Joined() const {
    std::string out;
    for (const std::string& text : texts) out += (out.empty() ? "" : "; ") + text;
    return out;
  }
};

template <typename T>
std::map<std::string, const T*> ByName(const std::vector<T>& items) {
  std::map<std::string, const T*> out;
  for (const T& item : items) out.emplace(item.name, &item);
  return out;
}

// Calls visit(name, before_or_null, after_or_null) for every name of either
// side, in name order.
template <typename T, typename Visit>
void ForEachPair(const std::vector<T>* before, const std::vector<T>& after, Visit visit) {
  std::map<std::string, const T*> old_items = before ? ByName(*before) : std::map<std::string, const T*>();
  std::map<std::string, const T*> new_items = ByName(after);
  std::set<std::string> names;
  for (const auto& [name, item] : old_items) names.insert(name);
  for (const auto& [name, item] : new_items) names.insert(name);
  for (const std::string& name : names) {
    auto b = old_items.find(name);
    auto a = new_items.find(name);
    visit(name, b == old_items.end() ? nullptr : b->second, a == new_items.end() ? nullptr : a->second);
  }
}

class Differ {
 public:
  Differ(const RepositoryDef* before, const RepositoryDef& after) : before_(before), after_(after) {}

  std::vector<DefinitionChange> Run() {
    ForEachPair(
        before_ ? &before_->sources : nullptr, after_.sources,
        [&](const std::string& name, const SourceDef* b, const SourceDef* a) { DiffSource(name, b, a); });
    ForEachPair(
        before_ ? &before_->entities : nullptr, after_.entities,
        [&](const std::string& name, const EntityDef* b, const EntityDef* a) { DiffEntity(name, b, a); });
    ForEachPair(before_ ? &before_->feature_views : nullptr, after_.feature_views,
                [&](const std::string& name, const FeatureViewDef* b, const FeatureViewDef* a) {
                  DiffView(name, b, a);
                });
    ForEachPair(before_ ? &before_->on_demand_views : nullptr, after_.on_demand_views,
                [&](const std::string& name, const OnDemandViewDef* b, const OnDemandViewDef* a) {
                  DiffOnDemandView(name, b, a);
                });
    ForEachPair(before_ ? &before_->feature_services : nullptr, after_.feature_services,
                [&](const std::string& name, const FeatureServiceDef* b, const FeatureServiceDef* a) {
                  DiffService(name, b, a);
                });
    std::stable_sort(changes_.begin(), changes_.end(),
                     [](const DefinitionChange& x, const DefinitionChange& y) {
                       if (x.kind != y.kind) return x.kind < y.kind;
                       return x.name < y.name;
                     });
    return std::move(changes_);
  }

 private:
  void Add(ObjectKind kind, const std::string& name, ChangeType change, const Reasons& reasons) {
    if (reasons.empty()) return;
    changes_.push_back(DefinitionChange{kind, name, change, reasons.breaking, reasons.Joined()});
  }
  void AddSimple(ObjectKind kind, const std::string& name, ChangeType change, std::string text,
                 bool breaking) {
    Reasons reasons;
    reasons.Add(std::move(text), breaking);
    Add(kind, name, change, reasons);
  }

  // " while feature service 'y' uses it" for the previous services that
  // read `view` (and `feature`, or any feature of it when empty).
  std::string UsedBy(const std::string& view, const std::string& feature) const {
    std::vector<std::string> users;
    for (const FeatureServiceDef& service : before_->feature_services) {
      bool uses = std::any_of(service.features.begin(), service.features.end(), [&](const FeatureRef& ref) {
        return ref.view == view && (feature.empty() || ref.feature == "*" || ref.feature == feature);
      });
      if (uses) users.push_back(service.name);
    }
    if (users.empty()) return "";
    if (users.size() == 1) return " while feature service " + Quoted(users[0]) + " uses it";
    return " while feature services " + QuotedList(users) + " use it";
  }

  void DiffSource(const std::string& name, const SourceDef* b, const SourceDef* a) {
    const std::string what = "source " + Quoted(name);
    if (b == nullptr) return AddSimple(ObjectKind::kSource, name, ChangeType::kAdded, what + " added", false);
    if (a == nullptr)
      return AddSimple(ObjectKind::kSource, name, ChangeType::kRemoved, what + " removed", false);
    Reasons r;
    auto field = [&](const std::string& before, const std::string& after, const char* label, bool breaking,
                     bool show = true) {
      if (before == after) return;
      r.Add(what + " " + label + " changed" + (show ? " " + Quoted(before) + " → " + Quoted(after) : ""),
            breaking);
    };
    field(std::string(SourceKindName(b->kind)), std::string(SourceKindName(a->kind)), "kind", false);
    field(b->path, a->path, "path", false);
    field(b->uri, a->uri, "uri", false, /*show=*/false);  // may hold a password
    field(b->table, a->table, "table", false);
    field(b->query, a->query, "query", false);
    field(b->timestamp_field, a->timestamp_field, "timestamp_field", true);
    field(b->created_timestamp_field, a->created_timestamp_field, "created_timestamp_field", true);
    field(b->timezone, a->timezone, "timezone", true);
    field(b->batch_source, a->batch_source, "batch_source", false);
    for (const auto& [column, type] : b->columns) {
      auto now = a->columns.find(column);
      if (now == a->columns.end()) {
        r.Add(what + " column " + Quoted(column) + " removed", true);
      } else if (now->second != type) {
        r.Add(what + " column " + Quoted(column) + " changed type " + TypeText(type) + " → " +
                  TypeText(now->second),
              true);
      }
    }
    for (const auto& [column, type] : a->columns) {
      if (b->columns.count(column) == 0) r.Add(what + " column " + Quoted(column) + " added", false);
    }
    if (b->description != a->description) r.Add(what + " description changed", false);
    if (r.empty() && SourceToJson(*b) != SourceToJson(*a)) r.Add(what + " definition changed", false);
    Add(ObjectKind::kSource, name, ChangeType::kChanged, r);
  }

  void DiffEntity(const std::string& name, const EntityDef* b, const EntityDef* a) {
    const std::string what = "entity " + Quoted(name);
    if (b == nullptr) return AddSimple(ObjectKind::kEntity, name, ChangeType::kAdded, what + " added", false);
    if (a == nullptr)
      return AddSimple(ObjectKind::kEntity, name, ChangeType::kRemoved, what + " removed", false);
    Reasons r;
    if (b->join_keys != a->join_keys) {
      r.Add(what + " join keys changed " + ListText(b->join_keys) + " → " + ListText(a->join_keys), true);
    }
    if (b->description != a->description) r.Add(what + " description changed", false);
    Add(ObjectKind::kEntity, name, ChangeType::kChanged, r);
  }

  // Feature changes of a view present on both sides; true when any
  // changes what the view computes or its record layout.
  bool DiffFeatures(const std::string& view, const std::vector<FeatureDef>& before,
                    const std::vector<FeatureDef>& after) {
    bool computation_changed = false;
    ForEachPair(&before, after, [&](const std::string& name, const FeatureDef* b, const FeatureDef* a) {
      const std::string full = view + "." + name;
      const std::string what = "feature " + Quoted(name);
      if (b == nullptr) {
        computation_changed = true;
        return AddSimple(ObjectKind::kFeature, full, ChangeType::kAdded, what + " added", false);
      }
      if (a == nullptr) {
        computation_changed = true;
        return AddSimple(ObjectKind::kFeature, full, ChangeType::kRemoved,
                         what + " removed" + UsedBy(view, name), true);
      }
      Reasons r;
      if (b->declared_type != a->declared_type) {
        r.Add(what + " changed type " + TypeText(b->declared_type) + " → " + TypeText(a->declared_type),
              true);
      }
      const std::string old_computation = ComputationText(*b);
      const std::string new_computation = ComputationText(*a);
      if (old_computation != new_computation) {
        const char* label = b->aggregation && a->aggregation     ? " aggregation changed "
                            : !b->aggregation && !a->aggregation ? " expression changed "
                                                                 : " changed ";
        r.Add(what + label + old_computation + " → " + new_computation, true);
      }
      if (!r.empty()) computation_changed = true;
      if (FeatureToJson(*b).value("expect", Json()) != FeatureToJson(*a).value("expect", Json())) {
        r.Add(what + " expectations changed", false);
      }
      if (b->description != a->description) r.Add(what + " description changed", false);
      Add(ObjectKind::kFeature, full, ChangeType::kChanged, r);
    });
    std::vector<std::string> old_order, new_order;
    for (const FeatureDef& feature : before) old_order.push_back(feature.name);
    for (const FeatureDef& feature : after) new_order.push_back(feature.name);
    return computation_changed || old_order != new_order;
  }

  void DiffView(const std::string& name, const FeatureViewDef* b, const FeatureViewDef* a) {
    const std::string what = "feature view " + Quoted(name);
    if (b == nullptr)
      return AddSimple(ObjectKind::kFeatureView, name, ChangeType::kAdded, what + " added", false);
    if (a == nullptr) {
      return AddSimple(ObjectKind::kFeatureView, name, ChangeType::kRemoved,
                       what + " removed" + UsedBy(name, ""), true);
    }
    Reasons r;
    if (b->source != a->source)
      r.Add(what + " source changed " + Quoted(b->source) + " → " + Quoted(a->source), true);
    if (b->entities != a->entities) {
      r.Add(what + " entities changed " + ListText(b->entities) + " → " + ListText(a->entities), true);
    }
    if (b->ttl_seconds != a->ttl_seconds) {
      r.Add(what + " ttl changed " + TtlText(b->ttl_seconds) + " → " + TtlText(a->ttl_seconds), false);
    }
    if (b->online && !a->online) r.Add(what + " is no longer online", true);
    if (!b->online && a->online) r.Add(what + " is now online (materialize it before online reads)", false);
    if (b->tags != a->tags) r.Add(what + " tags changed", false);
    if (b->description != a->description) r.Add(what + " description changed", false);
    const bool features_changed = DiffFeatures(name, b->features, a->features);
    if (b->online && a->online &&
        (features_changed || b->source != a->source || b->entities != a->entities)) {
      r.Add(what + " must be materialized again before online reads return its new values", true);
    } else if (features_changed && r.empty()) {
      r.Add(what + " features changed", false);
    }
    Add(ObjectKind::kFeatureView, name, ChangeType::kChanged, r);
  }

  void DiffOnDemandView(const std::string& name, const OnDemandViewDef* b, const OnDemandViewDef* a) {
    const std::string what = "on-demand view " + Quoted(name);
    if (b == nullptr)
      return AddSimple(ObjectKind::kOnDemandView, name, ChangeType::kAdded, what + " added", false);
    if (a == nullptr) {
      return AddSimple(ObjectKind::kOnDemandView, name, ChangeType::kRemoved,
                       what + " removed" + UsedBy(name, ""), true);
    }
    Reasons r;
    for (const auto& [field, type] : a->request) {
      auto old = b->request.find(field);
      if (old == b->request.end()) {
        r.Add(what + " request field " + Quoted(field) + " added: callers must send it", true);
      } else if (old->second != type) {
        r.Add(what + " request field " + Quoted(field) + " changed type " + TypeText(old->second) + " → " +
                  TypeText(type),
              true);
      }
    }
    for (const auto& [field, type] : b->request) {
      if (a->request.count(field) == 0)
        r.Add(what + " request field " + Quoted(field) + " is no longer needed", false);
    }
    if (b->description != a->description) r.Add(what + " description changed", false);
    if (DiffFeatures(name, b->features, a->features) && r.empty()) r.Add(what + " features changed", false);
    Add(ObjectKind::kOnDemandView, name, ChangeType::kChanged, r);
  }

  void DiffService(const std::string& name, const FeatureServiceDef* b, const FeatureServiceDef* a) {
    const std::string what = "feature service " + Quoted(name);
    if (b == nullptr)
      return AddSimple(ObjectKind::kFeatureService, name, ChangeType::kAdded, what + " added", false);
    if (a == nullptr) {
      return AddSimple(ObjectKind::kFeatureService, name, ChangeType::kRemoved, what + " removed", true);
    }
    const std::vector<ServiceFeature> old_features = ResolveServiceFeatures(*before_, *b);
    const std::vector<ServiceFeature> new_features = ResolveServiceFeatures(after_, *a);
    std::map<std::string, data::Type> old_types, new_types;
    for (const ServiceFeature& f : old_features) old_types.emplace(f.name, f.type);
    for (const ServiceFeature& f : new_features) new_types.emplace(f.name, f.type);
    std::vector<std::string> lost, gained;
    Reasons r;
    for (const ServiceFeature& f : old_features) {
      auto now = new_types.find(f.name);
      if (now == new_types.end()) {
        lost.push_back(f.name);
      } else if (now->second != f.type) {
        r.Add(what + ": " + Quoted(f.name) + " changed type " + TypeText(f.type) + " → " +
                  TypeText(now->second),
              true);
      }
    }
    for (const ServiceFeature& f : new_features) {
      if (old_types.count(f.name) == 0) gained.push_back(f.name);
    }
    if (!lost.empty()) r.Add(what + " no longer serves " + QuotedList(lost), true);
    if (!gained.empty()) r.Add(what + " now also serves " + QuotedList(gained), false);
    if (r.empty() && old_features != new_features) r.Add(what + " lists its features in a new order", false);
    if (b->description != a->description) r.Add(what + " description changed", false);
    if (r.empty() && FeatureServiceToJson(*b) != FeatureServiceToJson(*a)) {
      r.Add(what + " definition changed (same features)", false);
    }
    Add(ObjectKind::kFeatureService, name, ChangeType::kChanged, r);
  }

  const RepositoryDef* before_;
  const RepositoryDef& after_;
  std::vector<DefinitionChange> changes_;
};

}  // namespace

std::vector<DefinitionChange> DiffRepositories(const RepositoryDef* before, const RepositoryDef& after) {
  return Differ(before, after).Run();
}

std::vector<ServiceFeature> ResolveServiceFeatures(const RepositoryDef& def,
                                                   const FeatureServiceDef& service) {
  std::vector<ServiceFeature> out;
  for (const FeatureRef& ref : service.features) {
    const std::vector<FeatureDef>* features = nullptr;
    for (const FeatureViewDef& view : def.feature_views) {
      if (view.name == ref.view) features = &view.features;
    }
    for (const OnDemandViewDef& view : def.on_demand_views) {
      if (view.name == ref.view) features = &view.features;
    }
    if (features == nullptr) continue;
    for (const FeatureDef& feature : *features) {
      if (ref.feature != "*" && ref.feature != feature.name) continue;
      out.push_back({ref.view + "." + feature.name, feature.declared_type.value_or(data::Type::kFloat64)});
    }
  }
  return out;
}

}  // namespace kiln::features
