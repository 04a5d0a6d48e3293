#include "data/frame.h"

#include <unordered_set>

namespace kiln::data {
namespace {

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

}  // namespace

Schema Frame::schema() const {
  Schema schema;
  schema.reserve(columns_.size());
  for (size_t i = 0; i < columns_.size(); ++i) {
    schema.push_back(Field{names_[i], columns_[i].type()});
  }
  return schema;
}

int Frame::IndexOf(std::string_view name) const {
  for (size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == name) return static_cast<int>(i);
  }
  return -1;
}

const Column* Frame::Find(std::string_view name) const {
  const int index = IndexOf(name);
  return index < 0 ? nullptr : &columns_[index];
}

Result<const Column*> Frame::Get(std::string_view name) const {
  const Column* column = Find(name);
  if (column == nullptr) {
    return NotFound("no column '" + std::string(name) + "' (columns: " + JoinNames(names_) + ")");
  }
  return column;
}

Status Frame::AddColumn(std::string name, Column column) {
  if (IndexOf(name) >= 0) {
    return AlreadyExists("duplicate column '" + name + "'");
  }
  if (!columns_.empty() && column.size() != num_rows_) {
    return InvalidArgument("column '" + name + "' has " + std::to_string(column.size()) +
                           " rows but the frame has " + std::to_string(num_rows_));
  }
  num_rows_ = column.size();
  names_.push_back(std::move(name));
  columns_.push_back(std::move(column));
  return Status::Ok();
}

Status Frame::SetColumn(std::string name, Column column) {
  const int index = IndexOf(name);
  if (index < 0) return AddColumn(std::move(name), std::move(column));
  if (columns_.size() > 1 && column.size() != num_rows_) {
    return InvalidArgument("column '" + name + "' has " + std::to_string(column.size()) +
                           " rows but the frame has " + std::to_string(num_rows_));
  }
  num_rows_ = column.size();
  columns_[index] = std::move(column);
  return Status::Ok();
}

Status Frame::RemoveColumn(std::string_view name) {
  const int index = IndexOf(name);
  if (index < 0) {
    return NotFound("no column '" + std::string(name) + "' (columns: " + JoinNames(names_) + ")");
  }
  names_.erase(names_.begin() + index);
  columns_.erase(columns_.begin() + index);
  if (columns_.empty()) num_rows_ = 0;
  return Status::Ok();
}

Frame Frame::Take(std::span<const int64_t> rows) const {
  Frame out;
  out.num_rows_ = rows.size();
  out.names_ = names_;
  out.columns_.reserve(columns_.size());
  for (const Column& column : columns_) out.columns_.push_back(column.Take(rows));
  return out;
}

Result<Frame> Frame::Select(const std::vector<std::string>& names) const {
  Frame out;
  out.num_rows_ = num_rows_;
  std::unordered_set<std::string_view> seen;
  for (const std::string& name : names) {
    if (!seen.insert(name).second) {
      return InvalidArgument("column '" + name + "' is selected twice");
    }
    KILN_ASSIGN_OR_RETURN(const Column* column, Get(name));
    out.names_.push_back(name);
    out.columns_.push_back(*column);
  }
  if (names.empty()) out.num_rows_ = 0;
  return out;
}

}  // namespace kiln::data
