#pragma once
// The registry of expression functions, keyed by name, and the table of
// operators. Each function has overloads (parameter types → result type)
// whose row and batch functions come from one kernel. The built-in registry
// is filled once by explicit Register* calls and is read-only afterwards,
// so it is safe to share between threads.

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "data/value.h"
#include "features/expression.h"
#include "features/expression_drivers.h"

namespace kiln::features {

// One callable form: parameter types, result type and its node functions.
struct Overload {
  std::vector<data::Type> params;
  bool variadic = false;  // the last parameter repeats: params.size() or more arguments
  data::Type result = data::Type::kFloat64;
  drivers::NodeFunctions functions{};
  bool AcceptsArity(size_t count) const { return variadic ? count >= params.size() : count == params.size(); }
  data::Type ParamType(size_t index) const { return params[std::min(index, params.size() - 1)]; }
};

struct FunctionDefinition {
  FunctionInfo info;
  std::vector<Overload> overloads;  // tried in order; the first of the cheapest wins
};

class FunctionRegistry {
 public:
  // REQUIRES: no function of that name is registered yet; overloads not empty.
  void Register(FunctionInfo info, std::vector<Overload> overloads);
  const FunctionDefinition* Find(std::string_view name) const;
  const std::vector<FunctionDefinition>& functions() const { return functions_; }
  const std::vector<FunctionInfo>& infos() const { return infos_; }

 private:
  std::vector<FunctionDefinition> functions_;
  std::vector<FunctionInfo> infos_;
};

void RegisterMathFunctions(FunctionRegistry* registry);
void RegisterStringFunctions(FunctionRegistry* registry);
void RegisterTimeFunctions(FunctionRegistry* registry);
void RegisterConditionalFunctions(FunctionRegistry* registry);
void RegisterCastFunctions(FunctionRegistry* registry);

// Every built-in function.
const FunctionRegistry& BuiltinFunctions();

// Overloads of an operator by its canonical spelling: "+", "-", "*", "/",
// "%", "=", "!=", "<", "<=", ">", ">=", "and", "or", "not", "negate",
// "is null", "is not null" (these two take any type). Empty for anything else.
const std::vector<Overload>& OperatorOverloads(std::string_view op);

// The overloads of `if(bool, T, T)` by T, used for `case` too.
const std::vector<Overload>& ConditionalOverloads();
// `x in (…)` over T (children: x, items…).
drivers::NodeFunctions InListFunctions(data::Type type);
// int64 → float64, inserted where an int64 meets a float64.
drivers::NodeFunctions IntToFloatFunctions();

// Overload factory: a null-propagating kernel K(P…) -> R.
template <class K, data::Type R, data::Type... P>
Overload Simple() {
  return Overload{{P...}, false, R, drivers::NullPropagatingFunctions<K, R, P...>()};
}

}  // namespace kiln::features
