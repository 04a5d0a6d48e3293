// Reading run specs from YAML: good specs of each kind, and the exact
// messages a user sees for bad ones.
#include "training/run_spec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "data/timestamp.h"
#include "training/run_spec_testing.h"

namespace kiln::training {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;
using testing::SpecFolder;

int64_t Micros(const char* text) { return *data::ParseTimestamp(text, data::TimeZone::Utc()); }

class RunSpecYamlTest : public ::testing::Test {
 protected:
  Result<RunSpec> Parse(const std::string& yaml) { return ParseRunSpec(yaml, "run.yaml", folder_.path()); }
  // The error text of a spec that must be refused.
  std::string ErrorOf(const std::string& yaml) {
    Result<RunSpec> spec = Parse(yaml);
    EXPECT_FALSE(spec.ok()) << "accepted:\n" << yaml;
    if (spec.ok()) return "";
    EXPECT_EQ(spec.status().code(), StatusCode::kInvalidArgument);
    return spec.status().message();
  }

  SpecFolder folder_;
};

TEST_F(RunSpecYamlTest, ReadsFeatureServiceSpecWithXGBoost) {
  Result<RunSpec> spec = Parse(R"yaml(
project: flight-delays
run_name: xgb-baseline
code: src
data:
  feature_service: delay_model
  feature_project: flights
  entities: data/entities.csv
  timestamp_column: event_timestamp
  start: 2001-01-01
  end: 2001-04-01T12:00:00+02:00
  label: delayed = delay > 15
  exclude: [flight_id]
split:
  kind: time
  validation_fraction: 0.2
  holdout_fraction: 0.1
trainer:
  xgboost:
    objective: binary:logistic
    num_boost_round: 300
    early_stopping_rounds: 20
    seed: 7
    max_depth: 6
    eval_metric: [auc, logloss]
    params: {eta: 0.1}
params: {note: baseline, threshold: 0.5}
resources: {cpus: 2, memory: 4G, time_limit: 1h30m, partition: debug, gres: "gpu:1"}
executor: slurm
debian_packages: [libxgboost-dev, python3-pandas]
tags: {team: risk}
)yaml");
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  EXPECT_EQ(spec->project, "flight-delays");
  EXPECT_EQ(spec->run_name, "xgb-baseline");
  EXPECT_EQ(spec->code_dir, folder_ / "src");
  EXPECT_EQ(spec->data.feature_service, "delay_model");
  EXPECT_EQ(spec->data.feature_project, "flights");
  EXPECT_EQ(spec->data.entities, folder_ / "data/entities.csv");
  EXPECT_EQ(spec->data.timestamp_column, "event_timestamp");
  EXPECT_EQ(spec->data.start_micros, Micros("2001-01-01T00:00:00Z"));
  EXPECT_EQ(spec->data.end_micros, Micros("2001-04-01T10:00:00Z"));
  EXPECT_EQ(spec->data.file, "");
  EXPECT_EQ(spec->data.label, "delayed = delay > 15");
  EXPECT_THAT(spec->data.exclude, ElementsAre("flight_id"));
  EXPECT_EQ(spec->split.kind, SplitKind::kTime);
  EXPECT_DOUBLE_EQ(spec->split.validation_fraction, 0.2);
  EXPECT_DOUBLE_EQ(spec->split.holdout_fraction, 0.1);
  EXPECT_EQ(spec->split.time_column, "event_timestamp");  // the data's timestamp column, made explicit
  EXPECT_EQ(spec->trainer, TrainerKind::kXGBoost);
  EXPECT_EQ(spec->xgboost.objective, "binary:logistic");
  EXPECT_EQ(spec->xgboost.num_boost_round, 300);
  EXPECT_EQ(spec->xgboost.early_stopping_rounds, 20);
  EXPECT_EQ(spec->xgboost.seed, 7u);
  EXPECT_THAT(spec->xgboost.params,
              ElementsAre(Pair("eta", "0.1"), Pair("eval_metric", "auc,logloss"), Pair("max_depth", "6")));
  EXPECT_THAT(spec->params, ElementsAre(Pair("note", "baseline"), Pair("threshold", "0.5")));
  EXPECT_EQ(spec->resources.cpus, 2);
  EXPECT_EQ(spec->resources.memory_bytes, int64_t{4} << 30);
  EXPECT_EQ(spec->resources.time_limit_seconds, 5400);
  EXPECT_EQ(spec->resources.partition, "debug");
  EXPECT_EQ(spec->resources.gres, "gpu:1");
  EXPECT_EQ(spec->executor, "slurm");
  EXPECT_THAT(spec->debian_packages, ElementsAre("libxgboost-dev", "python3-pandas"));
  EXPECT_THAT(spec->tags, ElementsAre(Pair("team", "risk")));
}

TEST_F(RunSpecYamlTest, ReadsFileSpecWithDefaults) {
  Result<RunSpec> spec =
      Parse("project: flights\ndata: {file: data/train.csv, label: delayed}\ntrainer: xgboost\n");
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  EXPECT_EQ(spec->code_dir, folder_.path());  // the spec's folder
  EXPECT_EQ(spec->data.file, folder_ / "data/train.csv");
  EXPECT_EQ(spec->data.feature_service, "");
  EXPECT_EQ(spec->split.kind, SplitKind::kRandom);
  EXPECT_DOUBLE_EQ(spec->split.validation_fraction, 0.2);
  EXPECT_DOUBLE_EQ(spec->split.holdout_fraction, 0.0);
  EXPECT_EQ(spec->split.seed, 0u);
  EXPECT_EQ(spec->trainer, TrainerKind::kXGBoost);
  EXPECT_EQ(spec->xgboost.objective, "binary:logistic");
  EXPECT_EQ(spec->xgboost.num_boost_round, 100);
  EXPECT_EQ(spec->xgboost.early_stopping_rounds, 10);
  EXPECT_TRUE(spec->xgboost.params.empty());
  EXPECT_EQ(spec->resources.cpus, 1);
  EXPECT_EQ(spec->resources.memory_bytes, 0);
  EXPECT_EQ(spec->resources.time_limit_seconds, 0);
  EXPECT_EQ(spec->executor, "local");
}

TEST_F(RunSpecYamlTest, ReadsCommandTrainerAsListOrShellLikeString) {
  Result<RunSpec> listed = Parse(R"yaml(project: p
data: {file: data/train.csv, label: delayed}
split: {kind: random, seed: 42, validation_fraction: 0.25}
trainer:
  command: [python3, train.py, --epochs, 3]
  env: {FOO: bar, EMPTY: }
)yaml");
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  EXPECT_EQ(listed->trainer, TrainerKind::kCommand);
  EXPECT_THAT(listed->command.argv, ElementsAre("python3", "train.py", "--epochs", "3"));
  EXPECT_THAT(listed->command.env, ElementsAre(Pair("EMPTY", ""), Pair("FOO", "bar")));
  EXPECT_EQ(listed->split.seed, 42u);

  Result<RunSpec> line = Parse(R"yaml(project: p
data: {file: data/train.csv, label: delayed}
trainer:
  command: python3 train.py --name "two words" "it's" a\ b "say \"hi\""
)yaml");
  ASSERT_TRUE(line.ok()) << line.status().message();
  EXPECT_THAT(line->command.argv,
              ElementsAre("python3", "train.py", "--name", "two words", "it's", "a b", "say \"hi\""));
}

TEST_F(RunSpecYamlTest, ParseRunSpecFileResolvesPathsAgainstTheSpecsFolder) {
  const std::string path = folder_.Write("src/run.yaml",
                                         "project: p\ndata: {file: ../data/train.csv, label: y}\n"
                                         "trainer: xgboost\n");
  Result<RunSpec> spec = ParseRunSpecFile(path);
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  EXPECT_EQ(spec->data.file, folder_ / "data/train.csv");
  EXPECT_EQ(spec->code_dir, folder_ / "src");

  folder_.Write("src/bad.yaml", "project: p\nexectuor: local\n");
  Result<RunSpec> bad = ParseRunSpecFile(folder_ / "src/bad.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(),
              ::testing::HasSubstr(folder_ / "src/bad.yaml" +
                                   ":2: unknown key 'exectuor' (did you mean 'executor'?)"));

  Result<RunSpec> missing = ParseRunSpecFile(folder_ / "nope.yaml");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), folder_ / "nope.yaml" + ": no such file");
}

