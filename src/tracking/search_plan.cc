#include "tracking/search_plan.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/base64.h"
#include "tracking/search_filter.h"

namespace kiln::tracking {
namespace {

using storage::SqlValue;

constexpr std::string_view kPromptTagKey = "mlflow.prompt.is_prompt";
constexpr std::string_view kDatasetContextTagKey = "mlflow.data.context";

// One SELECT of experiments or registry entries: conditions and order keys,
// with the conditions' parameters in textual order.
struct QueryParts {
  std::string select;  // "SELECT ... FROM ..."
  std::vector<std::string> conditions;
  std::vector<SqlValue> condition_params;
  std::vector<std::string> order;
};

void Append(std::vector<SqlValue>& to, const std::vector<SqlValue>& values) {
  to.insert(to.end(), values.begin(), values.end());
}

// "a, b, c" (separator ", ") or "a AND b AND c".
std::string Joined(const std::vector<std::string>& items, std::string_view separator) {
  std::string text;
  for (const std::string& item : items) text += (text.empty() ? "" : std::string(separator)) + item;
  return text;
}

SearchQuery WithPage(std::string sql, std::vector<SqlValue> params, int64_t page_size, int64_t offset) {
  SearchQuery query{std::move(sql) + " LIMIT ? OFFSET ?", std::move(params), offset, page_size};
  query.params.emplace_back(page_size + 1);
  query.params.emplace_back(offset);
  return query;
}

SqlValue ValueFor(const FilterValue& value, bool as_double) {
  if (value.type == FilterValue::Type::kString) return value.text;
  if (as_double) return value.number;
  return *value.integer;  // validated: integer attributes only take integers
}

// "<column> <comparator> ?" (or the list / LIKE form) for one term.
std::string Compare(std::string_view column, const FilterTerm& term, bool as_double,
                    std::vector<SqlValue>& params) {
  std::string col(column);
  switch (term.comparator) {
    case Comparator::kIn:
    case Comparator::kNotIn: {
      std::string sql = col + (term.comparator == Comparator::kIn ? " IN (" : " NOT IN (");
      for (size_t i = 0; i < term.value.list.size(); ++i) {
        sql += i == 0 ? "?" : ", ?";
        params.emplace_back(term.value.list[i]);
      }
      return sql + ")";
    }
    case Comparator::kLike:
      params.push_back(ValueFor(term.value, as_double));
      return col + " LIKE ? ESCAPE '\\'";
    case Comparator::kILike:
      params.push_back(ValueFor(term.value, as_double));
      return "LOWER(" + col + ") LIKE LOWER(?) ESCAPE '\\'";
    case Comparator::kIsNull:
      return col + " IS NULL";
    case Comparator::kIsNotNull:
      return col + " IS NOT NULL";
    default:
      params.push_back(ValueFor(term.value, as_double));
      return col + " " + std::string(ComparatorText(term.comparator)) + " ?";
  }
}

// "EXISTS (SELECT 1 FROM <table> t WHERE <link> AND t.key = ? AND <value test>)"
std::string KeyValueExists(std::string_view table, std::string_view link, const FilterTerm& term,
                           std::vector<SqlValue>& params) {
  params.emplace_back(term.key);
  return "EXISTS (SELECT 1 FROM " + std::string(table) + " t WHERE " + std::string(link) +
         " AND t.key = ? AND " + Compare("t.value", term, false, params) + ")";
}

struct Limits {
  int64_t default_max;
  int64_t max;
  std::string_view too_small;  // message prefix for max_results < 1
  std::string_view too_large;  // message prefix for max_results > max
  bool large_says_value;       // "but got value N" rather than "but got N"
};

constexpr Limits kRunLimits{kRunSearchDefaultMaxResults, kRunSearchMaxResults,
                            "Invalid value for request parameter max_results. ",
                            "Invalid value for request parameter max_results. ", true};
constexpr Limits kExperimentLimits{kExperimentSearchDefaultMaxResults, kExperimentSearchMaxResults,
                                   "Invalid value for max_results. ", "Invalid value for max_results. ",
                                   false};
constexpr Limits kRegisteredModelLimits{kRegisteredModelSearchDefaultMaxResults,
                                        kRegisteredModelSearchMaxResults, "Invalid value for max_results. ",
                                        "Invalid value for request parameter max_results. ", true};
constexpr Limits kModelVersionLimits{kModelVersionSearchDefaultMaxResults, kModelVersionSearchMaxResults,
                                     "Invalid value for max_results. ",
                                     "Invalid value for request parameter max_results. ", true};

Result<int64_t> PageSize(int64_t max_results, const Limits& limits) {
  if (max_results == 0) return limits.default_max;
  if (max_results < 0) {
    return InvalidArgument(std::string(limits.too_small) + "It must be a positive integer, but got " +
                           std::to_string(max_results));
  }
  if (max_results > limits.max) {
    return InvalidArgument(std::string(limits.too_large) + "It must be at most " +
                           std::to_string(limits.max) + ", but got " +
                           (limits.large_says_value ? "value " : "") + std::to_string(max_results));
  }
  return max_results;
}

// Assembles the SQL and its parameters, adding LIMIT page_size+1 OFFSET offset.
SearchQuery Finish(QueryParts parts, int64_t page_size, int64_t offset) {
  std::string sql = parts.select;
  if (!parts.conditions.empty()) sql += " WHERE " + Joined(parts.conditions, " AND ");
  sql += " ORDER BY " + Joined(parts.order, ", ");
  return WithPage(std::move(sql), std::move(parts.condition_params), page_size, offset);
}

std::string Direction(bool ascending) { return ascending ? "" : " DESC"; }

std::string DuplicateOrderBy(const std::vector<std::string>& order_by) {
  std::string list;
  for (const std::string& clause : order_by) {
    list += (list.empty() ? "'" : ", '") + clause + "'";
  }
  return "`order_by` contains duplicate fields: [" + list + "]";
}

// ---------------------------------------------------------------------------
// Runs.

struct RunColumn {
  std::string_view attribute;
  std::string_view column;
  bool nullable;
};

constexpr RunColumn kRunColumns[] = {
    {"run_id", "runs.run_uuid", false},
    {"run_name", "runs.run_name", false},
    {"status", "runs.status", false},
    {"user_id", "runs.user_id", false},
    {"artifact_uri", "runs.artifact_uri", false},
    {"start_time", "runs.start_time", false},
    {"end_time", "runs.end_time", true},
};

const RunColumn& RunColumnFor(std::string_view attribute) {
  for (const RunColumn& column : kRunColumns) {
    if (column.attribute == attribute) return column;
  }
  return kRunColumns[0];  // unreachable: the parser only yields the names above
}

std::string KeyedTable(FilterKind kind) {
  return kind == FilterKind::kMetric ? "latest_metrics" : kind == FilterKind::kParam ? "params" : "tags";
}

// One metric, param or tag term, as an INNER JOIN on its table's
// (run_uuid, key) primary key (one row per run; the planner may start from
// the (key, value) index) and as an EXISTS probe (a lookup per run, for plans
// that read runs in a chosen order first). OFFSET 0 keeps PostgreSQL from
// turning the probe into a join that reads every row with the key.
struct KeyedTerm {
  std::string join;
  std::string probe;
  std::vector<SqlValue> params;
  bool equality;
};

// The matching runs. Plans that sort every match join the equality terms,
// which an index narrows best, and probe the rest (ranges and patterns); with
// no equality term they join every term and let the planner pick the driver.
struct RunFilter {
  std::vector<KeyedTerm> keyed;
  std::vector<std::string> conditions;  // experiments, view, attributes, datasets
  std::vector<SqlValue> condition_params;

