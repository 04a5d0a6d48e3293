#pragma once
// Parser of the expression language (docs/features/expressions.md): text to
// an untyped syntax tree. Names are resolved and types checked afterwards by
// the binder (expression_binder.h). Stateless; thread-safe.

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "data/value.h"

namespace kiln::features {

struct SyntaxNode {
  enum class Kind {
    kLiteral,     // literal (a `null` has null_literal set)
    kIdentifier,  // text: the input name
    kUnary,       // text: "-" or "not"; children: operand
    kBinary,      // text: the operator as written ("<>", "==", "AND"); children: left, right
    kCall,        // text: the function name as written; children: arguments
    kIsNull,      // negated: `is not null`; children: operand
    kIn,          // negated: `not in`; children: operand, items…
    kCase,        // children: condition, result pairs, then the else result if has_else
  };
  Kind kind = Kind::kLiteral;
  int position = 0;  // 1-based column of the token that starts the node (operators: the operator)
  std::string text;
  data::Value literal;
  bool null_literal = false;
  bool negated = false;
  bool has_else = false;
  std::vector<SyntaxNode> children;
};

// Deepest nesting accepted (parentheses, operators, calls), so that a
// hostile expression cannot exhaust the stack.
inline constexpr int kMaxExpressionDepth = 256;

// Errors: "at column 9: expected ')' but found end of expression".
Result<SyntaxNode> ParseExpression(std::string_view text);

}  // namespace kiln::features