TEST_F(RunSpecYamlTest, ReportsUnknownKeysWithTheClosestKnownKey) {
  EXPECT_EQ(ErrorOf(R"yaml(project: p
data:
  file: data/train.csv
  lable: delayed
trainer: xgboost
exectuor: local
resources: {cpu: 2, disk: 3}
)yaml"),
            "run.yaml:2: data.label: required: a column name, or NAME = EXPRESSION\n"
            "run.yaml:4: data: unknown key 'lable' (did you mean 'label'?)\n"
            "run.yaml:6: unknown key 'exectuor' (did you mean 'executor'?)\n"
            "run.yaml:7: resources: unknown key 'cpu' (did you mean 'cpus'?)\n"
            "run.yaml:7: resources: unknown key 'disk' (known: cpus, gres, memory, partition, time_limit)");
}

TEST_F(RunSpecYamlTest, ReportsEveryProblemAtOnceInLineOrder) {
  EXPECT_EQ(ErrorOf(R"yaml(data:
  file: data/train.csv
  label: delayed
split: {validation_fraction: 0, holdout_fraction: 1}
trainer:
  xgboost:
    max_depth: deep
    eta: 1.5
executor: k8s
)yaml"),
            "run.yaml: project: required: the tracking project the run belongs to\n"
            "run.yaml:4: split.validation_fraction: must be greater than 0 and less than 1, got 0\n"
            "run.yaml:4: split.holdout_fraction: must be at least 0 and less than 1, got 1\n"
            "run.yaml:7: trainer.xgboost.max_depth: expected an integer, got 'deep'\n"
            "run.yaml:8: trainer.xgboost.eta: must be in (0, 1], got 1.5\n"
            "run.yaml:9: executor: expected local or slurm, got 'k8s'");
}

