#include "features/training_set_plan.h"

#include <algorithm>
#include <set>

#include "data/timestamp.h"

namespace kiln::features::training_internal {
namespace {

// The repository's own ResolvedFeature for "view.feature", or null.
const ResolvedFeature* FindFeature(const Repository& repository, std::string_view view,
                                   std::string_view name) {
  const std::vector<ResolvedFeature>* features = nullptr;
  if (const ResolvedView* found = repository.FindView(view)) {
    features = &found->features;
  } else if (const ResolvedOnDemandView* found = repository.FindOnDemandView(view)) {
    features = &found->features;
  }
  if (features == nullptr) return nullptr;
  for (const ResolvedFeature& feature : *features) {
    if (feature.name == name) return &feature;
  }
  return nullptr;
}

class Planner {
 public:
  explicit Planner(const Repository& repository) : repository_(repository) {}

  Status Visit(const ResolvedFeature& feature) {
    const std::string full = feature.FullName();
    if (done_.count(full)) return Status::Ok();
    if (!visiting_.insert(full).second) {
      return Internal("on-demand feature '" + full + "' depends on itself");
    }
    if (const ResolvedOnDemandView* odv = repository_.FindOnDemandView(feature.view)) {
      if (!feature.expression) return Internal("on-demand feature '" + full + "' is not compiled");
      for (const std::string& input : feature.expression->referenced_inputs()) {
        if (auto it = odv->def->request.find(input); it != odv->def->request.end()) {
          plan_.request_fields.emplace(input, RequestField{it->second, odv->def->name});
          continue;
        }
        size_t dot = input.find('.');
        const ResolvedFeature* dependency =
            dot == std::string::npos ? nullptr
                                     : FindFeature(repository_, input.substr(0, dot), input.substr(dot + 1));
        if (dependency == nullptr) {
          return Internal("on-demand feature '" + full + "' reads unknown input '" + input + "'");
        }
        KILN_RETURN_IF_ERROR(Visit(*dependency));
      }
      plan_.on_demand.push_back(&feature);
    } else if (const ResolvedView* view = repository_.FindView(feature.view)) {
      auto it = std::find_if(plan_.views.begin(), plan_.views.end(),
                             [&](const ViewPlan& p) { return p.view == view; });
      if (it == plan_.views.end()) it = plan_.views.insert(plan_.views.end(), ViewPlan{view, {}});
      it->features.push_back(&feature);
    } else {
      return NotFound("unknown feature view '" + feature.view + "'");
    }
    visiting_.erase(full);
    done_.insert(full);
    return Status::Ok();
  }

  TrainingPlan& plan() { return plan_; }

