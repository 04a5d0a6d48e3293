// The operator table: each operator's overloads, made from the kernels.
#include <map>
#include <string>

#include "features/expression_functions.h"

namespace kiln::features {
namespace {

using data::Type;
namespace k = kernels;
namespace d = drivers;

template <class IntKernel, class FloatKernel>
std::vector<Overload> Arithmetic() {
  return {Simple<IntKernel, Type::kInt64, Type::kInt64, Type::kInt64>(),
          Simple<FloatKernel, Type::kFloat64, Type::kFloat64, Type::kFloat64>()};
}

// = and != apply to every type; ordering to all but bool. bool and
// timestamp reuse the int64 functions.
template <k::CompareOp kOp>
std::vector<Overload> Comparison() {
  const auto ints =
      d::NullPropagatingFunctions<k::Compare<kOp, int64_t>, Type::kBool, Type::kInt64, Type::kInt64>();
  std::vector<Overload> overloads = {
      Overload{{Type::kInt64, Type::kInt64}, false, Type::kBool, ints},
      Simple<k::Compare<kOp, double>, Type::kBool, Type::kFloat64, Type::kFloat64>(),
      Simple<k::Compare<kOp, std::string_view>, Type::kBool, Type::kString, Type::kString>(),
      Overload{{Type::kTimestamp, Type::kTimestamp}, false, Type::kBool, ints},
  };
  if (kOp == k::CompareOp::kEqual || kOp == k::CompareOp::kNotEqual) {
    overloads.push_back(Overload{{Type::kBool, Type::kBool}, false, Type::kBool, ints});
  }
  return overloads;
}

std::map<std::string, std::vector<Overload>, std::less<>> MakeOperators() {
  using Op = k::CompareOp;
  std::map<std::string, std::vector<Overload>, std::less<>> operators;
  operators["+"] = Arithmetic<k::AddInt, k::AddFloat>();
  operators["-"] = Arithmetic<k::SubtractInt, k::SubtractFloat>();
  operators["*"] = Arithmetic<k::MultiplyInt, k::MultiplyFloat>();
  operators["%"] = Arithmetic<k::ModuloInt, k::ModuloFloat>();
  operators["/"] = {Simple<k::DivideFloat, Type::kFloat64, Type::kFloat64, Type::kFloat64>()};
  operators["negate"] = {Simple<k::NegateInt, Type::kInt64, Type::kInt64>(),
                         Simple<k::NegateFloat, Type::kFloat64, Type::kFloat64>()};
  operators["="] = Comparison<Op::kEqual>();
  operators["!="] = Comparison<Op::kNotEqual>();
  operators["<"] = Comparison<Op::kLess>();
  operators["<="] = Comparison<Op::kLessEqual>();
  operators[">"] = Comparison<Op::kGreater>();
  operators[">="] = Comparison<Op::kGreaterEqual>();
  operators["and"] = {
      Overload{{Type::kBool, Type::kBool}, false, Type::kBool, d::FunctionsOf<d::Logic<true>>()}};
  operators["or"] = {
      Overload{{Type::kBool, Type::kBool}, false, Type::kBool, d::FunctionsOf<d::Logic<false>>()}};
  operators["not"] = {Simple<k::Not, Type::kBool, Type::kBool>()};
  operators["is null"] = {Overload{{Type::kInt64}, false, Type::kBool, d::FunctionsOf<d::NullTest<false>>()}};
  operators["is not null"] = {
      Overload{{Type::kInt64}, false, Type::kBool, d::FunctionsOf<d::NullTest<true>>()}};
  return operators;
}

}  // namespace

const std::vector<Overload>& OperatorOverloads(std::string_view op) {
  static const auto* const kOperators =
      new std::map<std::string, std::vector<Overload>, std::less<>>(MakeOperators());
  static const std::vector<Overload> kNone;
  const auto it = kOperators->find(op);
  return it == kOperators->end() ? kNone : it->second;
}

}  // namespace kiln::features
