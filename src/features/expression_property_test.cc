// Property test of the one expression engine: random well-typed expressions
// over random columns (nulls, NaN payloads, ±inf, -0.0, int64 extremes, empty
// and non-ASCII strings) must give bit-identical results through
// EvaluateBatch and row-by-row EvaluateRow. Also: the row path of numeric
// expressions allocates nothing, and a micro-measure of its cost.
#include <gtest/gtest.h>

#include <atomic>
#include <bit>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <limits>
#include <new>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "features/expression.h"

// Counts allocations of this thread, to check that the row path of numeric
// expressions allocates nothing. Weak, so that another test file of this
// binary may replace operator new too (the check then skips itself).
namespace {
thread_local int64_t g_allocations = 0;
}
__attribute__((weak)) void* operator new(std::size_t size) {
  ++g_allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
__attribute__((weak)) void operator delete(void* p) noexcept { std::free(p); }
__attribute__((weak)) void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace kiln::features {
namespace {

using data::Type;
using data::Value;

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

// Builds random expressions of a requested type, each well-typed by
// construction, over the columns of a schema with at least one column of
// every type.
class ExpressionGenerator {
 public:
  ExpressionGenerator(std::mt19937_64* rng, const InputSchema& schema) : rng_(*rng), schema_(schema) {}

  std::string Generate(Type type, int depth) {
    if (depth <= 0 || Chance(0.25)) return Leaf(type);
    switch (type) {
      case Type::kInt64:
        return Int(depth - 1);
      case Type::kFloat64:
        return Float(depth - 1);
      case Type::kBool:
        return Bool(depth - 1);
      case Type::kString:
        return String(depth - 1);
      case Type::kTimestamp:
        return Timestamp(depth - 1);
    }
    return Leaf(type);
  }

 private:
  bool Chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  size_t Pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  template <class T>
  const T& PickFrom(const std::vector<T>& items) {
    return items[Pick(items.size())];
  }
  Type AnyType() {
    return PickFrom<Type>({Type::kInt64, Type::kFloat64, Type::kBool, Type::kString, Type::kTimestamp});
  }
  Type Number() { return Chance(0.5) ? Type::kInt64 : Type::kFloat64; }
  std::string G(Type type, int depth) { return Generate(type, depth); }
  std::string N(int depth) { return G(Number(), depth); }

  // A null of the given type. (A bare `null` takes its type from its
  // context, which the productions below use where the context fixes it.)
  std::string TypedNull(Type type) {
    switch (type) {
      case Type::kInt64:
        return "to_int(null)";
      case Type::kFloat64:
        return "to_float(null)";
      case Type::kBool:
        return "is_nan(null)";
      case Type::kString:
        return "to_string(null)";
      case Type::kTimestamp:
        return "least(null, " + Column(Type::kTimestamp) + ")";
    }
    return "null";
  }

  std::string Column(Type type) {
    std::vector<std::string> names;
    for (const data::Field& field : schema_) {
      if (field.type == type) names.push_back(field.name);
    }
    const std::string& name = PickFrom(names);
    return name.find(' ') != std::string::npos ? "`" + name + "`" : name;
  }

  std::string Leaf(Type type) {
    if (Chance(0.04)) return TypedNull(type);
    if (type == Type::kTimestamp || Chance(0.7)) return Column(type);
    switch (type) {
      case Type::kInt64:
        return PickFrom<std::string>({"0", "1", "-1", "2", "3", "7", "1000", "4294967296", "-4294967296",
                                      "9223372036854775807", "-9223372036854775808"});
      case Type::kFloat64:
        return PickFrom<std::string>({"0.0", "-0.0", "0.5", "1.5", "-2.25", "0.1", "3.0", "1e308", "-1e308",
                                      "1e-308", "5e-324", "1e18"});
      case Type::kBool:
        return Chance(0.5) ? "true" : "false";
      case Type::kString:
        return PickFrom<std::string>({"''", "'a'", "'ABC'", "'héllo'", R"('it\'s')", "' 7 '", "'12'",
                                      "'-3.5'", "'nan'", "\"inf\"",
                                      "'a long string, past the small buffer'"});
      case Type::kTimestamp:
        break;
    }
    return "null";
  }

  std::string Call(const std::string& name, const std::vector<std::string>& args) {
    std::string text = name + "(";
    for (size_t i = 0; i < args.size(); ++i) text += (i > 0 ? ", " : "") + args[i];
    return text + ")";
  }
  // Shared by every type: coalesce, if, case.
  std::string Conditional(Type type, int depth, const std::function<std::string()>& value) {
    switch (Pick(5)) {
      case 0:
        return Call("coalesce", {value(), value()});
      case 1:
        return Call("if", {G(Type::kBool, depth), value(), value()});
      case 2:
        return Chance(0.5) ? Call("coalesce", {"null", value()}) : Call("if", {"null", "null", value()});
      default: {
        std::string text = "case when " + G(Type::kBool, depth) + " then " + value();
        if (Chance(0.5)) text += " when " + G(Type::kBool, depth) + " then " + value();
        if (Chance(0.7)) text += " else " + value();
        return text + " end";
      }
    }
  }

  std::string Int(int d) {
    const auto value = [&] { return G(Type::kInt64, d); };
    switch (Pick(9)) {
      case 0:
        return "(" + value() + " " + PickFrom<std::string>({"+", "-", "*", "%"}) + " " +
               (Chance(0.05) ? "null" : value()) + ")";
      case 1:
        return "-(" + value() + ")";
      case 2:
        return Call("abs", {value()});
      case 3:
        return Call(Chance(0.5) ? "least" : "greatest", {value(), value(), value()});
      case 4:
        return Conditional(Type::kInt64, d, value);
      case 5:
        return Call("to_int", {G(AnyType(), d)});
      case 6:
        return Call("length", {G(Type::kString, d)});
      case 7:
        return Call(PickFrom<std::string>({"hour", "minute", "day_of_week", "day_of_month", "day_of_year",
                                           "month", "year", "epoch_seconds"}),
                    {G(Type::kTimestamp, d)});
      default:
        return value();
    }
  }

  std::string Float(int d) {
    const auto value = [&] { return G(Type::kFloat64, d); };
    switch (Pick(9)) {
      case 0:
        return "(" + (Chance(0.05) ? std::string("null") : N(d)) + " " +
               PickFrom<std::string>({"+", "-", "*", "/", "%"}) + " " + value() + ")";
      case 1:
        return "(" + N(d) + " / " + N(d) + ")";
      case 2:
        return "-(" + value() + ")";
      case 3: {
        const std::string name =
            PickFrom<std::string>({"sqrt", "log", "log1p", "exp", "floor", "ceil", "round", "abs"});
        return Call(name, {name == "abs" ? value() : N(d)});  // abs keeps int64
      }
      case 4:
        return Chance(0.5) ? Call("pow", {N(d), N(d)}) : Call("round", {N(d), G(Type::kInt64, d)});
      case 5:
        return Call(Chance(0.5) ? "least" : "greatest", {N(d), value(), N(d)});
      case 6:
        return Conditional(Type::kFloat64, d, value);
      case 7:
        return Call("to_float",
                    {G(PickFrom<Type>({Type::kInt64, Type::kFloat64, Type::kString, Type::kBool}), d)});
      default:
        return Call(Chance(0.5) ? "hours_between" : "days_between",
                    {G(Type::kTimestamp, d), G(Type::kTimestamp, d)});
    }
  }

  std::string Bool(int d) {
    const auto value = [&] { return G(Type::kBool, d); };
    const std::string compare = PickFrom<std::string>({"=", "==", "!=", "<>", "<", "<=", ">", ">="});
    switch (Pick(9)) {
      case 0:
        return "(" + N(d) + " " + compare + " " + (Chance(0.05) ? "null" : N(d)) + ")";
      case 1: {
        const Type type = PickFrom<Type>({Type::kString, Type::kTimestamp});
        return "(" + G(type, d) + " " + compare + " " + G(type, d) + ")";
      }
      case 2:
        return "(" + value() + (Chance(0.5) ? " = " : " != ") + value() + ")";
      case 3:
        return "(" + value() + (Chance(0.5) ? " and " : " or ") + value() + ")";
      case 4:
        return "not (" + value() + ")";
      case 5:
        return "(" + G(AnyType(), d) + (Chance(0.5) ? " is null)" : " is not null)");
      case 6: {
        const Type type = AnyType();
        const Type item_type = data::IsNumeric(type) ? Number() : type;
        std::string text = "(" + G(type, d) + (Chance(0.3) ? " not in (" : " in (") + G(item_type, d);
        for (size_t k = Pick(3); k > 0; --k) text += ", " + G(data::IsNumeric(type) ? Number() : type, d);
        return text + "))";
      }
      case 7:
        return Chance(0.5) ? Call("is_nan", {N(d)}) : Call("is_null", {G(AnyType(), d)});
      default:
        return Conditional(Type::kBool, d, value);
    }
  }

  std::string String(int d) {
    const auto value = [&] { return G(Type::kString, d); };
    switch (Pick(7)) {
      case 0:
        return Call(Chance(0.5) ? "lower" : "upper", {value()});
      case 1:
        return Chance(0.5) ? Call("concat", {value(), value()}) : Call("concat", {value(), value(), value()});
      case 2:
        return Chance(0.5) ? Call("substr", {value(), G(Type::kInt64, d)})
                           : Call("substr", {value(), G(Type::kInt64, d), G(Type::kInt64, d)});
      case 3:
        return Call("to_string", {G(AnyType(), d)});
      case 4:
        return Call(Chance(0.5) ? "least" : "greatest", {value(), value()});
      case 5:
        return Conditional(Type::kString, d, value);
      default:
        return value();
    }
  }

  std::string Timestamp(int d) {
    const auto value = [&] { return G(Type::kTimestamp, d); };
    if (Chance(0.3)) return Call(Chance(0.5) ? "least" : "greatest", {value(), value()});
    return Conditional(Type::kTimestamp, d, value);
  }

  std::mt19937_64& rng_;
  const InputSchema& schema_;
};

// A random schema (every type at least once) and columns full of edge cases.
class RandomTable {
 public:
  RandomTable(std::mt19937_64* rng, size_t rows) : rng_(*rng) {
    const Type kTypes[] = {Type::kInt64, Type::kFloat64, Type::kBool, Type::kString, Type::kTimestamp};
    for (Type type : kTypes) AddColumn(type, rows);
    for (size_t extra = std::uniform_int_distribution<size_t>(0, 5)(rng_); extra > 0; --extra) {
      AddColumn(kTypes[std::uniform_int_distribution<size_t>(0, 4)(rng_)], rows);
    }
    for (size_t row = 0; row < rows; ++row) {
      std::vector<Value> values;
      for (size_t c = 0; c < frame_.num_columns(); ++c) values.push_back(frame_.column(c).Get(row));
      rows_.push_back(std::move(values));
    }
  }

  const InputSchema& schema() const { return schema_; }
  const data::Frame& frame() const { return frame_; }
  const std::vector<Value>& row(size_t index) const { return rows_[index]; }

 private:
  template <class T>
  T PickFrom(const std::vector<T>& items) {
    return items[std::uniform_int_distribution<size_t>(0, items.size() - 1)(rng_)];
  }

  Value RandomValue(Type type) {
    if (std::uniform_int_distribution<int>(0, 6)(rng_) == 0) return Value::Null(type);
    const int64_t any = static_cast<int64_t>(rng_());
    switch (type) {
      case Type::kInt64:
        return Value::Int(PickFrom<int64_t>(
            {0, 1, -1, 2, 3, kMax, kMin, kMax - 1, kMin + 1, any, any % 1000, any % 100, int64_t{1} << 32}));
      case Type::kFloat64:
        return Value::Float(PickFrom<double>(
            {0.0, -0.0, 1.0, -1.5, 0.1, 1e308, -1e308, 5e-324, 1e18, std::numeric_limits<double>::infinity(),
             -std::numeric_limits<double>::infinity(), std::bit_cast<double>(0x7ff8000000000000ULL),
             std::bit_cast<double>(0xfff8000000000000ULL), std::bit_cast<double>(0x7ff80000deadbeefULL),
             std::bit_cast<double>(0xfff0000000000001ULL), static_cast<double>(any % 1000) / 8.0,
             static_cast<double>(any), std::bit_cast<double>(static_cast<uint64_t>(any)) / 1e300}));
      case Type::kBool:
        return Value::Bool(any & 1);
      case Type::kString: {
        std::string random(static_cast<size_t>(any & 31), 'x');
        for (char& c : random) c = static_cast<char>(' ' + std::uniform_int_distribution<int>(0, 94)(rng_));
        return Value::String(PickFrom<std::string>({"", "a", "A", "SFO", "héllo", "12", " 3.5", "-7", "nan",
                                                    "inf", "ÄÖÜ", random, random + random}));
      }
      case Type::kTimestamp:
        return Value::Timestamp(PickFrom<int64_t>({0, -1, 1, kMin, kMax, any % 4'000'000'000'000'000,
                                                   978'679'815'000'000, -86'400'000'000 + any % 1'000'000}));
    }
    return Value::Null(type);
  }

  void AddColumn(Type type, size_t rows) {
    std::string name = std::string(data::TypeName(type)) + "_" + std::to_string(schema_.size());
    if (schema_.size() % 3 == 1) name = "view." + name;
    if (schema_.size() % 4 == 3) name = "odd " + name;
    data::Column column(type);
    for (size_t row = 0; row < rows; ++row) column.Append(RandomValue(type));
    schema_.push_back({name, type});
    EXPECT_TRUE(frame_.AddColumn(name, std::move(column)).ok());
  }

  std::mt19937_64& rng_;
  InputSchema schema_;
  data::Frame frame_;
  std::vector<std::vector<Value>> rows_;
};

// A null in a column has zero payload (the Column contract).
bool NullPayloadIsZero(const data::Column& column, size_t row) {
  switch (column.type()) {
    case Type::kFloat64:
      return std::bit_cast<uint64_t>(column.floats()[row]) == 0;
    case Type::kString:
      return column.strings()[row].empty();
    default:
      return column.ints()[row] == 0;
  }
}

TEST(ExpressionProperty, BatchAndRowAgreeBitForBit) {
  constexpr int kTables = 40;
  constexpr int kExpressionsPerTable = 100;
  constexpr size_t kRows = 200;
  std::mt19937_64 rng(20240601);
  int failures = 0;
  int64_t compared = 0;
  for (int t = 0; t < kTables && failures < 5; ++t) {
    RandomTable table(&rng, kRows);
    ExpressionGenerator generator(&rng, table.schema());
    for (int e = 0; e < kExpressionsPerTable && failures < 5; ++e) {
      const Type type = static_cast<Type>(rng() % 5);
      const std::string text = generator.Generate(type, 1 + static_cast<int>(rng() % 5));
      auto expression = Expression::Compile(text, table.schema());
      ASSERT_TRUE(expression.ok()) << text << "\n" << expression.status().message();
      ASSERT_EQ(expression->type(), type) << text;
      auto batch = expression->EvaluateBatch(table.frame());
      ASSERT_TRUE(batch.ok()) << text << "\n" << batch.status().message();
      ASSERT_EQ(batch->size(), kRows);
      ASSERT_EQ(batch->type(), type);
      for (size_t row = 0; row < kRows; ++row) {
        const Value by_row = expression->EvaluateRow(table.row(row));
        const Value by_batch = batch->Get(row);
        ++compared;
        if (!by_batch.BitwiseEquals(by_row) || (batch->IsNull(row) && !NullPayloadIsZero(*batch, row))) {
          std::string inputs;
          for (size_t c = 0; c < table.schema().size(); ++c) {
            inputs += "  " + table.schema()[c].name + " = " + table.row(row)[c].ToString() + "\n";
          }
          ADD_FAILURE() << text << "\nrow " << row << ": batch " << by_batch.ToString() << " (bits "
                        << std::bit_cast<uint64_t>(by_batch.f) << "), row " << by_row.ToString() << " (bits "
                        << std::bit_cast<uint64_t>(by_row.f) << ")\n"
                        << inputs;
          ++failures;
          break;
        }
      }
    }
  }
  EXPECT_EQ(compared, int64_t{kTables} * kExpressionsPerTable * static_cast<int64_t>(kRows));
}

// The same text compiles to the same result: compiling is deterministic and
// expressions are immutable and shareable.
TEST(ExpressionProperty, RepeatedEvaluationIsStable) {
  std::mt19937_64 rng(7);
  RandomTable table(&rng, 50);
  ExpressionGenerator generator(&rng, table.schema());
  for (int e = 0; e < 200; ++e) {
    const std::string text = generator.Generate(static_cast<Type>(rng() % 5), 4);
    auto expression = Expression::Compile(text, table.schema());
    ASSERT_TRUE(expression.ok()) << text << "\n" << expression.status().message();
    const Expression copy = *expression;
    for (size_t row = 0; row < 50; ++row) {
      const Value first = expression->EvaluateRow(table.row(row));
      ASSERT_TRUE(first.BitwiseEquals(copy.EvaluateRow(table.row(row)))) << text;
    }
  }
}

// One compiled expression evaluated from several threads at once gives the
// single-threaded results (expressions are immutable and share nothing
// mutable).
TEST(ExpressionProperty, ConcurrentEvaluationMatchesSequential) {
  std::mt19937_64 rng(99);
  RandomTable table(&rng, 100);
  ExpressionGenerator generator(&rng, table.schema());
  std::vector<Expression> expressions;
  std::vector<std::vector<Value>> expected;
  while (expressions.size() < 50) {
    auto expression =
        Expression::Compile(generator.Generate(static_cast<Type>(rng() % 5), 4), table.schema());
    ASSERT_TRUE(expression.ok()) << expression.status().message();
    expected.emplace_back();
    for (size_t row = 0; row < 100; ++row) expected.back().push_back(expression->EvaluateRow(table.row(row)));
    expressions.push_back(*std::move(expression));
  }
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 5; ++round) {
        for (size_t e = 0; e < expressions.size(); ++e) {
          const size_t index = (e + static_cast<size_t>(t) * 13) % expressions.size();
          auto batch = expressions[index].EvaluateBatch(table.frame());
          for (size_t row = 0; row < 100; ++row) {
            const Value value = expressions[index].EvaluateRow(table.row(row));
            if (!value.BitwiseEquals(expected[index][row]) || !batch.ok() ||
                !batch->Get(row).BitwiseEquals(expected[index][row])) {
              ++mismatches;
            }
          }
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(mismatches.load(), 0);
}

InputSchema FlightSchema() {
  return {{"delay_mean_1d", Type::kFloat64},
          {"delay_mean_7d", Type::kFloat64},
          {"departure", Type::kTimestamp},
          {"origin", Type::kString},
          {"distance", Type::kInt64}};
}
std::vector<Value> FlightRow() {
  return {Value::Float(12.5), Value::Float(9.25), Value::Timestamp(978'679'815'000'000), Value::String("SFO"),
          Value::Int(337)};
}

TEST(ExpressionRowPath, NumericExpressionsDoNotAllocate) {
  const int64_t probe = g_allocations;
  delete new int(1);
  if (g_allocations == probe) GTEST_SKIP() << "another operator new replaced the counting one";
  const std::vector<Value> row = FlightRow();
  for (const char* text :
       {"delay_mean_1d / (delay_mean_7d + 1)", "hour(departure)", "day_of_week(departure) in (5, 6)",
        "if(distance > 300, coalesce(delay_mean_1d, 0.0), least(delay_mean_7d, 1.5))", "origin = 'SFO'",
        "case when origin in ('SFO', 'LAX') then log1p(distance) else 0 end",
        "length(origin) + month(departure)"}) {
    auto expression = Expression::Compile(text, FlightSchema());
    ASSERT_TRUE(expression.ok()) << expression.status().message();
    const int64_t before = g_allocations;
    double sum = 0;
    for (int k = 0; k < 1000; ++k) {
      const Value v = expression->EvaluateRow(row);
      sum += v.f + static_cast<double>(v.i);
    }
    EXPECT_EQ(g_allocations - before, 0) << text;
    EXPECT_NE(sum, -1.0);
  }
}

// CPU time of this thread, so that the measure below means something on a
// shared machine.
double ThreadCpuNanos() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) * 1e9 + static_cast<double>(now.tv_nsec);
}

// Not a test: prints the row-path and batch costs (thread CPU time) of two
// typical on-demand features. Run with --gtest_also_run_disabled_tests.
TEST(ExpressionRowPath, DISABLED_MicroMeasure) {
  const std::vector<Value> row = FlightRow();
  data::Frame frame;
  constexpr size_t kRows = 1'000'000;
  for (size_t c = 0; c < row.size(); ++c) {
    data::Column column(row[c].type);
    for (size_t r = 0; r < kRows; ++r) column.Append(row[c]);
    ASSERT_TRUE(frame.AddColumn(FlightSchema()[c].name, std::move(column)).ok());
  }
  for (const char* text : {"delay_mean_1d / (delay_mean_7d + 1)", "hour(departure)"}) {
    auto expression = Expression::Compile(text, FlightSchema());
    ASSERT_TRUE(expression.ok());
    constexpr int kCalls = 5'000'000;
    double sum = 0;
    const double start = ThreadCpuNanos();
    for (int k = 0; k < kCalls; ++k) {
      const Value v = expression->EvaluateRow(row);
      sum += v.f + static_cast<double>(v.i);
    }
    const double middle = ThreadCpuNanos();
    auto column = expression->EvaluateBatch(frame);
    const double end = ThreadCpuNanos();
    ASSERT_TRUE(column.ok());
    const double row_ns = (middle - start) / kCalls;
    const double batch_ns = (end - middle) / kRows;
    std::printf("%-40s EvaluateRow %6.1f ns/row   EvaluateBatch %5.2f ns/row   (checksum %g)\n", text, row_ns,
                batch_ns, sum);
  }
}

}  // namespace
}  // namespace kiln::features
