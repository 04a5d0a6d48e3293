// CheckSkew: logged records → an entity frame (join keys and request fields
// typed as the repository declares them, the time each record's features
// were computed at) → one training-set build → what the online read would
// have withheld by TTL at the prediction time → feature-by-feature
// comparison. docs/features/skew.md.
//
// TTL: the online read nulls a view's values when prediction time − event
// time > TTL, while the training-set join judges the TTL at the entity time.
// With the entity time at the materialization point, the two differ only by
// the store's lag, which is not skew. So views with a TTL whose row features
// the service reads are recomputed without the TTL and with their event
// time (a derived repository), and the TTL is judged here at the prediction
// time; on-demand features of such rows are evaluated again row by row.
// Aggregation features keep their offline semantics (window only).

#include "serving/skew.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "data/timestamp.h"
#include "data/value_json.h"
#include "features/feature_store.h"
#include "features/source_schema.h"

namespace kiln::serving {
namespace {

using features::Repository;
using features::ResolvedFeature;
using features::ResolvedOnDemandView;
using features::ResolvedView;

constexpr const char* kTimeColumn = "__kiln_skew_time";
constexpr const char* kEventTimeFeature = "__kiln_skew_event_time";

// A feature view with a TTL whose row features the service reads.
struct TtlView {
  std::string view;
  int64_t ttl_micros = 0;
  std::vector<std::string> row_features;  // "view.feature"
};

// What a service reads: its features and, recursively, the inputs of its
// on-demand features.
struct ServiceClosure {
  std::vector<std::string> features;   // every "view.feature" needed, first use order
  std::vector<data::Field> join_keys;  // typed as the (first) view's source column
  std::map<std::string, data::Type> request_fields;
  std::vector<TtlView> ttl_views;
  std::vector<const ResolvedFeature*> on_demand;  // dependencies first
};

const ResolvedFeature* FindFeature(const Repository& repository, const std::string& full_name) {
  const size_t dot = full_name.find('.');
  if (dot == std::string::npos) return nullptr;
  const std::string view = full_name.substr(0, dot);
  const std::string name = full_name.substr(dot + 1);
  const std::vector<ResolvedFeature>* features = nullptr;
  if (const ResolvedView* found = repository.FindView(view)) features = &found->features;
  if (const ResolvedOnDemandView* found = repository.FindOnDemandView(view)) features = &found->features;
  if (features == nullptr) return nullptr;
  for (const ResolvedFeature& feature : *features) {
    if (feature.name == name) return &feature;
  }
  return nullptr;
}

class ClosureBuilder {
 public:
  explicit ClosureBuilder(const Repository& repository) : repository_(repository) {}

  Status Visit(const ResolvedFeature& feature) {
    const std::string full_name = feature.FullName();
    if (!done_.insert(full_name).second) return Status::Ok();
    if (const ResolvedOnDemandView* on_demand = repository_.FindOnDemandView(feature.view)) {
      if (!feature.expression) return Internal("on-demand feature '" + full_name + "' is not compiled");
      for (const std::string& input : feature.expression->referenced_inputs()) {
        if (auto field = on_demand->def->request.find(input); field != on_demand->def->request.end()) {
          closure_.request_fields.emplace(field->first, field->second);
          continue;
        }
        const ResolvedFeature* dependency = FindFeature(repository_, input);
        if (dependency == nullptr) {
          return Internal("on-demand feature '" + full_name + "' reads unknown input '" + input + "'");
        }
        KILN_RETURN_IF_ERROR(Visit(*dependency));
      }
      closure_.on_demand.push_back(&feature);
    } else if (const ResolvedView* view = repository_.FindView(feature.view)) {
      for (const std::string& key : view->join_keys) {
        auto known = std::find_if(closure_.join_keys.begin(), closure_.join_keys.end(),
                                  [&](const data::Field& field) { return field.name == key; });
        if (known != closure_.join_keys.end()) continue;
        data::Type type = data::Type::kString;
        for (const data::Field& field : view->source_schema) {
          if (field.name == key) type = field.type;
        }
        closure_.join_keys.push_back({key, type});
      }
      if (view->def->ttl_seconds > 0 && !feature.def->aggregation) {
        auto ttl = std::find_if(closure_.ttl_views.begin(), closure_.ttl_views.end(),
                                [&](const TtlView& known) { return known.view == feature.view; });
        if (ttl == closure_.ttl_views.end()) {
          ttl = closure_.ttl_views.insert(
              closure_.ttl_views.end(),
              TtlView{feature.view, view->def->ttl_seconds * data::kMicrosPerSecond, {}});
        }
        ttl->row_features.push_back(full_name);
      }
    } else {
      return NotFound("unknown feature view '" + feature.view + "'");
    }
    closure_.features.push_back(full_name);
    return Status::Ok();
  }

