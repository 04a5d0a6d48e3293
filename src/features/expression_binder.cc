#include "features/expression_binder.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <set>
#include <utility>

#include "features/expression_functions.h"
#include "features/expression_lexer.h"

namespace kiln::features {
namespace {

using data::Type;
using NodePtr = std::unique_ptr<ExpressionNode>;

char LowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string Lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = LowerAscii(c);
  return out;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> previous(b.size() + 1);
  std::vector<size_t> current(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t substitution = previous[j - 1] + (LowerAscii(a[i - 1]) != LowerAscii(b[j - 1]));
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitution});
    }
    std::swap(previous, current);
  }
  return previous[b.size()];
}

// The name a user sees for a node's type: `null` literals are untyped.
std::string TypeLabel(const ExpressionNode& node) {
  return node.null_literal ? "null" : std::string(data::TypeName(node.type));
}

// int64 and float64 meet at float64; a null literal takes the other type.
std::optional<Type> Unify(const ExpressionNode& a, const ExpressionNode& b) {
  if (a.null_literal) return b.type;
  if (b.null_literal) return a.type;
  if (a.type == b.type) return a.type;
  if (data::IsNumeric(a.type) && data::IsNumeric(b.type)) return Type::kFloat64;
  return std::nullopt;
}

// "int64", "int64 or float64", "int64, float64 or string".
std::string JoinAlternatives(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += (i + 1 == items.size()) ? " or " : ", ";
    out += items[i];
  }
  return out;
}

// Cost of passing `arg` as `param`: 0 exact, 1 int64 → float64, nullopt no.
std::optional<int> ConversionCost(const ExpressionNode& arg, Type param) {
  if (arg.null_literal || arg.type == param) return 0;
  if (arg.type == Type::kInt64 && param == Type::kFloat64) return 1;
  return std::nullopt;
}

// The first of the cheapest overloads that accepts the arguments.
const Overload* Resolve(const std::vector<Overload>& overloads, const std::vector<NodePtr>& args) {
  const Overload* best = nullptr;
  int best_cost = 0;
  for (const Overload& overload : overloads) {
    if (!overload.AcceptsArity(args.size())) continue;
    int cost = 0;
    bool fits = true;
    for (size_t i = 0; i < args.size() && fits; ++i) {
      const std::optional<int> step = ConversionCost(*args[i], overload.ParamType(i));
      fits = step.has_value();
      cost += step.value_or(0);
    }
    if (fits && (best == nullptr || cost < best_cost)) {
      best = &overload;
      best_cost = cost;
    }
  }
  return best;
}

std::string ArityMessage(std::string_view name, const std::vector<Overload>& overloads, size_t got) {
  std::set<size_t> fixed;
  std::optional<size_t> at_least;
  for (const Overload& overload : overloads) {
    if (overload.variadic) {
      at_least = std::min(at_least.value_or(overload.params.size()), overload.params.size());
    } else {
      fixed.insert(overload.params.size());
    }
  }
  std::string expected;
  if (at_least.has_value()) {
    expected = "at least " + std::to_string(*at_least) + " arguments";
  } else {
    std::vector<std::string> counts;
    for (size_t count : fixed) counts.push_back(std::to_string(count));
    expected =
        JoinAlternatives(counts) + (fixed.size() == 1 && *fixed.begin() == 1 ? " argument" : " arguments");
  }
  return "'" + std::string(name) + "' takes " + expected + ", got " + std::to_string(got);
}

class Binder {
 public:
  explicit Binder(const InputSchema& inputs) : inputs_(inputs), seen_(inputs.size(), false) {}

  Result<BoundExpression> Run(const SyntaxNode& syntax) {
    KILN_ASSIGN_OR_RETURN(NodePtr root, Bind(syntax));
    const Type root_type = root->null_literal ? Type::kFloat64 : root->type;
    root = Coerce(std::move(root), root_type);
    BoundExpression bound;
    bound.program.root = std::move(root);
    bound.program.inputs = inputs_;
    bound.program.scratch_slots = scratch_slots_;
    bound.referenced = std::move(referenced_);
    return bound;
  }

 private:
  Result<NodePtr> Bind(const SyntaxNode& syntax) {
    switch (syntax.kind) {
      case SyntaxNode::Kind::kLiteral:
        return BindLiteral(syntax);
      case SyntaxNode::Kind::kIdentifier:
        return BindIdentifier(syntax);
      case SyntaxNode::Kind::kUnary:
        return BindUnary(syntax);
      case SyntaxNode::Kind::kBinary:
        return BindBinary(syntax);
      case SyntaxNode::Kind::kCall:
        return BindCall(syntax);
      case SyntaxNode::Kind::kIsNull:
        return BindIsNull(syntax);
      case SyntaxNode::Kind::kIn:
        return BindIn(syntax);
      case SyntaxNode::Kind::kCase:
        return BindCase(syntax);
    }
    return Internal("unknown syntax node");
  }

