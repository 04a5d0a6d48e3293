// BuildTrainingSet: plan (training_set_plan.h) → for each feature view, read
// its source once over the entity time range, evaluate row features and
// match them point in time, and aggregate as of each entity timestamp →
// evaluate on-demand features with the repository's compiled expressions
// (the ones the online path evaluates row by row) → assemble.
//
// TTL and windows: a row feature is the latest source row within the view's
// TTL. An aggregation feature is governed by its window alone — the value at
// t aggregates the events in (t − window, t], whatever the TTL — exactly as
// materialization computes it, so training and serving agree.

#include "features/training_set.h"

#include <algorithm>
#include <limits>
#include <map>

#include "common/progress.h"
#include "data/timestamp.h"
#include "features/aggregation.h"
#include "features/point_in_time_join.h"
#include "features/training_set_plan.h"

namespace kiln::features {
namespace {

using training_internal::TrainingPlan;
using training_internal::ViewPlan;

// Computed feature columns by "view.feature".
using FeatureColumns = std::map<std::string, data::Column>;

struct TimeRange {
  bool any = false;  // some entity row has a timestamp
  int64_t min = 0;
  int64_t max = 0;
};

TimeRange EntityTimeRange(const data::Column& times) {
  TimeRange range;
  range.min = std::numeric_limits<int64_t>::max();
  range.max = std::numeric_limits<int64_t>::min();
  for (size_t row = 0; row < times.size(); ++row) {
    if (times.IsNull(row)) continue;
    range.any = true;
    range.min = std::min(range.min, times.ints()[row]);
    range.max = std::max(range.max, times.ints()[row]);
  }
  return range;
}

// What an aggregation feature aggregates: "" (count events), a source column,
// or its column expression (compiled by the repository, or here).
Result<std::optional<Expression>> AggregationExpression(const ResolvedView& view,
                                                        const ResolvedFeature& feature) {
  const AggregationDef& aggregation = *feature.def->aggregation;
  if (aggregation.column.empty()) return std::optional<Expression>();
  for (const data::Field& field : view.source_schema) {
    if (field.name == aggregation.column) return std::optional<Expression>();
  }
  if (feature.expression) return std::optional<Expression>(*feature.expression);
  Result<Expression> compiled = Expression::Compile(aggregation.column, view.source_schema);
  if (!compiled.ok()) {
    return InvalidArgument("feature view '" + view.def->name + "': feature '" + feature.name +
                           "': " + compiled.status().message());
  }
  return std::optional<Expression>(std::move(compiled).value());
}

void AddUnique(std::vector<std::string>* names, const std::string& name) {
  if (std::find(names->begin(), names->end(), name) == names->end()) names->push_back(name);
}

// The column in the feature's type: an int64 result declared float64 is
// widened (the repository allows that declaration); any other difference is
// a bug.
Result<data::Column> Conform(const ResolvedFeature& feature, data::Column column) {
  if (column.type() == feature.type) return column;
  if (column.type() == data::Type::kInt64 && feature.type == data::Type::kFloat64) {
    data::Column widened(data::Type::kFloat64);
    widened.Reserve(column.size());
    for (size_t row = 0; row < column.size(); ++row) {
      if (column.IsNull(row)) {
        widened.AppendNull();
      } else {
        widened.AppendFloat(static_cast<double>(column.ints()[row]));
      }
    }
    return widened;
  }
  return Internal("feature '" + feature.FullName() + "' computed as " +
                  std::string(data::TypeName(column.type())) + " but typed " +
                  std::string(data::TypeName(feature.type)));
}

// Reads the view's source over the range the entity rows need and computes
// its planned features into `out`.
Status ComputeView(const Repository& repository, const ViewPlan& plan, const data::Frame& entities,
                   const TimeRange& range, const TrainingSetRequest& request,
                   const SourceReadOptions& source_options, FeatureColumns* out) {
  const ResolvedView& view = *plan.view;
  SourceDef source = *view.source;
  if (source.columns.empty()) {
    for (const data::Field& field : view.source_schema) source.columns[field.name] = field.type;
  }

  SourceReadOptions options = source_options;
  options.columns.clear();
  for (const std::string& key : view.join_keys) AddUnique(&options.columns, key);
  bool has_row_features = false;
  int64_t longest_window = 0;
  std::vector<std::optional<Expression>> inputs(plan.features.size());
  for (size_t i = 0; i < plan.features.size(); ++i) {
    const ResolvedFeature& feature = *plan.features[i];
    if (feature.def->aggregation) {
      longest_window = std::max(longest_window, feature.def->aggregation->window_seconds);
      KILN_ASSIGN_OR_RETURN(inputs[i], AggregationExpression(view, feature));
      if (inputs[i]) {
        for (const std::string& name : inputs[i]->referenced_inputs()) AddUnique(&options.columns, name);
      } else if (!feature.def->aggregation->column.empty()) {
        AddUnique(&options.columns, feature.def->aggregation->column);
      }
    } else {
      if (!feature.expression) return Internal("feature '" + feature.FullName() + "' is not compiled");
      has_row_features = true;
      for (const std::string& name : feature.expression->referenced_inputs()) AddUnique(&options.columns, name);
    }
  }

  // Rows the entity rows can see: event time ≤ the latest entity time, and
  // no older than the TTL (row features) or the longest window.
  if (!range.any) {
    options.start_micros = 0;
    options.end_micros = 0;
  } else {
    options.end_micros = range.max + 1;
    const int64_t ttl = view.def->ttl_seconds;
    if (!(has_row_features && ttl <= 0)) {
      const int64_t lookback = std::max(has_row_features ? ttl : 0, longest_window);
      options.start_micros = range.min - lookback * data::kMicrosPerSecond;
    }
  }
  options.quiet = request.quiet;
  KILN_ASSIGN_OR_RETURN(data::Frame rows, ReadSource(repository.def(), source, options));

  if (has_row_features) {
    PointInTimeOptions match;
    match.join_keys = view.join_keys;
    match.entity_timestamp = request.entity_timestamp;
    match.event_timestamp = source.timestamp_field;
    match.created_timestamp = source.created_timestamp_field;
    match.ttl_seconds = view.def->ttl_seconds;
    match.require_created_before_entity = request.require_created_before_entity;
    match.threads = request.threads;
    KILN_ASSIGN_OR_RETURN(std::vector<int64_t> matched, PointInTimeMatch(entities, rows, match));
    for (const ResolvedFeature* feature : plan.features) {
      if (feature->def->aggregation) continue;
      KILN_ASSIGN_OR_RETURN(data::Column values, feature->expression->EvaluateBatch(rows));
      KILN_ASSIGN_OR_RETURN(data::Column gathered, Conform(*feature, values.Take(matched)));
      out->insert_or_assign(feature->FullName(), std::move(gathered));
    }
  }

  std::vector<WindowAggregation> aggregations;
  std::vector<const ResolvedFeature*> aggregated;
  for (size_t i = 0; i < plan.features.size(); ++i) {
    const ResolvedFeature& feature = *plan.features[i];
    if (!feature.def->aggregation) continue;
    const AggregationDef& def = *feature.def->aggregation;
    KILN_ASSIGN_OR_RETURN(AggregationFunction function, ParseAggregationFunction(def.function));
    std::string column = def.column;
    if (inputs[i]) {
      KILN_ASSIGN_OR_RETURN(data::Column values, inputs[i]->EvaluateBatch(rows));
      column = "__kiln_input_" + std::to_string(i);
      while (rows.IndexOf(column) >= 0) column = "_" + column;
      KILN_RETURN_IF_ERROR(rows.AddColumn(column, std::move(values)));
    }
    aggregations.push_back(WindowAggregation{feature.FullName(), function, column, def.window_seconds});
    aggregated.push_back(&feature);
  }
  if (!aggregations.empty()) {
    AggregateOptions aggregate;
    aggregate.join_keys = view.join_keys;
    aggregate.entity_timestamp = request.entity_timestamp;
    aggregate.event_timestamp = source.timestamp_field;
    aggregate.threads = request.threads;
    KILN_ASSIGN_OR_RETURN(data::Frame values, AggregateAsOf(entities, rows, aggregations, aggregate));
    for (size_t i = 0; i < aggregated.size(); ++i) {
      KILN_ASSIGN_OR_RETURN(const data::Column* column, values.Get(aggregations[i].output));
      KILN_ASSIGN_OR_RETURN(data::Column conformed, Conform(*aggregated[i], *column));
      out->insert_or_assign(aggregated[i]->FullName(), std::move(conformed));
    }
  }
  return Status::Ok();
}

// On-demand features, dependencies first, over frames whose columns carry
// the names of the view's InputSchema.
Status ComputeOnDemand(const TrainingPlan& plan, const data::Frame& entities, FeatureColumns* out) {
  for (const ResolvedFeature* feature : plan.on_demand) {
    data::Frame inputs;
    for (const std::string& name : feature->expression->referenced_inputs()) {
      if (plan.request_fields.count(name)) {
        KILN_RETURN_IF_ERROR(inputs.AddColumn(name, *entities.Find(name)));
      } else {
        auto it = out->find(name);
        if (it == out->end()) return Internal("on-demand input '" + name + "' was not computed");
        KILN_RETURN_IF_ERROR(inputs.AddColumn(name, it->second));
      }
    }
    if (inputs.num_columns() == 0) {  // a constant expression: give it the row count
      data::Column rows(data::Type::kBool);
      for (size_t row = 0; row < entities.num_rows(); ++row) rows.AppendNull();
      KILN_RETURN_IF_ERROR(inputs.AddColumn("__kiln_rows", std::move(rows)));
    }
    KILN_ASSIGN_OR_RETURN(data::Column values, feature->expression->EvaluateBatch(inputs));
    KILN_ASSIGN_OR_RETURN(values, Conform(*feature, std::move(values)));
    out->insert_or_assign(feature->FullName(), std::move(values));
  }
  return Status::Ok();
}

}  // namespace

Result<TrainingSet> BuildTrainingSet(const Repository& repository, const TrainingSetRequest& request,
                                     const SourceReadOptions& source_options) {
  KILN_ASSIGN_OR_RETURN(TrainingPlan plan, training_internal::PlanTrainingSet(repository, request));
  KILN_ASSIGN_OR_RETURN(data::Frame entities, training_internal::PrepareEntities(plan, request));
  const TimeRange range = EntityTimeRange(*entities.Find(request.entity_timestamp));

  Progress progress("training set " + (request.service.empty() ? std::string("features") : request.service),
                    static_cast<int64_t>(plan.views.size()), "feature views", request.quiet);
  FeatureColumns computed;
  for (const ViewPlan& view_plan : plan.views) {
    KILN_RETURN_IF_ERROR(
        ComputeView(repository, view_plan, entities, range, request, source_options, &computed));
    progress.Add(1);
  }
  KILN_RETURN_IF_ERROR(ComputeOnDemand(plan, entities, &computed));
  progress.Finish();

  // Entity columns the training set is about, in the entity frame's order.
  std::vector<std::string> keep = {request.entity_timestamp};
  for (const ViewPlan& view_plan : plan.views) {
    for (const std::string& key : view_plan.view->join_keys) AddUnique(&keep, key);
  }
  for (const auto& [name, field] : plan.request_fields) AddUnique(&keep, name);
  for (const std::string& label : request.labels) AddUnique(&keep, label);

  TrainingSet set;
  set.rows = static_cast<int64_t>(entities.num_rows());
  for (size_t c = 0; c < entities.num_columns(); ++c) {
    const std::string& name = entities.names()[c];
    if (std::find(keep.begin(), keep.end(), name) == keep.end()) continue;
    KILN_RETURN_IF_ERROR(set.frame.AddColumn(name, std::move(entities.mutable_column(c))));  // last use
  }
  for (const ResolvedFeature* feature : plan.output) {
    const std::string name = feature->FullName();
    if (set.frame.IndexOf(name) >= 0) {
      return InvalidArgument("entity rows have a column named '" + name + "', the name of a feature");
    }
    data::Column& column = computed.at(name);
    set.null_fractions.push_back(set.rows == 0 ? 0.0
                                               : static_cast<double>(column.NullCount()) /
                                                     static_cast<double>(set.rows));
    KILN_RETURN_IF_ERROR(set.frame.AddColumn(name, std::move(column)));
    set.features.push_back(*feature);
  }
  return set;
}

}  // namespace kiln::features