TEST_F(RunSpecYamlTest, DataNeedsExactlyOneSource) {
  EXPECT_EQ(ErrorOf("project: p\ndata:\n  file: data/train.csv\n  feature_service: s\n  entities: "
                    "data/entities.csv\n  label: y\ntrainer: xgboost\n"),
            "run.yaml:2: data: give either feature_service or file, not both");
  EXPECT_EQ(ErrorOf("project: p\ndata: {label: y}\ntrainer: xgboost\n"),
            "run.yaml:2: data: give feature_service (with entities and label) or file (with label)");
  EXPECT_EQ(ErrorOf("project: p\ntrainer: xgboost\n"),
            "run.yaml: data: give feature_service (with entities and label) or file (with label)");
}

TEST_F(RunSpecYamlTest, FeatureServiceNeedsEntitiesAndLabel) {
  EXPECT_EQ(
      ErrorOf("project: p\ndata:\n  feature_service: delay_model\ntrainer: xgboost\n"),
      "run.yaml:2: data.entities: required with feature_service: a CSV or JSON-lines file of entity rows "
      "(join keys, timestamp, label)\n"
      "run.yaml:2: data.label: required: a column name, or NAME = EXPRESSION");
}

TEST_F(RunSpecYamlTest, DataFilesMustExistAndAreNamedByTheirPath) {
  EXPECT_EQ(ErrorOf("project: p\ndata:\n  feature_service: s\n  entities: data/missing.csv\n  label: y\n"
                    "trainer: xgboost\n"),
            "run.yaml:4: data.entities: no such file: " + (folder_ / "data/missing.csv"));
  EXPECT_EQ(ErrorOf("project: p\ndata: {file: data, label: y}\ntrainer: xgboost\n"),
            "run.yaml:2: data.file: " + (folder_ / "data") + " is a folder, not a file");
  EXPECT_EQ(ErrorOf("project: p\ncode: nowhere\ndata: {file: data/train.csv, label: y}\ntrainer: xgboost\n"),
            "run.yaml:2: code: no such folder: " + (folder_ / "nowhere"));
}

