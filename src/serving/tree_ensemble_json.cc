// TreeEnsemble::FromXGBoostJson: reads XGBoost's JSON model (1.7 layout, and
// 2.0's iteration_indptr when present), refuses what the fast predictor does
// not implement, and flattens the trees into TreeEnsemble's node array.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/json.h"
#include "serving/tree_ensemble.h"

namespace kiln::serving {
namespace {

using Node = TreeEnsemble::Node;
constexpr std::string_view kPrefix = "XGBoost model JSON: ";

Status Malformed(const std::string& message) { return InvalidArgument(std::string(kPrefix) + message); }
Status Unsupported(const std::string& message) { return FailedPrecondition(message); }

// Builds nlohmann's DOM, but reads every number written with a fraction or
// an exponent as the float nearest to its decimal text. XGBoost writes its
// float32 thresholds and leaf values in the shortest form that reads back to
// the same float; rounding the text straight to float (instead of to double,
// then to float) recovers exactly the float XGBoost holds.
class ExactFloatParser : public nlohmann::detail::json_sax_dom_parser<Json> {
 public:
  using json_sax_dom_parser::json_sax_dom_parser;

  bool number_float(Json::number_float_t value, const std::string& text) {
    float exact = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), exact);
    if (error == std::errc() && end == text.data() + text.size()) value = exact;
    return json_sax_dom_parser::number_float(value, text);
  }
};

// XGBoost writes non-finite floats (the threshold of a categorical split)
// as the bare literals NaN, Infinity and -Infinity, which are not JSON. The
// text with those literals quoted, or nullopt when it has none.
std::optional<std::string> QuoteNonFiniteLiterals(std::string_view text) {
  static constexpr std::string_view kLiterals[] = {"-Infinity", "Infinity", "NaN"};
  std::string out;
  bool changed = false, in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    out += c;
    if (in_string) {
      if (c == '\\' && i + 1 < text.size()) {
        out += text[++i];
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      continue;
    }
    for (std::string_view literal : kLiterals) {
      if (text.substr(i, literal.size()) == literal) {
        out.back() = '"';
        out.append(literal).push_back('"');
        i += literal.size() - 1;
        changed = true;
        break;
      }
    }
  }
  if (!changed) return std::nullopt;
  return out;
}

// Parses with ExactFloatParser; an error gives nlohmann's line and column.
Result<Json> ParseExact(std::string_view text) {
  Json root;
  try {
    ExactFloatParser parser(root, /*allow_exceptions=*/true);
    if (!Json::sax_parse(text, &parser)) return Malformed("not valid JSON");
  } catch (const Json::exception& error) {
    const std::string what = error.what();
    const size_t bracket = what.find("] ");
    return Malformed(bracket == std::string::npos ? what : what.substr(bracket + 2));
  }
  return root;
}

Result<Json> ParseModel(std::string_view text) {
  Result<Json> root = ParseExact(text);
  if (!root.ok()) {
    std::optional<std::string> quoted = QuoteNonFiniteLiterals(text);
    if (!quoted) return root.status();
    Result<Json> retried = ParseExact(*quoted);
    if (!retried.ok()) return root.status();
    root = std::move(retried);
  }
  if (!root->is_object()) return Malformed("the top level is not an object");
  return root;
}

// The member `name` of the object at `path`.
Result<const Json*> Field(const Json& object, const std::string& path, const std::string& name) {
  const std::string full = path.empty() ? name : path + "." + name;
  if (!object.is_object()) return Malformed("'" + path + "' is not an object");
  auto it = object.find(name);
  if (it == object.end()) return Malformed("missing field '" + full + "'");
  return &*it;
}

Result<const Json*> ArrayField(const Json& object, const std::string& path, const std::string& name) {
  KILN_ASSIGN_OR_RETURN(const Json* field, Field(object, path, name));
  if (!field->is_array()) return Malformed("field '" + path + "." + name + "' is not an array");
  return field;
}

