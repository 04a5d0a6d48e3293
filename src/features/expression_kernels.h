#pragma once
// Scalar kernels of the expression engine: one inline definition per operator
// and function, called by both the row path and the batch loops
// (expression_drivers.h), which is why the two agree bit for bit.
// Every kernel is pure and total: it never traps and has no undefined
// behaviour for any input, including the zero payload of a null. A kernel
// returns false when its result is null (overflow, division by zero, a value
// out of range); computed float results that are NaN are the canonical quiet
// NaN, so the payload never depends on how the compiler ordered operands.
// Semantics: docs/features/expressions.md.

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>

#include "data/timestamp.h"

namespace kiln::features::kernels {

inline constexpr uint64_t kCanonicalNanBits = 0x7ff8000000000000ULL;
inline constexpr int64_t kMicrosPerMinute = 60 * data::kMicrosPerSecond;
inline constexpr int64_t kMicrosPerHour = 60 * kMicrosPerMinute;
inline constexpr int64_t kMicrosPerDay = 24 * kMicrosPerHour;

inline double Canonical(double x) { return x != x ? std::bit_cast<double>(kCanonicalNanBits) : x; }

// Division and remainder rounding toward negative infinity.
// REQUIRES: b != 0 and not (a == INT64_MIN and b == -1).
inline int64_t FloorDiv(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}
// REQUIRES: b > 0 or b < -1 (as FloorDiv).
inline int64_t FloorMod(int64_t a, int64_t b) {
  const int64_t m = a % b;
  return (m != 0 && ((m < 0) != (b < 0))) ? m + b : m;
}

// ---------------------------------------------------------------------------
// Arithmetic. int64 overflow gives null; '/' is float64 only; a zero divisor
// (either sign) gives null.

struct AddInt {
  static bool Apply(int64_t a, int64_t b, int64_t* r) { return !__builtin_add_overflow(a, b, r); }
};
struct SubtractInt {
  static bool Apply(int64_t a, int64_t b, int64_t* r) { return !__builtin_sub_overflow(a, b, r); }
};
struct MultiplyInt {
  static bool Apply(int64_t a, int64_t b, int64_t* r) { return !__builtin_mul_overflow(a, b, r); }
};
// Floored (the sign of the divisor), as Python and pandas.
struct ModuloInt {
  static bool Apply(int64_t a, int64_t b, int64_t* r) {
    if (b == 0 || b == -1) {  // -1: avoids INT64_MIN % -1, whose result is 0
      *r = 0;
      return b == -1;
    }
    *r = FloorMod(a, b);
    return true;
  }
};
struct NegateInt {
  static bool Apply(int64_t a, int64_t* r) { return !__builtin_sub_overflow(int64_t{0}, a, r); }
};

struct AddFloat {
  static bool Apply(double a, double b, double* r) {
    *r = Canonical(a + b);
    return true;
  }
};
struct SubtractFloat {
  static bool Apply(double a, double b, double* r) {
    *r = Canonical(a - b);
    return true;
  }
};
struct MultiplyFloat {
  static bool Apply(double a, double b, double* r) {
    *r = Canonical(a * b);
    return true;
  }
};
struct DivideFloat {
  static bool Apply(double a, double b, double* r) {
    *r = Canonical(a / b);  // a / 0 is ±inf or NaN, discarded below
    return b != 0;
  }
};
// Floored, as Python's float %: the result has the sign of the divisor.
struct ModuloFloat {
  static bool Apply(double a, double b, double* r) {
    if (b == 0) {
      *r = 0;
      return false;
    }
    double m = std::fmod(a, b);
    if (m != 0) {
      if ((m < 0) != (b < 0)) m += b;
    } else {
      m = std::copysign(0.0, b);
    }
    *r = Canonical(m);
    return true;
  }
};
struct NegateFloat {
  static bool Apply(double a, double* r) {
    *r = Canonical(-a);
    return true;
  }
};
struct IntToFloat {
  static bool Apply(int64_t a, double* r) {
    *r = static_cast<double>(a);
    return true;
  }
};

// ---------------------------------------------------------------------------
// Comparisons: IEEE for floats (NaN compares false, -0.0 = 0.0), bytewise
// for strings (std::string_view compares as unsigned char).

enum class CompareOp { kEqual, kNotEqual, kLess, kLessEqual, kGreater, kGreaterEqual };

template <CompareOp kOp, class T>
struct Compare {
  static bool Apply(T a, T b, int64_t* r) {
    if constexpr (kOp == CompareOp::kEqual) *r = a == b;
    if constexpr (kOp == CompareOp::kNotEqual) *r = a != b;
    if constexpr (kOp == CompareOp::kLess) *r = a < b;
    if constexpr (kOp == CompareOp::kLessEqual) *r = a <= b;
    if constexpr (kOp == CompareOp::kGreater) *r = a > b;
    if constexpr (kOp == CompareOp::kGreaterEqual) *r = a >= b;
    return true;
  }
};

// ---------------------------------------------------------------------------
// Three-valued logic. Arguments are (valid, value) pairs; the result's
// validity is returned.

inline bool And3(bool a_valid, int64_t a, bool b_valid, int64_t b, int64_t* r) {
  const bool a_false = a_valid && a == 0;
  const bool b_false = b_valid && b == 0;
  const bool known = a_false || b_false || (a_valid && b_valid);
  *r = (known && !a_false && !b_false) ? 1 : 0;
  return known;
}
inline bool Or3(bool a_valid, int64_t a, bool b_valid, int64_t b, int64_t* r) {
  const bool a_true = a_valid && a != 0;
  const bool b_true = b_valid && b != 0;
  const bool known = a_true || b_true || (a_valid && b_valid);
  *r = (a_true || b_true) ? 1 : 0;
  return known;
}
struct Not {
  static bool Apply(int64_t a, int64_t* r) {
    *r = a == 0;
    return true;
  }
};
// if / case: a null condition takes the else branch.
inline bool TakesThenBranch(bool condition_valid, int64_t condition) {
  return condition_valid && condition != 0;
}
// One step of `x in (…)`: acc or (x = item), in three-valued logic.
template <class T>
inline bool InStep(bool acc_valid, int64_t acc, bool x_valid, T x, bool item_valid, T item, int64_t* r) {
  int64_t equal = 0;
  Compare<CompareOp::kEqual, T>::Apply(x, item, &equal);
  return Or3(acc_valid, acc, x_valid && item_valid, equal, r);
}

// ---------------------------------------------------------------------------
// Math functions (float64 unless noted).

struct AbsInt {
  static bool Apply(int64_t a, int64_t* r) {
    *r = a < 0 ? -static_cast<uint64_t>(a) : a;  // computed unsigned: no UB
    return a != std::numeric_limits<int64_t>::min();
  }
};
template <double (*kFunction)(double)>
struct FloatFunction {
  static bool Apply(double a, double* r) {
    *r = Canonical(kFunction(a));
    return true;
  }
};
inline double AbsOf(double a) { return std::fabs(a); }
inline double SqrtOf(double a) { return std::sqrt(a); }
inline double LogOf(double a) { return std::log(a); }
inline double Log1pOf(double a) { return std::log1p(a); }
inline double ExpOf(double a) { return std::exp(a); }
inline double FloorOf(double a) { return std::floor(a); }
inline double CeilOf(double a) { return std::ceil(a); }
inline double RoundOf(double a) { return std::nearbyint(a); }  // half to even, as numpy
using AbsFloat = FloatFunction<AbsOf>;
using Sqrt = FloatFunction<SqrtOf>;
using Log = FloatFunction<LogOf>;
using Log1p = FloatFunction<Log1pOf>;
using Exp = FloatFunction<ExpOf>;
using Floor = FloatFunction<FloorOf>;
using Ceil = FloatFunction<CeilOf>;
using Round = FloatFunction<RoundOf>;

struct Pow {
  static bool Apply(double a, double b, double* r) {
    *r = Canonical(std::pow(a, b));
    return true;
  }
};
// numpy.round(x, digits): rint(x * 10^d) / 10^d, or rint(x / 10^-d) * 10^-d.
// Beyond ±308 digits the scale is not finite: x is kept (or becomes ±0).
struct RoundDigits {
  static bool Apply(double a, int64_t digits, double* r) {
    double result;
    if (digits > 308) {
      result = a;
    } else if (digits < -308) {
      result = std::isfinite(a) ? std::copysign(0.0, a) : a;
    } else if (digits >= 0) {
      const double scale = std::pow(10.0, static_cast<double>(digits));
      const double scaled = a * scale;
      result = std::isfinite(scaled) ? std::nearbyint(scaled) / scale : a;
    } else {
      const double scale = std::pow(10.0, static_cast<double>(-digits));
      result = std::nearbyint(a / scale) * scale;
    }
    *r = Canonical(result);
    return true;
  }
};
struct IsNan {
  static bool Apply(double a, int64_t* r) {
    *r = a != a;
    return true;
  }
};

// least / greatest. Ties keep the earlier argument; a NaN argument wins (the
// first NaN, payload kept), as numpy's minimum / maximum.
template <class T, bool kLeast>
struct Extreme {
  static bool Apply(T a, T b, T* r) {
    if constexpr (std::is_same_v<T, double>) {
      if (a != a || b != b) {
        *r = a != a ? a : b;
        return true;
      }
    }
    *r = (kLeast ? b < a : a < b) ? b : a;
    return true;
  }
};

// ---------------------------------------------------------------------------
// Strings. lower / upper map ASCII letters only; length and substr count
// UTF-8 code points (bytes that are not continuation bytes 10xxxxxx).

inline bool IsContinuationByte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

struct Lower {
  static bool Apply(std::string_view a, std::string* r) {
    r->assign(a);
    for (char& c : *r) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return true;
  }
};
struct Upper {
  static bool Apply(std::string_view a, std::string* r) {
    r->assign(a);
    for (char& c : *r) {
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    }
    return true;
  }
};
struct Length {
  static bool Apply(std::string_view a, int64_t* r) {
    int64_t count = 0;
    for (char c : a) count += !IsContinuationByte(c);
    *r = count;
    return true;
  }
};
// Byte offset of 1-based code point `position` (clamped to the string).
inline size_t CodePointOffset(std::string_view s, int64_t position) {
  if (position <= 1) return 0;
  int64_t seen = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (!IsContinuationByte(s[i]) && ++seen == position) return i;
  }
  return s.size();
}
// The code points at 1-based positions p with start <= p < start + length.
// A negative length gives null.
struct Substring {
  static bool Apply(std::string_view a, int64_t start, int64_t length, std::string* r) {
    r->clear();
    if (length < 0) return false;
    int64_t end = 0;
    if (__builtin_add_overflow(start, length, &end)) end = std::numeric_limits<int64_t>::max();
    if (end <= 1 || end <= start) return true;
    const size_t from = CodePointOffset(a, start);
    const size_t to = CodePointOffset(a, end);
    r->assign(a.substr(from, to - from));
    return true;
  }
};
struct SubstringToEnd {
  static bool Apply(std::string_view a, int64_t start, std::string* r) {
    r->assign(a.substr(CodePointOffset(a, start)));
    return true;
  }
};
inline void ConcatAppend(std::string_view piece, std::string* r) { r->append(piece); }

