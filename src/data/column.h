#pragma once
// Column: one typed, nullable column of a Frame. bool, int64 and timestamp
// values live in ints(), float64 in floats(), strings in strings(); validity
// holds 1 for present, 0 for null (the payload of a null is 0 / 0.0 / "").
// Thread-compatible.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "data/value.h"

namespace kiln::data {

// Row index meaning "no row" in gathers (a point-in-time miss).
inline constexpr int64_t kNoRow = -1;

class Column {
 public:
  explicit Column(Type type = Type::kFloat64) : type_(type) {}

  Type type() const { return type_; }
  size_t size() const { return validity_.size(); }
  bool IsNull(size_t row) const { return validity_[row] == 0; }
  size_t NullCount() const;

  const std::vector<int64_t>& ints() const { return ints_; }
  const std::vector<double>& floats() const { return floats_; }
  const std::vector<std::string>& strings() const { return strings_; }
  const std::vector<uint8_t>& validity() const { return validity_; }
  std::vector<int64_t>& mutable_ints() { return ints_; }
  std::vector<double>& mutable_floats() { return floats_; }
  std::vector<std::string>& mutable_strings() { return strings_; }
  std::vector<uint8_t>& mutable_validity() { return validity_; }

  void Reserve(size_t rows);
  void AppendNull();
  // REQUIRES: the method matches type() (AppendInt for bool/int64/timestamp).
  void AppendInt(int64_t value);
  void AppendFloat(double value);
  void AppendString(std::string_view value);
  // REQUIRES: value.type == type() or value.null.
  void Append(const Value& value);

  Value Get(size_t row) const;
  // Rows picked by index; kNoRow gives a null. REQUIRES: indices < size().
  Column Take(std::span<const int64_t> rows) const;

 private:
  Type type_;
  std::vector<int64_t> ints_;
  std::vector<double> floats_;
  std::vector<std::string> strings_;
  std::vector<uint8_t> validity_;
};

}  // namespace kiln::data