Result<std::string> StringField(const Json& object, const std::string& path, const std::string& name) {
  KILN_ASSIGN_OR_RETURN(const Json* field, Field(object, path, name));
  if (!field->is_string()) return Malformed("field '" + path + "." + name + "' is not a string");
  return field->get<std::string>();
}

// XGBoost keeps model parameters as strings ("5E-1", "20"); numbers are
// accepted too.
Result<double> NumberParameter(const Json& object, const std::string& path, const std::string& name,
                               bool is_float) {
  KILN_ASSIGN_OR_RETURN(const Json* field, Field(object, path, name));
  if (field->is_number()) return field->get<double>();
  if (field->is_string()) {
    std::string_view text = field->get_ref<const std::string&>();
    if (text.size() > 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);  // 2.1
    const char* end = text.data() + text.size();
    if (is_float) {
      float value = 0;
      auto [stop, error] = std::from_chars(text.data(), end, value);
      if (error == std::errc() && stop == end) return static_cast<double>(value);
    } else {
      int64_t value = 0;
      auto [stop, error] = std::from_chars(text.data(), end, value);
      if (error == std::errc() && stop == end) return static_cast<double>(value);
    }
  }
  return Malformed("field '" + path + "." + name + "' is not a " + (is_float ? "number" : "integer") + ": " +
                   field->dump());
}

// A tree's per-node array of `count` numbers (for floats, also the strings
// "NaN", "Infinity" and "-Infinity" that ParseModel quoted).
template <typename T>
Status ReadNodeArray(const Json& tree, const std::string& path, const std::string& name, size_t count,
                     std::vector<T>* out) {
  KILN_ASSIGN_OR_RETURN(const Json* array, ArrayField(tree, path, name));
  if (array->size() != count) {
    return Malformed("field '" + path + "." + name + "' has " + std::to_string(array->size()) +
                     " entries for " + std::to_string(count) + " nodes");
  }
  out->clear();
  out->reserve(count);
  for (const Json& item : *array) {
    if (item.is_number()) {
      out->push_back(item.get<T>());
    } else if (item.is_boolean()) {
      out->push_back(static_cast<T>(item.get<bool>()));
    } else if (std::is_floating_point_v<T> && item.is_string() && item == "NaN") {
      out->push_back(std::numeric_limits<T>::quiet_NaN());
    } else if (std::is_floating_point_v<T> && item.is_string() && (item == "Infinity" || item == "-Infinity")) {
      out->push_back(item == "Infinity" ? std::numeric_limits<T>::infinity() : -std::numeric_limits<T>::infinity());
    } else {
      return Malformed("field '" + path + "." + name + "' holds a non-number: " + item.dump());
    }
  }
  return Status::Ok();
}

// How an objective maps base_score to the starting margin and the margin to
// the prediction, as XGBoost 1.7's ObjFunction::ProbToMargin / PredTransform.
enum class BaseScoreMapping { kIdentity, kLogit, kLog };

struct ObjectiveRule {
  std::string_view name;
  BaseScoreMapping mapping;
  int transform;  // 0 identity, 1 sigmoid, 2 exp
};

constexpr ObjectiveRule kObjectives[] = {
    {"binary:logistic", BaseScoreMapping::kLogit, 1},
    {"reg:logistic", BaseScoreMapping::kLogit, 1},
    {"binary:logitraw", BaseScoreMapping::kIdentity, 0},  // LogisticRaw::ProbToMargin is the identity
    {"reg:squarederror", BaseScoreMapping::kIdentity, 0},
    {"reg:linear", BaseScoreMapping::kIdentity, 0},
    {"reg:absoluteerror", BaseScoreMapping::kIdentity, 0},
    {"reg:pseudohubererror", BaseScoreMapping::kIdentity, 0},
    {"count:poisson", BaseScoreMapping::kLog, 2},
    {"reg:gamma", BaseScoreMapping::kLog, 2},
    {"reg:tweedie", BaseScoreMapping::kLog, 2},
};

const ObjectiveRule* FindObjective(const std::string& name) {
  for (const ObjectiveRule& rule : kObjectives) {
    if (rule.name == name) return &rule;
  }
  return nullptr;
}