// ---------------------------------------------------------------------------
// Casts.

struct IntToString {
  static bool Apply(int64_t a, std::string* r) {
    char buffer[24];
    const auto result = std::to_chars(buffer, buffer + sizeof(buffer), a);
    r->assign(buffer, result.ptr);
    return true;
  }
};
// Shortest round trip: "0.1", "-0", "1e+300", "inf", "-inf", "nan".
struct FloatToString {
  static bool Apply(double a, std::string* r) {
    if (a != a) {
      r->assign("nan");
      return true;
    }
    char buffer[32];
    const auto result = std::to_chars(buffer, buffer + sizeof(buffer), a);
    r->assign(buffer, result.ptr);
    return true;
  }
};
struct BoolToString {
  static bool Apply(int64_t a, std::string* r) {
    r->assign(a != 0 ? "true" : "false");
    return true;
  }
};
struct TimestampToString {
  static bool Apply(int64_t a, std::string* r) {
    *r = data::FormatTimestamp(a);
    return true;
  }
};
struct StringToString {
  static bool Apply(std::string_view a, std::string* r) {
    r->assign(a);
    return true;
  }
};
// Text accepted by to_int / to_float: surrounding spaces and tabs and one
// leading '+' are ignored.
inline std::string_view NumberText(std::string_view a) {
  while (!a.empty() && (a.front() == ' ' || a.front() == '\t')) a.remove_prefix(1);
  while (!a.empty() && (a.back() == ' ' || a.back() == '\t')) a.remove_suffix(1);
  if (a.size() > 1 && a.front() == '+' && a[1] != '-') a.remove_prefix(1);
  return a;
}
struct StringToFloat {
  static bool Apply(std::string_view a, double* r) {
    a = NumberText(a);
    double value = 0;
    const auto result = std::from_chars(a.data(), a.data() + a.size(), value);
    const bool ok = !a.empty() && result.ec == std::errc() && result.ptr == a.data() + a.size();
    *r = ok ? Canonical(value) : 0.0;
    return ok;
  }
};
struct StringToInt {
  static bool Apply(std::string_view a, int64_t* r) {
    a = NumberText(a);
    int64_t value = 0;
    const auto result = std::from_chars(a.data(), a.data() + a.size(), value);
    const bool ok = !a.empty() && result.ec == std::errc() && result.ptr == a.data() + a.size();
    *r = ok ? value : 0;
    return ok;
  }
};
// Truncates toward zero; NaN, ±inf and values outside int64 give null.
struct FloatToInt {
  static bool Apply(double a, int64_t* r) {
    const bool ok = a >= -9223372036854775808.0 && a < 9223372036854775808.0;
    *r = ok ? static_cast<int64_t>(a) : 0;
    return ok;
  }
};
struct IntIdentity {  // bool → int64 (0/1), timestamp → int64 (µs)
  static bool Apply(int64_t a, int64_t* r) {
    *r = a;
    return true;
  }
};
struct FloatIdentity {
  static bool Apply(double a, double* r) {
    *r = a;
    return true;
  }
};

