#include "features/online_reader.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <span>

#include "data/timestamp.h"
#include "features/materializer.h"

namespace kiln::features {
namespace {

// Where one input of an on-demand feature's expression comes from.
struct InputSource {
  enum class Kind { kNone, kRequest, kSlot };
  Kind kind = Kind::kNone;
  size_t index = 0;  // request field or slot
  data::Type type = data::Type::kFloat64;
};

// One feature view read for every row of a request.
struct ViewPlan {
  const ResolvedView* view = nullptr;
  ViewKey key;
  std::vector<data::Type> types;  // the view's feature types
  std::vector<std::string> join_keys;
  std::vector<data::Type> key_types;
  int64_t ttl_micros = 0;  // 0: no limit
  struct Target {
    size_t feature = 0;  // index in the view's features
    size_t slot = 0;
    // Aggregations are bounded by their window, not the view's TTL, as in
    // training sets; a count of an entity without a record is 0 (an empty
    // window counts 0 offline), not null.
    bool aggregated = false;
    bool count = false;
  };
  std::vector<Target> targets;
};

struct OnDemandPlan {
  const ResolvedFeature* feature = nullptr;  // owned by the repository
  size_t slot = 0;
  std::vector<InputSource> inputs;  // one per input of its view
};

struct RequestField {
  std::string name;
  data::Type type = data::Type::kFloat64;
  std::string required_by;  // the first on-demand feature reading it
};

constexpr size_t kMaxCachedPlans = 4096;

std::string TypeText(data::Type type) { return std::string(data::TypeName(type)); }

std::string RowPrefix(size_t row) { return "row " + std::to_string(row) + ": "; }

// `value` as `type` where the conversion loses nothing (int64 ↔ integral
// float64); false otherwise.
bool CoerceNumber(const data::Value& value, data::Type type, data::Value* out) {
  if (value.type == data::Type::kInt64 && type == data::Type::kFloat64) {
    *out = data::Value::Float(static_cast<double>(value.i));
    return true;
  }
  if (value.type == data::Type::kFloat64 && type == data::Type::kInt64) {
    const double f = value.f;
    if (!(f == f) || f != static_cast<double>(static_cast<int64_t>(f)) || f >= 9.2e18 || f <= -9.2e18) return false;
    *out = data::Value::Int(static_cast<int64_t>(f));
    return true;
  }
  return false;
}

// Copies a value field by field: a value without text skips std::string's
// out-of-line assignment.
void AssignValue(const data::Value& from, data::Value* to) {
  to->type = from.type;
  to->null = from.null;
  to->i = from.i;
  to->f = from.f;
  if (from.s.empty()) {
    to->s.clear();
  } else {
    to->s = from.s;
  }
}

}  // namespace

struct OnlineReader::Plan {
  std::shared_ptr<const Repository> repository;
  int64_t service_version = 0;
  std::vector<std::string> names;
  std::vector<data::Type> types;
  std::vector<data::Value> null_row;  // a null of each output's type
  size_t num_outputs = 0;
  size_t num_hidden = 0;  // slots ≥ num_outputs hold unrequested dependencies
  std::vector<ViewPlan> views;
  std::vector<OnDemandPlan> on_demand;  // dependencies first
  std::vector<RequestField> request_fields;
  std::vector<std::pair<size_t, size_t>> copies;  // (from, to) for repeated outputs
  // One view whose features are the outputs, in order (e.g. a service of
  // "view.*"): a found record's values become the response row as they are.
  bool identity = false;
};

namespace {

// Builds a Plan from the resolved output features.
class PlanBuilder {
 public:
  PlanBuilder(const Repository& repository, OnlineReader::Plan& plan) : repository_(repository), plan_(plan) {}

