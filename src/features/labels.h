#pragma once
// Derived columns of an entity frame, such as a training label computed from
// a raw column ("delayed = delay > 15"), evaluated by the shared expression
// engine over the frame's own columns. Stateless.

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "data/frame.h"

namespace kiln::features {

struct DerivedColumn {
  std::string name;
  std::string expression;  // empty: `name` is an existing column, kept as is
};

// "delay" → {delay, ""}; "delayed = delay > 15" → {delayed, "delay > 15"}.
// The split is at the first '=' that is not part of "==", "<=", ">=", "!=".
// Error: "label 'x y': expected a column name or NAME = EXPRESSION".
Result<DerivedColumn> ParseDerivedColumn(std::string_view text);

// Adds each derived column (expressions see the frame's columns, including
// columns added before them) and checks that plain names exist. Errors:
// "label 'delayed': at column 1: unknown column 'delai' (did you mean
// 'delay'?)", "label 'delay': entity rows have no column 'delay'".
Status AddDerivedColumns(data::Frame& frame, const std::vector<DerivedColumn>& columns);

}  // namespace kiln::features
