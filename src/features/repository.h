#pragma once
// Repository: a validated RepositoryDef with every name resolved and every
// expression compiled — what training sets, materialization, push and
// online reads work from. Immutable once built; share it freely between
// threads (std::shared_ptr<const Repository>).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "data/frame.h"
#include "features/definitions.h"
#include "features/expression.h"

namespace kiln::features {

struct ResolvedFeature {
  std::string view;  // feature view or on-demand view
  std::string name;
  // The declared type when given, else the inferred one. An int64 result
  // declared float64 is widened: expression->type() stays int64 and
  // consumers convert.
  data::Type type = data::Type::kFloat64;
  const FeatureDef* def = nullptr;
  // Row features and on-demand features: compiled over the view's inputs
  // (source columns; for on-demand views request fields then
  // "view.feature" inputs, in OnDemandView::inputs order).
  std::optional<Expression> expression;
  std::string FullName() const { return view + "." + name; }
};

struct ResolvedView {
  const FeatureViewDef* def = nullptr;
  const SourceDef* source = nullptr;
  std::vector<std::string> join_keys;  // entities' join keys, in order, deduplicated
  data::Schema source_schema;          // every column of the source with its type
  std::vector<ResolvedFeature> features;  // definition order
  uint64_t fingerprint = 0;               // ViewFingerprint of names and types
};

struct ResolvedOnDemandView {
  const OnDemandViewDef* def = nullptr;
  InputSchema inputs;  // request fields first, then "view.feature" inputs
  std::vector<ResolvedFeature> features;
};

// Returns the columns and types of a source (reads a CSV header and samples
// rows for types, a SQLite table's declared types, …). Used for sources
// whose `columns` are not declared.
using SchemaResolver = std::function<Result<data::Schema>(const SourceDef&)>;

class Repository {
 public:
  // Validates: duplicate names, unknown entities/sources/views/features,
  // unknown columns, type errors, unknown functions, cycles between
  // on-demand views, bad windows/TTLs, expectations on wrong types. Every
  // error is "<file>:<line>: <what is wrong>" and all errors are reported
  // together, one per line. def() is the self-contained stored form:
  // relative paths made absolute against def.root, every source's resolved
  // columns in SourceDef::columns, every feature's type in
  // FeatureDef::declared_type. The resolver is called for every source
  // except push sources (their declared columns are their schema).
  static Result<std::shared_ptr<const Repository>> Build(RepositoryDef def,
                                                          const SchemaResolver& resolver);

  const RepositoryDef& def() const { return def_; }
  const std::string& project() const { return def_.project; }
  const std::vector<ResolvedView>& views() const { return views_; }
  const std::vector<ResolvedOnDemandView>& on_demand_views() const { return on_demand_views_; }
  const ResolvedView* FindView(std::string_view name) const;
  const ResolvedOnDemandView* FindOnDemandView(std::string_view name) const;
  const SourceDef* FindSource(std::string_view name) const;

  // "view.feature", "view:feature" or "view.*" → features, in order, with
  // "*" expanded. Error names the unknown view or feature.
  Result<std::vector<ResolvedFeature>> ResolveFeatures(const std::vector<std::string>& refs) const;
  Result<std::vector<ResolvedFeature>> ResolveService(std::string_view service) const;
  // Request fields the given features need (on-demand inputs).
  std::map<std::string, data::Type> RequestFields(const std::vector<ResolvedFeature>& features) const;

 private:
  Repository() = default;
  RepositoryDef def_;
  std::vector<ResolvedView> views_;
  std::vector<ResolvedOnDemandView> on_demand_views_;
};

}  // namespace kiln::features
