#include "features/expression_functions.h"

#include <cassert>
#include <utility>

namespace kiln::features {
namespace {

using data::Type;
namespace k = kernels;
namespace d = drivers;

// The same node functions under other parameter types of one physical type
// (bool, int64 and timestamp all read int64).
Overload As(std::vector<Type> params, Type result, d::NodeFunctions functions, bool variadic = false) {
  return Overload{std::move(params), variadic, result, functions};
}

template <bool kLeast>
std::vector<Overload> ExtremeOverloads() {
  return {
      As({Type::kInt64, Type::kInt64}, Type::kInt64,
         d::FunctionsOf<d::Fold<k::Extreme<int64_t, kLeast>, Type::kInt64>>(), true),
      As({Type::kFloat64, Type::kFloat64}, Type::kFloat64,
         d::FunctionsOf<d::Fold<k::Extreme<double, kLeast>, Type::kFloat64>>(), true),
      As({Type::kString, Type::kString}, Type::kString,
         d::FunctionsOf<d::Fold<k::Extreme<std::string_view, kLeast>, Type::kString>>(), true),
      As({Type::kTimestamp, Type::kTimestamp}, Type::kTimestamp,
         d::FunctionsOf<d::Fold<k::Extreme<int64_t, kLeast>, Type::kInt64>>(), true),
  };
}

std::vector<Overload> CoalesceOverloads() {
  const auto ints = d::FunctionsOf<d::Coalesce<Type::kInt64>>();
  return {
      As({Type::kInt64, Type::kInt64}, Type::kInt64, ints, true),
      As({Type::kFloat64, Type::kFloat64}, Type::kFloat64, d::FunctionsOf<d::Coalesce<Type::kFloat64>>(),
         true),
      As({Type::kString, Type::kString}, Type::kString, d::FunctionsOf<d::Coalesce<Type::kString>>(), true),
      As({Type::kTimestamp, Type::kTimestamp}, Type::kTimestamp, ints, true),
      As({Type::kBool, Type::kBool}, Type::kBool, ints, true),
  };
}

std::vector<Overload> IsNullOverloads() {
  const auto functions = d::FunctionsOf<d::NullTest<false>>();
  std::vector<Overload> overloads;
  for (Type type : {Type::kInt64, Type::kFloat64, Type::kString, Type::kTimestamp, Type::kBool}) {
    overloads.push_back(As({type}, Type::kBool, functions));
  }
  return overloads;
}

}  // namespace

void FunctionRegistry::Register(FunctionInfo info, std::vector<Overload> overloads) {
  assert(Find(info.name) == nullptr && !overloads.empty());
  infos_.push_back(info);
  functions_.push_back(FunctionDefinition{std::move(info), std::move(overloads)});
}

const FunctionDefinition* FunctionRegistry::Find(std::string_view name) const {
  for (const FunctionDefinition& function : functions_) {
    if (function.info.name == name) return &function;
  }
  return nullptr;
}

void RegisterMathFunctions(FunctionRegistry* registry) {
  registry->Register(
      {"abs", "abs(int64|float64) -> same type", "absolute value; abs of the smallest int64 is null"},
      {Simple<k::AbsInt, Type::kInt64, Type::kInt64>(),
       Simple<k::AbsFloat, Type::kFloat64, Type::kFloat64>()});
  registry->Register({"sqrt", "sqrt(float64) -> float64", "square root; NaN for negative numbers"},
                     {Simple<k::Sqrt, Type::kFloat64, Type::kFloat64>()});
  registry->Register({"log", "log(float64) -> float64", "natural logarithm; -inf at 0, NaN below"},
                     {Simple<k::Log, Type::kFloat64, Type::kFloat64>()});
  registry->Register({"log1p", "log1p(float64) -> float64", "log(1 + x), accurate for small x"},
                     {Simple<k::Log1p, Type::kFloat64, Type::kFloat64>()});
  registry->Register({"exp", "exp(float64) -> float64", "e to the power x"},
                     {Simple<k::Exp, Type::kFloat64, Type::kFloat64>()});
  registry->Register({"pow", "pow(float64, float64) -> float64", "x to the power y"},
                     {Simple<k::Pow, Type::kFloat64, Type::kFloat64, Type::kFloat64>()});
  registry->Register({"floor", "floor(float64) -> float64", "largest whole number <= x"},
                     {Simple<k::Floor, Type::kFloat64, Type::kFloat64>()});
  registry->Register({"ceil", "ceil(float64) -> float64", "smallest whole number >= x"},
                     {Simple<k::Ceil, Type::kFloat64, Type::kFloat64>()});
  registry->Register({"round", "round(float64[, int64 digits]) -> float64",
                      "rounds half to even (as numpy) to 0 or `digits` decimal places"},
                     {Simple<k::Round, Type::kFloat64, Type::kFloat64>(),
                      Simple<k::RoundDigits, Type::kFloat64, Type::kFloat64, Type::kInt64>()});
  registry->Register(
      {"least", "least(T, T, …) -> T", "smallest argument (number, string or timestamp); NaN wins"},
      ExtremeOverloads<true>());
  registry->Register(
      {"greatest", "greatest(T, T, …) -> T", "largest argument (number, string or timestamp); NaN wins"},
      ExtremeOverloads<false>());
  registry->Register({"is_nan", "is_nan(float64) -> bool", "true for NaN (a NaN is not null)"},
                     {Simple<k::IsNan, Type::kBool, Type::kFloat64>()});
}

void RegisterStringFunctions(FunctionRegistry* registry) {
  registry->Register({"lower", "lower(string) -> string", "ASCII letters to lower case"},
                     {Simple<k::Lower, Type::kString, Type::kString>()});
  registry->Register({"upper", "upper(string) -> string", "ASCII letters to upper case"},
                     {Simple<k::Upper, Type::kString, Type::kString>()});
  registry->Register({"length", "length(string) -> int64", "number of UTF-8 code points"},
                     {Simple<k::Length, Type::kInt64, Type::kString>()});
  registry->Register({"concat", "concat(string, string, …) -> string", "the strings joined"},
                     {As({Type::kString, Type::kString}, Type::kString, d::FunctionsOf<d::Concat>(), true)});
  registry->Register({"substr", "substr(string, int64 start[, int64 length]) -> string",
                      "code points from 1-based `start`, `length` of them or to the end"},
                     {Simple<k::SubstringToEnd, Type::kString, Type::kString, Type::kInt64>(),
                      Simple<k::Substring, Type::kString, Type::kString, Type::kInt64, Type::kInt64>()});
}

void RegisterTimeFunctions(FunctionRegistry* registry) {
  const auto part = [registry](std::string name, std::string description, d::NodeFunctions functions) {
    std::string signature = name + "(timestamp) -> int64";
    registry->Register({std::move(name), std::move(signature), std::move(description)},
                       {As({Type::kTimestamp}, Type::kInt64, functions)});
  };
  using P = k::DatePart;
  part("hour", "hour of the day, 0-23 (UTC)",
       d::NullPropagatingFunctions<k::Hour, Type::kInt64, Type::kInt64>());
  part("minute", "minute of the hour, 0-59",
       d::NullPropagatingFunctions<k::Minute, Type::kInt64, Type::kInt64>());
  part("day_of_week", "day of the week, Monday = 0 … Sunday = 6 (as pandas)",
       d::NullPropagatingFunctions<k::DayOfWeek, Type::kInt64, Type::kInt64>());
  part("day_of_month", "day of the month, 1-31",
       d::NullPropagatingFunctions<k::Date<P::kDayOfMonth>, Type::kInt64, Type::kInt64>());
  part("day_of_year", "day of the year, 1-366",
       d::NullPropagatingFunctions<k::Date<P::kDayOfYear>, Type::kInt64, Type::kInt64>());
  part("month", "month, 1-12", d::NullPropagatingFunctions<k::Date<P::kMonth>, Type::kInt64, Type::kInt64>());
  part("year", "year", d::NullPropagatingFunctions<k::Date<P::kYear>, Type::kInt64, Type::kInt64>());
  part("epoch_seconds", "whole seconds since 1970-01-01T00:00:00Z (floored)",
       d::NullPropagatingFunctions<k::EpochSeconds, Type::kInt64, Type::kInt64>());
  const auto between = [registry](std::string name, std::string description, d::NodeFunctions functions) {
    std::string signature = name + "(timestamp a, timestamp b) -> float64";
    registry->Register({std::move(name), std::move(signature), std::move(description)},
                       {As({Type::kTimestamp, Type::kTimestamp}, Type::kFloat64, functions)});
  };
  between("hours_between", "(b - a) in hours, fractional",
          d::NullPropagatingFunctions<k::HoursBetween, Type::kFloat64, Type::kInt64, Type::kInt64>());
  between("days_between", "(b - a) in days of 24 hours, fractional",
          d::NullPropagatingFunctions<k::DaysBetween, Type::kFloat64, Type::kInt64, Type::kInt64>());
}

void RegisterConditionalFunctions(FunctionRegistry* registry) {
  registry->Register(
      {"if", "if(bool, T, T) -> T", "the second argument when the first is true, else the third"},
      ConditionalOverloads());
  registry->Register({"coalesce", "coalesce(T, T, …) -> T", "the first argument that is not null"},
                     CoalesceOverloads());
  registry->Register({"is_null", "is_null(T) -> bool", "true when the argument is null (never null itself)"},
                     IsNullOverloads());
}

void RegisterCastFunctions(FunctionRegistry* registry) {
  registry->Register({"to_string", "to_string(T) -> string",
                      "text of a value: 3, 0.1 (shortest round trip), true, 2001-01-05T07:30:00Z"},
                     {Simple<k::IntToString, Type::kString, Type::kInt64>(),
                      Simple<k::FloatToString, Type::kString, Type::kFloat64>(),
                      Simple<k::StringToString, Type::kString, Type::kString>(),
                      Simple<k::TimestampToString, Type::kString, Type::kTimestamp>(),
                      Simple<k::BoolToString, Type::kString, Type::kBool>()});
  registry->Register({"to_float", "to_float(int64|float64|string|bool) -> float64",
                      "as float64; text that is not a number is null"},
                     {Simple<k::IntToFloat, Type::kFloat64, Type::kInt64>(),
                      Simple<k::FloatIdentity, Type::kFloat64, Type::kFloat64>(),
                      Simple<k::StringToFloat, Type::kFloat64, Type::kString>(),
                      As({Type::kBool}, Type::kFloat64, IntToFloatFunctions())});
  const auto identity = d::NullPropagatingFunctions<k::IntIdentity, Type::kInt64, Type::kInt64>();
  registry->Register(
      {"to_int", "to_int(int64|float64|string|bool|timestamp) -> int64",
       "as int64, truncating toward zero; NaN, out of range or non-integer text is null; a "
       "timestamp gives µs"},
      {As({Type::kInt64}, Type::kInt64, identity), Simple<k::FloatToInt, Type::kInt64, Type::kFloat64>(),
       Simple<k::StringToInt, Type::kInt64, Type::kString>(), As({Type::kBool}, Type::kInt64, identity),
       As({Type::kTimestamp}, Type::kInt64, identity)});
}

const FunctionRegistry& BuiltinFunctions() {
  static const FunctionRegistry* const kRegistry = [] {
    auto* registry = new FunctionRegistry();
    RegisterMathFunctions(registry);
    RegisterStringFunctions(registry);
    RegisterTimeFunctions(registry);
    RegisterConditionalFunctions(registry);
    RegisterCastFunctions(registry);
    return registry;
  }();
  return *kRegistry;
}

const std::vector<FunctionInfo>& ExpressionFunctions() { return BuiltinFunctions().infos(); }

const std::vector<Overload>& ConditionalOverloads() {
  static const std::vector<Overload>* const kOverloads = [] {
    const auto ints = d::FunctionsOf<d::Conditional<Type::kInt64>>();
    return new std::vector<Overload>{
        As({Type::kBool, Type::kInt64, Type::kInt64}, Type::kInt64, ints),
        As({Type::kBool, Type::kFloat64, Type::kFloat64}, Type::kFloat64,
           d::FunctionsOf<d::Conditional<Type::kFloat64>>()),
        As({Type::kBool, Type::kString, Type::kString}, Type::kString,
           d::FunctionsOf<d::Conditional<Type::kString>>()),
        As({Type::kBool, Type::kTimestamp, Type::kTimestamp}, Type::kTimestamp, ints),
        As({Type::kBool, Type::kBool, Type::kBool}, Type::kBool, ints),
    };
  }();
  return *kOverloads;
}

d::NodeFunctions InListFunctions(Type type) {
  switch (type) {
    case Type::kFloat64:
      return d::FunctionsOf<d::InList<Type::kFloat64>>();
    case Type::kString:
      return d::FunctionsOf<d::InList<Type::kString>>();
    case Type::kBool:
    case Type::kInt64:
    case Type::kTimestamp:
      return d::FunctionsOf<d::InList<Type::kInt64>>();
  }
  return d::FunctionsOf<d::InList<Type::kInt64>>();
}

d::NodeFunctions IntToFloatFunctions() {
  return d::NullPropagatingFunctions<k::IntToFloat, Type::kFloat64, Type::kInt64>();
}

}  // namespace kiln::features
