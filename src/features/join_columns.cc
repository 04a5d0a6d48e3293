#include "features/join_columns.h"

namespace kiln::features {

std::string ColumnList(const data::Frame& frame) {
  std::string out;
  for (const std::string& name : frame.names()) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

Result<const data::Column*> TimestampColumn(const data::Frame& frame, const std::string& name,
                                            std::string_view role, std::string_view label) {
  if (name.empty()) {
    return InvalidArgument("no " + std::string(role) + " column given for the " +
                           std::string(label));
  }
  const data::Column* column = frame.Find(name);
  if (column == nullptr) {
    return InvalidArgument(std::string(role) + " '" + name + "' is not a column of the " +
                           std::string(label) + " (columns: " + ColumnList(frame) + ")");
  }
  if (column->type() != data::Type::kTimestamp) {
    return InvalidArgument(std::string(role) + " '" + name + "' of the " + std::string(label) +
                           " is " + std::string(data::TypeName(column->type())) +
                           ", not timestamp");
  }
  return column;
}

}  // namespace kiln::features
