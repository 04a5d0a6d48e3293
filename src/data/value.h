#pragma once
// Types and single values of Kiln's tables. A timestamp is int64 microseconds
// since the Unix epoch in UTC. A null keeps its type. Value is a plain value
// type; thread-compatible.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace kiln::data {

enum class Type : uint8_t { kBool, kInt64, kFloat64, kString, kTimestamp };

// "bool", "int64", "float64", "string", "timestamp".
std::string_view TypeName(Type type);
// Accepts the names above and the aliases int, integer, long, float, double,
// str, text, boolean, datetime. Error: "unknown type 'x' (expected one of …)".
Result<Type> ParseType(std::string_view name);
// True for int64 and float64.
bool IsNumeric(Type type);

struct Value {
  Type type = Type::kFloat64;
  bool null = true;
  int64_t i = 0;   // bool (0/1), int64, timestamp (µs UTC)
  double f = 0;    // float64
  std::string s;   // string

  static Value Null(Type type) { return Value{type, true, 0, 0, {}}; }
  static Value Bool(bool v) { return Value{Type::kBool, false, v ? 1 : 0, 0, {}}; }
  static Value Int(int64_t v) { return Value{Type::kInt64, false, v, 0, {}}; }
  static Value Float(double v) { return Value{Type::kFloat64, false, 0, v, {}}; }
  static Value String(std::string v) { return Value{Type::kString, false, 0, 0, std::move(v)}; }
  static Value Timestamp(int64_t micros) { return Value{Type::kTimestamp, false, micros, 0, {}}; }

  // Same type, same nullness and the same bits (NaN equals NaN of the same
  // payload; +0.0 differs from -0.0). The equality the property tests use.
  bool BitwiseEquals(const Value& other) const;
  // For messages and CSV: "null", "true", 3, 0.1 (shortest round trip),
  // ISO 8601 for timestamps.
  std::string ToString() const;
};

}  // namespace kiln::data
