// Sweep assignments, the run params Kiln logs for a spec, and the size and
// duration parsers of resources.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "data/timestamp.h"
#include "training/run_spec.h"

namespace kiln::training {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

RunSpec XGBoostSpec() {
  RunSpec spec;
  spec.project = "flights";
  spec.code_dir = "/src";
  spec.data.feature_service = "delay_model";
  spec.data.entities = "/data/entities.csv";
  spec.data.label = "delayed = delay > 15";
  spec.data.exclude = {"flight_id", "tail"};
  spec.data.start_micros = *data::ParseTimestamp("2001-01-01", data::TimeZone::Utc());
  spec.split.kind = SplitKind::kTime;
  spec.split.holdout_fraction = 0.1;
  spec.xgboost.seed = 7;
  spec.xgboost.params = {{"max_depth", "6"}};
  spec.params = {{"note", "baseline"}};
  spec.resources.cpus = 2;
  spec.resources.memory_bytes = int64_t{512} << 20;
  spec.resources.time_limit_seconds = 5400;
  return spec;
}

RunSpec CommandSpec() {
  RunSpec spec;
  spec.project = "p";
  spec.data.file = "/data/train.csv";
  spec.data.label = "y";
  spec.split.seed = 3;
  spec.trainer = TrainerKind::kCommand;
  spec.command.argv = {"python3", "train.py", "--title", "two words"};
  return spec;
}

TEST(ApplyAssignmentTest, SetsXGBoostParametersAndFields) {
  RunSpec spec = XGBoostSpec();
  ASSERT_TRUE(ApplyAssignment(spec, "max_depth=8").ok());
  ASSERT_TRUE(ApplyAssignment(spec, " eta = 0.05 ").ok());
  ASSERT_TRUE(ApplyAssignment(spec, "num_boost_round=500").ok());
  ASSERT_TRUE(ApplyAssignment(spec, "xgboost.seed=11").ok());
  ASSERT_TRUE(ApplyAssignment(spec, "objective=reg:squarederror").ok());
  EXPECT_THAT(spec.xgboost.params, ElementsAre(Pair("eta", "0.05"), Pair("max_depth", "8")));
  EXPECT_EQ(spec.xgboost.num_boost_round, 500);
  EXPECT_EQ(spec.xgboost.seed, 11u);
  EXPECT_EQ(spec.xgboost.objective, "reg:squarederror");
}

TEST(ApplyAssignmentTest, RefusesBadValuesAndLeavesTheSpecUnchanged) {
  RunSpec spec = XGBoostSpec();
  Status status = ApplyAssignment(spec, "num_boost_round=abc");
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "sweep assignment 'num_boost_round=abc': trainer.xgboost.num_boost_round: expected an integer, "
            "got 'abc'");
  EXPECT_EQ(
      ApplyAssignment(spec, "num_boost_round=0").message(),
      "sweep assignment 'num_boost_round=0': trainer.xgboost.num_boost_round: must be at least 1, got 0");
  EXPECT_EQ(ApplyAssignment(spec, "max_depth=deep").message(),
            "sweep assignment 'max_depth=deep': trainer.xgboost.max_depth: expected an integer, got 'deep'");
  EXPECT_EQ(ApplyAssignment(spec, "max_dept=4").message(),
            "sweep assignment 'max_dept=4': trainer.xgboost.max_dept: unknown XGBoost parameter 'max_dept' "
            "(did you mean 'max_depth'?)");
  EXPECT_EQ(ApplyAssignment(spec, "nthread=8").message(),
            "sweep assignment 'nthread=8': trainer.xgboost.nthread: not allowed: the built-in trainer sets "
            "XGBoost's threads from resources.cpus");
  EXPECT_EQ(spec.xgboost.num_boost_round, 100);
  EXPECT_THAT(spec.xgboost.params, ElementsAre(Pair("max_depth", "6")));
}

TEST(ApplyAssignmentTest, SetsFreeParams) {
  RunSpec command = CommandSpec();
  ASSERT_TRUE(ApplyAssignment(command, "lr=0.01").ok());
  EXPECT_THAT(command.params, ElementsAre(Pair("lr", "0.01")));

  RunSpec xgboost = XGBoostSpec();
  ASSERT_TRUE(ApplyAssignment(xgboost, "note=tuned").ok());  // an existing free param
  ASSERT_TRUE(ApplyAssignment(xgboost, "params.variant=b").ok());
  EXPECT_THAT(xgboost.params, ElementsAre(Pair("note", "tuned"), Pair("variant", "b")));
  EXPECT_THAT(xgboost.xgboost.params, ElementsAre(Pair("max_depth", "6")));

  EXPECT_EQ(ApplyAssignment(command, "xgboost.eta=0.1").message(),
            "sweep assignment 'xgboost.eta=0.1': this run's trainer is a command, not xgboost");
  EXPECT_EQ(
      ApplyAssignment(command, "params.a b=1").message(),
      "sweep assignment 'params.a b=1': params.a b: param names may only contain letters, digits, '_', '-' "
      "and '.'");
}