  bool IsJoined(const KeyedTerm& term) const {
    bool any_equality =
        std::any_of(keyed.begin(), keyed.end(), [](const KeyedTerm& t) { return t.equality; });
    return term.equality || !any_equality;
  }
  // " JOIN ..." for the joined terms; appends their params.
  std::string Joins(std::vector<SqlValue>& params) const {
    std::string sql;
    for (const KeyedTerm& term : keyed) {
      if (!IsJoined(term)) continue;
      sql += term.join;
      Append(params, term.params);
    }
    return sql;
  }
  // " WHERE ...": the conditions, then a probe for every keyed term
  // (all_probes) or only for the terms Joins() left out; appends params.
  std::string Where(bool all_probes, std::vector<SqlValue>& params) const {
    std::vector<std::string> all = conditions;
    Append(params, condition_params);
    for (const KeyedTerm& term : keyed) {
      if (!all_probes && IsJoined(term)) continue;
      all.push_back(term.probe);
      Append(params, term.params);
    }
    return " WHERE " + Joined(all, " AND ");
  }
};

void AddRunFilter(const FilterTerm& term, int index, RunFilter& filter) {
  if (term.kind == FilterKind::kAttribute) {
    filter.conditions.push_back(Compare(RunColumnFor(term.key).column, term, false, filter.condition_params));
    return;
  }
  if (term.kind == FilterKind::kDataset) {
    // A run may have several inputs, so this one stays an EXISTS.
    std::string sql = "EXISTS (SELECT 1 FROM inputs i JOIN datasets d ON d.dataset_uuid = i.source_id";
    std::string where = " WHERE i.destination_id = runs.run_uuid AND i.destination_type = 'RUN' AND ";
    if (term.key == "context") {
      sql += " JOIN input_tags it ON it.input_uuid = i.input_uuid AND it.key = '" +
             std::string(kDatasetContextTagKey) + "'" + where +
             Compare("it.value", term, false, filter.condition_params);
    } else {
      sql += where + Compare("d." + term.key, term, false, filter.condition_params);
    }
    filter.conditions.push_back(sql + ")");
    return;
  }
  std::string alias = "f" + std::to_string(index);
  KeyedTerm keyed{"", "", {term.key}, term.comparator == Comparator::kEqual};
  std::string test = Compare(alias + ".value", term, term.kind == FilterKind::kMetric, keyed.params);
  if (term.kind == FilterKind::kMetric) {
    // NaN (stored as is_nan = 1) only satisfies !=, as in IEEE arithmetic.
    test = term.comparator == Comparator::kNotEqual ? "(" + alias + ".is_nan = 1 OR " + test + ")"
                                                    : alias + ".is_nan = 0 AND " + test;
  }
  std::string table = KeyedTable(term.kind);
  std::string match = alias + ".run_uuid = runs.run_uuid AND " + alias + ".key = ? AND " + test;
  keyed.join = " JOIN " + table + " " + alias + " ON " + match;
  keyed.probe = "EXISTS (SELECT 1 FROM " + table + " " + alias + " WHERE " + match + " LIMIT 1 OFFSET 0)";
  filter.keyed.push_back(std::move(keyed));
}

// Any order: joins every matching run to its order keys and sorts them all.
Result<SearchQuery> PlanRunsInGeneral(const RunFilter& filter, const std::vector<std::string>& order_by,
                                      int64_t page_size, int64_t offset) {
  std::vector<SqlValue> params;
  std::string joins = filter.Joins(params);
  std::vector<std::string> order;
  std::vector<std::pair<FilterKind, std::string>> seen;
  bool has_start_time = false;
  for (const std::string& clause : order_by) {
    KILN_ASSIGN_OR_RETURN(OrderTerm term, ParseOrderBy(clause, SearchEntity::kRuns));
    std::pair<FilterKind, std::string> field{term.kind, term.key};
    if (std::find(seen.begin(), seen.end(), field) != seen.end()) {
      return InvalidArgument(DuplicateOrderBy(order_by));
    }
    seen.push_back(field);
    std::string direction = Direction(term.ascending);
    if (term.kind == FilterKind::kAttribute) {
      const RunColumn& column = RunColumnFor(term.key);
      has_start_time = has_start_time || term.key == "start_time";
      std::string name(column.column);
      if (column.nullable) order.push_back("CASE WHEN " + name + " IS NULL THEN 1 ELSE 0 END");
      order.push_back(name + direction);
      continue;
    }
    // One LEFT JOIN per ordered key, served by the (run_uuid, key) primary key.
    std::string alias = "o" + std::to_string(seen.size());
    joins += " LEFT JOIN " + KeyedTable(term.kind) + " " + alias + " ON " + alias +
             ".run_uuid = runs.run_uuid AND " + alias + ".key = ?";
    params.emplace_back(term.key);
    // Numbers, then NaN, then runs without the key; in both directions.
    order.push_back(term.kind == FilterKind::kMetric
                        ? "CASE WHEN " + alias + ".run_uuid IS NULL THEN 2 WHEN " + alias +
                              ".is_nan = 1 THEN 1 ELSE 0 END"
                        : "CASE WHEN " + alias + ".value IS NULL THEN 1 ELSE 0 END");
    order.push_back(alias + ".value" + direction);
  }
  if (!has_start_time) order.push_back("runs.start_time DESC");
  order.push_back("runs.run_uuid");
  std::string sql = "SELECT runs.run_uuid FROM runs" + joins;
  sql += filter.Where(false, params);
  return WithPage(sql + " ORDER BY " + Joined(order, ", "), std::move(params), page_size, offset);
}

// The plans below avoid visiting every matching run (each visit is a random
// probe) when the page can be found among the first `budget` runs of the
// order. CTE `fast` holds the matching runs among those first ones (ties at
// the boundary included); if it has at least offset + page_size + 1 runs,
// every other match sorts after all of them and `fast` alone yields the page.
// Otherwise (a selective filter, a small experiment, a deep page) the second
// arm sorts every match through the joins, as the general plan does.
int64_t Budget(int64_t wanted) { return std::max<int64_t>(4 * wanted, 1000); }

std::string FastOrSlow(const std::string& fast_columns, const std::string& slow_select,
                       const std::string& slow_from) {
  return "SELECT run_uuid FROM (SELECT " + fast_columns +
         " FROM fast"
         " WHERE (SELECT COUNT(*) FROM fast) >= ? UNION ALL " +
         slow_select + " FROM (SELECT COUNT(*) AS n FROM fast) gate CROSS JOIN runs" + slow_from + ") ranked";
}

// A single order_by on a metric, param or tag K: `fast` starts from the top
// of K's (key, value) index (NaN excluded) and probes each run.
SearchQuery PlanKeyedRunOrder(const RunFilter& filter, const OrderTerm& order, int64_t page_size,
                              int64_t offset) {
  bool metric = order.kind == FilterKind::kMetric;
  std::string table = KeyedTable(order.kind);
  int64_t wanted = offset + page_size + 1;
  std::string direction = Direction(order.ascending);
  std::vector<SqlValue> params = {order.key, order.key, Budget(wanted) - 1, order.key};
  std::string sql = "WITH top_k AS MATERIALIZED (SELECT k.run_uuid, k.value FROM " + table +
                    " k WHERE k.key = ?" + (metric ? " AND k.is_nan = 0" : "") + " AND k.value " +
                    (order.ascending ? "<=" : ">=") + " COALESCE((SELECT b.value FROM " + table +
                    " b WHERE b.key = ? ORDER BY b.value" + direction + " LIMIT 1 OFFSET ?), (SELECT " +
                    (order.ascending ? "MAX" : "MIN") + "(e.value) FROM " + table +
                    " e WHERE e.key = ?))), fast AS (SELECT runs.run_uuid AS run_uuid, top_k.value AS"
                    " sort_value, runs.start_time AS start_time FROM top_k CROSS JOIN runs";
  std::string where = filter.Where(true, params);
  sql += where + " AND runs.run_uuid = top_k.run_uuid) ";
  params.emplace_back(wanted);
  std::string slow_joins = filter.Joins(params);
  params.emplace_back(order.key);
  std::string slow_where = filter.Where(false, params);
  params.emplace_back(wanted);
  std::string group = metric ? "CASE WHEN o.run_uuid IS NULL THEN 2 WHEN o.is_nan = 1 THEN 1 ELSE 0 END"
                             : "CASE WHEN o.value IS NULL THEN 1 ELSE 0 END";
  sql += FastOrSlow("run_uuid, 0 AS sort_group, sort_value, start_time",
                    "SELECT runs.run_uuid, " + group + ", o.value, runs.start_time",
                    slow_joins + " LEFT JOIN " + table + " o ON o.run_uuid = runs.run_uuid AND o.key = ?" +
                        slow_where + " AND gate.n < ?");
  sql += " ORDER BY sort_group, sort_value" + direction + ", start_time DESC, run_uuid";
  return WithPage(std::move(sql), std::move(params), page_size, offset);
}

// Ordered by start_time (the default, newest first) with metric, param or
// tag terms: `fast` reads the newest `budget` runs of the experiments through
// the (experiment_id, start_time) index and probes each.
SearchQuery PlanRecentRuns(const RunFilter& filter, const std::vector<int64_t>& experiment_ids,
                           bool ascending, int64_t page_size, int64_t offset) {
  int64_t wanted = offset + page_size + 1;
  std::string direction = Direction(ascending);
  std::vector<SqlValue> params;
  std::string sql =
      "WITH fast AS (SELECT runs.run_uuid AS run_uuid, runs.start_time AS start_time"
      " FROM runs" +
      filter.Where(true, params) + " AND runs.start_time " + (ascending ? "<=" : ">=") +
      " (SELECT b.start_time FROM runs b WHERE"
      " b.experiment_id IN (";
  for (size_t i = 0; i < experiment_ids.size(); ++i) {
    sql += i == 0 ? "?" : ", ?";
    params.emplace_back(experiment_ids[i]);
  }
  sql += ") ORDER BY b.start_time" + direction + " LIMIT 1 OFFSET ?)) ";
  params.emplace_back(Budget(wanted) - 1);
  params.emplace_back(wanted);
  std::string slow_joins = filter.Joins(params);
  std::string slow_where = filter.Where(false, params);
  params.emplace_back(wanted);
  sql += FastOrSlow("run_uuid, start_time", "SELECT runs.run_uuid, runs.start_time",
                    slow_joins + slow_where + " AND gate.n < ?");
  sql += " ORDER BY start_time" + direction + ", run_uuid";
  return WithPage(std::move(sql), std::move(params), page_size, offset);
}

}  // namespace

Result<ViewType> ParseViewType(std::string_view text) {
  std::string upper;
  for (char c : text) upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  if (upper.empty() || upper == "ACTIVE_ONLY" || upper == "1") return ViewType::kActiveOnly;
  if (upper == "DELETED_ONLY" || upper == "2") return ViewType::kDeletedOnly;
  if (upper == "ALL" || upper == "3") return ViewType::kAll;
  return InvalidArgument("Invalid view type '" + std::string(text) +
                         "': expected ACTIVE_ONLY, DELETED_ONLY or ALL");
}

Result<SearchQuery> PlanRunSearch(const std::vector<int64_t>& experiment_ids, std::string_view filter,
                                  ViewType view, int64_t max_results,
                                  const std::vector<std::string>& order_by, std::string_view page_token) {
  if (experiment_ids.empty()) {
    return InvalidArgument("searching runs needs at least one experiment id");
  }
  KILN_ASSIGN_OR_RETURN(int64_t page_size, PageSize(max_results, kRunLimits));
  KILN_ASSIGN_OR_RETURN(std::vector<FilterTerm> terms, ParseSearchFilter(filter, SearchEntity::kRuns));
  KILN_ASSIGN_OR_RETURN(int64_t offset, DecodePageToken(page_token));

  RunFilter matching;
  std::string experiments = "runs.experiment_id IN (";
  for (size_t i = 0; i < experiment_ids.size(); ++i) {
    experiments += i == 0 ? "?" : ", ?";
    matching.condition_params.emplace_back(experiment_ids[i]);
  }
  matching.conditions.push_back(experiments + ")");
  if (view == ViewType::kActiveOnly) matching.conditions.push_back("runs.lifecycle_stage = 'active'");
  if (view == ViewType::kDeletedOnly) matching.conditions.push_back("runs.lifecycle_stage = 'deleted'");
  for (size_t i = 0; i < terms.size(); ++i) AddRunFilter(terms[i], static_cast<int>(i + 1), matching);

  std::optional<OrderTerm> single;
  if (order_by.size() == 1) {
    KILN_ASSIGN_OR_RETURN(single, ParseOrderBy(order_by[0], SearchEntity::kRuns));
  }
  if (single && single->kind != FilterKind::kAttribute) {
    return PlanKeyedRunOrder(matching, *single, page_size, offset);
  }
  bool by_start_time = order_by.empty() || (single && single->key == "start_time");
  if (by_start_time && !matching.keyed.empty()) {
    return PlanRecentRuns(matching, experiment_ids, single && single->ascending, page_size, offset);
  }
  return PlanRunsInGeneral(matching, order_by, page_size, offset);
}

Result<SearchQuery> PlanExperimentSearch(std::string_view filter, ViewType view, int64_t max_results,
                                         const std::vector<std::string>& order_by,
                                         std::string_view page_token) {
  KILN_ASSIGN_OR_RETURN(int64_t page_size, PageSize(max_results, kExperimentLimits));
  KILN_ASSIGN_OR_RETURN(std::vector<FilterTerm> terms, ParseSearchFilter(filter, SearchEntity::kExperiments));
  KILN_ASSIGN_OR_RETURN(int64_t offset, DecodePageToken(page_token));

  QueryParts parts;
  parts.select = "SELECT experiments.experiment_id FROM experiments";
  if (view == ViewType::kActiveOnly) parts.conditions.push_back("experiments.lifecycle_stage = 'active'");
  if (view == ViewType::kDeletedOnly) {
    parts.conditions.push_back("experiments.lifecycle_stage = 'deleted'");
  }
  for (const FilterTerm& term : terms) {
    parts.conditions.push_back(term.kind == FilterKind::kTag
                                   ? KeyValueExists("experiment_tags",
                                                    "t.experiment_id = experiments.experiment_id", term,
                                                    parts.condition_params)
                                   : Compare("experiments." + term.key, term, false, parts.condition_params));
  }
  std::vector<std::string> clauses = order_by;
  if (clauses.empty()) clauses = {"creation_time DESC", "experiment_id ASC"};
  bool has_experiment_id = false;
  for (const std::string& clause : clauses) {
    KILN_ASSIGN_OR_RETURN(OrderTerm term, ParseOrderBy(clause, SearchEntity::kExperiments));
    has_experiment_id = has_experiment_id || term.key == "experiment_id";
    parts.order.push_back("experiments." + term.key + Direction(term.ascending));
  }
  if (!has_experiment_id) parts.order.push_back("experiments.experiment_id DESC");
  return Finish(std::move(parts), page_size, offset);
}

namespace {

// MLflow hides prompts (models tagged mlflow.prompt.is_prompt = 'true') unless
// the first filter term on that tag asks for them; otherwise terms on that
// tag are dropped and prompts excluded.
bool ForPrompts(std::vector<FilterTerm>& terms) {
  for (const FilterTerm& term : terms) {
    if (term.kind != FilterKind::kTag || term.key != kPromptTagKey) continue;
    std::string value = term.value.text;
    std::transform(value.begin(), value.end(), value.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return (term.comparator == Comparator::kEqual && value == "true") ||
           (term.comparator == Comparator::kNotEqual && value == "false");
  }
  return false;
}

void DropPromptTerms(std::vector<FilterTerm>& terms) {
  std::erase_if(terms, [](const FilterTerm& term) {
    return term.kind == FilterKind::kTag && term.key == kPromptTagKey;
  });
}

// Model-registry order_by keys → columns; `table` is "registered_models" or "model_versions".
std::string RegistryColumn(std::string_view table, std::string_view key) {
  std::string prefix = std::string(table) + ".";
  if (key == "last_updated_timestamp") return prefix + "last_updated_time";
  if (key == "creation_timestamp") return prefix + "creation_time";
  if (key == "version_number") return prefix + "version";
  if (key == "source_path") return prefix + "source";
  return prefix + std::string(key);
}

}  // namespace

Result<SearchQuery> PlanRegisteredModelSearch(std::string_view filter, int64_t max_results,
                                              const std::vector<std::string>& order_by,
                                              std::string_view page_token) {
  KILN_ASSIGN_OR_RETURN(int64_t page_size, PageSize(max_results, kRegisteredModelLimits));
  KILN_ASSIGN_OR_RETURN(std::vector<FilterTerm> terms,
                        ParseSearchFilter(filter, SearchEntity::kRegisteredModels));
  KILN_ASSIGN_OR_RETURN(int64_t offset, DecodePageToken(page_token));

  QueryParts parts;
  parts.select = "SELECT registered_models.name FROM registered_models";
  bool prompts = ForPrompts(terms);
  if (!prompts) DropPromptTerms(terms);
  for (const FilterTerm& term : terms) {
    parts.conditions.push_back(
        term.kind == FilterKind::kTag
            ? KeyValueExists("registered_model_tags", "t.name = registered_models.name", term,
                             parts.condition_params)
            : Compare(RegistryColumn("registered_models", term.key), term, false, parts.condition_params));
  }
  if (!prompts) {
    parts.conditions.push_back(
        "NOT EXISTS (SELECT 1 FROM registered_model_tags p WHERE p.name = registered_models.name"
        " AND p.key = '" +
        std::string(kPromptTagKey) + "' AND p.value = 'true')");
  }
  std::vector<std::string> seen;
  for (const std::string& clause : order_by) {
    KILN_ASSIGN_OR_RETURN(OrderTerm term, ParseOrderBy(clause, SearchEntity::kRegisteredModels));
    if (std::find(seen.begin(), seen.end(), term.key) != seen.end()) {
      return InvalidArgument(DuplicateOrderBy(order_by));
    }
    seen.push_back(term.key);
    parts.order.push_back(RegistryColumn("registered_models", term.key) + Direction(term.ascending));
  }
  if (std::find(seen.begin(), seen.end(), "name") == seen.end()) {
    parts.order.push_back("registered_models.name");
  }
  return Finish(std::move(parts), page_size, offset);
}

Result<SearchQuery> PlanModelVersionSearch(std::string_view filter, int64_t max_results,
                                           const std::vector<std::string>& order_by,
                                           std::string_view page_token) {
  KILN_ASSIGN_OR_RETURN(int64_t page_size, PageSize(max_results, kModelVersionLimits));
  KILN_ASSIGN_OR_RETURN(std::vector<FilterTerm> terms,
                        ParseSearchFilter(filter, SearchEntity::kModelVersions));
  KILN_ASSIGN_OR_RETURN(int64_t offset, DecodePageToken(page_token));

  QueryParts parts;
  parts.select = "SELECT model_versions.name, model_versions.version FROM model_versions";
  parts.conditions.push_back("model_versions.current_stage != 'Deleted_Internal'");
  bool prompts = ForPrompts(terms);
  if (!prompts) DropPromptTerms(terms);
  for (const FilterTerm& term : terms) {
    parts.conditions.push_back(
        term.kind == FilterKind::kTag
            ? KeyValueExists("model_version_tags",
                             "t.name = model_versions.name AND t.version = model_versions.version", term,
                             parts.condition_params)
            : Compare(RegistryColumn("model_versions", term.key), term, false, parts.condition_params));
  }
  if (!prompts) {
    parts.conditions.push_back(
        "NOT EXISTS (SELECT 1 FROM model_version_tags p WHERE p.name = model_versions.name"
        " AND p.key = '" +
        std::string(kPromptTagKey) + "' AND p.value = 'true')");
  }
  std::vector<std::string> clauses = order_by;
  if (clauses.empty()) clauses = {"last_updated_timestamp DESC", "name ASC", "version_number DESC"};
  std::vector<std::string> seen;
  for (const std::string& clause : clauses) {
    KILN_ASSIGN_OR_RETURN(OrderTerm term, ParseOrderBy(clause, SearchEntity::kModelVersions));
    if (std::find(seen.begin(), seen.end(), term.key) != seen.end()) {
      return InvalidArgument(DuplicateOrderBy(order_by));
    }
    seen.push_back(term.key);
    parts.order.push_back(RegistryColumn("model_versions", term.key) + Direction(term.ascending));
  }
  if (std::find(seen.begin(), seen.end(), "name") == seen.end()) {
    parts.order.push_back("model_versions.name");
  }
  if (std::find(seen.begin(), seen.end(), "version_number") == seen.end()) {
    parts.order.push_back("model_versions.version DESC");
  }
  return Finish(std::move(parts), page_size, offset);
}

std::string EncodePageToken(int64_t offset) {
  return Base64Encode("{\"offset\": " + std::to_string(offset) + "}");
}

Result<int64_t> DecodePageToken(std::string_view token) {
  if (token.empty()) return 0;
  Result<std::string> decoded = Base64Decode(token);
  if (!decoded.ok()) return InvalidArgument("Invalid page token, could not base64-decode");
  nlohmann::json parsed = nlohmann::json::parse(*decoded, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return InvalidArgument("Invalid page token, decoded value=" + *decoded);
  }
  auto it = parsed.find("offset");
  int64_t offset = -1;
  if (it != parsed.end() && it->is_number_integer()) {
    offset = it->get<int64_t>();
  } else if (it != parsed.end() && it->is_string()) {
    const std::string& text = it->get_ref<const std::string&>();
    auto result = std::from_chars(text.data(), text.data() + text.size(), offset);
    if (result.ec != std::errc() || result.ptr != text.data() + text.size()) offset = -1;
  }
  if (offset < 0) return InvalidArgument("Invalid page token, parsed value=" + parsed.dump());
  return offset;
}

}  // namespace kiln::tracking
