#pragma once
// Number spelling shared by Value::ToString and the CSV / JSON-lines
// writers and readers (internal to the data module). Stateless.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kiln::data {

// Shortest text that reads back to the same double; integral values keep a
// ".0" ("3.0", "1e+16") so that they read back as float64, not int64.
// NaN → "nan" ("-nan" with the sign bit set), infinities → "inf", "-inf".
void AppendDouble(double value, std::string* out);
std::string FormatDouble(double value);

// Whole-text parses; nullopt when `text` is not exactly a number of the
// kind. ParseInt64 accepts an optional sign and decimal digits (no spaces);
// ParseFloat64 also accepts exponents, "nan", "inf" and "infinity" in any
// case, each with an optional sign.
std::optional<int64_t> ParseInt64(std::string_view text);
std::optional<double> ParseFloat64(std::string_view text);
// "true" / "false" in any case.
std::optional<bool> ParseBool(std::string_view text);

}  // namespace kiln::data
