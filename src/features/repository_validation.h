#pragma once
// Private to repository.cc: the checks behind Repository::Build. A
// RepositoryValidator walks a RepositoryDef once, collects every problem as
// "<file>:<line>: <object>: <problem>", resolves names and types, and
// normalises the definition into its self-contained stored form (absolute
// paths, every source's columns, every feature's type). Single use; not
// thread-safe.

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "features/definitions.h"
#include "features/repository.h"

namespace kiln::features {

// " (did you mean 'x'?)" when a candidate is close, else " (known: a, b)"
// or " (none defined)".
std::string NameHint(std::string_view name, const std::vector<std::string>& candidates);
// [A-Za-z_][A-Za-z0-9_]*
bool IsValidName(std::string_view name);
// Names "a.b" in an expression's text, outside string literals, split at
// the first '.' (a cheap scan used to order on-demand views before they
// are compiled; the compiler has the final word).
std::vector<FeatureRef> DottedReferences(std::string_view expression);

class RepositoryValidator {
 public:
  // `def` is normalised in place and must outlive the resolved views, which
  // point into it.
  RepositoryValidator(RepositoryDef& def, const SchemaResolver& resolver) : def_(def), resolver_(resolver) {}

  // Fills `views` and `on_demand_views` (definition order); every error
  // together, one per line, as kInvalidArgument.
  Status Run(std::vector<ResolvedView>* views, std::vector<ResolvedOnDemandView>* on_demand_views);

 private:
  void Error(const Location& location, const std::string& context, const std::string& problem);

  void CheckNames();
  void CheckSource(SourceDef& source);
  void CheckPushSource(const SourceDef& source);
  void CheckEntity(const EntityDef& entity);
  ResolvedView CheckView(FeatureViewDef& view);
  void CheckViewFeature(const ResolvedView& view, FeatureDef& feature, const InputSchema& inputs,
                        ResolvedFeature* out);
  // Declared type against the inferred one, then expectations; returns the
  // feature's final type.
  data::Type CheckTypeAndExpectations(FeatureDef& feature, data::Type inferred, std::string_view origin);
  void CheckExpectations(const FeatureDef& feature, data::Type type);

  // On-demand views (repository_on_demand.cc).
  void CheckOnDemandViews(std::vector<ResolvedOnDemandView>* out);
  std::vector<size_t> OrderOnDemandViews(std::set<size_t>* in_cycles);
  // In a cycle, only the shape of its features is checked.
  ResolvedOnDemandView CheckOnDemandView(OnDemandViewDef& view,
                                         const std::vector<ResolvedOnDemandView>& resolved, bool in_cycle);
  void CheckService(const FeatureServiceDef& service);

  const SourceDef* FindSource(std::string_view name) const;
  const EntityDef* FindEntity(std::string_view name) const;
  const FeatureViewDef* FindView(std::string_view name) const;
  const OnDemandViewDef* FindOnDemandView(std::string_view name) const;

  RepositoryDef& def_;
  const SchemaResolver& resolver_;
  std::vector<std::string> errors_;
  std::map<std::string, data::Schema> source_schemas_;  // sources whose schema resolved
  // Feature views and features ("view.feature") that failed, so references
  // to them are not reported a second time.
  std::set<std::string> broken_views_;
  std::set<std::string> broken_features_;
  // Resolved feature-view features, for on-demand inputs.
  std::vector<data::Field> view_features_;
  // Request field → (type, on-demand view) of its first declaration.
  std::map<std::string, std::pair<data::Type, std::string>> request_fields_;
};

}  // namespace kiln::features