  Result<std::vector<NodePtr>> BindAll(const std::vector<SyntaxNode>& syntax) {
    std::vector<NodePtr> nodes;
    for (const SyntaxNode& child : syntax) {
      KILN_ASSIGN_OR_RETURN(NodePtr node, Bind(child));
      nodes.push_back(std::move(node));
    }
    return nodes;
  }

  Result<NodePtr> BindLiteral(const SyntaxNode& syntax) {
    auto node = std::make_unique<ExpressionNode>();
    node->kind = NodeKind::kLiteral;
    node->position = syntax.position;
    node->literal = syntax.literal;
    node->type = syntax.literal.type;
    node->null_literal = syntax.null_literal;
    node->row = &LiteralRow;
    return node;
  }

  Result<NodePtr> BindIdentifier(const SyntaxNode& syntax) {
    for (size_t i = 0; i < inputs_.size(); ++i) {
      if (inputs_[i].name != syntax.text) continue;
      if (!seen_[i]) {
        seen_[i] = true;
        referenced_.push_back(inputs_[i].name);
      }
      auto node = std::make_unique<ExpressionNode>();
      node->kind = NodeKind::kInput;
      node->position = syntax.position;
      node->type = inputs_[i].type;
      node->input_index = static_cast<int>(i);
      node->row = &InputRow;
      return node;
    }
    std::vector<std::string> names;
    for (const data::Field& field : inputs_) names.push_back(field.name);
    std::string message = "unknown column '" + syntax.text + "'";
    const std::string closest = ClosestName(syntax.text, names);
    if (!closest.empty()) {
      message += " (did you mean '" + closest + "'?)";
    } else if (names.empty()) {
      message += " (no inputs are available)";
    } else {
      std::vector<std::string> shown(names.begin(), names.begin() + std::min<size_t>(names.size(), 10));
      std::string list;
      for (const std::string& name : shown) list += (list.empty() ? "" : ", ") + name;
      message += " (inputs: " + list + (names.size() > shown.size() ? ", …)" : ")");
    }
    return ErrorAtColumn(syntax.position, message);
  }

  Result<NodePtr> BindUnary(const SyntaxNode& syntax) {
    KILN_ASSIGN_OR_RETURN(std::vector<NodePtr> args, BindAll(syntax.children));
    const bool is_not = syntax.text == "not";
    const Overload* overload = Resolve(OperatorOverloads(is_not ? "not" : "negate"), args);
    if (overload == nullptr) {
      return ErrorAtColumn(syntax.position, is_not ? "'not' needs a bool, got " + TypeLabel(*args[0])
                                                   : "'-' needs a number, got " + TypeLabel(*args[0]));
    }
    return MakeCall(*overload, std::move(args), syntax.position);
  }

  Result<NodePtr> BindBinary(const SyntaxNode& syntax) {
    KILN_ASSIGN_OR_RETURN(std::vector<NodePtr> args, BindAll(syntax.children));
    std::string op = Lowercase(syntax.text);
    if (op == "==") op = "=";
    if (op == "<>") op = "!=";
    const Overload* overload = Resolve(OperatorOverloads(op), args);
    if (overload != nullptr) return MakeCall(*overload, std::move(args), syntax.position);
    const std::string types = TypeLabel(*args[0]) + " and " + TypeLabel(*args[1]);
    const std::string quoted = "'" + syntax.text + "'";
    if (op == "and" || op == "or")
      return ErrorAtColumn(syntax.position, "'" + op + "' needs bools, got " + types);
    if (op == "+" || op == "-" || op == "*" || op == "/" || op == "%") {
      return ErrorAtColumn(syntax.position, quoted + " needs numbers, got " + types);
    }
    if (args[0]->type == Type::kBool && args[1]->type == Type::kBool) {
      return ErrorAtColumn(syntax.position, quoted + " cannot order bools (only = and != compare them)");
    }
    return ErrorAtColumn(syntax.position, quoted + " cannot compare " + types);
  }

  Result<NodePtr> BindIsNull(const SyntaxNode& syntax) {
    KILN_ASSIGN_OR_RETURN(std::vector<NodePtr> args, BindAll(syntax.children));
    const Type operand_type = args[0]->null_literal ? Type::kFloat64 : args[0]->type;
    args[0] = Coerce(std::move(args[0]), operand_type);
    const Overload& overload = OperatorOverloads(syntax.negated ? "is not null" : "is null").front();
    return MakeNode(overload.functions, Type::kBool, std::move(args), syntax.position);
  }