  Status Build(const std::vector<ResolvedFeature>& outputs) {
    plan_.num_outputs = outputs.size();
    for (size_t i = 0; i < outputs.size(); ++i) {
      const std::string name = outputs[i].FullName();
      plan_.names.push_back(name);
      plan_.types.push_back(outputs[i].type);
      plan_.null_row.push_back(data::Value::Null(outputs[i].type));
      auto [it, inserted] = slots_.emplace(name, i);
      if (!inserted) plan_.copies.emplace_back(it->second, i);
    }
    for (const ResolvedFeature& output : outputs) KILN_RETURN_IF_ERROR(Ensure(output.view, output.name));
    plan_.identity = plan_.views.size() == 1 && plan_.on_demand.empty() && plan_.copies.empty() &&
                     plan_.num_hidden == 0 && plan_.views[0].targets.size() == plan_.num_outputs &&
                     plan_.views[0].types.size() == plan_.num_outputs;
    for (size_t i = 0; plan_.identity && i < plan_.num_outputs; ++i) {
      const ViewPlan::Target& target = plan_.views[0].targets[i];
      plan_.identity = target.feature == i && target.slot == i && !target.count &&
                       !(target.aggregated && plan_.views[0].ttl_micros > 0);
    }
    return Status::Ok();
  }

 private:
  size_t SlotFor(const std::string& full_name) {
    auto it = slots_.find(full_name);
    if (it != slots_.end()) return it->second;
    const size_t slot = plan_.num_outputs + plan_.num_hidden++;
    slots_.emplace(full_name, slot);
    return slot;
  }

  ViewPlan& PlanFor(const ResolvedView& view) {
    auto it = view_plans_.find(view.def->name);
    if (it != view_plans_.end()) return plan_.views[it->second];
    view_plans_.emplace(view.def->name, plan_.views.size());
    ViewPlan& out = plan_.views.emplace_back();
    out.view = &view;
    out.key = OnlineViewKey(repository_.project(), view);
    out.types = ViewFeatureTypes(view);
    out.join_keys = view.join_keys;
    for (const std::string& key : view.join_keys) {
      data::Type type = data::Type::kString;
      for (const data::Field& field : view.source_schema) {
        if (field.name == key) type = field.type;
      }
      out.key_types.push_back(type);
    }
    out.ttl_micros = view.def->ttl_seconds * data::kMicrosPerSecond;
    return out;
  }

  size_t RequestIndex(const std::string& name, data::Type type, const std::string& required_by) {
    auto it = request_index_.find(name);
    if (it != request_index_.end()) return it->second;
    request_index_.emplace(name, plan_.request_fields.size());
    plan_.request_fields.push_back({name, type, required_by});
    return plan_.request_fields.size() - 1;
  }

  // Plans the computation of view.feature (and, first, what it reads).
  Status Ensure(const std::string& view_name, const std::string& feature_name) {
    const std::string full_name = view_name + "." + feature_name;
    if (!done_.insert(full_name).second) return Status::Ok();
    if (const ResolvedView* view = repository_.FindView(view_name)) {
      if (!view->def->online) {
        return InvalidArgument("feature view '" + view_name + "' is not served online (online: false)");
      }
      for (size_t f = 0; f < view->features.size(); ++f) {
        if (view->features[f].name != feature_name) continue;
        const auto& aggregation = view->features[f].def->aggregation;
        PlanFor(*view).targets.push_back(
            {f, SlotFor(full_name), aggregation.has_value(), aggregation && aggregation->function == "count"});
        return Status::Ok();
      }
      return NotFound("feature view '" + view_name + "' has no feature '" + feature_name + "'");
    }
    const ResolvedOnDemandView* on_demand = repository_.FindOnDemandView(view_name);
    if (on_demand == nullptr) return NotFound("unknown view '" + view_name + "'");
    const ResolvedFeature* feature = nullptr;
    for (const ResolvedFeature& candidate : on_demand->features) {
      if (candidate.name == feature_name) feature = &candidate;
    }
    if (feature == nullptr || !feature->expression) {
      return NotFound("on-demand view '" + view_name + "' has no feature '" + feature_name + "'");
    }
    OnDemandPlan out;
    out.feature = feature;
    const std::vector<std::string>& referenced = feature->expression->referenced_inputs();
    for (const data::Field& input : on_demand->inputs) {
      InputSource source;
      source.type = input.type;
      if (std::find(referenced.begin(), referenced.end(), input.name) != referenced.end()) {
        if (on_demand->def->request.count(input.name) != 0) {
          source.kind = InputSource::Kind::kRequest;
          source.index = RequestIndex(input.name, input.type, full_name);
          if (plan_.request_fields[source.index].type != input.type) {
            return InvalidArgument("request field '" + input.name + "' is " +
                                   TypeText(plan_.request_fields[source.index].type) + " for " +
                                   plan_.request_fields[source.index].required_by + " but " +
                                   TypeText(input.type) + " for " + full_name);
          }
        } else {
          const size_t dot = input.name.find('.');
          if (dot == std::string::npos) return Internal("on-demand input '" + input.name + "' is not view.feature");
          KILN_RETURN_IF_ERROR(Ensure(input.name.substr(0, dot), input.name.substr(dot + 1)));
          source.kind = InputSource::Kind::kSlot;
          source.index = SlotFor(input.name);
        }
      }
      out.inputs.push_back(source);
    }
    out.slot = SlotFor(full_name);
    plan_.on_demand.push_back(std::move(out));
    return Status::Ok();
  }