  ServiceClosure& closure() { return closure_; }

 private:
  const Repository& repository_;
  ServiceClosure closure_;
  std::set<std::string> done_;
};

// The current repository with every TTL view's TTL lifted and its event
// time added as the row feature kEventTimeFeature.
Result<std::shared_ptr<const Repository>> WithEventTimes(const Repository& current,
                                                         const std::vector<TtlView>& ttl_views) {
  features::RepositoryDef def = current.def();
  for (features::FeatureViewDef& view : def.feature_views) {
    const bool listed = std::any_of(ttl_views.begin(), ttl_views.end(),
                                    [&](const TtlView& ttl) { return ttl.view == view.name; });
    if (!listed) continue;
    features::FeatureDef event_time;
    event_time.name = kEventTimeFeature;
    event_time.expression = current.FindView(view.name)->source->timestamp_field;
    view.features.push_back(std::move(event_time));
    view.ttl_seconds = 0;
  }
  Result<std::shared_ptr<const Repository>> derived =
      Repository::Build(std::move(def), features::StoredSchemaResolver());
  if (!derived.ok()) {
    return Internal("skew check: cannot add event times to project '" + current.project() +
                    "': " + derived.status().message());
  }
  return derived;
}

// The entity rows: join keys, request fields, and the time the online
// values were computed at (the materialization point − 1 µs, as the
// materializer computes them; the prediction time when unknown).
Result<data::Frame> EntityFrame(const std::vector<const PredictionRecord*>& records,
                                const ServiceClosure& closure) {
  data::Frame frame;
  for (const data::Field& key : closure.join_keys) {
    data::Column column(key.type);
    for (const PredictionRecord* record : records) {
      auto found = record->entity.find(key.name);
      if (found == record->entity.end()) {
        return InvalidArgument("prediction " + record->id + ": entity lacks join key '" + key.name + "'");
      }
      KILN_ASSIGN_OR_RETURN(
          data::Value value,
          data::ValueFromJson(*found, key.type, "prediction " + record->id + ": entity." + key.name));
      column.Append(value);
    }
    KILN_RETURN_IF_ERROR(frame.AddColumn(key.name, std::move(column)));
  }
  for (const auto& [name, type] : closure.request_fields) {
    if (frame.IndexOf(name) >= 0) continue;  // also a join key
    data::Column column(type);
    for (const PredictionRecord* record : records) {
      auto found = record->request.find(name);
      if (found == record->request.end()) {  // the server would have refused the row
        column.AppendNull();
        continue;
      }
      KILN_ASSIGN_OR_RETURN(
          data::Value value,
          data::ValueFromJson(*found, type, "prediction " + record->id + ": request." + name));
      column.Append(value);
    }
    KILN_RETURN_IF_ERROR(frame.AddColumn(name, std::move(column)));
  }
  data::Column times(data::Type::kTimestamp);
  for (const PredictionRecord* record : records) {
    times.AppendInt(record->features_as_of_micros > 0 ? record->features_as_of_micros - 1
                                                      : record->timestamp_micros);
  }
  KILN_RETURN_IF_ERROR(frame.AddColumn(kTimeColumn, std::move(times)));
  return frame;
}

// The offline values of one row whose TTL views the online read withheld:
// those views' row features nulled, on-demand features evaluated again over
// them (a withheld or mistyped input reads as null, as online).
std::map<std::string, data::Value> WithheldRow(const data::Frame& offline, size_t row,
                                               const ServiceClosure& closure, const Repository& repository,
                                               const std::set<std::string>& withheld) {
  std::map<std::string, data::Value> values;
  for (const std::string& name : closure.features) {
    if (const data::Column* column = offline.Find(name)) {
      values[name] = withheld.count(name) ? data::Value::Null(column->type()) : column->Get(row);
    }
  }
  for (const ResolvedFeature* feature : closure.on_demand) {
    const ResolvedOnDemandView* view = repository.FindOnDemandView(feature->view);
    std::vector<data::Value> inputs;
    inputs.reserve(view->inputs.size());
    for (const data::Field& input : view->inputs) {
      const data::Column* request = view->def->request.count(input.name) ? offline.Find(input.name) : nullptr;
      data::Value value = data::Value::Null(input.type);
      if (request != nullptr) {
        value = request->Get(row);
      } else if (auto found = values.find(input.name); found != values.end()) {
        value = found->second;
      }
      inputs.push_back(value.type == input.type ? std::move(value) : data::Value::Null(input.type));
    }
    data::Value value = feature->expression->EvaluateRow(inputs);
    if (!value.null && value.type == data::Type::kInt64 && feature->type == data::Type::kFloat64) {
      value = data::Value::Float(static_cast<double>(value.i));
    }
    values[feature->FullName()] = std::move(value);
  }
  return values;
}

// A value as the model sees it: a float32 rounded to double; null is NaN.
double ModelInput(const data::Value& value) {
  if (value.null || value.type == data::Type::kString) return std::nan("");
  const double number = value.type == data::Type::kFloat64 ? value.f : static_cast<double>(value.i);
  return static_cast<double>(static_cast<float>(number));
}

bool Matches(double online, double offline, const SkewOptions& options) {
  if (std::isnan(online) || std::isnan(offline)) return std::isnan(online) && std::isnan(offline);
  if (online == offline) return true;  // infinities too
  return std::fabs(online - offline) <= options.abs_tolerance + options.rel_tolerance * std::fabs(offline);
}

std::string CompactJson(const Json& json) {
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace

Result<SkewReport> CheckSkew(features::FeatureStore& store, const std::string& project,
                             const std::string& service, const std::vector<PredictionRecord>& records,
                             const SkewOptions& options) {
  KILN_ASSIGN_OR_RETURN(std::shared_ptr<const Repository> current, store.Current(project));
  KILN_ASSIGN_OR_RETURN(std::vector<ResolvedFeature> outputs, current->ResolveService(service));
  SkewReport report;
  report.project = current->project();
  report.feature_service = service;

  std::vector<const PredictionRecord*> sample;
  std::shared_ptr<const std::vector<std::string>> names;
  for (const PredictionRecord& record : records) {
    if (!record.feature_names || record.feature_names->empty() || record.feature_values.empty()) {
      ++report.skipped;
      continue;
    }
    if (record.feature_values.size() != record.feature_names->size()) {
      return InvalidArgument("prediction " + record.id + ": " + std::to_string(record.feature_values.size()) +
                             " feature values for " + std::to_string(record.feature_names->size()) +
                             " feature names");
    }
    if (!record.entity.is_object() || !record.request.is_object()) {
      return InvalidArgument("prediction " + record.id + ": entity and request must be JSON objects");
    }
    if (!names) {
      names = record.feature_names;
    } else if (names != record.feature_names && *names != *record.feature_names) {
      return InvalidArgument("prediction " + record.id +
                             ": its feature names differ from those of prediction " + sample.front()->id +
                             " (check one model version at a time)");
    }
    sample.push_back(&record);
  }
  report.predictions = static_cast<int64_t>(sample.size());
  if (sample.empty()) return report;

  ClosureBuilder builder(*current);
  for (const ResolvedFeature& feature : outputs) {
    const ResolvedFeature* own = FindFeature(*current, feature.FullName());
    if (own == nullptr) return NotFound("unknown feature '" + feature.FullName() + "'");
    KILN_RETURN_IF_ERROR(builder.Visit(*own));
  }
  const ServiceClosure& closure = builder.closure();
  std::shared_ptr<const Repository> offline_repository = current;
  features::TrainingSetRequest request;
  request.features = closure.features;
  if (!closure.ttl_views.empty()) {
    KILN_ASSIGN_OR_RETURN(offline_repository, WithEventTimes(*current, closure.ttl_views));
    for (const TtlView& view : closure.ttl_views)
      request.features.push_back(view.view + "." + kEventTimeFeature);
  }
  KILN_ASSIGN_OR_RETURN(request.entities, EntityFrame(sample, closure));
  request.entity_timestamp = kTimeColumn;
  request.threads = options.threads;
  KILN_ASSIGN_OR_RETURN(features::TrainingSet offline,
                        store.BuildTrainingFrame(*offline_repository, std::move(request)));

  // Rows whose TTL views the online read withheld at the prediction time
  // (judged to the millisecond, as GetOnlineFeatures judges).
  std::map<size_t, std::map<std::string, data::Value>> withheld_rows;
  for (size_t row = 0; row < sample.size(); ++row) {
    const int64_t millis =
        sample[row]->timestamp_micros / 1000 - (sample[row]->timestamp_micros % 1000 < 0 ? 1 : 0);
    std::set<std::string> withheld;
    for (const TtlView& view : closure.ttl_views) {
      const data::Column* event_times = offline.frame.Find(view.view + "." + kEventTimeFeature);
      if (event_times == nullptr || event_times->IsNull(row)) continue;  // no record: null either way
      if (millis * 1000 - event_times->ints()[row] > view.ttl_micros) {
        withheld.insert(view.row_features.begin(), view.row_features.end());
      }
    }
    if (!withheld.empty()) {
      withheld_rows[row] = WithheldRow(offline.frame, row, closure, *offline_repository, withheld);
    }
  }

  for (size_t f = 0; f < names->size(); ++f) {
    FeatureSkew skew;
    skew.feature = (*names)[f];
    const data::Column* column = offline.frame.Find(skew.feature);
    if (column != nullptr && column->type() != data::Type::kString && skew.feature != kTimeColumn) {
      for (size_t row = 0; row < sample.size(); ++row) {
        const PredictionRecord& record = *sample[row];
        double offline_value = ModelInput(column->Get(row));
        if (auto withheld = withheld_rows.find(row); withheld != withheld_rows.end()) {
          auto value = withheld->second.find(skew.feature);
          if (value != withheld->second.end()) offline_value = ModelInput(value->second);
        }
        const double online_value = record.feature_values[f];
        ++skew.compared;
        if (!std::isnan(online_value) && !std::isnan(offline_value) && online_value != offline_value) {
          skew.max_abs_difference =
              std::max(skew.max_abs_difference, std::fabs(online_value - offline_value));
        }
        if (Matches(online_value, offline_value, options)) continue;
        ++skew.mismatches;
        if (static_cast<int>(skew.examples.size()) < options.max_examples) {
          skew.examples.push_back(
              SkewExample{record.id, CompactJson(record.entity), online_value, offline_value});
        }
      }
    }
    report.mismatches += skew.mismatches;
    report.features.push_back(std::move(skew));
  }

  std::vector<int64_t> staleness;
  for (const PredictionRecord* record : sample) {
    if (record->features_as_of_micros > 0) {
      staleness.push_back(record->timestamp_micros - record->features_as_of_micros);
    }
  }
  if (!staleness.empty()) {
    std::sort(staleness.begin(), staleness.end());
    report.staleness_p50_micros = staleness[(staleness.size() - 1) / 2];
    report.staleness_max_micros = staleness.back();
  }
  return report;
}

}  // namespace kiln::serving
