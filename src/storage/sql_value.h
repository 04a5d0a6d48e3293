#pragma once
// Values bound to and read from SQL statements, shared by every backend.

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace kiln::storage {

// NULL, integer, floating point or text. Backends map these to their own types.
using SqlValue = std::variant<std::monostate, int64_t, double, std::string>;

inline SqlValue SqlNull() { return std::monostate{}; }

// One result row. Accessors convert leniently between numeric types and text
// (PostgreSQL returns some aggregates as NUMERIC); NULL reads as 0 / "".
class Row {
 public:
  explicit Row(std::vector<SqlValue> values) : values_(std::move(values)) {}
  size_t size() const { return values_.size(); }
  bool IsNull(size_t i) const { return std::holds_alternative<std::monostate>(values_[i]); }
  int64_t Int(size_t i) const;
  double Double(size_t i) const;
  std::string String(size_t i) const;
  const SqlValue& Value(size_t i) const { return values_[i]; }

 private:
  std::vector<SqlValue> values_;
};

using Rows = std::vector<Row>;

}  // namespace kiln::storage