// ---------------------------------------------------------------------------
// Time, on timestamps in µs since the Unix epoch, UTC.

struct Hour {
  static bool Apply(int64_t t, int64_t* r) {
    *r = FloorMod(t, kMicrosPerDay) / kMicrosPerHour;
    return true;
  }
};
struct Minute {
  static bool Apply(int64_t t, int64_t* r) {
    *r = FloorMod(t, kMicrosPerHour) / kMicrosPerMinute;
    return true;
  }
};
// Monday = 0 … Sunday = 6, as pandas; 1970-01-01 was a Thursday.
struct DayOfWeek {
  static bool Apply(int64_t t, int64_t* r) {
    *r = FloorMod(FloorDiv(t, kMicrosPerDay) + 3, 7);
    return true;
  }
};
enum class DatePart { kYear, kMonth, kDayOfMonth, kDayOfYear };
template <DatePart kPart>
struct Date {
  static bool Apply(int64_t t, int64_t* r) {
    const int64_t days = FloorDiv(t, kMicrosPerDay);
    int64_t year = 0;
    unsigned month = 0;
    unsigned day = 0;
    data::CivilFromDays(days, &year, &month, &day);
    if constexpr (kPart == DatePart::kYear) *r = year;
    if constexpr (kPart == DatePart::kMonth) *r = month;
    if constexpr (kPart == DatePart::kDayOfMonth) *r = day;
    if constexpr (kPart == DatePart::kDayOfYear) *r = days - data::DaysFromCivil(year, 1, 1) + 1;
    return true;
  }
};
struct EpochSeconds {  // floored
  static bool Apply(int64_t t, int64_t* r) {
    *r = FloorDiv(t, data::kMicrosPerSecond);
    return true;
  }
};
// (b - a) in the unit, as float64; null when b - a overflows int64.
template <int64_t kMicrosPerUnit>
struct TimeBetween {
  static bool Apply(int64_t a, int64_t b, double* r) {
    int64_t difference = 0;
    const bool ok = !__builtin_sub_overflow(b, a, &difference);
    *r = ok ? static_cast<double>(difference) / static_cast<double>(kMicrosPerUnit) : 0.0;
    return ok;
  }
};
using HoursBetween = TimeBetween<kMicrosPerHour>;
using DaysBetween = TimeBetween<kMicrosPerDay>;

}  // namespace kiln::features::kernels