  Result<NodePtr> BindIn(const SyntaxNode& syntax) {
    KILN_ASSIGN_OR_RETURN(std::vector<NodePtr> args, BindAll(syntax.children));
    ExpressionNode* common = args[0].get();
    for (size_t k = 1; k < args.size(); ++k) {
      if (!Unify(*common, *args[k]).has_value()) {
        return ErrorAtColumn(args[k]->position, "'in' cannot compare " + TypeLabel(*args[0]) + " with " +
                                                    TypeLabel(*args[k]) + " (item " + std::to_string(k) +
                                                    ")");
      }
      if (common->null_literal ||
          (common->type == Type::kInt64 && !args[k]->null_literal && args[k]->type == Type::kFloat64)) {
        common = args[k].get();
      }
    }
    const Type type = common->null_literal ? Type::kFloat64 : common->type;
    for (NodePtr& arg : args) arg = Coerce(std::move(arg), type);
    NodePtr in = MakeNode(InListFunctions(type), Type::kBool, std::move(args), syntax.position);
    if (!syntax.negated) return in;
    std::vector<NodePtr> operand;
    operand.push_back(std::move(in));
    return MakeCall(OperatorOverloads("not").front(), std::move(operand), syntax.position);
  }

  // Checks if(c, a, b) and case: conditions bool, results of one type.
  Status CheckConditional(std::string_view name, const std::vector<NodePtr*>& conditions,
                          const std::vector<NodePtr*>& results, Type* type) {
    for (NodePtr* condition : conditions) {
      if (!(*condition)->null_literal && (*condition)->type != Type::kBool) {
        return ErrorAtColumn(
            (*condition)->position,
            "'" + std::string(name) + "' condition must be bool, got " + TypeLabel(**condition));
      }
    }
    const ExpressionNode* common = results.front()->get();
    for (NodePtr* result : results) {
      const std::optional<Type> unified = Unify(*common, **result);
      if (!unified.has_value()) {
        return ErrorAtColumn((*result)->position, "'" + std::string(name) +
                                                      "' results must have one type, got " +
                                                      TypeLabel(*common) + " and " + TypeLabel(**result));
      }
      if (common->null_literal ||
          (common->type == Type::kInt64 && !(*result)->null_literal && (*result)->type == Type::kFloat64)) {
        common = result->get();
      }
    }
    *type = common->null_literal ? Type::kFloat64 : common->type;
    return Status::Ok();
  }

  const Overload& ConditionalFor(Type type) {
    for (const Overload& overload : ConditionalOverloads()) {
      if (overload.result == type) return overload;
    }
    return ConditionalOverloads().front();
  }

  Result<NodePtr> BindCase(const SyntaxNode& syntax) {
    KILN_ASSIGN_OR_RETURN(std::vector<NodePtr> args, BindAll(syntax.children));
    const size_t pairs = args.size() / 2;
    if (!syntax.has_else) {
      auto otherwise = std::make_unique<ExpressionNode>();
      otherwise->position = syntax.position;
      otherwise->null_literal = true;
      otherwise->row = &LiteralRow;
      args.push_back(std::move(otherwise));
    }
    std::vector<NodePtr*> conditions;
    std::vector<NodePtr*> results;
    for (size_t k = 0; k < pairs; ++k) {
      conditions.push_back(&args[2 * k]);
      results.push_back(&args[2 * k + 1]);
    }
    results.push_back(&args.back());
    Type type = Type::kFloat64;
    KILN_RETURN_IF_ERROR(CheckConditional("case", conditions, results, &type));
    NodePtr node = std::move(args.back());
    for (size_t k = pairs; k-- > 0;) {
      std::vector<NodePtr> operands;
      operands.push_back(std::move(args[2 * k]));
      operands.push_back(std::move(args[2 * k + 1]));
      operands.push_back(std::move(node));
      node = MakeCall(ConditionalFor(type), std::move(operands), syntax.position);
    }
    return node;
  }