// ProbToMargin, in float as XGBoost computes it.
Result<float> BaseMargin(const ObjectiveRule& rule, float base_score) {
  const std::string name(rule.name);
  switch (rule.mapping) {
    case BaseScoreMapping::kIdentity:
      return base_score;
    case BaseScoreMapping::kLogit:
      if (!(base_score > 0.0f && base_score < 1.0f)) {
        return Malformed("base_score must be in (0, 1) for " + name + ", got " + std::to_string(base_score));
      }
      return -std::log(1.0f / base_score - 1.0f);
    case BaseScoreMapping::kLog:
      if (!(base_score > 0.0f)) {
        return Malformed("base_score must be positive for " + name + ", got " + std::to_string(base_score));
      }
      return std::log(base_score);
  }
  return base_score;
}

// The first tree of every boosting round, then the number of trees: XGBoost
// 2.0 records them (iteration_indptr); 1.7 has num_parallel_tree trees a
// round.
Result<std::vector<int64_t>> RoundStarts(const Json& model, const std::string& path, size_t trees) {
  std::vector<int64_t> starts;
  if (model.contains("iteration_indptr")) {
    KILN_ASSIGN_OR_RETURN(const Json* indptr, ArrayField(model, path, "iteration_indptr"));
    for (const Json& item : *indptr) {
      if (!item.is_number_integer()) return Malformed("'" + path + ".iteration_indptr' holds " + item.dump());
      starts.push_back(item.get<int64_t>());
    }
  } else {
    int64_t per_round = 1;
    if (model.contains("gbtree_model_param")) {
      KILN_ASSIGN_OR_RETURN(double parallel, NumberParameter(model["gbtree_model_param"],
                                                             path + ".gbtree_model_param", "num_parallel_tree", false));
      per_round = static_cast<int64_t>(parallel);
    }
    if (per_round < 1) return Malformed("num_parallel_tree must be at least 1, got " + std::to_string(per_round));
    for (int64_t start = 0; start <= static_cast<int64_t>(trees); start += per_round) starts.push_back(start);
  }
  if (starts.empty() || starts.front() != 0 || starts.back() != static_cast<int64_t>(trees) ||
      !std::is_sorted(starts.begin(), starts.end())) {
    return Malformed("the rounds (iteration_indptr or num_parallel_tree) do not cover the model's " +
                     std::to_string(trees) + " trees");
  }
  return starts;
}

// Buffers reused from tree to tree.
struct TreeArrays {
  std::vector<int64_t> left, right, feature, split_type, default_left;
  std::vector<float> condition;
  std::vector<std::pair<int64_t, uint32_t>> queue;  // (XGBoost node id, index in the result)
  std::vector<bool> seen;
};

