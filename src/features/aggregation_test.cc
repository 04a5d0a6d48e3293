#include "features/aggregation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "features/join_testing.h"

namespace kiln::features {
namespace {

using join_testing::Floats;
using join_testing::Ints;
using join_testing::MakeFrame;
using join_testing::Seconds;
using join_testing::Strings;
using join_testing::Times;
using ::testing::HasSubstr;
using Function = AggregationFunction;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

AggregateOptions Options(std::vector<std::string> keys, int threads = 1) {
  AggregateOptions options;
  options.join_keys = std::move(keys);
  options.entity_timestamp = "ts";
  options.event_timestamp = "event_ts";
  options.threads = threads;
  return options;
}

data::Frame Aggregate(const data::Frame& entities, const data::Frame& events,
                      const std::vector<WindowAggregation>& aggregations,
                      const AggregateOptions& options) {
  Result<data::Frame> result = AggregateAsOf(entities, events, aggregations, options);
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  return result.ok() ? std::move(*result) : data::Frame();
}

std::string Error(const data::Frame& entities, const data::Frame& events,
                  const std::vector<WindowAggregation>& aggregations,
                  const AggregateOptions& options) {
  Result<data::Frame> result = AggregateAsOf(entities, events, aggregations, options);
  EXPECT_FALSE(result.ok());
  return result.ok() ? std::string() : result.status().message();
}

// Column `name` of `frame` rendered row by row ("null" for nulls).
std::vector<std::string> Rendered(const data::Frame& frame, const std::string& name) {
  std::vector<std::string> out;
  const data::Column* column = frame.Find(name);
  EXPECT_NE(column, nullptr) << name;
  if (column == nullptr) return out;
  for (size_t row = 0; row < column->size(); ++row) out.push_back(column->Get(row).ToString());
  return out;
}

TEST(AggregationFunctionTest, ParsesNamesAndTheAvgAlias) {
  for (auto [name, function] : std::vector<std::pair<std::string, Function>>{
           {"count", Function::kCount}, {"sum", Function::kSum}, {"mean", Function::kMean},
           {"avg", Function::kMean}, {"min", Function::kMin}, {"max", Function::kMax},
           {"stddev", Function::kStddev}, {"last", Function::kLast}}) {
    Result<Function> parsed = ParseAggregationFunction(name);
    ASSERT_TRUE(parsed.ok()) << name;
    EXPECT_EQ(*parsed, function);
    if (name != "avg") {
      EXPECT_EQ(AggregationFunctionName(function), name);
    }
  }
  Result<Function> unknown = ParseAggregationFunction("median");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().message(),
            "unknown aggregation function 'median' (expected one of count, sum, mean, avg, min, "
            "max, stddev, last)");
}

TEST(AggregationFunctionTest, ResultTypesFollowTheInput) {
  using data::Type;
  EXPECT_EQ(*AggregationResultType(Function::kCount, Type::kString), Type::kInt64);
  EXPECT_EQ(*AggregationResultType(Function::kSum, Type::kInt64), Type::kFloat64);
  EXPECT_EQ(*AggregationResultType(Function::kMean, Type::kFloat64), Type::kFloat64);
  EXPECT_EQ(*AggregationResultType(Function::kStddev, Type::kInt64), Type::kFloat64);
  EXPECT_EQ(*AggregationResultType(Function::kMin, Type::kInt64), Type::kInt64);
  EXPECT_EQ(*AggregationResultType(Function::kMax, Type::kTimestamp), Type::kTimestamp);
  EXPECT_EQ(*AggregationResultType(Function::kLast, Type::kString), Type::kString);
  EXPECT_EQ(*AggregationResultType(Function::kLast, Type::kBool), Type::kBool);
  EXPECT_EQ(AggregationResultType(Function::kSum, Type::kString).status().message(),
            "sum needs an int64 or float64 column, not string");
  EXPECT_EQ(AggregationResultType(Function::kStddev, Type::kTimestamp).status().message(),
            "stddev needs an int64 or float64 column, not timestamp");
  EXPECT_EQ(AggregationResultType(Function::kMax, Type::kBool).status().message(),
            "max needs an int64, float64 or timestamp column, not bool");
}

// Key "a": events (time s, value): (0, 1) (10, 2) (10, null) (20, 4) (25, NaN) (30, 8).
data::Frame HandEvents() {
  return MakeFrame({{"id", Strings({"a", "a", "a", "a", "a", "a"})},
                    {"event_ts", Times({0, 10, 10, 20, 25, 30})},
                    {"value", Floats({1.0, 2.0, std::nullopt, 4.0, kNaN, 8.0})}});
}

std::vector<WindowAggregation> AllFunctions(int64_t window) {
  return {{"events", Function::kCount, "", window},   {"values", Function::kCount, "value", window},
          {"sum", Function::kSum, "value", window},   {"mean", Function::kMean, "value", window},
          {"min", Function::kMin, "value", window},   {"max", Function::kMax, "value", window},
          {"sd", Function::kStddev, "value", window}, {"last", Function::kLast, "value", window}};
}

TEST(AggregateAsOfTest, EveryFunctionOnAHandComputedWindow) {
  data::Frame entities =
      MakeFrame({{"id", Strings({"a", "a", "a", "a", "a", "a", "a", "zzz"})},
                 {"ts", Times({30, 20, 10, 29, 5, -1, 60, 30})}});
  data::Frame out = Aggregate(entities, HandEvents(), AllFunctions(20), Options({"id"}));
  // Windows (t − 20 s, t]; a NaN counts as null.
  EXPECT_EQ(Rendered(out, "events"),
            (std::vector<std::string>{"3", "3", "3", "4", "1", "0", "0", "0"}));
  EXPECT_EQ(Rendered(out, "values"),
            (std::vector<std::string>{"2", "2", "2", "2", "1", "0", "0", "0"}));
  EXPECT_EQ(Rendered(out, "sum"),
            (std::vector<std::string>{"12.0", "6.0", "3.0", "6.0", "1.0", "null", "null", "null"}));
  EXPECT_EQ(Rendered(out, "mean"),
            (std::vector<std::string>{"6.0", "3.0", "1.5", "3.0", "1.0", "null", "null", "null"}));
  EXPECT_EQ(Rendered(out, "min"),
            (std::vector<std::string>{"4.0", "2.0", "1.0", "2.0", "1.0", "null", "null", "null"}));
  EXPECT_EQ(Rendered(out, "max"),
            (std::vector<std::string>{"8.0", "4.0", "2.0", "4.0", "1.0", "null", "null", "null"}));
  EXPECT_EQ(Rendered(out, "last"),
            (std::vector<std::string>{"8.0", "4.0", "2.0", "4.0", "1.0", "null", "null", "null"}));
  const data::Column& sd = *out.Find("sd");
  EXPECT_DOUBLE_EQ(sd.floats()[0], std::sqrt(8.0));  // sample stddev of {4, 8}
  EXPECT_DOUBLE_EQ(sd.floats()[1], std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(sd.floats()[2], std::sqrt(0.5));
  EXPECT_DOUBLE_EQ(sd.floats()[3], std::sqrt(2.0));
  for (size_t row : {4, 5, 6, 7}) EXPECT_TRUE(sd.IsNull(row)) << row;  // n < 2
  EXPECT_EQ(out.num_rows(), entities.num_rows());
  EXPECT_EQ(out.names(), (std::vector<std::string>{"events", "values", "sum", "mean", "min",
                                                   "max", "sd", "last"}));
}

TEST(AggregateAsOfTest, WindowExcludesItsStartAndIncludesItsEnd) {
  data::Frame events = MakeFrame({{"id", Ints({1, 1, 1})},
                                  {"event_ts", Times({0, 10, 20})},
                                  {"value", Ints({1, 2, 4})}});
  data::Column ts(data::Type::kTimestamp);
  for (int64_t micros : {Seconds(20), Seconds(10), Seconds(20) - 1, Seconds(10) + 1}) {
    ts.AppendInt(micros);
  }
  data::Frame entities = MakeFrame({{"id", Ints({1, 1, 1, 1})}, {"ts", std::move(ts)}});
  data::Frame out = Aggregate(entities, events, {{"sum", Function::kSum, "value", 10}},
                              Options({"id"}));
  // (10, 20] holds only 20; (0, 10] only 10; (10 − 1µs, 20 − 1µs] only 10; (1µs, 10 + 1µs] only 10.
  EXPECT_EQ(Rendered(out, "sum"), (std::vector<std::string>{"4.0", "2.0", "2.0", "2.0"}));
}

TEST(AggregateAsOfTest, LastBreaksTimeTiesByRowOrderAndKeepsTheType) {
  data::Frame events = MakeFrame({{"id", Ints({1, 1, 1, 2})},
                                  {"event_ts", Times({5, 5, 3, 5})},
                                  {"label", Strings({"x", "y", "z", std::nullopt})},
                                  {"at", Times({100, 300, 200, 50})},
                                  {"n", Ints({7, -3, 9, std::nullopt})}});
  data::Frame entities = MakeFrame({{"id", Ints({1, 1, 2})}, {"ts", Times({5, 4, 5})}});
  data::Frame out = Aggregate(entities, events,
                              {{"last", Function::kLast, "label", 60},
                               {"first_at", Function::kMin, "at", 60},
                               {"last_at", Function::kMax, "at", 60},
                               {"low", Function::kMin, "n", 60},
                               {"high", Function::kMax, "n", 60}},
                              Options({"id"}));
  EXPECT_EQ(Rendered(out, "last"), (std::vector<std::string>{"y", "z", "null"}));
  EXPECT_EQ(out.Find("first_at")->type(), data::Type::kTimestamp);
  EXPECT_EQ(Rendered(out, "first_at"),
            (std::vector<std::string>{"1970-01-01T00:01:40Z", "1970-01-01T00:03:20Z",
                                      "1970-01-01T00:00:50Z"}));
  EXPECT_EQ(Rendered(out, "last_at"),
            (std::vector<std::string>{"1970-01-01T00:05:00Z", "1970-01-01T00:03:20Z",
                                      "1970-01-01T00:00:50Z"}));
  EXPECT_EQ(out.Find("low")->type(), data::Type::kInt64);
  EXPECT_EQ(Rendered(out, "low"), (std::vector<std::string>{"-3", "9", "null"}));
  EXPECT_EQ(Rendered(out, "high"), (std::vector<std::string>{"9", "9", "null"}));
}

TEST(AggregateAsOfTest, NullKeysAndTimesGiveEmptyWindows) {
  data::Frame events = MakeFrame({{"id", Ints({1, std::nullopt, 1})},
                                  {"event_ts", Times({1, 1, std::nullopt})},
                                  {"value", Floats({2.0, 3.0, 4.0})}});
  data::Frame entities = MakeFrame(
      {{"id", Ints({1, std::nullopt, 1, 5})}, {"ts", Times({10, 10, std::nullopt, 10})}});
  data::Frame out = Aggregate(entities, events,
                              {{"n", Function::kCount, "", 100}, {"s", Function::kSum, "value", 100}},
                              Options({"id"}));
  EXPECT_EQ(Rendered(out, "n"), (std::vector<std::string>{"1", "0", "0", "0"}));
  EXPECT_EQ(Rendered(out, "s"), (std::vector<std::string>{"2.0", "null", "null", "null"}));
}

TEST(AggregateAsOfTest, MultiColumnKeysWithUnsortedInputsAndSeveralWindows) {
  data::Frame events = MakeFrame({{"customer", Ints({2, 1, 1, 2, 1})},
                                  {"country", Strings({"DE", "DE", "FR", "DE", "DE"})},
                                  {"event_ts", Times({50, 40, 40, 10, 10})},
                                  {"amount", Ints({5, 4, 100, 1, 3})}});
  data::Frame entities = MakeFrame({{"customer", Ints({1, 2, 1, 1})},
                                    {"country", Strings({"DE", "DE", "DE", "FR"})},
                                    {"ts", Times({45, 55, 12, 45})}});
  for (int threads : {1, 4}) {
    data::Frame out = Aggregate(entities, events,
                                {{"sum_1m", Function::kSum, "amount", 60},
                                 {"sum_10s", Function::kSum, "amount", 10},
                                 {"n_1m", Function::kCount, "amount", 60}},
                                Options({"customer", "country"}, threads));
    EXPECT_EQ(Rendered(out, "sum_1m"), (std::vector<std::string>{"7.0", "6.0", "3.0", "100.0"}));
    EXPECT_EQ(Rendered(out, "sum_10s"), (std::vector<std::string>{"4.0", "5.0", "3.0", "100.0"}));
    EXPECT_EQ(Rendered(out, "n_1m"), (std::vector<std::string>{"2", "2", "1", "1"}));
  }
}

TEST(AggregateAsOfTest, ErrorsNameTheAggregationAndTheProblem) {
  data::Frame events = HandEvents();
  data::Frame entities = MakeFrame({{"id", Strings({"a"})}, {"ts", Times({1})}});
  AggregateOptions options = Options({"id"});
  EXPECT_EQ(Error(entities, events, {{"s", Function::kSum, "value", 0}}, options),
            "aggregation 's': window must be positive, got 0s");
  EXPECT_EQ(Error(entities, events, {{"s", Function::kSum, "", 60}}, options),
            "aggregation 's': sum needs a value column (only count may omit it)");
  EXPECT_EQ(Error(entities, events, {{"s", Function::kSum, "price", 60}}, options),
            "aggregation 's': 'price' is not a column of the events frame (columns: id, "
            "event_ts, value)");
  EXPECT_EQ(Error(entities, events, {{"s", Function::kSum, "id", 60}}, options),
            "aggregation 's': sum needs an int64 or float64 column, not string");
  EXPECT_EQ(Error(entities, events,
                  {{"s", Function::kSum, "value", 60}, {"s", Function::kMax, "value", 60}},
                  options),
            "two aggregations are named 's'");
  EXPECT_EQ(Error(entities, events, {{"", Function::kCount, "", 60}}, options),
            "an aggregation has an empty output name");
  options.entity_timestamp = "id";
  EXPECT_EQ(Error(entities, events, {{"n", Function::kCount, "", 60}}, options),
            "entity timestamp 'id' of the entity frame is string, not timestamp");
  EXPECT_THAT(Error(entities, events, {{"n", Function::kCount, "", 60}}, Options({"customer"})),
              HasSubstr("join key 'customer' is not a column of the events frame"));
}

// ---- Randomized comparison against the definition ----

// The definition, row by row: O(entities × events).
data::Value BruteForce(const data::Frame& entities, const data::Frame& events,
                       const WindowAggregation& aggregation, const AggregateOptions& options,
                       size_t i, data::Type output_type) {
  const data::Column& entity_time = *entities.Find(options.entity_timestamp);
  const data::Column& event_time = *events.Find(options.event_timestamp);
  const data::Column* input = aggregation.column.empty() ? nullptr : events.Find(aggregation.column);
  std::vector<size_t> window;  // events in (t − w, t], by (time, row)
  if (!entity_time.IsNull(i)) {
    const int64_t t = entity_time.ints()[i];
    for (size_t j = 0; j < events.num_rows(); ++j) {
      bool same = true;
      for (const std::string& key : options.join_keys) {
        const data::Column& a = *entities.Find(key);
        const data::Column& b = *events.Find(key);
        if (a.IsNull(i) || b.IsNull(j) || !a.Get(i).BitwiseEquals(b.Get(j))) same = false;
      }
      if (!same || event_time.IsNull(j)) continue;
      const int64_t e = event_time.ints()[j];
      if (e <= t && e > t - Seconds(aggregation.window_seconds)) window.push_back(j);
    }
  }
  std::stable_sort(window.begin(), window.end(), [&](size_t a, size_t b) {
    return event_time.ints()[a] < event_time.ints()[b];
  });
  if (input == nullptr) return data::Value::Int(static_cast<int64_t>(window.size()));
  std::vector<size_t> present;
  for (size_t j : window) {
    if (input->IsNull(j)) continue;
    if (input->type() == data::Type::kFloat64 && std::isnan(input->floats()[j])) continue;
    present.push_back(j);
  }
  auto number = [&](size_t j) {
    return input->type() == data::Type::kFloat64 ? input->floats()[j]
                                                 : static_cast<double>(input->ints()[j]);
  };
  const double n = static_cast<double>(present.size());
  switch (aggregation.function) {
    case Function::kCount:
      return data::Value::Int(static_cast<int64_t>(present.size()));
    case Function::kLast:
      return present.empty() ? data::Value::Null(output_type) : input->Get(present.back());
    case Function::kMin:
    case Function::kMax: {
      if (present.empty()) return data::Value::Null(output_type);
      data::Value best = input->Get(present[0]);
      for (size_t j : present) {
        data::Value v = input->Get(j);
        const bool smaller = v.type == data::Type::kFloat64 ? v.f < best.f : v.i < best.i;
        const bool larger = v.type == data::Type::kFloat64 ? v.f > best.f : v.i > best.i;
        if (aggregation.function == Function::kMin ? smaller : larger) best = v;
      }
      return best;
    }
    case Function::kSum:
    case Function::kMean:
    case Function::kStddev: {
      if (present.empty()) return data::Value::Null(output_type);
      double sum = 0;
      for (size_t j : present) sum += number(j);
      if (aggregation.function == Function::kSum) return data::Value::Float(sum);
      const double mean = sum / n;
      if (aggregation.function == Function::kMean) return data::Value::Float(mean);
      if (present.size() < 2) return data::Value::Null(output_type);
      double squares = 0;
      for (size_t j : present) squares += (number(j) - mean) * (number(j) - mean);
      return data::Value::Float(std::sqrt(squares / (n - 1)));
    }
  }
  return data::Value::Null(output_type);
}

TEST(AggregateAsOfTest, AgreesWithBruteForceOnRandomFrames) {
  std::mt19937_64 random(7);
  const std::vector<Function> functions = {Function::kCount, Function::kSum, Function::kMean,
                                           Function::kMin,   Function::kMax, Function::kStddev,
                                           Function::kLast};
  const std::vector<std::string> columns = {"x", "n", "at", "label"};
  for (int round = 0; round < 40; ++round) {
    // Few keys and many rows, so windows slide far and big keys split across threads.
    const size_t num_events = random() % 600;
    const size_t num_entities = random() % 300 + 1;
    const int64_t num_keys = static_cast<int64_t>(random() % 3) + 1;
    const int64_t horizon = static_cast<int64_t>(random() % 300) + 1;
    auto maybe = [&](int64_t value) -> std::optional<int64_t> {
      if (random() % 20 == 0) return std::nullopt;
      return value;
    };
    std::vector<std::optional<int64_t>> id, event, n, at;
    std::vector<std::optional<double>> x;
    std::vector<std::optional<std::string>> label;
    for (size_t j = 0; j < num_events; ++j) {
      id.push_back(maybe(static_cast<int64_t>(random() % num_keys)));
      event.push_back(maybe(static_cast<int64_t>(random() % horizon)));
      const uint64_t kind = random() % 20;
      x.push_back(kind == 0 ? std::nullopt
                            : std::optional<double>(kind == 1 ? kNaN
                                                              : (random() % 20001) / 100.0 - 100));
      n.push_back(maybe(static_cast<int64_t>(random() % 2001) - 1000));
      at.push_back(maybe(static_cast<int64_t>(random() % 100000)));
      label.push_back(random() % 10 == 0 ? std::nullopt
                                         : std::optional("v" + std::to_string(random() % 50)));
    }
    data::Frame events = MakeFrame({{"id", Ints(id)},
                                    {"event_ts", Times(event)},
                                    {"x", Floats(x)},
                                    {"n", Ints(n)},
                                    {"at", Times(at)},
                                    {"label", Strings(label)}});
    id.clear();
    std::vector<std::optional<int64_t>> ts;
    for (size_t i = 0; i < num_entities; ++i) {
      id.push_back(maybe(static_cast<int64_t>(random() % (num_keys + 1))));
      ts.push_back(maybe(static_cast<int64_t>(random() % (horizon + 40)) - 20));
    }
    data::Frame entities = MakeFrame({{"id", Ints(id)}, {"ts", Times(ts)}});

    std::vector<WindowAggregation> aggregations;
    const int64_t windows[] = {1, 5, 30, 200, 100000};
    for (int k = 0; k < 8; ++k) {
      const Function function = functions[random() % functions.size()];
      std::string column = columns[random() % columns.size()];
      if (function == Function::kCount && random() % 2 == 0) column = "";
      if ((function == Function::kSum || function == Function::kMean ||
           function == Function::kStddev) && (column == "at" || column == "label")) {
        column = "x";
      }
      if ((function == Function::kMin || function == Function::kMax) && column == "label") {
        column = "n";
      }
      aggregations.push_back({"a" + std::to_string(k), function, column,
                              windows[random() % std::size(windows)]});
    }
    std::vector<std::vector<data::Value>> expected_values(aggregations.size());
    for (size_t k = 0; k < aggregations.size(); ++k) {
      const data::Type type =
          aggregations[k].column.empty()
              ? data::Type::kInt64
              : *AggregationResultType(aggregations[k].function,
                                       events.Find(aggregations[k].column)->type());
      for (size_t i = 0; i < entities.num_rows(); ++i) {
        expected_values[k].push_back(
            BruteForce(entities, events, aggregations[k], Options({"id"}), i, type));
      }
    }
    for (int threads : {1, 4}) {
      data::Frame out = Aggregate(entities, events, aggregations, Options({"id"}, threads));
      ASSERT_EQ(out.num_columns(), aggregations.size());
      for (size_t k = 0; k < aggregations.size(); ++k) {
        const WindowAggregation& aggregation = aggregations[k];
        const data::Column& column = out.column(k);
        ASSERT_EQ(column.type(), expected_values[k].empty() ? column.type()
                                                            : expected_values[k][0].type);
        for (size_t i = 0; i < entities.num_rows(); ++i) {
          const data::Value& expected = expected_values[k][i];
          const data::Value actual = column.Get(i);
          const std::string where = "round " + std::to_string(round) + " threads " +
                                    std::to_string(threads) + " " +
                                    std::string(AggregationFunctionName(aggregation.function)) +
                                    "(" + aggregation.column + ", " +
                                    std::to_string(aggregation.window_seconds) + "s) row " +
                                    std::to_string(i);
          const bool approximate = aggregation.function == Function::kSum ||
                                   aggregation.function == Function::kMean ||
                                   aggregation.function == Function::kStddev;
          if (approximate && !expected.null && !actual.null) {
            EXPECT_NEAR(actual.f, expected.f, 1e-9 * std::max(1.0, std::fabs(expected.f))) << where;
          } else {
            EXPECT_TRUE(actual.BitwiseEquals(expected))
                << where << ": " << actual.ToString() << " != " << expected.ToString();
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace kiln::features
