#include "data/column.h"

#include <algorithm>

namespace kiln::data {
namespace {

bool StoresInts(Type type) { return type == Type::kBool || type == Type::kInt64 || type == Type::kTimestamp; }

}  // namespace

size_t Column::NullCount() const {
  return static_cast<size_t>(std::count(validity_.begin(), validity_.end(), uint8_t{0}));
}

void Column::Reserve(size_t rows) {
  validity_.reserve(rows);
  if (StoresInts(type_)) {
    ints_.reserve(rows);
  } else if (type_ == Type::kFloat64) {
    floats_.reserve(rows);
  } else {
    strings_.reserve(rows);
  }
}

void Column::AppendNull() {
  validity_.push_back(0);
  if (StoresInts(type_)) {
    ints_.push_back(0);
  } else if (type_ == Type::kFloat64) {
    floats_.push_back(0.0);
  } else {
    strings_.emplace_back();
  }
}

void Column::AppendInt(int64_t value) {
  validity_.push_back(1);
  ints_.push_back(value);
}

void Column::AppendFloat(double value) {
  validity_.push_back(1);
  floats_.push_back(value);
}

void Column::AppendString(std::string_view value) {
  validity_.push_back(1);
  strings_.emplace_back(value);
}

void Column::Append(const Value& value) {
  if (value.null) {
    AppendNull();
    return;
  }
  switch (type_) {
    case Type::kBool:
    case Type::kInt64:
    case Type::kTimestamp:
      AppendInt(value.i);
      break;
    case Type::kFloat64:
      AppendFloat(value.f);
      break;
    case Type::kString:
      AppendString(value.s);
      break;
  }
}

Value Column::Get(size_t row) const {
  if (IsNull(row)) return Value::Null(type_);
  switch (type_) {
    case Type::kBool:
      return Value::Bool(ints_[row] != 0);
    case Type::kInt64:
      return Value::Int(ints_[row]);
    case Type::kTimestamp:
      return Value::Timestamp(ints_[row]);
    case Type::kFloat64:
      return Value::Float(floats_[row]);
    case Type::kString:
      return Value::String(strings_[row]);
  }
  return Value::Null(type_);
}

Column Column::Take(std::span<const int64_t> rows) const {
  Column out(type_);
  const size_t n = rows.size();
  out.validity_.resize(n);
  if (StoresInts(type_)) {
    out.ints_.resize(n);
    for (size_t k = 0; k < n; ++k) {
      const int64_t row = rows[k];
      if (row == kNoRow) continue;
      out.validity_[k] = validity_[row];
      out.ints_[k] = ints_[row];
    }
  } else if (type_ == Type::kFloat64) {
    out.floats_.resize(n);
    for (size_t k = 0; k < n; ++k) {
      const int64_t row = rows[k];
      if (row == kNoRow) continue;
      out.validity_[k] = validity_[row];
      out.floats_[k] = floats_[row];
    }
  } else {
    out.strings_.resize(n);
    for (size_t k = 0; k < n; ++k) {
      const int64_t row = rows[k];
      if (row == kNoRow) continue;
      out.validity_[k] = validity_[row];
      out.strings_[k] = strings_[row];
    }
  }
  return out;
}

}  // namespace kiln::data