TEST(ApplyAssignmentTest, RefusesMalformedAssignments) {
  RunSpec spec = XGBoostSpec();
  EXPECT_EQ(ApplyAssignment(spec, "max_depth").message(),
            "sweep assignment 'max_depth': expected NAME=VALUE");
  EXPECT_EQ(ApplyAssignment(spec, "=3").message(), "sweep assignment '=3': expected NAME=VALUE");
  EXPECT_EQ(ApplyAssignment(spec, "").code(), StatusCode::kInvalidArgument);
}

TEST(RunParamsTest, FlattensTheXGBoostSpec) {
  EXPECT_THAT(
      RunParams(XGBoostSpec()),
      ElementsAre(Pair("data.entities", "/data/entities.csv"), Pair("data.exclude", "flight_id,tail"),
                  Pair("data.feature_service", "delay_model"), Pair("data.label", "delayed = delay > 15"),
                  Pair("data.start", "2001-01-01T00:00:00Z"),
                  Pair("data.timestamp_column", "event_timestamp"), Pair("executor", "local"),
                  Pair("note", "baseline"), Pair("resources.cpus", "2"), Pair("resources.memory", "512M"),
                  Pair("resources.time_limit", "1h30m"), Pair("split.holdout_fraction", "0.1"),
                  Pair("split.kind", "time"), Pair("split.time_column", "event_timestamp"),
                  Pair("split.validation_fraction", "0.2"), Pair("trainer", "xgboost"),
                  Pair("xgboost.early_stopping_rounds", "10"), Pair("xgboost.max_depth", "6"),
                  Pair("xgboost.num_boost_round", "100"), Pair("xgboost.objective", "binary:logistic"),
                  Pair("xgboost.seed", "7")));
}

TEST(RunParamsTest, ValidationStartReplacesTheValidationFraction) {
  RunSpec spec = XGBoostSpec();
  spec.split.validation_start_micros = *data::ParseTimestamp("2001-03-15", data::TimeZone::Utc());
  const std::map<std::string, std::string> params = RunParams(spec);
  EXPECT_EQ(params.at("split.validation_start"), "2001-03-15T00:00:00Z");
  EXPECT_EQ(params.count("split.validation_fraction"), 0u);
}

TEST(RunParamsTest, FlattensACommandSpecAndShortensLongValues) {
  RunSpec spec = CommandSpec();
  spec.params["long"] = std::string(250, 'x');
  spec.data.exclude = {std::string(200, 'a'), std::string(200, 'b')};
  const std::map<std::string, std::string> params = RunParams(spec);
  EXPECT_EQ(params.at("command"), "python3 train.py --title 'two words'");
  EXPECT_EQ(params.at("trainer"), "command");
  EXPECT_EQ(params.at("split.seed"), "3");
  EXPECT_EQ(params.at("data.file"), "/data/train.csv");
  EXPECT_EQ(params.at("long"), std::string(250, 'x'));
  EXPECT_EQ(params.at("data.exclude"), std::string(200, 'a') + "," + std::string(46, 'b') + "...");
  EXPECT_EQ(params.count("xgboost.objective"), 0u);
  EXPECT_EQ(params.count("resources.memory"), 0u);  // no limit
  for (const auto& [name, value] : params) EXPECT_LE(value.size(), 250u) << name;
}

TEST(ParseByteSizeTest, ReadsBytesAndBinaryMultiples) {
  EXPECT_EQ(*ParseByteSize("1073741824"), int64_t{1} << 30);
  EXPECT_EQ(*ParseByteSize("4G"), int64_t{4} << 30);
  EXPECT_EQ(*ParseByteSize("512M"), int64_t{512} << 20);
  EXPECT_EQ(*ParseByteSize("512mib"), int64_t{512} << 20);
  EXPECT_EQ(*ParseByteSize("2GiB"), int64_t{2} << 30);
  EXPECT_EQ(*ParseByteSize("1.5G"), int64_t{3} << 29);
  EXPECT_EQ(*ParseByteSize("1T"), int64_t{1} << 40);
  EXPECT_EQ(*ParseByteSize("64K"), 65536);
  EXPECT_EQ(*ParseByteSize("0"), 0);
  for (const char* bad : {"", "G", "-1G", "4X", "4 G B", "1e3", "99999999999T"}) {
    Result<int64_t> size = ParseByteSize(bad);
    EXPECT_FALSE(size.ok()) << bad;
  }
  EXPECT_EQ(ParseByteSize("4X").status().message(),
            "'4X' is not a size (use bytes, or K, M, G, T for binary multiples, e.g. 512M or 4G)");
}

TEST(ParseSecondsTest, ReadsSecondsAndDurations) {
  EXPECT_EQ(*ParseSeconds("3600"), 3600);
  EXPECT_EQ(*ParseSeconds("90s"), 90);
  EXPECT_EQ(*ParseSeconds("30m"), 1800);
  EXPECT_EQ(*ParseSeconds("2h"), 7200);
  EXPECT_EQ(*ParseSeconds("1d"), 86400);
  EXPECT_EQ(*ParseSeconds("1h30m"), 5400);
  for (const char* bad : {"", "-5", "5x", "1.5h", "h"}) {
    Result<int64_t> seconds = ParseSeconds(bad);
    EXPECT_FALSE(seconds.ok()) << bad;
  }
  EXPECT_EQ(ParseSeconds("5x").status().message(),
            "'5x' is not a duration (use seconds, or s, m, h, d such as 90s, 30m, 2h or 1h30m)");
}

}  // namespace
}  // namespace kiln::training