 private:
  const Repository& repository_;
  TrainingPlan plan_;
  std::set<std::string> visiting_;
  std::set<std::string> done_;
};

std::string ColumnList(const data::Frame& frame) {
  std::string out;
  for (const std::string& name : frame.names()) out += (out.empty() ? "" : ", ") + name;
  return out;
}

std::string TypeText(data::Type type) { return std::string(data::TypeName(type)); }

Result<data::Column> ParseTimestamps(const data::Column& text, const std::string& name) {
  data::Column out(data::Type::kTimestamp);
  out.Reserve(text.size());
  for (size_t row = 0; row < text.size(); ++row) {
    if (text.IsNull(row)) {
      out.AppendNull();
      continue;
    }
    Result<int64_t> micros = data::ParseTimestamp(text.strings()[row], data::TimeZone::Utc());
    if (!micros.ok()) {
      return InvalidArgument("entity rows: row " + std::to_string(row + 1) + ": column '" + name +
                             "': " + micros.status().message());
    }
    out.AppendInt(*micros);
  }
  return out;
}

}  // namespace

Result<TrainingPlan> PlanTrainingSet(const Repository& repository, const TrainingSetRequest& request) {
  if (!request.service.empty() && !request.features.empty()) {
    return InvalidArgument("give a feature service or a list of features, not both");
  }
  if (request.service.empty() && request.features.empty()) {
    return InvalidArgument("a training set needs a feature service or a list of features");
  }
  KILN_ASSIGN_OR_RETURN(std::vector<ResolvedFeature> resolved,
                        request.service.empty() ? repository.ResolveFeatures(request.features)
                                                : repository.ResolveService(request.service));
  Planner planner(repository);
  std::set<std::string> seen;
  for (const ResolvedFeature& feature : resolved) {
    const ResolvedFeature* own = FindFeature(repository, feature.view, feature.name);
    if (own == nullptr) return NotFound("unknown feature '" + feature.FullName() + "'");
    if (!seen.insert(own->FullName()).second) continue;
    planner.plan().output.push_back(own);
    KILN_RETURN_IF_ERROR(planner.Visit(*own));
  }
  return std::move(planner.plan());
}

Result<data::Frame> PrepareEntities(const TrainingPlan& plan, const TrainingSetRequest& request) {
  data::Frame entities = request.entities;
  const std::string& timestamp = request.entity_timestamp;
  const data::Column* times = entities.Find(timestamp);
  if (times == nullptr) {
    return InvalidArgument("entity rows lack the timestamp column '" + timestamp + "' (columns: " +
                           ColumnList(entities) + ")");
  }
  if (times->type() == data::Type::kString) {
    KILN_ASSIGN_OR_RETURN(data::Column parsed, ParseTimestamps(*times, timestamp));
    KILN_RETURN_IF_ERROR(entities.SetColumn(timestamp, std::move(parsed)));
  } else if (times->type() != data::Type::kTimestamp) {
    return InvalidArgument("entity rows: timestamp column '" + timestamp + "' is " + TypeText(times->type()) +
                           "; expected a timestamp or ISO 8601 text");
  }

  for (const ViewPlan& view_plan : plan.views) {
    const ResolvedView& view = *view_plan.view;
    for (const std::string& key : view.join_keys) {
      const data::Column* column = entities.Find(key);
      if (column == nullptr) {
        return InvalidArgument("entity rows lack column '" + key + "' needed by feature view '" +
                               view.def->name + "'");
      }
      auto field = std::find_if(view.source_schema.begin(), view.source_schema.end(),
                                [&](const data::Field& f) { return f.name == key; });
      if (field != view.source_schema.end() && field->type != column->type()) {
        return InvalidArgument("entity rows: column '" + key + "' is " + TypeText(column->type()) +
                               " but feature view '" + view.def->name + "' joins on it as " +
                               TypeText(field->type));
      }
    }
  }

  for (const auto& [name, field] : plan.request_fields) {
    const data::Column* column = entities.Find(name);
    if (column == nullptr) {
      return InvalidArgument("entity rows lack request field '" + name + "' needed by on-demand view '" +
                             field.on_demand_view + "'");
    }
    if (column->type() == field.type) continue;
    if (column->type() == data::Type::kInt64 && field.type == data::Type::kFloat64) {
      data::Column widened(data::Type::kFloat64);
      widened.Reserve(column->size());
      for (size_t row = 0; row < column->size(); ++row) {
        if (column->IsNull(row)) {
          widened.AppendNull();
        } else {
          widened.AppendFloat(static_cast<double>(column->ints()[row]));
        }
      }
      KILN_RETURN_IF_ERROR(entities.SetColumn(name, std::move(widened)));
    } else if (column->type() == data::Type::kString && field.type == data::Type::kTimestamp) {
      KILN_ASSIGN_OR_RETURN(data::Column parsed, ParseTimestamps(*column, name));
      KILN_RETURN_IF_ERROR(entities.SetColumn(name, std::move(parsed)));
    } else {
      return InvalidArgument("entity rows: request field '" + name + "' is " + TypeText(column->type()) +
                             " but on-demand view '" + field.on_demand_view + "' declares it " +
                             TypeText(field.type));
    }
  }

  for (const std::string& label : request.labels) {
    if (entities.Find(label) == nullptr) {
      return InvalidArgument("entity rows lack label column '" + label + "' (columns: " +
                             ColumnList(entities) + ")");
    }
  }
  return entities;
}

}  // namespace kiln::features::training_internal
