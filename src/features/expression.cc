#include "features/expression.h"

#include <array>
#include <cassert>
#include <utility>

#include "features/expression_binder.h"
#include "features/expression_node.h"
#include "features/expression_parser.h"

namespace kiln::features {
namespace {

data::Value ToValue(data::Type type, const RowValue& v) {
  if (!v.valid) return data::Value::Null(type);
  switch (type) {
    case data::Type::kBool:
      return data::Value::Bool(v.i != 0);
    case data::Type::kInt64:
      return data::Value::Int(v.i);
    case data::Type::kFloat64:
      return data::Value::Float(v.f);
    case data::Type::kString:
      return data::Value::String(std::string(v.s));
    case data::Type::kTimestamp:
      return data::Value::Timestamp(v.i);
  }
  return data::Value::Null(type);
}

// A literal as a batch column: numbers repeated per row (so numeric loops
// never need a stride), strings once and broadcast.
BatchColumn LiteralColumn(const ExpressionNode& node, size_t rows) {
  BatchColumn result;
  result.owned = data::Column(node.type);
  data::Column& column = result.owned;
  const data::Value& value = node.literal;
  const uint8_t valid = value.null ? 0 : 1;
  switch (node.type) {
    case data::Type::kBool:
    case data::Type::kInt64:
    case data::Type::kTimestamp:
      column.mutable_ints().assign(rows, valid ? value.i : 0);
      column.mutable_validity().assign(rows, valid);
      break;
    case data::Type::kFloat64:
      column.mutable_floats().assign(rows, valid ? value.f : 0.0);
      column.mutable_validity().assign(rows, valid);
      break;
    case data::Type::kString:
      column.mutable_strings().assign(1, valid ? value.s : std::string());
      column.mutable_validity().assign(1, valid);
      result.broadcast = true;
      break;
  }
  return result;
}

// The root's result as a column of its own with one entry per row.
data::Column Materialize(BatchColumn result, size_t rows) {
  if (result.broadcast) {
    const data::Column& one = result.column();
    data::Column column(one.type());
    column.mutable_strings().assign(rows, one.strings()[0]);
    column.mutable_validity().assign(rows, one.validity()[0]);
    return column;
  }
  if (result.borrowed != nullptr) return *result.borrowed;
  return std::move(result.owned);
}

}  // namespace

RowValue LiteralRow(const ExpressionNode& node, RowContext&) { return RowValueOf(node.literal); }

RowValue InputRow(const ExpressionNode& node, RowContext& context) {
  return RowValueOf(context.row[node.input_index]);
}

BatchColumn EvaluateBatchNode(const ExpressionNode& node, std::span<const data::Column* const> inputs,
                              size_t rows) {
  switch (node.kind) {
    case NodeKind::kInput: {
      BatchColumn result;
      result.borrowed = inputs[node.input_index];
      return result;
    }
    case NodeKind::kLiteral:
      return LiteralColumn(node, rows);
    case NodeKind::kCall:
      break;
  }
  std::vector<BatchColumn> args;
  args.reserve(node.children.size());
  for (const auto& child : node.children) args.push_back(EvaluateBatchNode(*child, inputs, rows));
  BatchColumn result;
  result.owned = data::Column(node.type);
  node.batch(node, args, rows, &result.owned);
  return result;
}

Result<Expression> Expression::Compile(std::string_view text, const InputSchema& inputs) {
  KILN_ASSIGN_OR_RETURN(SyntaxNode syntax, ParseExpression(text));
  KILN_ASSIGN_OR_RETURN(BoundExpression bound, BindExpression(syntax, inputs));
  Expression expression;
  expression.text_ = std::string(text);
  expression.type_ = bound.program.root->type;
  expression.referenced_ = std::move(bound.referenced);
  expression.program_ = std::make_shared<const ExpressionProgram>(std::move(bound.program));
  return expression;
}

Result<data::Column> Expression::EvaluateBatch(const data::Frame& frame) const {
  if (program_ == nullptr) return FailedPrecondition("expression was not compiled");
  const std::vector<data::Field>& schema = program_->inputs;
  std::vector<const data::Column*> inputs(schema.size(), nullptr);
  for (size_t i = 0; i < schema.size(); ++i) {
    bool referenced = false;
    for (const std::string& name : referenced_) referenced = referenced || name == schema[i].name;
    if (!referenced) continue;
    const data::Column* column = frame.Find(schema[i].name);
    if (column == nullptr) {
      return InvalidArgument("expression '" + text_ + "' reads '" + schema[i].name +
                             "', which the frame does not have");
    }
    if (column->type() != schema[i].type) {
      return InvalidArgument("expression '" + text_ + "' was compiled with '" + schema[i].name + "' as " +
                             std::string(data::TypeName(schema[i].type)) + ", but the frame's column is " +
                             std::string(data::TypeName(column->type())));
    }
    inputs[i] = column;
  }
  const size_t rows = frame.num_rows();
  return Materialize(EvaluateBatchNode(*program_->root, inputs, rows), rows);
}

data::Value Expression::EvaluateRow(std::span<const data::Value> row) const {
  if (program_ == nullptr) return data::Value::Null(type_);
  assert(row.size() == program_->inputs.size());
  RowContext context{row, nullptr};
  const int slots = program_->scratch_slots;
  if (slots == 0) return ToValue(type_, EvaluateRowNode(*program_->root, context));
  // String results live in scratch strings until copied into the Value.
  constexpr int kInlineSlots = 4;
  if (slots <= kInlineSlots) {
    std::array<std::string, kInlineSlots> scratch;
    context.scratch = scratch.data();
    return ToValue(type_, EvaluateRowNode(*program_->root, context));
  }
  std::vector<std::string> scratch(slots);
  context.scratch = scratch.data();
  return ToValue(type_, EvaluateRowNode(*program_->root, context));
}

}  // namespace kiln::features
