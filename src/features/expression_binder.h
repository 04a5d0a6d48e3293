#pragma once
// Binder: resolves the names of a syntax tree against an InputSchema and the
// function registry, checks types, inserts int64 → float64 conversions and
// picks each node's kernel. Errors name the column and the problem.

#include <string>
#include <vector>

#include "common/status.h"
#include "features/expression.h"
#include "features/expression_node.h"
#include "features/expression_parser.h"

namespace kiln::features {

struct BoundExpression {
  ExpressionProgram program;
  std::vector<std::string> referenced;  // input names in first-use order
};

Result<BoundExpression> BindExpression(const SyntaxNode& syntax, const InputSchema& inputs);

// The candidate closest to `name` by edit distance (ASCII case ignored), or
// "" when none is close enough to be a plausible typo.
std::string ClosestName(std::string_view name, const std::vector<std::string>& candidates);

}  // namespace kiln::features
