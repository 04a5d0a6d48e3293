// Unit tests of the expression language: every operator and function, the
// null / NaN / overflow semantics and every error message. Each evaluation
// runs both paths (batch and row) and requires them to agree.
#include "features/expression.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <string>

#include "data/timestamp.h"

namespace kiln::features {
namespace {

using data::Type;
using data::Value;

const InputSchema& Schema() {
  static const InputSchema kSchema = {
      {"i", Type::kInt64},       {"j", Type::kInt64},       {"f", Type::kFloat64},
      {"g", Type::kFloat64},     {"s", Type::kString},      {"t", Type::kString},
      {"b", Type::kBool},        {"c", Type::kBool},        {"ts", Type::kTimestamp},
      {"ts2", Type::kTimestamp}, {"delay", Type::kFloat64}, {"view.feature", Type::kFloat64},
      {"odd name", Type::kInt64}};
  return kSchema;
}

int64_t Ts(std::string_view text) { return data::ParseTimestamp(text, data::TimeZone::Utc()).value(); }

double NanWithPayload(uint64_t payload) { return std::bit_cast<double>(0x7ff8000000000000ULL | payload); }
uint64_t Bits(double x) { return std::bit_cast<uint64_t>(x); }

// Evaluates `text` with the named inputs set (the rest null) through both
// paths, requires them to agree bit for bit and returns the value.
Value Eval(std::string_view text, const std::map<std::string, Value>& set = {}) {
  auto expression = Expression::Compile(text, Schema());
  if (!expression.ok()) {
    ADD_FAILURE() << text << ": " << expression.status().message();
    return Value::Null(Type::kFloat64);
  }
  std::vector<Value> row;
  data::Frame frame;
  for (const data::Field& field : Schema()) {
    const auto it = set.find(field.name);
    row.push_back(it == set.end() ? Value::Null(field.type) : it->second);
    data::Column column(field.type);
    // Three rows: the value, a null, the value again, so the batch loops
    // run over more than one row.
    column.Append(row.back());
    column.AppendNull();
    column.Append(row.back());
    EXPECT_TRUE(frame.AddColumn(field.name, std::move(column)).ok());
  }
  const Value by_row = expression->EvaluateRow(row);
  auto batch = expression->EvaluateBatch(frame);
  if (!batch.ok()) {
    ADD_FAILURE() << text << ": " << batch.status().message();
    return by_row;
  }
  EXPECT_EQ(batch->size(), 3u);
  EXPECT_EQ(batch->type(), expression->type()) << text;
  EXPECT_EQ(by_row.type, expression->type()) << text;
  EXPECT_TRUE(batch->Get(0).BitwiseEquals(by_row))
      << text << ": batch " << batch->Get(0).ToString() << " row " << by_row.ToString();
  EXPECT_TRUE(batch->Get(2).BitwiseEquals(by_row)) << text;
  return by_row;
}

std::string CompileError(std::string_view text, const InputSchema& schema = Schema()) {
  auto expression = Expression::Compile(text, schema);
  if (expression.ok()) return "compiled to " + std::string(data::TypeName(expression->type()));
  EXPECT_EQ(expression.status().code(), StatusCode::kInvalidArgument);
  return expression.status().message();
}

void ExpectInt(const Value& v, int64_t expected) {
  EXPECT_EQ(v.type, Type::kInt64);
  EXPECT_FALSE(v.null);
  EXPECT_EQ(v.i, expected);
}
void ExpectFloat(const Value& v, double expected) {
  EXPECT_EQ(v.type, Type::kFloat64);
  EXPECT_FALSE(v.null);
  EXPECT_EQ(Bits(v.f), Bits(expected)) << v.f << " vs " << expected;
}
void ExpectBool(const Value& v, bool expected) {
  EXPECT_EQ(v.type, Type::kBool);
  EXPECT_FALSE(v.null);
  EXPECT_EQ(v.i, expected ? 1 : 0);
}
void ExpectString(const Value& v, std::string_view expected) {
  EXPECT_EQ(v.type, Type::kString);
  EXPECT_FALSE(v.null);
  EXPECT_EQ(v.s, expected);
}
void ExpectNull(const Value& v, Type type) {
  EXPECT_EQ(v.type, type);
  EXPECT_TRUE(v.null) << v.ToString();
}

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
const double kInf = std::numeric_limits<double>::infinity();

TEST(ExpressionLiterals, NumbersStringsAndKeywords) {
  ExpectInt(Eval("42"), 42);
  ExpectInt(Eval("-9223372036854775808"), kMin);
  ExpectInt(Eval("9223372036854775807"), kMax);
  ExpectFloat(Eval("1.5"), 1.5);
  ExpectFloat(Eval("1e3"), 1000.0);
  ExpectFloat(Eval(".5"), 0.5);
  ExpectFloat(Eval("2."), 2.0);
  ExpectFloat(Eval("-0.0"), -0.0);
  ExpectFloat(Eval("- 2.5E-1"), -0.25);
  ExpectString(Eval(R"('it\'s')"), "it's");
  ExpectString(Eval(R"("a\nb\t\"c\"\\")"), "a\nb\t\"c\"\\");
  ExpectString(Eval("''"), "");
  ExpectBool(Eval("true"), true);
  ExpectBool(Eval("FALSE"), false);
  ExpectNull(Eval("null"), Type::kFloat64);
  ExpectNull(Eval("NULL + 1"), Type::kInt64);
}

TEST(ExpressionNames, DottedBackquotedAndReferencedInFirstUseOrder) {
  ExpectFloat(Eval("view.feature * 2", {{"view.feature", Value::Float(1.25)}}), 2.5);
  ExpectInt(Eval("`odd name` + 1", {{"odd name", Value::Int(4)}}), 5);
  auto expression = Expression::Compile("j + i * j + `odd name` - i", Schema());
  ASSERT_TRUE(expression.ok()) << expression.status().message();
  EXPECT_EQ(expression->referenced_inputs(), (std::vector<std::string>{"j", "i", "odd name"}));
  EXPECT_EQ(expression->text(), "j + i * j + `odd name` - i");
  EXPECT_EQ(expression->type(), Type::kInt64);
  // A backquote inside a quoted name is doubled.
  auto quoted = Expression::Compile("`a``b` + 1", {{"a`b", Type::kInt64}});
  ASSERT_TRUE(quoted.ok()) << quoted.status().message();
  EXPECT_EQ(quoted->referenced_inputs(), (std::vector<std::string>{"a`b"}));
}

TEST(ExpressionArithmetic, IntegersAreExactAndOverflowIsNull) {
  ExpectInt(Eval("i + j", {{"i", Value::Int(2)}, {"j", Value::Int(3)}}), 5);
  ExpectInt(Eval("i - j * 2", {{"i", Value::Int(2)}, {"j", Value::Int(3)}}), -4);
  ExpectInt(Eval("(i - j) * 2", {{"i", Value::Int(2)}, {"j", Value::Int(3)}}), -2);
  ExpectNull(Eval("9223372036854775807 + 1"), Type::kInt64);
  ExpectNull(Eval("-9223372036854775808 - 1"), Type::kInt64);
  ExpectNull(Eval("i * i", {{"i", Value::Int(int64_t{1} << 32)}}), Type::kInt64);
  ExpectNull(Eval("-i", {{"i", Value::Int(kMin)}}), Type::kInt64);
  ExpectInt(Eval("-i", {{"i", Value::Int(kMax)}}), -kMax);
  ExpectNull(Eval("i + 1"), Type::kInt64);  // null input
}

TEST(ExpressionArithmetic, DivisionIsFloatAndZeroDivisorIsNull) {
  ExpectFloat(Eval("7 / 2"), 3.5);
  ExpectFloat(Eval("i / j", {{"i", Value::Int(1)}, {"j", Value::Int(4)}}), 0.25);
  ExpectNull(Eval("1 / 0"), Type::kFloat64);
  ExpectNull(Eval("f / 0.0", {{"f", Value::Float(1)}}), Type::kFloat64);
  ExpectNull(Eval("f / -0.0", {{"f", Value::Float(1)}}), Type::kFloat64);
  ExpectNull(Eval("f / g", {{"f", Value::Float(NAN)}, {"g", Value::Float(0)}}), Type::kFloat64);
  ExpectFloat(Eval("1 / f", {{"f", Value::Float(kInf)}}), 0.0);
  ExpectFloat(Eval("-1 / f", {{"f", Value::Float(kInf)}}), -0.0);
}

TEST(ExpressionArithmetic, ModuloIsFlooredAsPython) {
  ExpectInt(Eval("7 % 3"), 1);
  ExpectInt(Eval("-7 % 3"), 2);
  ExpectInt(Eval("7 % -3"), -2);
  ExpectInt(Eval("-7 % -3"), -1);
  ExpectInt(Eval("-9223372036854775808 % -1"), 0);
  ExpectNull(Eval("5 % 0"), Type::kInt64);
  ExpectFloat(Eval("-7.5 % 2"), 0.5);
  ExpectFloat(Eval("7.5 % -2"), -0.5);
  ExpectFloat(Eval("-0.0 % 5.0"), 0.0);
  ExpectFloat(Eval("0.0 % -5.0"), -0.0);
  ExpectFloat(Eval("-5 % f", {{"f", Value::Float(kInf)}}), kInf);
  ExpectNull(Eval("5.5 % 0"), Type::kFloat64);
}

TEST(ExpressionArithmetic, MixedIntAndFloatIsFloatAndIeeeHolds) {
  ExpectFloat(Eval("1 + 2.5"), 3.5);
  ExpectFloat(Eval("i * f", {{"i", Value::Int(3)}, {"f", Value::Float(0.5)}}), 1.5);
  ExpectFloat(Eval("f * 10", {{"f", Value::Float(1e308)}}), kInf);
  ExpectFloat(Eval("-f", {{"f", Value::Float(0.0)}}), -0.0);
  ExpectFloat(Eval("f + g", {{"f", Value::Float(kInf)}, {"g", Value::Float(-kInf)}}),
              std::bit_cast<double>(0x7ff8000000000000ULL));
  // A column passes its NaN payload through; arithmetic yields the
  // canonical quiet NaN whatever the operands' payloads.
  const double odd_nan = NanWithPayload(0x123);
  ExpectFloat(Eval("f", {{"f", Value::Float(odd_nan)}}), odd_nan);
  ExpectFloat(Eval("f + 1", {{"f", Value::Float(odd_nan)}}), std::bit_cast<double>(0x7ff8000000000000ULL));
  ExpectFloat(Eval("-f", {{"f", Value::Float(-odd_nan)}}), std::bit_cast<double>(0x7ff8000000000000ULL));
  ExpectFloat(Eval("f * g", {{"f", Value::Float(odd_nan)}, {"g", Value::Float(NanWithPayload(7))}}),
              std::bit_cast<double>(0x7ff8000000000000ULL));
}

TEST(ExpressionComparison, NumbersStringsTimestampsAndBools) {
  ExpectBool(Eval("i < f", {{"i", Value::Int(1)}, {"f", Value::Float(1.5)}}), true);
  ExpectBool(Eval("i >= 2", {{"i", Value::Int(2)}}), true);
  ExpectBool(Eval("i == 2", {{"i", Value::Int(2)}}), true);
  ExpectBool(Eval("i <> 2", {{"i", Value::Int(2)}}), false);
  ExpectBool(Eval("i != 3", {{"i", Value::Int(2)}}), true);
  ExpectBool(Eval("f = f", {{"f", Value::Float(NAN)}}), false);
  ExpectBool(Eval("f != f", {{"f", Value::Float(NAN)}}), true);
  ExpectBool(Eval("f < 1", {{"f", Value::Float(NAN)}}), false);
  ExpectBool(Eval("-0.0 = 0.0"), true);
  ExpectBool(Eval("s < t", {{"s", Value::String("a")}, {"t", Value::String("b")}}), true);
  ExpectBool(Eval("'é' > 'z'"), true);  // bytewise: 0xC3 > 'z'
  ExpectBool(Eval("'' < 'a'"), true);
  ExpectBool(Eval("ts < ts2", {{"ts", Value::Timestamp(1)}, {"ts2", Value::Timestamp(2)}}), true);
  ExpectBool(Eval("b = c", {{"b", Value::Bool(true)}, {"c", Value::Bool(false)}}), false);
  ExpectNull(Eval("i = null"), Type::kBool);
  ExpectNull(Eval("i < 3"), Type::kBool);
}

TEST(ExpressionLogic, ThreeValued) {
  ExpectBool(Eval("false and null"), false);
  ExpectBool(Eval("null and false"), false);
  ExpectNull(Eval("true and null"), Type::kBool);
  ExpectBool(Eval("true and true"), true);
  ExpectBool(Eval("true or null"), true);
  ExpectBool(Eval("null or true"), true);
  ExpectNull(Eval("false or null"), Type::kBool);
  ExpectBool(Eval("false or false"), false);
  ExpectNull(Eval("not null"), Type::kBool);
  ExpectBool(Eval("not b", {{"b", Value::Bool(false)}}), true);
  // not binds looser than comparison, and looser than not.
  ExpectBool(Eval("not 1 = 2"), true);
  ExpectBool(Eval("b = not c", {{"b", Value::Bool(true)}, {"c", Value::Bool(false)}}), true);
  ExpectBool(Eval("not not true"), true);
  ExpectBool(Eval("true or false and false"), true);
  ExpectBool(Eval("b AND c OR NOT b", {{"b", Value::Bool(true)}, {"c", Value::Bool(true)}}), true);
}

TEST(ExpressionNullTests, IsNullIsNeverNullAndNanIsNotNull) {
  ExpectBool(Eval("i is null"), true);
  ExpectBool(Eval("i is not null", {{"i", Value::Int(0)}}), true);
  ExpectBool(Eval("f is null", {{"f", Value::Float(NAN)}}), false);
  ExpectBool(Eval("null is null"), true);
  ExpectBool(Eval("s IS NOT NULL"), false);
  ExpectBool(Eval("is_null(s)"), true);
  ExpectBool(Eval("is_null(1 / 0)"), true);
  ExpectBool(Eval("i + 1 is null"), true);
}

TEST(ExpressionIn, ThreeValuedMembership) {
  ExpectBool(Eval("i in (1, 2, 3)", {{"i", Value::Int(2)}}), true);
  ExpectBool(Eval("i in (1, 2, 3)", {{"i", Value::Int(5)}}), false);
  ExpectNull(Eval("i in (1, 2)"), Type::kBool);
  ExpectNull(Eval("5 in (1, null)"), Type::kBool);
  ExpectBool(Eval("1 in (1, null)"), true);
  ExpectBool(Eval("i not in (1, 2)", {{"i", Value::Int(5)}}), true);
  ExpectBool(Eval("f in (1, 2.5)", {{"f", Value::Float(1)}}), true);
  ExpectBool(Eval("i in (j, 2.5)", {{"i", Value::Int(7)}, {"j", Value::Int(7)}}), true);
  ExpectBool(Eval("s in ('SFO', 'LAX')", {{"s", Value::String("LAX")}}), true);
  ExpectBool(Eval("f in (f)", {{"f", Value::Float(NAN)}}), false);
  ExpectBool(Eval("b in (true)", {{"b", Value::Bool(true)}}), true);
  ExpectBool(Eval("ts in (ts2)", {{"ts", Value::Timestamp(5)}, {"ts2", Value::Timestamp(5)}}), true);
}

TEST(ExpressionConditional, CaseAndIfTakeElseOnNullCondition) {
  const char* sign = "case when i > 0 then 'pos' when i < 0 then 'neg' else 'zero' end";
  ExpectString(Eval(sign, {{"i", Value::Int(3)}}), "pos");
  ExpectString(Eval(sign, {{"i", Value::Int(-3)}}), "neg");
  ExpectString(Eval(sign, {{"i", Value::Int(0)}}), "zero");
  ExpectString(Eval(sign), "zero");  // null conditions fall through
  ExpectNull(Eval("case when i > 0 then 1 end", {{"i", Value::Int(-1)}}), Type::kInt64);
  ExpectFloat(Eval("case when b then 1 else 2.5 end", {{"b", Value::Bool(true)}}), 1.0);
  ExpectFloat(Eval("if(b, 1, 2.5)", {{"b", Value::Bool(false)}}), 2.5);
  ExpectInt(Eval("if(null, 1, 2)"), 2);
  ExpectInt(Eval("if(b, 1, 2)"), 2);
  ExpectNull(Eval("if(true, null, 's')"), Type::kString);
  ExpectString(Eval("IF(b, s, t)", {{"b", Value::Bool(true)}, {"s", Value::String("x")}}), "x");
  ExpectFloat(Eval("if(b, f, 0.0)", {{"b", Value::Bool(true)}, {"f", Value::Float(NanWithPayload(9))}}),
              NanWithPayload(9));
}

TEST(ExpressionFunctionsMath, Semantics) {
  ExpectInt(Eval("abs(-3)"), 3);
  ExpectNull(Eval("abs(-9223372036854775808)"), Type::kInt64);
  ExpectFloat(Eval("abs(-2.5)"), 2.5);
  ExpectFloat(Eval("abs(-0.0)"), 0.0);
  ExpectFloat(Eval("sqrt(4)"), 2.0);
  ExpectFloat(Eval("sqrt(-1)"), std::bit_cast<double>(0x7ff8000000000000ULL));
  ExpectFloat(Eval("log(0)"), -kInf);
  ExpectFloat(Eval("log(exp(1))"), std::log(std::exp(1.0)));
  ExpectFloat(Eval("log1p(0)"), 0.0);
  ExpectFloat(Eval("exp(0)"), 1.0);
  ExpectFloat(Eval("exp(1000)"), kInf);
  ExpectFloat(Eval("pow(2, 10)"), 1024.0);
  ExpectFloat(Eval("pow(-8, 1.0 / 3)"), std::bit_cast<double>(0x7ff8000000000000ULL));
  ExpectFloat(Eval("floor(-1.5)"), -2.0);
  ExpectFloat(Eval("ceil(-1.5)"), -1.0);
  ExpectFloat(Eval("ceil(-0.5)"), -0.0);
  ExpectFloat(Eval("round(2.5)"), 2.0);
  ExpectFloat(Eval("round(3.5)"), 4.0);
  ExpectFloat(Eval("round(-2.5)"), -2.0);
  ExpectFloat(Eval("round(1.2345, 2)"), 1.23);
  ExpectFloat(Eval("round(1250, -2)"), 1200.0);
  ExpectFloat(Eval("round(1350, -2)"), 1400.0);
  ExpectFloat(Eval("round(1.5, 400)"), 1.5);
  ExpectNull(Eval("round(1.5, i)"), Type::kFloat64);
  ExpectInt(Eval("least(3, 1, 2)"), 1);
  ExpectInt(Eval("greatest(3, 1, 2)"), 3);
  ExpectFloat(Eval("least(1, 2.5)"), 1.0);
  ExpectString(Eval("greatest('a', 'b', '')"), "b");
  ExpectFloat(Eval("least(f, 1.0)", {{"f", Value::Float(NanWithPayload(5))}}), NanWithPayload(5));
  ExpectFloat(Eval("greatest(1.0, f)", {{"f", Value::Float(NanWithPayload(5))}}), NanWithPayload(5));
  ExpectFloat(Eval("least(0.0, -0.0)"), 0.0);  // ties keep the first
  ExpectNull(Eval("least(1, i)"), Type::kInt64);
  const Value earliest = Eval("least(ts, ts2)", {{"ts", Value::Timestamp(9)}, {"ts2", Value::Timestamp(4)}});
  EXPECT_TRUE(earliest.BitwiseEquals(Value::Timestamp(4))) << earliest.ToString();
  ExpectBool(Eval("is_nan(f)", {{"f", Value::Float(NAN)}}), true);
  ExpectBool(Eval("is_nan(1)"), false);
  ExpectNull(Eval("is_nan(f)"), Type::kBool);
}

TEST(ExpressionFunctionsNulls, CoalesceAndPropagation) {
  ExpectInt(Eval("coalesce(null, 2)"), 2);
  ExpectInt(Eval("coalesce(i, j, 0)", {{"j", Value::Int(7)}}), 7);
  ExpectFloat(Eval("coalesce(f, 1)", {{"f", Value::Float(NanWithPayload(3))}}), NanWithPayload(3));
  ExpectFloat(Eval("coalesce(i, f)", {{"i", Value::Int(2)}}), 2.0);
  ExpectNull(Eval("coalesce(i, j)"), Type::kInt64);
  ExpectString(Eval("coalesce(s, 'none')"), "none");
  // Every other function of a null is null.
  ExpectNull(Eval("sqrt(f)"), Type::kFloat64);
  ExpectNull(Eval("lower(s)"), Type::kString);
  ExpectNull(Eval("hour(ts)"), Type::kInt64);
  ExpectNull(Eval("concat('a', s)"), Type::kString);
  ExpectNull(Eval("to_string(i)"), Type::kString);
}

TEST(ExpressionFunctionsString, Semantics) {
  ExpectString(Eval("lower('AbC-É')"), "abc-É");
  ExpectString(Eval("upper('abc-é')"), "ABC-é");
  ExpectInt(Eval("length('héllo')"), 5);
  ExpectInt(Eval("length('')"), 0);
  ExpectString(Eval("concat('a', s, 'c')", {{"s", Value::String("b")}}), "abc");
  ExpectString(Eval("concat(s, s, s, s, s)", {{"s", Value::String("xy")}}), "xyxyxyxyxy");
  ExpectString(Eval("substr('hello', 2)"), "ello");
  ExpectString(Eval("substr('hello', 2, 3)"), "ell");
  ExpectString(Eval("substr('hello', 0, 2)"), "h");
  ExpectString(Eval("substr('hello', -1, 3)"), "h");
  ExpectString(Eval("substr('hello', -5)"), "hello");
  ExpectString(Eval("substr('héllo', 2, 2)"), "él");
  ExpectString(Eval("substr('abc', 5)"), "");
  ExpectString(Eval("substr('abc', 2, 0)"), "");
  ExpectString(Eval("substr('abc', 2, 9223372036854775807)"), "bc");
  ExpectNull(Eval("substr('abc', 1, -1)"), Type::kString);
}

TEST(ExpressionFunctionsCast, Semantics) {
  ExpectString(Eval("to_string(42)"), "42");
  ExpectString(Eval("to_string(-9223372036854775808)"), "-9223372036854775808");
  ExpectString(Eval("to_string(0.1)"), "0.1");
  ExpectString(Eval("to_string(-0.0)"), "-0");
  ExpectString(Eval("to_string(1e300)"), "1e+300");
  ExpectString(Eval("to_string(f)", {{"f", Value::Float(-NAN)}}), "nan");
  ExpectString(Eval("to_string(f)", {{"f", Value::Float(-kInf)}}), "-inf");
  ExpectString(Eval("to_string(true)"), "true");
  ExpectString(Eval("to_string(s)", {{"s", Value::String("x")}}), "x");
  ExpectString(Eval("to_string(ts)", {{"ts", Value::Timestamp(Ts("2001-01-05T07:30:00Z"))}}),
               "2001-01-05T07:30:00Z");
  ExpectFloat(Eval("to_float('2.5')"), 2.5);
  ExpectFloat(Eval("to_float(' +3 ')"), 3.0);
  ExpectNull(Eval("to_float('abc')"), Type::kFloat64);
  ExpectNull(Eval("to_float('')"), Type::kFloat64);
  ExpectNull(Eval("to_float('1e400')"), Type::kFloat64);
  ExpectFloat(Eval("to_float(true)"), 1.0);
  ExpectFloat(Eval("to_float(3)"), 3.0);
  ExpectInt(Eval("to_int('42')"), 42);
  ExpectInt(Eval("to_int('-7')"), -7);
  ExpectNull(Eval("to_int('4.2')"), Type::kInt64);
  ExpectNull(Eval("to_int('9223372036854775808')"), Type::kInt64);
  ExpectInt(Eval("to_int(3.9)"), 3);
  ExpectInt(Eval("to_int(-3.9)"), -3);
  ExpectNull(Eval("to_int(1e19)"), Type::kInt64);
  ExpectNull(Eval("to_int(f)", {{"f", Value::Float(NAN)}}), Type::kInt64);
  ExpectInt(Eval("to_int(ts)", {{"ts", Value::Timestamp(-5)}}), -5);
  ExpectInt(Eval("to_int(false)"), 0);
}

TEST(ExpressionFunctionsTime, CalendarPartsInUtc) {
  const std::map<std::string, Value> friday = {{"ts", Value::Timestamp(Ts("2001-01-05T07:30:15.5Z"))}};
  ExpectInt(Eval("hour(ts)", friday), 7);
  ExpectInt(Eval("minute(ts)", friday), 30);
  ExpectInt(Eval("day_of_week(ts)", friday), 4);  // Monday = 0
  ExpectInt(Eval("day_of_month(ts)", friday), 5);
  ExpectInt(Eval("day_of_year(ts)", friday), 5);
  ExpectInt(Eval("month(ts)", friday), 1);
  ExpectInt(Eval("year(ts)", friday), 2001);
  ExpectInt(Eval("epoch_seconds(ts)", friday), 978679815);
  // Before 1970 the parts are floored, not truncated toward zero.
  const std::map<std::string, Value> before = {{"ts", Value::Timestamp(-500000)}};
  ExpectInt(Eval("hour(ts)", before), 23);
  ExpectInt(Eval("minute(ts)", before), 59);
  ExpectInt(Eval("day_of_week(ts)", before), 2);  // 1969-12-31 was a Wednesday
  ExpectInt(Eval("year(ts)", before), 1969);
  ExpectInt(Eval("day_of_year(ts)", before), 365);
  ExpectInt(Eval("epoch_seconds(ts)", before), -1);
  ExpectInt(Eval("day_of_year(ts)", {{"ts", Value::Timestamp(Ts("2000-12-31T12:00:00Z"))}}), 366);
  ExpectInt(Eval("day_of_week(ts)", {{"ts", Value::Timestamp(Ts("2001-01-07T23:59:59Z"))}}), 6);
  const std::map<std::string, Value> span = {{"ts", Value::Timestamp(Ts("2001-01-05T07:30:00Z"))},
                                             {"ts2", Value::Timestamp(Ts("2001-01-05T09:00:00Z"))}};
  ExpectFloat(Eval("hours_between(ts, ts2)", span), 1.5);
  ExpectFloat(Eval("hours_between(ts2, ts)", span), -1.5);
  ExpectFloat(Eval("days_between(ts, ts2)", span), 1.5 / 24);
  ExpectNull(
      Eval("hours_between(ts, ts2)", {{"ts", Value::Timestamp(kMin)}, {"ts2", Value::Timestamp(kMax)}}),
      Type::kFloat64);
  ExpectInt(Eval("HOUR(ts)", friday), 7);  // function names ignore case
}

TEST(ExpressionBatch, BroadcastLiteralsAndInputRoots) {
  data::Frame frame;
  data::Column s(Type::kString);
  s.AppendString("SFO");
  s.AppendNull();
  s.AppendString("LAX");
  ASSERT_TRUE(frame.AddColumn("s", std::move(s)).ok());
  const InputSchema schema = {{"s", Type::kString}};
  for (const char* text : {"s = 'SFO'", "'abc'", "s", "concat(s, '!')", "coalesce(s, 'none')"}) {
    auto expression = Expression::Compile(text, schema);
    ASSERT_TRUE(expression.ok()) << expression.status().message();
    auto column = expression->EvaluateBatch(frame);
    ASSERT_TRUE(column.ok()) << column.status().message();
    ASSERT_EQ(column->size(), 3u) << text;
    for (size_t row = 0; row < 3; ++row) {
      const Value input = frame.column(0).Get(row);
      EXPECT_TRUE(column->Get(row).BitwiseEquals(expression->EvaluateRow({&input, 1})))
          << text << " row " << row;
    }
  }
  auto broadcast = Expression::Compile("'abc'", schema)->EvaluateBatch(frame);
  ASSERT_TRUE(broadcast.ok());
  EXPECT_EQ(broadcast->strings(), (std::vector<std::string>{"abc", "abc", "abc"}));
  auto no_rows = Expression::Compile("'abc'", {})->EvaluateBatch(data::Frame());
  ASSERT_TRUE(no_rows.ok());
  EXPECT_EQ(no_rows->size(), 0u);
}

TEST(ExpressionBatch, FrameErrorsNameTheColumn) {
  auto expression = Expression::Compile("i + 1", Schema());
  ASSERT_TRUE(expression.ok());
  data::Frame frame;
  data::Column other(Type::kInt64);
  other.AppendInt(1);
  ASSERT_TRUE(frame.AddColumn("k", std::move(other)).ok());
  EXPECT_EQ(expression->EvaluateBatch(frame).status().message(),
            "expression 'i + 1' reads 'i', which the frame does not have");
  data::Frame wrong;
  data::Column text(Type::kString);
  text.AppendString("1");
  ASSERT_TRUE(wrong.AddColumn("i", std::move(text)).ok());
  EXPECT_EQ(expression->EvaluateBatch(wrong).status().message(),
            "expression 'i + 1' was compiled with 'i' as int64, but the frame's column is string");
}

TEST(ExpressionErrors, NamesAndSuggestions) {
  EXPECT_EQ(CompileError("i + j + hours(ts)"),
            "at column 9: unknown function 'hours' (did you mean 'hour'?)");
  EXPECT_EQ(CompileError("delai * 2"), "at column 1: unknown column 'delai' (did you mean 'delay'?)");
  EXPECT_EQ(CompileError("zzz(1)"), "at column 1: unknown function 'zzz' (see `kiln features functions`)");
  EXPECT_EQ(CompileError("i(1)"), "at column 1: 'i' is an input, not a function");
  EXPECT_EQ(CompileError("qqqqqq", {{"a", Type::kInt64}, {"b", Type::kInt64}}),
            "at column 1: unknown column 'qqqqqq' (inputs: a, b)");
  EXPECT_EQ(CompileError("a", {}), "at column 1: unknown column 'a' (no inputs are available)");
  EXPECT_EQ(CompileError("view.featur + 1"),
            "at column 1: unknown column 'view.featur' (did you mean 'view.feature'?)");
  EXPECT_EQ(CompileError("1 + Delay"), "at column 5: unknown column 'Delay' (did you mean 'delay'?)");
}

TEST(ExpressionErrors, OperatorTypes) {
  EXPECT_EQ(CompileError("s + 1"), "at column 3: '+' needs numbers, got string and int64");
  EXPECT_EQ(CompileError("b * 2"), "at column 3: '*' needs numbers, got bool and int64");
  EXPECT_EQ(CompileError("ts - ts2"), "at column 4: '-' needs numbers, got timestamp and timestamp");
  EXPECT_EQ(CompileError("1 / 's'"), "at column 3: '/' needs numbers, got int64 and string");
  EXPECT_EQ(CompileError("-s"), "at column 1: '-' needs a number, got string");
  EXPECT_EQ(CompileError("not i"), "at column 1: 'not' needs a bool, got int64");
  EXPECT_EQ(CompileError("i and b"), "at column 3: 'and' needs bools, got int64 and bool");
  EXPECT_EQ(CompileError("b OR 1"), "at column 3: 'or' needs bools, got bool and int64");
  EXPECT_EQ(CompileError("s = 1"), "at column 3: '=' cannot compare string and int64");
  EXPECT_EQ(CompileError("ts <> 1"), "at column 4: '<>' cannot compare timestamp and int64");
  EXPECT_EQ(CompileError("b < c"), "at column 3: '<' cannot order bools (only = and != compare them)");
  EXPECT_EQ(CompileError("i in (1, 's')"), "at column 10: 'in' cannot compare int64 with string (item 2)");
  EXPECT_EQ(CompileError("if(i, 1, 2)"), "at column 4: 'if' condition must be bool, got int64");
  EXPECT_EQ(CompileError("if(b, 's', 1)"),
            "at column 12: 'if' results must have one type, got string and int64");
  EXPECT_EQ(CompileError("case when i then 1 end"), "at column 11: 'case' condition must be bool, got int64");
  EXPECT_EQ(CompileError("case when b then 1 else 'x' end"),
            "at column 25: 'case' results must have one type, got int64 and string");
}

TEST(ExpressionErrors, FunctionArguments) {
  EXPECT_EQ(CompileError("pow(1)"), "at column 1: 'pow' takes 2 arguments, got 1");
  EXPECT_EQ(CompileError("hour(ts, ts)"), "at column 1: 'hour' takes 1 argument, got 2");
  EXPECT_EQ(CompileError("round(1, 2, 3)"), "at column 1: 'round' takes 1 or 2 arguments, got 3");
  EXPECT_EQ(CompileError("coalesce(1)"), "at column 1: 'coalesce' takes at least 2 arguments, got 1");
  EXPECT_EQ(CompileError("abs()"), "at column 1: 'abs' takes 1 argument, got 0");
  EXPECT_EQ(CompileError("if(b, 1)"), "at column 1: 'if' takes 3 arguments, got 2");
  EXPECT_EQ(CompileError("hour(i)"), "at column 6: 'hour' needs timestamp as argument 1, got int64");
  EXPECT_EQ(CompileError("abs(s)"), "at column 5: 'abs' needs int64 or float64 as argument 1, got string");
  EXPECT_EQ(CompileError("substr(s, 1.5)"), "at column 11: 'substr' needs int64 as argument 2, got float64");
  EXPECT_EQ(CompileError("sqrt(b)"), "at column 6: 'sqrt' needs float64 as argument 1, got bool");
  EXPECT_EQ(CompileError("least(1, 's')"),
            "at column 10: 'least' needs arguments of one type, got int64 and string");
  EXPECT_EQ(CompileError("concat(s, 1)"), "at column 11: 'concat' needs string as argument 2, got int64");
  EXPECT_EQ(CompileError("hours_between(ts, 5)"),
            "at column 19: 'hours_between' needs timestamp as argument 2, got int64");
  EXPECT_EQ(CompileError("to_float(ts)"),
            "at column 10: 'to_float' needs int64, float64, string or bool as argument 1, got timestamp");
}

TEST(ExpressionErrors, Syntax) {
  EXPECT_EQ(CompileError(""), "expression is empty");
  EXPECT_EQ(CompileError("   "), "expression is empty");
  EXPECT_EQ(CompileError("i +"), "at column 4: unexpected end of expression");
  EXPECT_EQ(CompileError("(i + 1"), "at column 7: expected ')' but found end of expression");
  EXPECT_EQ(CompileError("i + * 1"), "at column 5: expected a value but found '*'");
  EXPECT_EQ(CompileError("i j"), "at column 3: unexpected 'j' after the expression");
  EXPECT_EQ(CompileError("'abc"), "at column 1: unterminated string (missing closing ')");
  EXPECT_EQ(CompileError("i + \"abc"), "at column 5: unterminated string (missing closing \")");
  EXPECT_EQ(CompileError("'a\\qb'"),
            "at column 3: unknown escape '\\q' in string (use \\\\, \\', \\\", \\n, \\t, \\r or \\0)");
  EXPECT_EQ(CompileError("i $ 1"), "at column 3: unexpected character '$'");
  EXPECT_EQ(CompileError("!b"), "at column 1: unexpected character '!' (use '!=' or 'not')");
  EXPECT_EQ(CompileError("12abc"), "at column 1: malformed number '12abc'");
  EXPECT_EQ(CompileError("1.2.3"), "at column 1: malformed number '1.2.3'");
  EXPECT_EQ(CompileError("99999999999999999999"),
            "at column 1: integer 99999999999999999999 is out of range for int64 (write it with a decimal "
            "point for a float64)");
  EXPECT_EQ(CompileError("-9223372036854775809"),
            "at column 1: integer -9223372036854775809 is out of range for int64 (write it with a decimal "
            "point for a float64)");
  EXPECT_EQ(CompileError("1e400"), "at column 1: number 1e400 is out of range for float64");
  EXPECT_EQ(CompileError("`odd"), "at column 1: unterminated `name` (missing closing `)");
  EXPECT_EQ(CompileError("``"), "at column 1: empty name ``");
  EXPECT_EQ(CompileError("1 < i < 3"),
            "at column 7: comparisons do not chain; join them with 'and' (a < b and b < c)");
  EXPECT_EQ(CompileError("i is 5"), "at column 6: expected 'null' or 'not null' after 'is' but found '5'");
  EXPECT_EQ(CompileError("i in ()"), "at column 7: 'in' needs at least one item");
  EXPECT_EQ(CompileError("i in (1, 2"),
            "at column 11: expected ',' or ')' in the 'in' list but found end of expression");
  EXPECT_EQ(CompileError("abs(1 2)"),
            "at column 7: expected ',' or ')' after an argument of 'abs' but found '2'");
  EXPECT_EQ(CompileError("case i when 1 then 2 end"),
            "at column 6: expected 'when' after 'case' but found 'i' (write case when x = 1 then … end)");
  EXPECT_EQ(CompileError("case when b then 1"),
            "at column 19: expected 'when', 'else' or 'end' in 'case' but found end of expression");
  EXPECT_EQ(CompileError("case when b 1 end"), "at column 13: expected 'then' but found '1'");
  EXPECT_EQ(CompileError("in(1)"),
            "at column 1: expected a value but found 'in' (quote a column of that name as `in`)");
  EXPECT_EQ(CompileError("end + 1"),
            "at column 1: expected a value but found 'end' (quote a column of that name as `end`)");
  // Columns count characters, not bytes; a one-letter name gets no suggestion.
  EXPECT_EQ(CompileError("'é' + x", {{"i", Type::kInt64}}), "at column 7: unknown column 'x' (inputs: i)");
  EXPECT_EQ(CompileError(std::string(300, '(') + "1" + std::string(300, ')')),
            "at column 257: expression nests too deeply (more than 256 levels)");
}

TEST(ExpressionFunctionList, EveryFunctionDocumentedOnce) {
  std::set<std::string> names;
  for (const FunctionInfo& info : ExpressionFunctions()) {
    EXPECT_TRUE(names.insert(info.name).second) << info.name;
    EXPECT_EQ(info.signature.rfind(info.name + "(", 0), 0u) << info.signature;
    EXPECT_FALSE(info.description.empty()) << info.name;
  }
  for (const char* name :
       {"abs",      "sqrt",   "log",           "log1p",         "exp",         "pow",          "floor",
        "ceil",     "round",  "least",         "greatest",      "coalesce",    "if",           "is_nan",
        "is_null",  "lower",  "upper",         "length",        "concat",      "substr",       "to_string",
        "to_float", "to_int", "hour",          "minute",        "day_of_week", "day_of_month", "day_of_year",
        "month",    "year",   "epoch_seconds", "hours_between", "days_between"}) {
    EXPECT_TRUE(names.count(name)) << name;
  }
}

}  // namespace
}  // namespace kiln::features
