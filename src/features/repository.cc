#include "features/repository.h"

#include <algorithm>
#include <set>

#include "features/repository_validation.h"

namespace kiln::features {

Result<std::shared_ptr<const Repository>> Repository::Build(RepositoryDef def,
                                                            const SchemaResolver& resolver) {
  std::shared_ptr<Repository> repository(new Repository());
  repository->def_ = std::move(def);
  RepositoryValidator validator(repository->def_, resolver);
  KILN_RETURN_IF_ERROR(validator.Run(&repository->views_, &repository->on_demand_views_));
  return std::shared_ptr<const Repository>(std::move(repository));
}

const ResolvedView* Repository::FindView(std::string_view name) const {
  for (const ResolvedView& view : views_) {
    if (view.def->name == name) return &view;
  }
  return nullptr;
}

const ResolvedOnDemandView* Repository::FindOnDemandView(std::string_view name) const {
  for (const ResolvedOnDemandView& view : on_demand_views_) {
    if (view.def->name == name) return &view;
  }
  return nullptr;
}

const SourceDef* Repository::FindSource(std::string_view name) const {
  for (const SourceDef& source : def_.sources) {
    if (source.name == name) return &source;
  }
  return nullptr;
}

Result<std::vector<ResolvedFeature>> Repository::ResolveFeatures(const std::vector<std::string>& refs) const {
  std::vector<ResolvedFeature> out;
  for (const std::string& text : refs) {
    KILN_ASSIGN_OR_RETURN(FeatureRef ref, ParseFeatureRef(text));
    const std::vector<ResolvedFeature>* features = nullptr;
    std::string kind;
    if (const ResolvedView* view = FindView(ref.view)) {
      features = &view->features;
      kind = "feature view";
    } else if (const ResolvedOnDemandView* on_demand = FindOnDemandView(ref.view)) {
      features = &on_demand->features;
      kind = "on-demand view";
    } else {
      std::vector<std::string> names;
      for (const ResolvedView& view : views_) names.push_back(view.def->name);
      for (const ResolvedOnDemandView& view : on_demand_views_) names.push_back(view.def->name);
      return NotFound("unknown view '" + ref.view + "' in '" + text + "'" + NameHint(ref.view, names));
    }
    if (ref.feature == "*") {
      out.insert(out.end(), features->begin(), features->end());
      continue;
    }
    auto it = std::find_if(features->begin(), features->end(),
                           [&](const ResolvedFeature& feature) { return feature.name == ref.feature; });
    if (it == features->end()) {
      std::vector<std::string> names;
      for (const ResolvedFeature& feature : *features) names.push_back(feature.name);
      return NotFound(kind + " '" + ref.view + "' has no feature '" + ref.feature + "'" +
                      NameHint(ref.feature, names));
    }
    out.push_back(*it);
  }
  return out;
}

Result<std::vector<ResolvedFeature>> Repository::ResolveService(std::string_view service) const {
  std::vector<std::string> names;
  for (const FeatureServiceDef& def : def_.feature_services) {
    if (def.name != service) {
      names.push_back(def.name);
      continue;
    }
    std::vector<std::string> refs;
    for (const FeatureRef& ref : def.features) refs.push_back(ref.ToString());
    return ResolveFeatures(refs);
  }
  return NotFound("unknown feature service '" + std::string(service) + "' in project '" + def_.project + "'" +
                  NameHint(service, names));
}

std::map<std::string, data::Type> Repository::RequestFields(
    const std::vector<ResolvedFeature>& features) const {
  std::map<std::string, data::Type> fields;
  std::set<std::string> visited;
  // Adds the request fields one on-demand feature reads, directly or through
  // the on-demand features it references.
  auto add = [&](auto& self, const ResolvedFeature& feature) -> void {
    if (!visited.insert(feature.FullName()).second) return;
    const ResolvedOnDemandView* view = FindOnDemandView(feature.view);
    if (view == nullptr || !feature.expression) return;
    for (const std::string& input : feature.expression->referenced_inputs()) {
      auto request = view->def->request.find(input);
      if (request != view->def->request.end()) {
        fields.emplace(request->first, request->second);
        continue;
      }
      Result<FeatureRef> ref = ParseFeatureRef(input);
      if (!ref.ok()) continue;
      const ResolvedOnDemandView* other = FindOnDemandView(ref->view);
      if (other == nullptr) continue;
      for (const ResolvedFeature& dependency : other->features) {
        if (dependency.name == ref->feature) self(self, dependency);
      }
    }
  };
  for (const ResolvedFeature& feature : features) add(add, feature);
  return fields;
}

}  // namespace kiln::features