TEST_F(RunSpecYamlTest, TimeRangeMustBeValidAndOrdered) {
  EXPECT_EQ(ErrorOf("project: p\ndata:\n  feature_service: s\n  entities: data/entities.csv\n  label: y\n"
                    "  start: 2001-04-01\n  end: 2001-01-01\ntrainer: xgboost\n"),
            "run.yaml:7: data.end: must be after start (2001-04-01T00:00:00Z), got 2001-01-01T00:00:00Z");
  EXPECT_EQ(ErrorOf("project: p\ndata:\n  feature_service: s\n  entities: data/entities.csv\n  label: y\n"
                    "  start: 2001-13-01\ntrainer: xgboost\n"),
            "run.yaml:6: data.start: '2001-13-01' is not an ISO 8601 timestamp: month 13 is out of range");
  EXPECT_EQ(
      ErrorOf("project: p\ndata: {file: data/train.csv, label: y, start: 2001-01-01}\ntrainer: xgboost\n"),
      "run.yaml:2: data.start: only used with feature_service data");
}

TEST_F(RunSpecYamlTest, LabelMustBeAColumnOrAnExpressionOverEntityRows) {
  EXPECT_EQ(
      ErrorOf("project: p\ndata: {file: data/train.csv, label: delayed = delay > 15}\ntrainer: xgboost\n"),
      "run.yaml:2: data.label: NAME = EXPRESSION labels are computed from entity rows and need "
      "feature_service data; with a file, name a column");
  EXPECT_EQ(ErrorOf("project: p\ndata: {file: data/train.csv, label: two words}\ntrainer: xgboost\n"),
            "run.yaml:2: data.label: expected a column name or NAME = EXPRESSION, got 'two words'");
  EXPECT_EQ(
      ErrorOf("project: p\ndata: {file: data/train.csv, label: y, exclude: [id, y, id]}\ntrainer: xgboost\n"),
      "run.yaml:2: data.exclude: 'y' is the label; it cannot be excluded\n"
      "run.yaml:2: data.exclude: 'id' is listed twice");
}

TEST_F(RunSpecYamlTest, SplitFractionsKindAndTimeColumn) {
  EXPECT_EQ(
      ErrorOf("project: p\ndata: {file: data/train.csv, label: y}\n"
              "split: {validation_fraction: 0.6, holdout_fraction: 0.4}\ntrainer: xgboost\n"),
      "run.yaml:3: split: validation_fraction + holdout_fraction must be less than 1 to leave rows to train "
      "on, got 0.6 + 0.4");
  EXPECT_EQ(
      ErrorOf(
          "project: p\ndata: {file: data/train.csv, label: y}\nsplit: {kind: temporal}\ntrainer: xgboost\n"),
      "run.yaml:3: split.kind: expected random or time, got 'temporal'");
  EXPECT_EQ(
      ErrorOf("project: p\ndata: {file: data/train.csv, label: y}\nsplit: {kind: time}\ntrainer: xgboost\n"),
      "run.yaml:3: split.time_column: a time split of file data needs time_column, the column to order "
      "rows by");
  EXPECT_EQ(ErrorOf("project: p\ndata: {file: data/train.csv, label: y}\nsplit: {time_column: t, seed: -1}\n"
                    "trainer: xgboost\n"),
            "run.yaml:3: split.seed: expected a non-negative integer, got '-1'\n"
            "run.yaml:3: split.time_column: only used by a time split (kind: time)");
  EXPECT_EQ(ErrorOf("project: p\ndata: {file: data/train.csv, label: y}\nsplit: {validation_fraction: 20%}\n"
                    "trainer: xgboost\n"),
            "run.yaml:3: split.validation_fraction: expected a number, got '20%'");
}

TEST_F(RunSpecYamlTest, TrainerNeedsExactlyOneKind) {
  EXPECT_EQ(ErrorOf("project: p\ndata: {file: data/train.csv, label: y}\ntrainer:\n  xgboost: {}\n"
                    "  command: [python3]\n"),
            "run.yaml:3: trainer: give either xgboost or command, not both");
  EXPECT_EQ(ErrorOf("project: p\ndata: {file: data/train.csv, label: y}\ntrainer: {env: {A: b}}\n"),
            "run.yaml:3: trainer: give xgboost (the built-in trainer) or command (your own program)\n"
            "run.yaml:3: trainer.env: only used with command");
  EXPECT_EQ(ErrorOf("project: p\ndata: {file: data/train.csv, label: y}\n"),
            "run.yaml: trainer: required: xgboost (the built-in trainer) or command (your own program)");
}