  const Repository& repository_;
  OnlineReader::Plan& plan_;
  std::map<std::string, size_t> slots_;
  std::map<std::string, size_t> view_plans_;
  std::map<std::string, size_t> request_index_;
  std::set<std::string> done_;
};

// Per-thread buffers reused between requests, so steady-state reads
// allocate little beyond the response itself.
struct Scratch {
  std::vector<std::string> keys;
  std::vector<size_t> key_rows;
  std::vector<data::Value> key_values;
  std::vector<std::optional<OnlineRecord>> records;
  std::vector<data::Value> inputs;
  std::vector<data::Value> request_values;
  std::vector<data::Value> hidden;
  std::vector<char> found;  // per row: the view had a record
};

}  // namespace

OnlineReader::OnlineReader() = default;
OnlineReader::~OnlineReader() = default;

void OnlineReader::Clear() {
  std::unique_lock lock(mutex_);
  plans_.clear();
}

Result<std::shared_ptr<const OnlineReader::Plan>> OnlineReader::GetPlan(
    const std::shared_ptr<const Repository>& repository, const OnlineRequest& request,
    const ServiceVersionLookup& service_version) {
  std::string cache_key = repository->project();
  cache_key += '\x1f';
  cache_key += request.service;
  for (const std::string& feature : request.features) {
    cache_key += '\x1f';
    cache_key += feature;
  }
  {
    std::shared_lock lock(mutex_);
    auto it = plans_.find(cache_key);
    if (it != plans_.end() && it->second->repository == repository) return it->second;
  }

  if (request.service.empty() == request.features.empty()) {
    return InvalidArgument(request.service.empty() ? "give a feature service or a list of features"
                                                   : "give a feature service or a list of features, not both");
  }
  auto plan = std::make_shared<Plan>();
  plan->repository = repository;
  std::vector<ResolvedFeature> outputs;
  if (!request.service.empty()) {
    KILN_ASSIGN_OR_RETURN(outputs, repository->ResolveService(request.service));
    if (service_version) {
      KILN_ASSIGN_OR_RETURN(plan->service_version, service_version(request.service));
    }
  } else {
    KILN_ASSIGN_OR_RETURN(outputs, repository->ResolveFeatures(request.features));
  }
  PlanBuilder builder(*repository, *plan);
  KILN_RETURN_IF_ERROR(builder.Build(outputs));

  std::unique_lock lock(mutex_);
  // Request shapes come from clients: bound the cache (plans are cheap to rebuild).
  if (plans_.size() >= kMaxCachedPlans) plans_.clear();
  plans_[cache_key] = plan;
  return std::shared_ptr<const Plan>(plan);
}

Result<OnlineResponse> OnlineReader::Read(const std::shared_ptr<const Repository>& repository,
                                          const OnlineRequest& request, OnlineStore& store,
                                          const ServiceVersionLookup& service_version, int64_t now_millis) {
  KILN_ASSIGN_OR_RETURN(std::shared_ptr<const Plan> plan, GetPlan(repository, request, service_version));
  thread_local Scratch scratch;
  const size_t num_rows = request.rows.size();
  const size_t num_outputs = plan->num_outputs;
  const int64_t now_micros = now_millis * 1000;

  OnlineResponse response;
  if (request.with_metadata) {
    response.feature_names = plan->names;
    response.feature_types = plan->types;
  }
  response.service_version = plan->service_version;
  response.values.resize(num_rows);
  response.statuses.resize(num_rows);
  response.event_micros.resize(num_rows);
  for (size_t row = 0; row < num_rows; ++row) {
    if (!plan->identity) response.values[row] = plan->null_row;  // identity: filled per record below
    response.statuses[row].assign(num_outputs, FeatureStatus::kNotFound);
    response.event_micros[row].assign(num_outputs, 0);
  }
  scratch.hidden.assign(num_rows * plan->num_hidden, data::Value());

  // Request fields, converted to their declared types.
  const size_t num_fields = plan->request_fields.size();
  scratch.request_values.resize(num_rows * num_fields);
  for (size_t row = 0; row < num_rows; ++row) {
    const auto& given = request.rows[row];
    for (size_t f = 0; f < num_fields; ++f) {
      const RequestField& field = plan->request_fields[f];
      auto it = given.find(field.name);
      if (it == given.end()) {
        return InvalidArgument(RowPrefix(row) + "request field '" + field.name + "' is required by " +
                               field.required_by);
      }
      data::Value& out = scratch.request_values[row * num_fields + f];
      const data::Value& value = it->second;
      if (value.null) {
        out = data::Value::Null(field.type);
      } else if (value.type == field.type) {
        out = value;
      } else if (value.type == data::Type::kString && field.type == data::Type::kTimestamp) {
        Result<int64_t> micros = data::ParseTimestamp(value.s, data::TimeZone::Utc());
        if (!micros.ok()) {
          return InvalidArgument(RowPrefix(row) + "request field '" + field.name + "': " + micros.status().message());
        }
        out = data::Value::Timestamp(*micros);
      } else if (!CoerceNumber(value, field.type, &out)) {
        return InvalidArgument(RowPrefix(row) + "request field '" + field.name + "' must be " + TypeText(field.type) +
                               ", got " + TypeText(value.type));
      }
    }
  }

  // One read per view for all rows.
  for (const ViewPlan& view : plan->views) {
    scratch.keys.resize(num_rows);
    scratch.key_rows.clear();
    scratch.key_values.resize(view.join_keys.size());
    size_t num_keys = 0;
    for (size_t row = 0; row < num_rows; ++row) {
      const auto& given = request.rows[row];
      bool null_key = false;
      for (size_t k = 0; k < view.join_keys.size(); ++k) {
        auto it = given.find(view.join_keys[k]);
        if (it == given.end()) {
          return InvalidArgument(RowPrefix(row) + "join key '" + view.join_keys[k] + "' is missing (feature view '" +
                                 view.view->def->name + "' needs it)");
        }
        const data::Value& value = it->second;
        data::Value& key = scratch.key_values[k];
        if (value.null) {
          null_key = true;
        } else if (value.type == view.key_types[k]) {
          key = value;
        } else if (!CoerceNumber(value, view.key_types[k], &key)) {
          return InvalidArgument(RowPrefix(row) + "join key '" + view.join_keys[k] + "' must be " +
                                 TypeText(view.key_types[k]) + ", got " + TypeText(value.type));
        }
      }
      if (null_key) continue;  // NOT_FOUND
      scratch.keys[num_keys++] = EncodeEntityKey(scratch.key_values);
      scratch.key_rows.push_back(row);
    }
    KILN_RETURN_IF_ERROR(store.ReadInto(view.key, view.types, std::span(scratch.keys.data(), num_keys),
                                        &scratch.records));
    if (plan->identity) {
      // Rows without a usable record get typed nulls; the others take the
      // record's values as they are.
      for (size_t row = 0, i = 0; row < num_rows; ++row) {
        std::optional<OnlineRecord>* record = nullptr;
        if (i < num_keys && scratch.key_rows[i] == row) record = &scratch.records[i++];
        if (record == nullptr || !*record) {
          response.values[row] = plan->null_row;
          continue;
        }
        OnlineRecord& found = **record;
        std::fill(response.event_micros[row].begin(), response.event_micros[row].end(), found.event_micros);
        if (view.ttl_micros > 0 && now_micros - found.event_micros > view.ttl_micros) {
          response.values[row] = plan->null_row;
          std::fill(response.statuses[row].begin(), response.statuses[row].end(), FeatureStatus::kOutsideMaxAge);
          continue;
        }
        // Copied (not moved) so the scratch record keeps its storage for the
        // next read.
        std::vector<data::Value>& values = response.values[row];
        values.assign(found.values.begin(), found.values.end());
        for (size_t f = 0; f < num_outputs; ++f) {
          response.statuses[row][f] = values[f].null ? FeatureStatus::kNullValue : FeatureStatus::kPresent;
        }
      }
      break;
    }
    scratch.found.assign(num_rows, 0);
    for (size_t i = 0; i < num_keys; ++i) {
      const std::optional<OnlineRecord>& record = scratch.records[i];
      if (!record) continue;
      const size_t row = scratch.key_rows[i];
      scratch.found[row] = 1;
      const bool expired = view.ttl_micros > 0 && now_micros - record->event_micros > view.ttl_micros;
      for (const ViewPlan::Target& target : view.targets) {
        const bool outside = expired && !target.aggregated;
        if (target.slot >= num_outputs) {
          if (!outside) {
            AssignValue(record->values[target.feature],
                        &scratch.hidden[row * plan->num_hidden + target.slot - num_outputs]);
          }
          continue;
        }
        response.event_micros[row][target.slot] = record->event_micros;
        if (outside) {
          response.statuses[row][target.slot] = FeatureStatus::kOutsideMaxAge;
          continue;
        }
        const data::Value& value = record->values[target.feature];
        AssignValue(value, &response.values[row][target.slot]);
        response.statuses[row][target.slot] = value.null ? FeatureStatus::kNullValue : FeatureStatus::kPresent;
      }
    }
    // Counts of entities without a record: 0, as over an empty window
    // offline (the status stays NOT_FOUND).
    for (const ViewPlan::Target& target : view.targets) {
      if (!target.count) continue;
      const data::Value zero = view.types[target.feature] == data::Type::kFloat64 ? data::Value::Float(0)
                                                                                   : data::Value::Int(0);
      for (size_t row = 0; row < num_rows; ++row) {
        if (scratch.found[row]) continue;
        if (target.slot < num_outputs) {
          response.values[row][target.slot] = zero;
        } else {
          scratch.hidden[row * plan->num_hidden + target.slot - num_outputs] = zero;
        }
      }
    }
  }

  // On-demand features, dependencies first, row by row.
  for (size_t row = 0; row < num_rows && !plan->on_demand.empty(); ++row) {
    auto slot_value = [&](size_t slot) -> data::Value& {
      return slot < num_outputs ? response.values[row][slot]
                                : scratch.hidden[row * plan->num_hidden + slot - num_outputs];
    };
    for (const OnDemandPlan& on_demand : plan->on_demand) {
      scratch.inputs.resize(on_demand.inputs.size());
      for (size_t i = 0; i < on_demand.inputs.size(); ++i) {
        const InputSource& source = on_demand.inputs[i];
        switch (source.kind) {
          case InputSource::Kind::kNone: scratch.inputs[i] = data::Value::Null(source.type); break;
          case InputSource::Kind::kRequest:
            scratch.inputs[i] = scratch.request_values[row * num_fields + source.index];
            break;
          case InputSource::Kind::kSlot: {
            const data::Value& value = slot_value(source.index);
            scratch.inputs[i] = value.type == source.type ? value : data::Value::Null(source.type);
            break;
          }
        }
      }
      data::Value value = on_demand.feature->expression->EvaluateRow(scratch.inputs);
      if (!value.null && value.type == data::Type::kInt64 && on_demand.feature->type == data::Type::kFloat64) {
        value = data::Value::Float(static_cast<double>(value.i));
      }
      if (on_demand.slot < num_outputs) {
        response.statuses[row][on_demand.slot] = value.null ? FeatureStatus::kNullValue : FeatureStatus::kPresent;
      }
      slot_value(on_demand.slot) = std::move(value);
    }
  }
  for (const auto& [from, to] : plan->copies) {
    for (size_t row = 0; row < num_rows; ++row) {
      response.values[row][to] = response.values[row][from];
      response.statuses[row][to] = response.statuses[row][from];
      response.event_micros[row][to] = response.event_micros[row][from];
    }
  }
  return response;
}

}  // namespace kiln::features