// Tree `index` (XGBoost's node arrays) as TreeEnsemble::Layout takes it:
// breadth-first from the root, so that both children of a split land side
// by side; deleted nodes, unreachable, are dropped. Checks every reachable
// node: children in range and reached once, feature in range.
Result<std::vector<Node>> ReadTree(const Json& tree, const std::string& path, size_t index, size_t num_features,
                                   TreeArrays* arrays) {
  KILN_ASSIGN_OR_RETURN(const Json* tree_param, Field(tree, path, "tree_param"));
  KILN_ASSIGN_OR_RETURN(double nodes, NumberParameter(*tree_param, path + ".tree_param", "num_nodes", false));
  if (nodes < 1 || nodes > 1e8) return Malformed(path + " has " + std::to_string(nodes) + " nodes");
  const size_t count = static_cast<size_t>(nodes);
  if (tree_param->contains("size_leaf_vector")) {
    KILN_ASSIGN_OR_RETURN(double leaf_vector,
                          NumberParameter(*tree_param, path + ".tree_param", "size_leaf_vector", false));
    if (leaf_vector > 1) return Unsupported("model has vector leaves; the fast predictor supports scalar leaves");
  }
  const Status categorical = Unsupported("model has categorical splits (tree " + std::to_string(index) +
                                         "); the fast predictor supports numerical splits only");
  if (tree.contains("categories_nodes") && !tree["categories_nodes"].empty()) return categorical;
  TreeArrays& a = *arrays;
  KILN_RETURN_IF_ERROR(ReadNodeArray(tree, path, "left_children", count, &a.left));
  KILN_RETURN_IF_ERROR(ReadNodeArray(tree, path, "right_children", count, &a.right));
  KILN_RETURN_IF_ERROR(ReadNodeArray(tree, path, "split_indices", count, &a.feature));
  KILN_RETURN_IF_ERROR(ReadNodeArray(tree, path, "split_conditions", count, &a.condition));
  KILN_RETURN_IF_ERROR(ReadNodeArray(tree, path, "default_left", count, &a.default_left));
  if (tree.contains("split_type")) {
    KILN_RETURN_IF_ERROR(ReadNodeArray(tree, path, "split_type", count, &a.split_type));
  } else {
    a.split_type.assign(count, 0);
  }

  std::vector<Node> result(1, Node{0, 0, 0});
  a.queue.assign(1, {0, 0});
  a.seen.assign(count, false);
  a.seen[0] = true;
  for (size_t next = 0; next < a.queue.size(); ++next) {
    const auto [id, at] = a.queue[next];
    const std::string where = path + " node " + std::to_string(id);
    const float condition = a.condition[id];
    if (a.left[id] == -1) {  // a leaf: split_conditions holds its value
      if (!std::isfinite(condition)) return Malformed(where + " has leaf value " + std::to_string(condition));
      result[at] = Node{condition, 0, 0};
      continue;
    }
    if (a.split_type[id] != 0) return categorical;
    for (int64_t child : {a.left[id], a.right[id]}) {
      if (child <= 0 || child >= static_cast<int64_t>(count)) {
        return Malformed(where + " has child " + std::to_string(child) + " outside [1, " + std::to_string(count) + ")");
      }
      if (a.seen[child]) return Malformed(where + " leads to node " + std::to_string(child) + " a second time");
      a.seen[child] = true;
    }
    if (a.feature[id] < 0 || a.feature[id] >= static_cast<int64_t>(num_features)) {
      return Malformed(where + " splits on feature " + std::to_string(a.feature[id]) + " but the model has " +
                       std::to_string(num_features) + " features");
    }
    if (std::isnan(condition)) return Malformed(where + " has a NaN split condition");
    const uint32_t children = static_cast<uint32_t>(result.size());
    result.push_back(Node{0, 0, 0});
    result.push_back(Node{0, 0, 0});
    const uint32_t default_bit = a.default_left[id] != 0 ? TreeEnsemble::kDefaultLeft : 0u;
    result[at] = Node{condition, children, static_cast<uint32_t>(a.feature[id]) | default_bit};
    a.queue.push_back({a.left[id], children});
    a.queue.push_back({a.right[id], children + 1});
  }
  return result;
}

}  // namespace

