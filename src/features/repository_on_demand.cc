// On-demand views: request fields, references to "view.feature", the order
// in which they can be compiled, and the cycles that make that impossible.
#include <algorithm>
#include <functional>

#include "features/repository_validation.h"

namespace kiln::features {
namespace {

std::string Quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

}  // namespace

void RepositoryValidator::CheckOnDemandViews(std::vector<ResolvedOnDemandView>* out) {
  for (const OnDemandViewDef& view : def_.on_demand_views) {
    const std::string context = "on-demand view " + Quoted(view.name);
    for (const auto& [field, type] : view.request) {
      if (!IsValidName(field)) {
        Error(view.location, context, "request field " + Quoted(field) + " is not a valid name");
        continue;
      }
      auto [it, inserted] = request_fields_.emplace(field, std::make_pair(type, view.name));
      if (!inserted && it->second.first != type) {
        Error(view.location, context,
              "request field " + Quoted(field) + " is " + std::string(data::TypeName(type)) + " here but " +
                  std::string(data::TypeName(it->second.first)) + " in on-demand view " +
                  Quoted(it->second.second));
      }
    }
  }

  std::set<size_t> in_cycles;
  std::vector<size_t> order = OrderOnDemandViews(&in_cycles);
  std::vector<ResolvedOnDemandView> resolved;  // in compile order
  std::map<size_t, size_t> position;           // definition index → index in `resolved`
  for (size_t index : order) {
    OnDemandViewDef& view = def_.on_demand_views[index];
    if (in_cycles.count(index) != 0) {
      broken_views_.insert(view.name);
      CheckOnDemandView(view, resolved, /*in_cycle=*/true);
      continue;
    }
    position[index] = resolved.size();
    resolved.push_back(CheckOnDemandView(view, resolved, /*in_cycle=*/false));
  }
  for (size_t index = 0; index < def_.on_demand_views.size(); ++index) {
    auto it = position.find(index);
    if (it != position.end()) {
      out->push_back(resolved[it->second]);
    } else {
      out->push_back(ResolvedOnDemandView{&def_.on_demand_views[index], {}, {}});
    }
  }
}

// Dependencies first (depth-first post-order over references between
// on-demand views); every cycle is reported once, at its first view.
std::vector<size_t> RepositoryValidator::OrderOnDemandViews(std::set<size_t>* in_cycles) {
  const std::vector<OnDemandViewDef>& views = def_.on_demand_views;
  std::map<std::string, size_t> index_of;
  for (size_t i = 0; i < views.size(); ++i) index_of.emplace(views[i].name, i);
  std::vector<std::vector<size_t>> edges(views.size());
  for (size_t i = 0; i < views.size(); ++i) {
    for (const FeatureDef& feature : views[i].features) {
      for (const FeatureRef& ref : DottedReferences(feature.expression)) {
        auto it = index_of.find(ref.view);
        if (it != index_of.end() &&
            std::find(edges[i].begin(), edges[i].end(), it->second) == edges[i].end()) {
          edges[i].push_back(it->second);
        }
      }
    }
  }

  enum class Mark { kNew, kOnPath, kDone };
  std::vector<Mark> marks(views.size(), Mark::kNew);
  std::vector<size_t> path;
  std::vector<size_t> order;
  std::function<void(size_t)> visit = [&](size_t i) {
    marks[i] = Mark::kOnPath;
    path.push_back(i);
    for (size_t next : edges[i]) {
      if (marks[next] == Mark::kOnPath) {
        auto begin = std::find(path.begin(), path.end(), next);
        std::string cycle;
        for (auto it = begin; it != path.end(); ++it) {
          cycle += Quoted(views[*it].name) + " → ";
          in_cycles->insert(*it);
        }
        cycle += Quoted(views[next].name);
        Error(views[next].location, "", "on-demand view " + cycle + " form a cycle");
      } else if (marks[next] == Mark::kNew) {
        visit(next);
      }
    }
    path.pop_back();
    marks[i] = Mark::kDone;
    order.push_back(i);
  };
  for (size_t i = 0; i < views.size(); ++i) {
    if (marks[i] == Mark::kNew) visit(i);
  }
  return order;
}

ResolvedOnDemandView RepositoryValidator::CheckOnDemandView(OnDemandViewDef& view,
                                                            const std::vector<ResolvedOnDemandView>& resolved,
                                                            bool in_cycle) {
  const std::string context = "on-demand view " + Quoted(view.name);
  const size_t errors_before = errors_.size();
  ResolvedOnDemandView out;
  out.def = &view;
  if (view.features.empty()) Error(view.location, context, "has no features");

  // Everything the view may read; then only what it does read.
  InputSchema candidates;
  for (const auto& [field, type] : view.request) candidates.push_back({field, type});
  candidates.insert(candidates.end(), view_features_.begin(), view_features_.end());
  for (const ResolvedOnDemandView& other : resolved) {
    for (const ResolvedFeature& feature : other.features)
      candidates.push_back({feature.FullName(), feature.type});
  }

  std::vector<FeatureDef*> compiled_ok;
  std::vector<std::string> referenced;
  for (FeatureDef& feature : view.features) {
    const std::string feature_context = "feature " + Quoted(feature.name);
    const std::string full_name = view.name + "." + feature.name;
    if (feature.aggregation) {
      Error(feature.location, feature_context,
            "on-demand features are expressions; 'aggregation' is not allowed here");
      broken_features_.insert(full_name);
      continue;
    }
    if (feature.expression.empty()) {
      Error(feature.location, feature_context, "needs an 'expression'");
      broken_features_.insert(full_name);
      continue;
    }
    if (in_cycle) continue;  // the cycle's error says why it is not compiled
    const std::vector<FeatureRef> refs = DottedReferences(feature.expression);
    const bool reads_broken = std::any_of(refs.begin(), refs.end(), [&](const FeatureRef& ref) {
      return broken_views_.count(ref.view) != 0 || broken_features_.count(ref.ToString()) != 0;
    });
    if (reads_broken) {  // the broken feature's own error says why
      broken_features_.insert(full_name);
      continue;
    }
    Result<Expression> compiled = Expression::Compile(feature.expression, candidates);
    if (!compiled.ok()) {
      Error(feature.location, feature_context, compiled.status().message());
      broken_features_.insert(full_name);
      continue;
    }
    for (const std::string& input : compiled->referenced_inputs()) {
      if (view.request.count(input) == 0 &&
          std::find(referenced.begin(), referenced.end(), input) == referenced.end()) {
        referenced.push_back(input);
      }
    }
    compiled_ok.push_back(&feature);
  }

  for (const auto& [field, type] : view.request) out.inputs.push_back({field, type});
  for (const std::string& name : referenced) {
    auto it = std::find_if(candidates.begin(), candidates.end(),
                           [&](const data::Field& f) { return f.name == name; });
    out.inputs.push_back(*it);
  }
  for (FeatureDef* feature : compiled_ok) {
    Result<Expression> compiled = Expression::Compile(feature->expression, out.inputs);
    if (!compiled.ok()) {  // cannot happen: the inputs it read are all there
      Error(feature->location, "feature " + Quoted(feature->name), compiled.status().message());
      continue;
    }
    ResolvedFeature resolved_feature;
    resolved_feature.view = view.name;
    resolved_feature.name = feature->name;
    resolved_feature.def = feature;
    const size_t before = errors_.size();
    resolved_feature.type = CheckTypeAndExpectations(*feature, compiled->type(), "its expression");
    resolved_feature.expression = std::move(*compiled);
    if (errors_.size() != before) {
      broken_features_.insert(resolved_feature.FullName());
      continue;
    }
    out.features.push_back(std::move(resolved_feature));
  }
  if (errors_.size() != errors_before || out.features.size() != view.features.size()) {
    broken_views_.insert(view.name);
  }
  return out;
}

}  // namespace kiln::features
