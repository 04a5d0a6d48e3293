#pragma once
// Expression: Kiln's one expression engine. The same compiled expression is
// evaluated vectorised over Frame columns (training sets, materialization)
// and over one row (online serving), and the two paths agree bit for bit,
// nulls and NaN included, because both call the same scalar kernels.
// Immutable after Compile; safe to evaluate from many threads.
// Language reference: docs/features/expressions.md.

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "data/frame.h"
#include "data/value.h"

namespace kiln::features {

struct ExpressionProgram;  // expression_node.h

// What an expression may reference: source columns, request fields, or
// "view.feature" names, each with its type.
using InputSchema = std::vector<data::Field>;

class Expression {
 public:
  // Parses and type-checks. Errors name the column and the problem:
  // "at column 7: unknown function 'hours' (did you mean 'hour'?)",
  // "at column 1: unknown column 'delai' (did you mean 'delay'?)",
  // "at column 3: '+' needs numbers, got string and int64".
  static Result<Expression> Compile(std::string_view text, const InputSchema& inputs);

  const std::string& text() const { return text_; }
  data::Type type() const { return type_; }
  // Inputs it reads (names as in the schema), in first-use order.
  const std::vector<std::string>& referenced_inputs() const { return referenced_; }

  // Returns a column of frame.num_rows() values. Error when the frame lacks
  // a referenced input or holds it with another type than compiled.
  Result<data::Column> EvaluateBatch(const data::Frame& frame) const;
  // row[i] is the value of inputs[i] of the schema given to Compile.
  // REQUIRES: row.size() == inputs.size() and types match (or null).
  data::Value EvaluateRow(std::span<const data::Value> row) const;

 private:
  std::string text_;
  data::Type type_ = data::Type::kFloat64;
  std::vector<std::string> referenced_;
  std::shared_ptr<const ExpressionProgram> program_;
};

// Every function an expression may call, for docs and
// `kiln features functions`.
struct FunctionInfo {
  std::string name;
  std::string signature;    // "hour(timestamp) -> int64"
  std::string description;  // one line
};
const std::vector<FunctionInfo>& ExpressionFunctions();

}  // namespace kiln::features