  Result<NodePtr> BindCall(const SyntaxNode& syntax) {
    const std::string name = Lowercase(syntax.text);
    const FunctionRegistry& registry = BuiltinFunctions();
    const FunctionDefinition* function = registry.Find(name);
    if (function == nullptr) return UnknownFunction(syntax);
    KILN_ASSIGN_OR_RETURN(std::vector<NodePtr> args, BindAll(syntax.children));
    const std::vector<Overload>& overloads = function->overloads;
    if (name == "if" && args.size() == 3) {
      Type type = Type::kFloat64;
      KILN_RETURN_IF_ERROR(CheckConditional("if", {&args[0]}, {&args[1], &args[2]}, &type));
      return MakeCall(ConditionalFor(type), std::move(args), syntax.position);
    }
    if (const Overload* overload = Resolve(overloads, args)) {
      return MakeCall(*overload, std::move(args), syntax.position);
    }
    bool arity_fits = false;
    for (const Overload& overload : overloads) arity_fits = arity_fits || overload.AcceptsArity(args.size());
    if (!arity_fits) return ErrorAtColumn(syntax.position, ArityMessage(name, overloads, args.size()));
    // The first argument no overload of this arity accepts.
    for (size_t i = 0; i < args.size(); ++i) {
      std::vector<std::string> accepted;
      bool fits = false;
      for (const Overload& overload : overloads) {
        if (!overload.AcceptsArity(args.size())) continue;
        const Type param = overload.ParamType(i);
        fits = fits || ConversionCost(*args[i], param).has_value();
        const std::string label(data::TypeName(param));
        if (std::find(accepted.begin(), accepted.end(), label) == accepted.end()) accepted.push_back(label);
      }
      if (!fits) {
        return ErrorAtColumn(args[i]->position, "'" + name + "' needs " + JoinAlternatives(accepted) +
                                                    " as argument " + std::to_string(i + 1) + ", got " +
                                                    TypeLabel(*args[i]));
      }
    }
    for (size_t i = 1; i < args.size(); ++i) {
      for (size_t j = 0; j < i; ++j) {
        if (!Unify(*args[j], *args[i]).has_value()) {
          return ErrorAtColumn(args[i]->position, "'" + name + "' needs arguments of one type, got " +
                                                      TypeLabel(*args[j]) + " and " + TypeLabel(*args[i]));
        }
      }
    }
    return ErrorAtColumn(syntax.position,
                         "'" + name + "' cannot take these arguments; see " + function->info.signature);
  }

  Status UnknownFunction(const SyntaxNode& syntax) {
    for (const data::Field& field : inputs_) {
      if (field.name == syntax.text) {
        return ErrorAtColumn(syntax.position, "'" + syntax.text + "' is an input, not a function");
      }
    }
    std::vector<std::string> names;
    for (const FunctionDefinition& function : BuiltinFunctions().functions())
      names.push_back(function.info.name);
    std::string message = "unknown function '" + syntax.text + "'";
    const std::string closest = ClosestName(syntax.text, names);
    message += closest.empty() ? " (see `kiln features functions`)" : " (did you mean '" + closest + "'?)";
    return ErrorAtColumn(syntax.position, message);
  }

  // A typed null literal, the argument itself, or int64 → float64.
  NodePtr Coerce(NodePtr arg, Type to) {
    if (arg->null_literal) {
      arg->null_literal = false;
      arg->type = to;
      arg->literal = data::Value::Null(to);
      return arg;
    }
    if (arg->type == to) return arg;
    // Only int64 → float64 reaches here (ConversionCost).
    if (arg->kind == NodeKind::kLiteral) {
      arg->type = Type::kFloat64;
      arg->literal = data::Value::Float(static_cast<double>(arg->literal.i));
      return arg;
    }
    const int position = arg->position;
    std::vector<NodePtr> operand;
    operand.push_back(std::move(arg));
    return MakeNode(IntToFloatFunctions(), Type::kFloat64, std::move(operand), position);
  }

  NodePtr MakeCall(const Overload& overload, std::vector<NodePtr> args, int position) {
    for (size_t i = 0; i < args.size(); ++i) args[i] = Coerce(std::move(args[i]), overload.ParamType(i));
    return MakeNode(overload.functions, overload.result, std::move(args), position);
  }

  NodePtr MakeNode(drivers::NodeFunctions functions, Type type, std::vector<NodePtr> args, int position) {
    auto node = std::make_unique<ExpressionNode>();
    node->kind = NodeKind::kCall;
    node->type = type;
    node->position = position;
    node->row = functions.row;
    node->batch = functions.batch;
    node->children = std::move(args);
    if (type == Type::kString) node->scratch_slot = scratch_slots_++;
    return node;
  }

  const InputSchema& inputs_;
  std::vector<bool> seen_;
  std::vector<std::string> referenced_;
  int scratch_slots_ = 0;
};

}  // namespace

std::string ClosestName(std::string_view name, const std::vector<std::string>& candidates) {
  const size_t limit = name.size() < 4 ? 1 : (name.size() < 10 ? 2 : 3);
  std::string best;
  size_t best_distance = limit + 1;
  for (const std::string& candidate : candidates) {
    const size_t distance = EditDistance(name, candidate);
    if (distance < best_distance && distance < std::max(name.size(), candidate.size())) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

Result<BoundExpression> BindExpression(const SyntaxNode& syntax, const InputSchema& inputs) {
  return Binder(inputs).Run(syntax);
}

}  // namespace kiln::features
