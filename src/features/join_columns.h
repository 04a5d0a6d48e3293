#pragma once
// Column lookups shared by the point-in-time join, the aggregations and the
// key index, so their errors read alike: each names the column, its role
// and the frame ("entity timestamp 'ts' is not a column of the entity frame
// (columns: id, when)"). Stateless.

#include <string>
#include <string_view>

#include "common/status.h"
#include "data/frame.h"

namespace kiln::features {

// "a, b, c": the frame's column names, for error messages.
std::string ColumnList(const data::Frame& frame);

// The timestamp column `name` of `frame`. `role` ("event timestamp") and
// `label` ("feature frame") name it in errors: empty name, missing column,
// or a column that is not of type timestamp.
Result<const data::Column*> TimestampColumn(const data::Frame& frame, const std::string& name,
                                            std::string_view role, std::string_view label);

}  // namespace kiln::features