TEST_F(RunSpecYamlTest, XGBoostObjectiveRoundsAndParameters) {
  EXPECT_EQ(
      ErrorOf(R"yaml(project: p
data: {file: data/train.csv, label: y}
trainer:
  xgboost:
    objective: multi:softmax
    num_boost_round: 0
    early_stopping_rounds: soon
    max_dept: 4
    tree_method: gpu_hist
    eval_metric: auc,rmsee
    nthread: 4
    params: {seed: 3, lambda: 1, reg_lambda: 2}
)yaml"),
      "run.yaml:5: trainer.xgboost.objective: unsupported objective 'multi:softmax' (supported: "
      "binary:logistic, reg:squarederror, reg:absoluteerror, reg:logistic, reg:pseudohubererror, "
      "count:poisson, reg:gamma, reg:tweedie)\n"
      "run.yaml:6: trainer.xgboost.num_boost_round: must be at least 1, got 0\n"
      "run.yaml:7: trainer.xgboost.early_stopping_rounds: expected an integer, got 'soon'\n"
      "run.yaml:8: trainer.xgboost.max_dept: unknown XGBoost parameter 'max_dept' (did you mean "
      "'max_depth'?)\n"
      "run.yaml:9: trainer.xgboost.tree_method: expected one of auto, exact, approx, hist, got 'gpu_hist'\n"
      "run.yaml:10: trainer.xgboost.eval_metric: unknown metric 'rmsee' (did you mean 'rmse'?)\n"
      "run.yaml:11: trainer.xgboost.nthread: not allowed: the built-in trainer sets XGBoost's threads from "
      "resources.cpus\n"
      "run.yaml:12: trainer.xgboost.reg_lambda: the same parameter as lambda; give only one of them\n"
      "run.yaml:12: trainer.xgboost.seed: not allowed here: set trainer.xgboost.seed");
}

TEST_F(RunSpecYamlTest, XGBoostParametersThatDependOnTheObjective) {
  EXPECT_EQ(
      ErrorOf(R"yaml(project: p
data: {file: data/train.csv, label: y}
trainer:
  xgboost:
    objective: reg:squarederror
    tweedie_variance_power: 1.5
    max_bin: 1
    monotone_constraints: [1, 2]
    interaction_constraints: [[0, 1], [x]]
)yaml"),
      "run.yaml:6: trainer.xgboost.tweedie_variance_power: only used with objective reg:tweedie (this run "
      "uses reg:squarederror)\n"
      "run.yaml:7: trainer.xgboost.max_bin: must be at least 2, got 1\n"
      "run.yaml:8: trainer.xgboost.monotone_constraints: expected a list of -1, 0 and 1 per feature such as "
      "(1,-1,0), got '(1,2)'\n"
      "run.yaml:9: trainer.xgboost.interaction_constraints: expected groups of feature indices such as "
      "[[0,1],[2,3]], got '[[0,1],[x]]'");
  EXPECT_EQ(
      ErrorOf("project: p\ndata: {file: data/train.csv, label: y}\ntrainer:\n  xgboost: {base_score: 2}\n"),
      "run.yaml:4: trainer.xgboost.base_score: must be in (0, 1) for objective binary:logistic, got 2");
}

TEST_F(RunSpecYamlTest, CommandTrainerProblems) {
  EXPECT_EQ(ErrorOf("project: p\ndata: {file: data/train.csv, label: y}\ntrainer: {command: []}\n"),
            "run.yaml:3: trainer.command: must name a program to run, e.g. [python3, train.py]");
  EXPECT_EQ(
      ErrorOf("project: p\ndata: {file: data/train.csv, label: y}\ntrainer:\n  command: python3 'train.py\n"),
      "run.yaml:4: trainer.command: unterminated ' quote in 'python3 'train.py'");
  EXPECT_EQ(
      ErrorOf("project: p\ndata: {file: data/train.csv, label: y}\ntrainer:\n  command: [python3]\n"
              "  env: {KILN_RUN_ID: x, 2BAD: y}\n"),
      "run.yaml:5: trainer.env.2BAD: '2BAD' is not an environment variable name (letters, digits, '_')\n"
      "run.yaml:5: trainer.env.KILN_RUN_ID: names starting with KILN_ are set by Kiln");
}

