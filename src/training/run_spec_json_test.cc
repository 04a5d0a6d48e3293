// The canonical JSON of a run spec (docs/formats/run-spec.md): its exact
// shape, round trips, and what RunSpecFromJson refuses.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>

#include "data/timestamp.h"
#include "training/run_spec.h"

namespace kiln::training {
namespace {

int64_t Micros(const char* text) { return *data::ParseTimestamp(text, data::TimeZone::Utc()); }

RunSpec FeatureServiceSpec() {
  RunSpec spec;
  spec.project = "flight-delays";
  spec.run_name = "xgb-baseline";
  spec.code_dir = "/home/ana/flights";
  spec.data.feature_service = "delay_model";
  spec.data.feature_project = "flights";
  spec.data.entities = "/home/ana/data/entities.csv";
  spec.data.timestamp_column = "ts";
  spec.data.start_micros = Micros("2001-01-01T00:00:00Z");
  spec.data.end_micros = Micros("2001-04-01T00:00:00.250001Z");
  spec.data.label = "delayed = delay > 15";
  spec.data.exclude = {"flight_id", "tail"};
  spec.split.kind = SplitKind::kTime;
  spec.split.validation_fraction = 0.15;
  spec.split.holdout_fraction = 0.1;
  spec.split.time_column = "ts";
  spec.split.validation_start_micros = Micros("2001-03-15T00:00:00Z");
  spec.xgboost.objective = "reg:tweedie";
  spec.xgboost.num_boost_round = 300;
  spec.xgboost.early_stopping_rounds = 0;
  spec.xgboost.seed = std::numeric_limits<uint64_t>::max();
  spec.xgboost.params = {{"eta", "0.1"}, {"tweedie_variance_power", "1.3"}};
  spec.params = {{"note", "baseline"}};
  spec.resources = {4, int64_t{3} << 30, 1800, "debug", "gpu:1"};
  spec.executor = "slurm";
  spec.debian_packages = {"libxgboost-dev"};
  spec.tags = {{"team", "risk"}};
  return spec;
}

RunSpec CommandSpec() {
  RunSpec spec;
  spec.project = "p";
  spec.code_dir = "/src";
  spec.data.file = "/data/train.csv";
  spec.data.label = "y";
  spec.split.seed = 42;
  spec.trainer = TrainerKind::kCommand;
  spec.command.argv = {"python3", "train.py", "--epochs", "3"};
  spec.command.env = {{"FOO", "bar"}};
  return spec;
}

// Through text and back, as a snapshot stores it.
Result<RunSpec> RoundTrip(const RunSpec& spec) {
  return RunSpecFromJson(Json::parse(RunSpecToJson(spec).dump()));
}

TEST(RunSpecJsonTest, WritesEveryFieldWithDefaultsAndSortedKeys) {
  EXPECT_EQ(RunSpecToJson(CommandSpec()).dump(),
            R"({"code_dir":"/src",)"
            R"("data":{"end":null,"entities":"","exclude":[],"feature_project":"","feature_service":"",)"
            R"("file":"/data/train.csv","label":"y","start":null,"timestamp_column":"event_timestamp"},)"
            R"("debian_packages":[],"executor":"local","format_version":1,"params":{},"project":"p",)"
            R"("resources":{"cpus":1,"gres":"","memory_bytes":0,"partition":"","time_limit_seconds":0},)"
            R"("run_name":"",)"
            R"("split":{"holdout_fraction":0.0,"kind":"random","seed":42,"time_column":"",)"
            R"("validation_fraction":0.2,"validation_start":null},"tags":{},)"
            R"("trainer":{"command":{"argv":["python3","train.py","--epochs","3"],"env":{"FOO":"bar"}},)"
            R"("kind":"command"}})");
}

TEST(RunSpecJsonTest, WritesTimestampsAsIsoTextAndTheXGBoostSection) {
  const Json json = RunSpecToJson(FeatureServiceSpec());
  EXPECT_EQ(json["data"]["start"], "2001-01-01T00:00:00Z");
  EXPECT_EQ(json["data"]["end"], "2001-04-01T00:00:00.250001Z");
  EXPECT_EQ(json["split"]["validation_start"], "2001-03-15T00:00:00Z");
  EXPECT_EQ(json["trainer"].dump(),
            R"({"kind":"xgboost","xgboost":{"early_stopping_rounds":0,"num_boost_round":300,)"
            R"("objective":"reg:tweedie","params":{"eta":"0.1","tweedie_variance_power":"1.3"},)"
            R"("seed":18446744073709551615}})");
}

TEST(RunSpecJsonTest, RoundTripsEveryField) {
  for (const RunSpec& spec : {FeatureServiceSpec(), CommandSpec()}) {
    Result<RunSpec> back = RoundTrip(spec);
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_EQ(RunSpecToJson(*back), RunSpecToJson(spec));
  }
  Result<RunSpec> back = RoundTrip(FeatureServiceSpec());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->data.end_micros, FeatureServiceSpec().data.end_micros);
  EXPECT_EQ(back->xgboost.seed, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(back->resources.memory_bytes, int64_t{3} << 30);
  EXPECT_EQ(back->split.kind, SplitKind::kTime);
  EXPECT_DOUBLE_EQ(back->split.validation_fraction, 0.15);
}

TEST(RunSpecJsonTest, RefusesOtherFormatVersions) {
  Json json = RunSpecToJson(CommandSpec());
  json["format_version"] = 2;
  EXPECT_EQ(RunSpecFromJson(json).status().message(),
            "run spec JSON: format_version 2 is not supported (this kiln reads 1)");
  json.erase("format_version");
  EXPECT_EQ(RunSpecFromJson(json).status().message(), "run spec JSON: format_version is missing");
}

TEST(RunSpecJsonTest, RefusesUnknownFieldsWrongTypesAndInvalidSpecs) {
  Json json = RunSpecToJson(CommandSpec());
  json["data"]["lable"] = "y";
  EXPECT_EQ(RunSpecFromJson(json).status().message(), "run spec JSON: data.lable: unknown field");

  json = RunSpecToJson(CommandSpec());
  json["resources"]["cpus"] = "two";
  EXPECT_EQ(RunSpecFromJson(json).status().message(),
            "run spec JSON: resources.cpus: expected an integer, got \"two\"");

  json = RunSpecToJson(CommandSpec());
  json["resources"]["cpus"] = int64_t{1} << 40;
  EXPECT_EQ(RunSpecFromJson(json).status().message(),
            "run spec JSON: resources.cpus: expected an integer, got 1099511627776");

  json = RunSpecToJson(CommandSpec());
  json["split"]["seed"] = -1;
  EXPECT_EQ(RunSpecFromJson(json).status().message(),
            "run spec JSON: split.seed: expected an integer, got -1");

  json = RunSpecToJson(CommandSpec());
  json["trainer"]["kind"] = "pytorch";
  EXPECT_EQ(RunSpecFromJson(json).status().message(),
            "run spec JSON: trainer.kind: expected xgboost or command, got 'pytorch'");

  json = RunSpecToJson(FeatureServiceSpec());
  json["data"]["start"] = "yesterday";
  EXPECT_THAT(RunSpecFromJson(json).status().message(),
              ::testing::StartsWith("run spec JSON: data.start: 'yesterday' is not an ISO 8601 timestamp"));

  json = RunSpecToJson(FeatureServiceSpec());
  json["trainer"]["xgboost"]["params"]["max_depth"] = "deep";
  json["executor"] = "k8s";
  const Status status = RunSpecFromJson(json).status();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "trainer.xgboost.max_depth: expected an integer, got 'deep'\n"
            "executor: expected local or slurm, got 'k8s'");
}

}  // namespace
}  // namespace kiln::training