Result<TreeEnsemble> TreeEnsemble::FromXGBoostJson(std::string_view json, int rounds) {
  if (rounds < 0) return InvalidArgument("rounds must not be negative, got " + std::to_string(rounds));
  KILN_ASSIGN_OR_RETURN(Json root, ParseModel(json));
  KILN_ASSIGN_OR_RETURN(const Json* learner, Field(root, "", "learner"));

  // Booster and objective first: they decide whether the rest is readable.
  KILN_ASSIGN_OR_RETURN(const Json* booster, Field(*learner, "learner", "gradient_booster"));
  KILN_ASSIGN_OR_RETURN(std::string booster_name, StringField(*booster, "learner.gradient_booster", "name"));
  if (booster_name != "gbtree") {
    return Unsupported("model uses booster '" + booster_name + "'; the fast predictor supports gbtree");
  }
  KILN_ASSIGN_OR_RETURN(const Json* objective, Field(*learner, "learner", "objective"));
  KILN_ASSIGN_OR_RETURN(std::string objective_name, StringField(*objective, "learner.objective", "name"));
  const ObjectiveRule* rule = FindObjective(objective_name);
  if (rule == nullptr) {
    return Unsupported("objective '" + objective_name + "' is not supported by the fast predictor");
  }

  TreeEnsemble ensemble;
  ensemble.objective_ = objective_name;
  ensemble.transform_ = rule->transform == 1   ? Transform::kSigmoid
                        : rule->transform == 2 ? Transform::kExp
                                               : Transform::kIdentity;

  const std::string param_path = "learner.learner_model_param";
  KILN_ASSIGN_OR_RETURN(const Json* params, Field(*learner, "learner", "learner_model_param"));
  KILN_ASSIGN_OR_RETURN(double base_score, NumberParameter(*params, param_path, "base_score", true));
  KILN_ASSIGN_OR_RETURN(double num_feature, NumberParameter(*params, param_path, "num_feature", false));
  KILN_ASSIGN_OR_RETURN(double num_class, NumberParameter(*params, param_path, "num_class", false));
  double num_target = 1;
  if (params->contains("num_target")) {
    KILN_ASSIGN_OR_RETURN(num_target, NumberParameter(*params, param_path, "num_target", false));
  }
  if (num_feature < 0 || num_feature > 1e8) return Malformed("num_feature out of range: " + std::to_string(num_feature));
  if (num_class > 1 || num_target > 1) {
    return Unsupported("model has " + std::to_string(static_cast<int64_t>(std::max(num_class, num_target))) +
                       (num_class > 1 ? " classes" : " targets") + "; the fast predictor supports a single output");
  }
  ensemble.num_features_ = static_cast<size_t>(num_feature);
  KILN_ASSIGN_OR_RETURN(ensemble.base_margin_, BaseMargin(*rule, static_cast<float>(base_score)));

  if (learner->contains("feature_names") && (*learner)["feature_names"].is_array()) {
    for (const Json& name : (*learner)["feature_names"]) {
      if (!name.is_string()) return Malformed("learner.feature_names holds a non-string: " + name.dump());
      ensemble.feature_names_.push_back(name.get<std::string>());
    }
  }

  const std::string model_path = "learner.gradient_booster.model";
  KILN_ASSIGN_OR_RETURN(const Json* model, Field(*booster, "learner.gradient_booster", "model"));
  KILN_ASSIGN_OR_RETURN(const Json* trees, ArrayField(*model, model_path, "trees"));
  KILN_ASSIGN_OR_RETURN(const Json* tree_info, ArrayField(*model, model_path, "tree_info"));
  if (tree_info->size() != trees->size()) {
    return Malformed("'" + model_path + ".tree_info' has " + std::to_string(tree_info->size()) + " entries for " +
                     std::to_string(trees->size()) + " trees");
  }
  for (const Json& group : *tree_info) {
    if (!group.is_number_integer()) return Malformed("'" + model_path + ".tree_info' holds " + group.dump());
    if (group.get<int64_t>() != 0) {
      return Unsupported("model has trees for output group " + group.dump() +
                         "; the fast predictor supports a single output");
    }
  }
  KILN_ASSIGN_OR_RETURN(std::vector<int64_t> round_starts, RoundStarts(*model, model_path, trees->size()));
  const int available_rounds = static_cast<int>(round_starts.size()) - 1;
  if (rounds > available_rounds) {
    return InvalidArgument("rounds " + std::to_string(rounds) + " is more than the model's " +
                           std::to_string(available_rounds) + " boosting rounds");
  }
  const size_t tree_end = static_cast<size_t>(round_starts[rounds == 0 ? available_rounds : rounds]);

  std::vector<std::vector<Node>> parsed;
  TreeArrays arrays;
  for (size_t t = 0; t < tree_end; ++t) {
    const std::string path = model_path + ".trees[" + std::to_string(t) + "]";
    KILN_ASSIGN_OR_RETURN(std::vector<Node> tree, ReadTree((*trees)[t], path, t, ensemble.num_features_, &arrays));
    parsed.push_back(std::move(tree));
  }
  ensemble.num_trees_ = parsed.size();
  ensemble.Layout(parsed);
  return ensemble;
}

}  // namespace kiln::serving