TEST_F(RunSpecYamlTest, ResourcesExecutorPackagesAndTags) {
  EXPECT_EQ(
      ErrorOf(R"yaml(project: p
data: {file: data/train.csv, label: y}
trainer: xgboost
resources:
  cpus: 0
  memory: 4X
  time_limit: 5x
debian_packages: [libxgboost-dev, Python3]
tags: {kiln.source: x, "bad!key": y}
)yaml"),
      "run.yaml:5: resources.cpus: must be at least 1, got 0\n"
      "run.yaml:6: resources.memory: '4X' is not a size (use bytes, or K, M, G, T for binary multiples, e.g. "
      "512M or 4G)\n"
      "run.yaml:7: resources.time_limit: '5x' is not a duration (use seconds, or s, m, h, d such as 90s, "
      "30m, "
      "2h or 1h30m)\n"
      "run.yaml:8: debian_packages: 'Python3' is not a Debian package name (lower-case letters, digits, '+', "
      "'-', '.')\n"
      "run.yaml:9: tags.bad!key: tag 'bad!key' may only contain letters, digits, '_', '-', '.', ' ', ':' and "
      "'/'\n"
      "run.yaml:9: tags.kiln.source: tags starting with 'mlflow.' or 'kiln.' are set by Kiln");
  EXPECT_EQ(
      ErrorOf(
          "project: p\ndata: {file: data/train.csv, label: y}\ntrainer: xgboost\nresources: {memory: 4}\n"),
      "run.yaml:4: resources.memory: 4 bytes is too little to run anything (at least 1M; did you mean 4G?)");
}

TEST_F(RunSpecYamlTest, NamesFollowMLflowLimits) {
  const std::string long_name(251, 'r');
  EXPECT_EQ(ErrorOf("project: p\nrun_name: " + long_name +
                    "\ndata: {file: data/train.csv, label: y}\n"
                    "trainer: xgboost\ntags: {" +
                    std::string(251, 'k') +
                    ": v}\n"
                    "params: {split.kind: x, a b: c}\n"),
            "run.yaml:2: run_name: run names may have at most 250 characters, got 251\n"
            "run.yaml:5: tags." +
                std::string(251, 'k') +
                ": tag names may have at most 250 characters\n"
                "run.yaml:6: params.a b: param names may only contain letters, digits, '_', '-' and '.'\n"
                "run.yaml:6: params.split.kind: clashes with a run param Kiln logs for the spec; choose "
                "another name");
}

TEST_F(RunSpecYamlTest, RefusesMalformedYamlAndWrongShapes) {
  EXPECT_EQ(ErrorOf("project: p\ndata: {file: [\n"),
            "run.yaml:3: invalid YAML: end of sequence flow not found");
  EXPECT_EQ(ErrorOf(""), "run.yaml: the file is empty; a run spec needs at least project, data and trainer");
  EXPECT_EQ(ErrorOf("- project\n"), "run.yaml:1: expected a map, got a list");
  EXPECT_EQ(ErrorOf("project: [a]\ndata: [file]\ntrainer: xgboost\nproject: q\n"),
            "run.yaml:1: project: expected a single value, got a list\n"
            "run.yaml:2: data: expected a map, got a list\n"
            "run.yaml:4: project: appears twice");
}

TEST(ValidateRunSpecTest, ChecksSpecsBuiltInCode) {
  RunSpec spec;
  spec.project = "p";
  spec.data.file = "/data/train.csv";
  spec.data.label = "y";
  EXPECT_TRUE(ValidateRunSpec(spec).ok());
  spec.trainer = TrainerKind::kCommand;
  spec.resources.cpus = 0;
  const Status status = ValidateRunSpec(spec);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(),
            "trainer.command: must name a program to run, e.g. [python3, train.py]\n"
            "resources.cpus: must be at least 1, got 0");
}

}  // namespace
}  // namespace kiln::training
