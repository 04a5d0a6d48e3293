#pragma once
// ExpressionNode: one node of a compiled, typed expression tree, and the
// values the two evaluation paths pass between nodes. Every node carries a
// row function and a batch function made from the same kernel
// (expression_drivers.h). Nodes are built by the binder and immutable after
// Expression::Compile.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "data/column.h"
#include "data/frame.h"
#include "data/value.h"

namespace kiln::features {

// A value in the row path. bool, int64 and timestamp use `i`, float64 `f`;
// `s` views a row value, a literal or a node's scratch string, all of which
// outlive the evaluation. An invalid (null) value has zero payload.
struct RowValue {
  bool valid = false;
  int64_t i = 0;
  double f = 0;
  std::string_view s;
};

// Per-call state of the row path. scratch[k] holds the string result of the
// node whose scratch_slot is k.
struct RowContext {
  std::span<const data::Value> row;
  std::string* scratch = nullptr;
};

// A node's result in the batch path: a column it owns or an input column of
// the frame it borrows. A broadcast column has one row standing for every
// row (only string literals are broadcast; numeric columns always have one
// entry per row).
struct BatchColumn {
  data::Column owned;
  const data::Column* borrowed = nullptr;
  bool broadcast = false;
  const data::Column& column() const { return borrowed != nullptr ? *borrowed : owned; }
};

struct ExpressionNode;
using RowFunction = RowValue (*)(const ExpressionNode& node, RowContext& context);
// Fills `out` (already of the node's type, empty) with `rows` values.
using BatchFunction = void (*)(const ExpressionNode& node, std::span<const BatchColumn> args, size_t rows,
                               data::Column* out);

enum class NodeKind { kLiteral, kInput, kCall };

struct ExpressionNode {
  NodeKind kind = NodeKind::kLiteral;
  data::Type type = data::Type::kFloat64;
  int position = 0;               // 1-based column in the text, for messages
  bool null_literal = false;      // `null`, typed by its context while binding
  data::Value literal;            // kLiteral
  int input_index = -1;           // kInput: index in the InputSchema
  int scratch_slot = -1;          // kCall of type string: its row-path string
  RowFunction row = nullptr;      // every kind
  BatchFunction batch = nullptr;  // kCall
  std::vector<std::unique_ptr<ExpressionNode>> children;
};

// A compiled expression: its tree, the schema it was compiled against and
// how many scratch strings one row evaluation needs.
struct ExpressionProgram {
  std::unique_ptr<ExpressionNode> root;
  std::vector<data::Field> inputs;
  int scratch_slots = 0;
};

inline RowValue RowValueOf(const data::Value& value) {
  RowValue v;
  if (value.null) return v;
  v.valid = true;
  v.i = value.i;
  v.f = value.f;
  v.s = value.s;
  return v;
}

// Leaves are read inline; only operators and functions cost a call.
inline RowValue EvaluateRowNode(const ExpressionNode& node, RowContext& context) {
  switch (node.kind) {
    case NodeKind::kInput:
      return RowValueOf(context.row[node.input_index]);
    case NodeKind::kLiteral:
      return RowValueOf(node.literal);
    case NodeKind::kCall:
      break;
  }
  return node.row(node, context);
}

// Evaluates `node` over `inputs` (one borrowed column per schema input; only
// referenced ones are non-null).
BatchColumn EvaluateBatchNode(const ExpressionNode& node, std::span<const data::Column* const> inputs,
                              size_t rows);

// Row functions of leaves.
RowValue LiteralRow(const ExpressionNode& node, RowContext& context);
RowValue InputRow(const ExpressionNode& node, RowContext& context);

}  // namespace kiln::features
