#include "features/labels.h"

#include <cctype>

#include "features/expression.h"

namespace kiln::features {
namespace {

std::string_view Trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return text;
}

bool IsIdentifier(std::string_view text) {
  if (text.empty() || std::isdigit(static_cast<unsigned char>(text.front()))) return false;
  for (char c : text) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.') return false;
  }
  return true;
}

}  // namespace

Result<DerivedColumn> ParseDerivedColumn(std::string_view text) {
  size_t split = std::string_view::npos;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '=') continue;
    bool part_of_operator = (i + 1 < text.size() && text[i + 1] == '=') ||
                            (i > 0 && (text[i - 1] == '<' || text[i - 1] == '>' ||
                                       text[i - 1] == '!' || text[i - 1] == '='));
    if (!part_of_operator) {
      split = i;
      break;
    }
  }
  DerivedColumn column;
  if (split == std::string_view::npos) {
    column.name = std::string(Trim(text));
  } else {
    column.name = std::string(Trim(text.substr(0, split)));
    column.expression = std::string(Trim(text.substr(split + 1)));
    if (column.expression.empty()) {
      return InvalidArgument("label '" + std::string(text) + "': the expression after '=' is empty");
    }
  }
  if (!IsIdentifier(column.name)) {
    return InvalidArgument("label '" + std::string(text) +
                           "': expected a column name or NAME = EXPRESSION");
  }
  return column;
}

Status AddDerivedColumns(data::Frame& frame, const std::vector<DerivedColumn>& columns) {
  for (const DerivedColumn& derived : columns) {
    if (derived.expression.empty()) {
      if (frame.Find(derived.name) == nullptr) {
        return InvalidArgument("label '" + derived.name + "': entity rows have no column '" +
                               derived.name + "'");
      }
      continue;
    }
    auto compiled = Expression::Compile(derived.expression, frame.schema());
    if (!compiled.ok()) {
      return InvalidArgument("label '" + derived.name + "': " + compiled.status().message());
    }
    KILN_ASSIGN_OR_RETURN(data::Column values, compiled->EvaluateBatch(frame));
    KILN_RETURN_IF_ERROR(frame.SetColumn(derived.name, std::move(values)));
  }
  return Status::Ok();
}

}  // namespace kiln::features
