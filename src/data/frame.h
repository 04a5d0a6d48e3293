#pragma once
// Frame: an in-memory table of named, equally long Columns. The unit every
// reader produces and every join, aggregation and writer consumes.
// Thread-compatible.

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "data/column.h"

namespace kiln::data {

struct Field {
  std::string name;
  Type type;
};
using Schema = std::vector<Field>;

class Frame {
 public:
  Frame() = default;

  size_t num_rows() const { return num_rows_; }
  size_t num_columns() const { return columns_.size(); }
  const std::vector<std::string>& names() const { return names_; }
  const Column& column(size_t index) const { return columns_[index]; }
  Column& mutable_column(size_t index) { return columns_[index]; }
  Schema schema() const;

  // -1 when absent.
  int IndexOf(std::string_view name) const;
  const Column* Find(std::string_view name) const;
  // Error "no column 'x' (columns: a, b, c)" when absent.
  Result<const Column*> Get(std::string_view name) const;

  // Fails on a duplicate name or a length different from num_rows() (any
  // length is fine for the first column).
  Status AddColumn(std::string name, Column column);
  // Replaces a column of the same name, or adds it.
  Status SetColumn(std::string name, Column column);
  Status RemoveColumn(std::string_view name);

  // Rows picked by index, kNoRow gives a row of nulls.
  Frame Take(std::span<const int64_t> rows) const;
  // Columns picked by name, in the given order.
  Result<Frame> Select(const std::vector<std::string>& names) const;

 private:
  size_t num_rows_ = 0;
  std::vector<std::string> names_;
  std::vector<Column> columns_;
};

}  // namespace kiln::data
