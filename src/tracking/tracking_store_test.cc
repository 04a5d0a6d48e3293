// TrackingStore behaviour, run against SQLite (a fresh file per test) and,
// when KILN_TEST_POSTGRES_URI is set (scripts/with-postgres), against
// PostgreSQL (the public schema recreated per test).
#include "tracking/tracking_store.h"
#include "storage/postgres_test_schema.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <regex>
#include <stdexcept>
#include <thread>

#include "tracking/migrations.h"
#include "tracking/run_names.h"

namespace kiln::tracking {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

#define EXPECT_OK(expr)                                     \
  do {                                                      \
    const auto& kiln_result_ = (expr);                      \
    EXPECT_TRUE(kiln_result_.ok()) << StatusOf(kiln_result_).ToString(); \
  } while (0)

Status StatusOf(const Status& status) { return status; }
template <typename T>
Status StatusOf(const Result<T>& result) {
  return result.status();
}

// The value of an OK result; fails the test (by throwing) otherwise.
template <typename T>
T Value(Result<T> result) {
  if (!result.ok()) {
    ADD_FAILURE() << "unexpected error: " << result.status().ToString();
    throw std::runtime_error(result.status().ToString());
  }
  return std::move(result).value();
}

template <typename T>
void ExpectError(const T& result, StatusCode code, const std::string& message) {
  Status status = StatusOf(result);
  EXPECT_EQ(status.code(), code) << status.ToString();
  EXPECT_EQ(status.message(), message);
}

std::vector<std::string> Backends() {
  std::vector<std::string> backends = {"sqlite"};
  if (std::getenv("KILN_TEST_POSTGRES_URI") != nullptr) backends.push_back("postgres");
  return backends;
}

class TrackingStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    storage::DatabaseOptions options;
    options.pool_size = 4;
    options.durable_commits = false;
    if (GetParam() == "postgres") {
      schema_ = std::make_unique<storage::PostgresTestSchema>(std::getenv("KILN_TEST_POSTGRES_URI"));
      ASSERT_TRUE(schema_->ok()) << schema_->error();
      options.uri = schema_->uri();
      database_ = Value(storage::Database::Open(options));
    } else {
      directory_ = std::filesystem::temp_directory_path() /
                   ("kiln-tracking-test-" + IdGenerator().RandomHex(8));
      std::filesystem::create_directories(directory_);
      options.uri = "sqlite:" + (directory_ / "kiln.db").string();
      database_ = Value(storage::Database::Open(options));
    }
    ASSERT_TRUE(database_->Migrate({&Migrations()}).ok());
    store_ = std::make_unique<TrackingStore>(*database_, clock_, ids_);
  }

  void TearDown() override {
    store_.reset();
    database_.reset();
    schema_.reset();
    if (!directory_.empty()) std::filesystem::remove_all(directory_);
  }

  std::string NewExperiment(const std::string& name) { return Value(store_->CreateExperiment(name, "", {})); }

  std::string NewRun(const std::string& experiment_id = "0", std::vector<RunTag> tags = {}) {
    CreateRunRequest request;
    request.experiment_id = experiment_id;
    request.user_id = "alice";
    request.tags = std::move(tags);
    return Value(store_->CreateRun(request)).info.run_id;
  }

  std::vector<Metric> History(const std::string& run_id, const std::string& key) {
    return Value(store_->GetMetricHistory({run_id, key, std::nullopt, ""})).metrics;
  }

  int64_t CountRows(const std::string& sql) {
    auto connection = Value(database_->Acquire());
    return Value(connection->Query(sql))[0].Int(0);
  }

  FakeClock clock_{1'700'000'000'000};
  IdGenerator ids_{42};
  std::filesystem::path directory_;
  std::unique_ptr<storage::PostgresTestSchema> schema_;  // PostgreSQL only; outlives database_
  std::unique_ptr<storage::Database> database_;
  std::unique_ptr<TrackingStore> store_;
};

// --- Experiments ---

TEST_P(TrackingStoreTest, DefaultExperimentExists) {
  Experiment e = Value(store_->GetExperiment("0"));
  EXPECT_EQ(e.name, "Default");
  EXPECT_EQ(e.artifact_location, "mlflow-artifacts:/0");
  EXPECT_EQ(e.lifecycle_stage, "active");
}

TEST_P(TrackingStoreTest, CreateExperimentAllocatesNextIdAndDefaultLocation) {
  std::string first = Value(store_->CreateExperiment("churn", "", {{"team", "risk"}, {"b", "2"}}));
  std::string second = Value(store_->CreateExperiment("fraud", "s3://bucket/fraud", {}));
  EXPECT_EQ(first, "1");
  EXPECT_EQ(second, "2");
  Experiment e = Value(store_->GetExperiment("1"));
  EXPECT_EQ(e.name, "churn");
  EXPECT_EQ(e.artifact_location, "mlflow-artifacts:/1");
  EXPECT_EQ(e.creation_time, 1'700'000'000'000);
  EXPECT_EQ(e.last_update_time, 1'700'000'000'000);
  ASSERT_EQ(e.tags.size(), 2u);
  EXPECT_EQ(e.tags[0].key, "b");
  EXPECT_EQ(e.tags[1].key, "team");
  EXPECT_EQ(Value(store_->GetExperiment("2")).artifact_location, "s3://bucket/fraud");
}

TEST_P(TrackingStoreTest, ExperimentNamesStayReservedAfterDelete) {
  std::string id = NewExperiment("churn");
  ExpectError(store_->CreateExperiment("churn", "", {}), StatusCode::kAlreadyExists,
              "Experiment(name=churn) already exists.");
  EXPECT_OK(store_->DeleteExperiment(id));
  ExpectError(store_->CreateExperiment("churn", "", {}), StatusCode::kAlreadyExists,
              "Experiment(name=churn) already exists.");
  Experiment deleted = Value(store_->GetExperimentByName("churn"));
  EXPECT_EQ(deleted.experiment_id, id);
  EXPECT_EQ(deleted.lifecycle_stage, "deleted");
}

TEST_P(TrackingStoreTest, ExperimentValidation) {
  ExpectError(store_->CreateExperiment("", "", {}), StatusCode::kInvalidArgument, "Invalid experiment name: ''");
  ExpectError(store_->CreateExperiment(std::string(501, 'n'), "", {}), StatusCode::kInvalidArgument,
              "'name' exceeds the maximum length of 500 characters");
  ExpectError(store_->CreateExperiment("x", "runs:/abc/model", {}), StatusCode::kInvalidArgument,
              "Artifact location cannot be a runs:/ URI. Given: 'runs:/abc/model'");
  ExpectError(store_->CreateExperiment("x", "", {{"bad key!", "v"}}), StatusCode::kInvalidArgument,
              "Invalid value \"bad key!\" for parameter 'key' supplied: Names may only contain alphanumerics, "
              "underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/).");
  ExpectError(store_->CreateExperiment("x", "", {{"k", std::string(5001, 'v')}}), StatusCode::kInvalidArgument,
              "'value' exceeds the maximum length of 5000 characters");
}

TEST_P(TrackingStoreTest, UnknownExperiments) {
  ExpectError(store_->GetExperiment("42"), StatusCode::kNotFound, "No Experiment with id=42 exists");
  ExpectError(store_->GetExperiment("abc"), StatusCode::kNotFound, "No Experiment with id=abc exists");
  ExpectError(store_->GetExperimentByName("nope"), StatusCode::kNotFound,
              "Could not find experiment with name 'nope'");
  ExpectError(store_->DeleteExperiment("42"), StatusCode::kNotFound, "No Experiment with id=42 exists");
}

TEST_P(TrackingStoreTest, RenameExperiment) {
  std::string id = NewExperiment("churn");
  NewExperiment("fraud");
  clock_.Advance(5);
  EXPECT_OK(store_->RenameExperiment(id, "churn-v2"));
  Experiment e = Value(store_->GetExperiment(id));
  EXPECT_EQ(e.name, "churn-v2");
  EXPECT_EQ(e.last_update_time, 1'700'000'000'005);
  ExpectError(store_->RenameExperiment(id, "fraud"), StatusCode::kAlreadyExists,
              "Experiment(name=fraud) already exists.");
  EXPECT_OK(store_->DeleteExperiment(id));
  ExpectError(store_->RenameExperiment(id, "other"), StatusCode::kFailedPrecondition,
              "Cannot rename a non-active experiment.");
}

TEST_P(TrackingStoreTest, DeleteAndRestoreExperimentCascadeToRuns) {
  std::string id = NewExperiment("churn");
  std::string run_id = NewRun(id);
  clock_.Advance(10);
  EXPECT_OK(store_->DeleteExperiment(id));
  EXPECT_EQ(Value(store_->GetExperiment(id)).lifecycle_stage, "deleted");
  EXPECT_EQ(Value(store_->GetRun(run_id)).info.lifecycle_stage, "deleted");
  EXPECT_EQ(CountRows("SELECT deleted_time FROM runs"), 1'700'000'000'010);

  CreateRunRequest request;
  request.experiment_id = id;
  ExpectError(store_->CreateRun(request), StatusCode::kFailedPrecondition,
              "The experiment " + id + " must be in the 'active' state. Current state is deleted.");
  ExpectError(store_->LogMetric(run_id, {"loss", 1.0, 1, 0}), StatusCode::kFailedPrecondition,
              "The experiment " + id + " must be in the 'active' state. Current state is deleted.");
  ExpectError(store_->RestoreRun(run_id), StatusCode::kFailedPrecondition,
              "Cannot restore run " + run_id + ": its experiment " + id +
                  " is deleted. Restore the experiment first.");
  ExpectError(store_->DeleteExperiment(id), StatusCode::kNotFound, "No Experiment with id=" + id + " exists");

  EXPECT_OK(store_->RestoreExperiment(id));
  EXPECT_EQ(Value(store_->GetExperiment(id)).lifecycle_stage, "active");
  EXPECT_EQ(Value(store_->GetRun(run_id)).info.lifecycle_stage, "active");
  EXPECT_EQ(CountRows("SELECT COUNT(*) FROM runs WHERE deleted_time IS NULL"), 1);
  ExpectError(store_->RestoreExperiment(id), StatusCode::kNotFound, "No Experiment with id=" + id + " exists");
  ExpectError(store_->DeleteExperiment("0"), StatusCode::kInvalidArgument,
              "Cannot delete the default experiment '0'. This is an internally reserved experiment.");
}

TEST_P(TrackingStoreTest, ExperimentTags) {
  std::string id = NewExperiment("churn");
  EXPECT_OK(store_->SetExperimentTag(id, {"owner", "ann"}));
  EXPECT_OK(store_->SetExperimentTag(id, {"owner", "bob"}));
  Experiment e = Value(store_->GetExperiment(id));
  ASSERT_EQ(e.tags.size(), 1u);
  EXPECT_EQ(e.tags[0].value, "bob");
  EXPECT_OK(store_->DeleteExperimentTag(id, "owner"));
  EXPECT_TRUE(Value(store_->GetExperiment(id)).tags.empty());
  ExpectError(store_->DeleteExperimentTag(id, "owner"), StatusCode::kNotFound,
              "No tag with name: owner in experiment with id " + id);
  EXPECT_OK(store_->DeleteExperiment(id));
  ExpectError(store_->SetExperimentTag(id, {"k", "v"}), StatusCode::kFailedPrecondition,
              "The experiment " + id + " must be in the 'active' state. Current state is deleted.");
}

TEST_P(TrackingStoreTest, SearchExperimentsPagesAndFilters) {
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(1);
    NewExperiment("exp-" + std::to_string(i));
  }
  EXPECT_OK(store_->DeleteExperiment("5"));
  SearchExperimentsRequest request;
  request.max_results = 3;
  ExperimentPage first = Value(store_->SearchExperiments(request));
  ASSERT_EQ(first.experiments.size(), 3u);
  EXPECT_EQ(first.experiments[0].name, "exp-3");  // newest first; exp-4 is deleted
  EXPECT_FALSE(first.next_page_token.empty());
  request.page_token = first.next_page_token;
  ExperimentPage second = Value(store_->SearchExperiments(request));
  ASSERT_EQ(second.experiments.size(), 2u);
  EXPECT_EQ(second.experiments[1].name, "Default");
  EXPECT_TRUE(second.next_page_token.empty());

  SearchExperimentsRequest filtered;
  filtered.filter = "name LIKE 'exp-%'";
  filtered.view = ViewType::kAll;
  EXPECT_EQ(Value(store_->SearchExperiments(filtered)).experiments.size(), 5u);
}

// --- Runs ---

TEST_P(TrackingStoreTest, CreateRunSetsIdsNameAndTags) {
  std::string id = NewExperiment("churn");
  CreateRunRequest request;
  request.experiment_id = id;
  request.user_id = "alice";
  request.tags = {{"team", "risk"}};
  tracking::Run run = Value(store_->CreateRun(request));
  EXPECT_TRUE(std::regex_match(run.info.run_id, std::regex("[0-9a-f]{32}")));
  EXPECT_EQ(run.info.experiment_id, id);
  EXPECT_EQ(run.info.artifact_uri, "mlflow-artifacts:/" + id + "/" + run.info.run_id + "/artifacts");
  EXPECT_EQ(run.info.status, RunStatus::kRunning);
  EXPECT_EQ(run.info.start_time, 1'700'000'000'000);
  EXPECT_FALSE(run.info.end_time.has_value());
  EXPECT_TRUE(std::regex_match(run.info.run_name, std::regex("[a-z]+-[a-z]+-[0-9]{3}"))) << run.info.run_name;

  tracking::Run stored = Value(store_->GetRun(run.info.run_id));
  EXPECT_EQ(stored.info.run_name, run.info.run_name);
  EXPECT_EQ(stored.info.user_id, "alice");
  ASSERT_EQ(stored.data.tags.size(), 3u);
  EXPECT_EQ(stored.data.tags[0].key, "mlflow.runName");
  EXPECT_EQ(stored.data.tags[0].value, run.info.run_name);
  EXPECT_EQ(stored.data.tags[1].key, "mlflow.user");
  EXPECT_EQ(stored.data.tags[1].value, "alice");
  EXPECT_EQ(stored.data.tags[2].key, "team");
}

TEST_P(TrackingStoreTest, CreateRunNameRules) {
  CreateRunRequest request;
  request.run_name = "baseline";
  request.start_time = 123;
  tracking::Run named = Value(store_->CreateRun(request));
  EXPECT_EQ(named.info.run_name, "baseline");
  EXPECT_EQ(named.info.start_time, 123);

  CreateRunRequest from_tag;
  from_tag.tags = {{"mlflow.runName", "from-tag"}};
  EXPECT_EQ(Value(store_->CreateRun(from_tag)).info.run_name, "from-tag");

  CreateRunRequest conflict;
  conflict.run_name = "a";
  conflict.tags = {{"mlflow.runName", "b"}};
  ExpectError(store_->CreateRun(conflict), StatusCode::kInvalidArgument,
              "Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values "
              "(run_name='a', mlflow.runName='b').");

  CreateRunRequest missing;
  missing.experiment_id = "77";
  ExpectError(store_->CreateRun(missing), StatusCode::kNotFound, "No Experiment with id=77 exists");
}

TEST(RunNamesTest, GeneratedNamesAreDeterministicGivenTheSeed) {
  IdGenerator a(7), b(7);
  std::string first = GenerateRunName(a);
  EXPECT_EQ(first, GenerateRunName(b));
  EXPECT_TRUE(std::regex_match(first, std::regex("[a-z]+-[a-z]+-[0-9]{3}")));
  EXPECT_EQ(GenerateRunName(a), GenerateRunName(b));
}

TEST_P(TrackingStoreTest, UnknownRun) {
  ExpectError(store_->GetRun("nope"), StatusCode::kNotFound, "Run with id=nope not found");
  ExpectError(store_->LogParam("nope", {"a", "1"}), StatusCode::kNotFound, "Run with id=nope not found");
  ExpectError(store_->DeleteRun("nope"), StatusCode::kNotFound, "Run with id=nope not found");
}

TEST_P(TrackingStoreTest, UpdateRun) {
  std::string run_id = NewRun();
  UpdateRunRequest request;
  request.status = RunStatus::kFinished;
  request.end_time = 1'700'000'000'999;
  request.run_name = "renamed";
  RunInfo info = Value(store_->UpdateRun(run_id, request));
  EXPECT_EQ(info.status, RunStatus::kFinished);
  EXPECT_EQ(info.end_time, 1'700'000'000'999);
  EXPECT_EQ(info.run_name, "renamed");
  tracking::Run run = Value(store_->GetRun(run_id));
  EXPECT_EQ(run.data.tags[0].key, "mlflow.runName");
  EXPECT_EQ(run.data.tags[0].value, "renamed");

  EXPECT_EQ(Value(ParseRunStatus("KILLED")), RunStatus::kKilled);
  EXPECT_EQ(Value(ParseRunStatus("3")), RunStatus::kFinished);
  ExpectError(ParseRunStatus("DONE"), StatusCode::kInvalidArgument,
              "Invalid value \"DONE\" for parameter 'status' supplied: expected one of RUNNING, SCHEDULED, "
              "FINISHED, FAILED, KILLED");
}

TEST_P(TrackingStoreTest, DeletedRunsRejectWritesUntilRestored) {
  std::string run_id = NewRun();
  clock_.Advance(7);
  EXPECT_OK(store_->DeleteRun(run_id));
  EXPECT_EQ(Value(store_->GetRun(run_id)).info.lifecycle_stage, "deleted");
  EXPECT_EQ(CountRows("SELECT deleted_time FROM runs"), 1'700'000'000'007);
  const std::string message = "The run " + run_id + " must be in the 'active' state. Current state is deleted.";
  ExpectError(store_->LogMetric(run_id, {"m", 1, 1, 0}), StatusCode::kFailedPrecondition, message);
  ExpectError(store_->LogParam(run_id, {"p", "1"}), StatusCode::kFailedPrecondition, message);
  ExpectError(store_->SetTag(run_id, {"t", "1"}), StatusCode::kFailedPrecondition, message);
  ExpectError(store_->UpdateRun(run_id, {}), StatusCode::kFailedPrecondition, message);
  EXPECT_OK(store_->RestoreRun(run_id));
  EXPECT_EQ(Value(store_->GetRun(run_id)).info.lifecycle_stage, "active");
  EXPECT_OK(store_->LogParam(run_id, {"p", "1"}));
}

TEST_P(TrackingStoreTest, ParamsAreImmutable) {
  std::string run_id = NewRun();
  EXPECT_OK(store_->LogParam(run_id, {"depth", "3"}));
  EXPECT_OK(store_->LogParam(run_id, {"depth", "3"}));
  ExpectError(store_->LogParam(run_id, {"depth", "5"}), StatusCode::kInvalidArgument,
              "Changing param values is not allowed. Param with key='depth' was already logged with value='3' "
              "for run ID='" + run_id + "'. Attempted logging new value '5'.");
  tracking::Run run = Value(store_->GetRun(run_id));
  ASSERT_EQ(run.data.params.size(), 1u);
  EXPECT_EQ(run.data.params[0].value, "3");
}

TEST_P(TrackingStoreTest, KeyAndValueValidation) {
  std::string run_id = NewRun();
  ExpectError(store_->LogParam(run_id, {"a/../b", "1"}), StatusCode::kInvalidArgument,
              "Invalid value \"a/../b\" for parameter 'key' supplied: Names may be treated as files in certain "
              "cases, and must not resolve to other names when treated as such. This name would resolve to 'b'");
  ExpectError(store_->LogParam(run_id, {"/abs", "1"}), StatusCode::kInvalidArgument,
              "Invalid value \"/abs\" for parameter 'key' supplied: Names may be treated as files in certain "
              "cases, and must not resolve to other names when treated as such. This name would resolve to "
              "'/abs'");
  ExpectError(store_->SetTag(run_id, {"a$b", "1"}), StatusCode::kInvalidArgument,
              "Invalid value \"a$b\" for parameter 'key' supplied: Names may only contain alphanumerics, "
              "underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/).");
  ExpectError(store_->LogMetric(run_id, {std::string(251, 'k'), 1, 1, 0}), StatusCode::kInvalidArgument,
              "'key' exceeds the maximum length of 250 characters");
  ExpectError(store_->LogParam(run_id, {"p", std::string(6001, 'v')}), StatusCode::kInvalidArgument,
              "'value' exceeds the maximum length of 6000 characters");
  EXPECT_OK(store_->LogParam(run_id, {"p", std::string(6000, 'v')}));
  ExpectError(store_->SetTag(run_id, {"t", std::string(8001, 'v')}), StatusCode::kInvalidArgument,
              "'value' exceeds the maximum length of 8000 characters");
  EXPECT_OK(store_->SetTag(run_id, {"t", std::string(8000, 'v')}));
  ExpectError(store_->LogMetric(run_id, {"m", 1.5, -1, 0}), StatusCode::kInvalidArgument,
              "Invalid value -1 for parameter 'timestamp' supplied: metric 'm' (value=1.5). Timestamp must be a "
              "nonnegative long (64-bit integer)");
  EXPECT_OK(store_->LogMetric(run_id, {"train/loss: fold 1", 1, 1, 0}));
}

TEST_P(TrackingStoreTest, TagsUpsertAndDelete) {
  std::string run_id = NewRun();
  EXPECT_OK(store_->SetTag(run_id, {"stage", "a"}));
  EXPECT_OK(store_->SetTag(run_id, {"stage", "b"}));
  EXPECT_OK(store_->SetTag(run_id, {"mlflow.runName", "via-tag"}));
  tracking::Run run = Value(store_->GetRun(run_id));
  EXPECT_EQ(run.info.run_name, "via-tag");
  EXPECT_EQ(run.data.tags.back().key, "stage");
  EXPECT_EQ(run.data.tags.back().value, "b");
  EXPECT_OK(store_->DeleteTag(run_id, "stage"));
  ExpectError(store_->DeleteTag(run_id, "stage"), StatusCode::kNotFound,
              "No tag with name: stage in run with id " + run_id);
}

// --- Metrics ---

TEST_P(TrackingStoreTest, MetricHistoryKeepsEveryPointAndLatestFollowsStepThenTime) {
  std::string run_id = NewRun();
  EXPECT_OK(store_->LogMetric(run_id, {"loss", 1.0, 10, 0}));
  EXPECT_OK(store_->LogMetric(run_id, {"loss", 5.0, 5, 1}));
  EXPECT_OK(store_->LogMetric(run_id, {"loss", 3.0, 100, 0}));  // later, but an earlier step
  EXPECT_OK(store_->LogMetric(run_id, {"loss", 3.0, 100, 0}));  // identical: stored once
  std::vector<Metric> history = History(run_id, "loss");
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[0].timestamp, 5);
  EXPECT_EQ(history[1].timestamp, 10);
  EXPECT_EQ(history[2].timestamp, 100);
  tracking::Run run = Value(store_->GetRun(run_id));
  ASSERT_EQ(run.data.metrics.size(), 1u);
  EXPECT_EQ(run.data.metrics[0].value, 5.0);
  EXPECT_EQ(run.data.metrics[0].step, 1);

  EXPECT_OK(store_->LogMetric(run_id, {"loss", 0.5, 5, 1}));  // same step and time, smaller value
  EXPECT_EQ(Value(store_->GetRun(run_id)).data.metrics[0].value, 5.0);
  EXPECT_OK(store_->LogMetric(run_id, {"loss", 7.0, 5, 1}));  // same step and time, greater value
  EXPECT_EQ(Value(store_->GetRun(run_id)).data.metrics[0].value, 7.0);
}

TEST_P(TrackingStoreTest, NanAndInfinityRoundTrip) {
  std::string run_id = NewRun();
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_OK(store_->LogMetric(run_id, {"x", -1.0, 1, 2}));
  EXPECT_OK(store_->LogMetric(run_id, {"x", std::nan(""), 1, 2}));  // NaN counts as 0 > -1
  EXPECT_TRUE(std::isnan(Value(store_->GetRun(run_id)).data.metrics[0].value));
  EXPECT_OK(store_->LogMetric(run_id, {"x", -inf, 1, 2}));  // -inf < 0: NaN stays latest
  EXPECT_TRUE(std::isnan(Value(store_->GetRun(run_id)).data.metrics[0].value));
  EXPECT_OK(store_->LogMetric(run_id, {"x", inf, 2, 2}));
  EXPECT_EQ(Value(store_->GetRun(run_id)).data.metrics[0].value, inf);
  std::vector<Metric> history = History(run_id, "x");
  ASSERT_EQ(history.size(), 4u);
  int nans = 0, neg_inf = 0, pos_inf = 0;
  for (const Metric& m : history) {
    nans += std::isnan(m.value);
    neg_inf += m.value == -inf;
    pos_inf += m.value == inf;
  }
  EXPECT_EQ(nans, 1);
  EXPECT_EQ(neg_inf, 1);
  EXPECT_EQ(pos_inf, 1);
}

TEST_P(TrackingStoreTest, MetricHistoryPages) {
  std::string run_id = NewRun();
  for (int i = 0; i < 5; ++i) EXPECT_OK(store_->LogMetric(run_id, {"acc", i * 0.1, 100 + i, i}));
  MetricPage first = Value(store_->GetMetricHistory({run_id, "acc", 2, ""}));
  ASSERT_EQ(first.metrics.size(), 2u);
  EXPECT_EQ(first.metrics[1].step, 1);
  ASSERT_FALSE(first.next_page_token.empty());
  MetricPage second = Value(store_->GetMetricHistory({run_id, "acc", 2, first.next_page_token}));
  EXPECT_EQ(second.metrics[0].step, 2);
  MetricPage third = Value(store_->GetMetricHistory({run_id, "acc", 2, second.next_page_token}));
  ASSERT_EQ(third.metrics.size(), 1u);
  EXPECT_TRUE(third.next_page_token.empty());
  EXPECT_EQ(History(run_id, "acc").size(), 5u);
  EXPECT_TRUE(History(run_id, "other").empty());
  ExpectError(store_->GetMetricHistory({run_id, "acc", 0, ""}), StatusCode::kInvalidArgument,
              "Invalid value 0 for parameter 'max_results' supplied. It must be a positive integer.");
  ExpectError(store_->GetMetricHistory({"nope", "acc", std::nullopt, ""}), StatusCode::kNotFound,
              "Run with id=nope not found");
  EXPECT_EQ(store_->GetMetricHistory({run_id, "acc", 2, "%%%"}).status().code(), StatusCode::kInvalidArgument);
}

TEST_P(TrackingStoreTest, BulkIntervalSamplesKeepingEachRunsFirstAndLastStep) {
  std::string long_run = NewRun();
  std::string short_run = NewRun();
  std::vector<Metric> points;
  for (int step = 0; step < 100; ++step) points.push_back({"loss", 1.0 / (step + 1), 1000 + step, step});
  EXPECT_OK(store_->LogBatch(long_run, points, {}, {}));
  points.clear();
  for (int step = 0; step < 10; ++step) points.push_back({"loss", 2.0, 2000 + step, step});
  EXPECT_OK(store_->LogBatch(short_run, points, {}, {}));

  BulkIntervalRequest request;
  request.run_ids = {long_run, short_run};
  request.metric_key = "loss";
  request.max_results = 10;
  std::vector<MetricWithRunId> result = Value(store_->GetMetricHistoryBulkInterval(request));
  std::vector<int64_t> long_steps, short_steps;
  for (const MetricWithRunId& m : result) (m.run_id == long_run ? long_steps : short_steps).push_back(m.metric.step);
  EXPECT_EQ(result.front().run_id, long_run);  // request order
  // Ten evenly spaced steps from 0 to 99, plus the short run's last step.
  EXPECT_THAT(long_steps, ElementsAre(0, 9, 11, 22, 33, 44, 55, 66, 77, 88, 99));
  EXPECT_THAT(short_steps, ElementsAre(0, 9));

  request.start_step = 20;
  request.end_step = 24;
  result = Value(store_->GetMetricHistoryBulkInterval(request));
  ASSERT_EQ(result.size(), 5u);
  EXPECT_EQ(result.front().metric.step, 20);
  EXPECT_EQ(result.back().metric.step, 24);

  BulkIntervalRequest bad = request;
  bad.end_step.reset();
  ExpectError(store_->GetMetricHistoryBulkInterval(bad), StatusCode::kInvalidArgument,
              "If either start step or end step are specified, both must be specified.");
  bad = request;
  bad.start_step = 30;
  ExpectError(store_->GetMetricHistoryBulkInterval(bad), StatusCode::kInvalidArgument,
              "end_step must be greater than start_step. Found start_step=30 and end_step=24.");
  bad = request;
  bad.max_results = 2501;
  ExpectError(store_->GetMetricHistoryBulkInterval(bad), StatusCode::kInvalidArgument,
              "max_results must be between 1 and 2500.");
  bad = request;
  bad.run_ids = std::vector<std::string>(101, long_run);
  ExpectError(store_->GetMetricHistoryBulkInterval(bad), StatusCode::kInvalidArgument,
              "GetMetricHistoryBulkInterval request must specify at most 100 run_ids. Received 101 run_ids.");
  bad = request;
  bad.run_ids = {long_run, "nope"};
  ExpectError(store_->GetMetricHistoryBulkInterval(bad), StatusCode::kNotFound, "Run with id=nope not found");
}

// --- Batches ---

TEST_P(TrackingStoreTest, LogBatchWritesEverything) {
  std::string run_id = NewRun();
  std::vector<Metric> metrics;
  for (int i = 0; i < 150; ++i) metrics.push_back({"m" + std::to_string(i % 3), double(i), 1000 + i, i / 3});
  std::vector<Param> params = {{"lr", "0.1"}, {"depth", "6"}, {"lr", "0.1"}};
  std::vector<RunTag> tags = {{"t", "first"}, {"t", "last"}, {"mlflow.runName", "batch-run"}};
  EXPECT_OK(store_->LogBatch(run_id, metrics, params, tags));
  tracking::Run run = Value(store_->GetRun(run_id));
  EXPECT_EQ(run.info.run_name, "batch-run");
  ASSERT_EQ(run.data.metrics.size(), 3u);
  EXPECT_EQ(run.data.metrics[0].key, "m0");
  EXPECT_EQ(run.data.metrics[0].step, 49);
  EXPECT_EQ(run.data.metrics[0].value, 147.0);
  ASSERT_EQ(run.data.params.size(), 2u);
  EXPECT_EQ(run.data.tags.back().key, "t");
  EXPECT_EQ(run.data.tags.back().value, "last");
  EXPECT_EQ(History(run_id, "m1").size(), 50u);
}

TEST_P(TrackingStoreTest, LogBatchIsAllOrNothing) {
  std::string run_id = NewRun();
  EXPECT_OK(store_->LogParam(run_id, {"lr", "0.1"}));
  std::vector<Metric> metrics = {{"loss", 1, 1, 0}, {"loss", 0.5, 2, 1}};
  ExpectError(store_->LogBatch(run_id, metrics, {{"new", "x"}, {"lr", "0.2"}}, {{"t", "v"}}),
              StatusCode::kInvalidArgument,
              "Changing param values is not allowed. Param with key='lr' was already logged with value='0.1' "
              "for run ID='" + run_id + "'. Attempted logging new value '0.2'.");
  ExpectError(store_->LogBatch(run_id, metrics, {}, {{"ok", "v"}, {"bad key!", "v"}}),
              StatusCode::kInvalidArgument,
              "Invalid value \"bad key!\" for parameter 'tags[1].key' supplied: Names may only contain "
              "alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colon(:) and slashes (/).");
  ExpectError(store_->LogBatch(run_id, metrics, {{"a", "1"}, {"a", "2"}, {"b", "1"}, {"b", "1"}}, {}),
              StatusCode::kInvalidArgument,
              "Duplicate parameter keys have been submitted: ['a']. Please ensure the request contains only one "
              "param value per param key.");
  EXPECT_TRUE(History(run_id, "loss").empty());
  tracking::Run run = Value(store_->GetRun(run_id));
  EXPECT_TRUE(run.data.metrics.empty());
  EXPECT_EQ(run.data.params.size(), 1u);
  EXPECT_EQ(run.data.tags.size(), 2u);  // mlflow.runName, mlflow.user
}

TEST_P(TrackingStoreTest, LogBatchLimits) {
  std::string run_id = NewRun();
  std::vector<Metric> metrics(1001, Metric{"m", 1, 1, 0});
  ExpectError(store_->LogBatch(run_id, metrics, {}, {}), StatusCode::kInvalidArgument,
              "A batch logging request can contain at most 1000 metrics. Got 1001 metrics. Please split up "
              "metrics across multiple requests and try again.");
  ExpectError(store_->LogBatch(run_id, {}, std::vector<Param>(101, Param{"p", "1"}), {}),
              StatusCode::kInvalidArgument,
              "A batch logging request can contain at most 100 params. Got 101 params. Please split up params "
              "across multiple requests and try again.");
  ExpectError(store_->LogBatch(run_id, {}, {}, std::vector<RunTag>(101, RunTag{"t", "1"})),
              StatusCode::kInvalidArgument,
              "A batch logging request can contain at most 100 tags. Got 101 tags. Please split up tags across "
              "multiple requests and try again.");
  metrics.resize(901);
  ExpectError(store_->LogBatch(run_id, metrics, std::vector<Param>(100, Param{"p", "1"}), {}),
              StatusCode::kInvalidArgument,
              "A batch logging request can contain at most 1000 metrics, params, and tags. Got 1001 metrics, "
              "params, and tags. Please split up metrics, params, and tags across multiple requests and try "
              "again.");
}

// --- Inputs ---

TEST_P(TrackingStoreTest, LogInputsIsIdempotentAndSharesDatasetsPerExperiment) {
  std::string first = NewRun();
  std::string second = NewRun();
  DatasetInput train{{{"mlflow.data.context", "training"}},
                     {"customers", "abc123", "local", "{\"uri\": \"data/customers.csv\"}", "{\"cols\": []}",
                      std::nullopt}};
  DatasetInput eval{{}, {"customers", "def456", "local", "{}", std::nullopt, std::nullopt}};
  EXPECT_OK(store_->LogInputs(first, {train, eval, train}));
  EXPECT_OK(store_->LogInputs(first, {train}));
  EXPECT_OK(store_->LogInputs(second, {train}));
  EXPECT_EQ(CountRows("SELECT COUNT(*) FROM datasets"), 2);
  EXPECT_EQ(CountRows("SELECT COUNT(*) FROM inputs"), 3);

  tracking::Run run = Value(store_->GetRun(first));
  ASSERT_EQ(run.inputs.dataset_inputs.size(), 2u);
  const DatasetInput& got = run.inputs.dataset_inputs[0];
  EXPECT_EQ(got.dataset.digest, "abc123");
  EXPECT_EQ(got.dataset.schema, "{\"cols\": []}");
  EXPECT_FALSE(got.dataset.profile.has_value());
  ASSERT_EQ(got.tags.size(), 1u);
  EXPECT_EQ(got.tags[0].value, "training");
  EXPECT_TRUE(run.inputs.dataset_inputs[1].tags.empty());

  DatasetInput nameless = train;
  nameless.dataset.name = "";
  ExpectError(store_->LogInputs(first, {train, nameless}), StatusCode::kInvalidArgument,
              "Missing value for required parameter 'datasets[1].dataset.name'. See the API docs for more "
              "information about request parameters.");
  DatasetInput long_digest = train;
  long_digest.dataset.digest = std::string(37, 'd');
  ExpectError(store_->LogInputs(first, {long_digest}), StatusCode::kInvalidArgument,
              "'datasets[0].dataset.digest' exceeds the maximum length of 36 characters");
}

// --- Search ---

TEST_P(TrackingStoreTest, SearchRunsReturnsFullRunsPageByPage) {
  std::string id = NewExperiment("churn");
  std::vector<std::string> run_ids;
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(1);
    std::string run_id = NewRun(id);
    run_ids.push_back(run_id);
    EXPECT_OK(store_->LogBatch(run_id, {{"auc", 0.5 + i * 0.1, 1, 0}}, {{"depth", std::to_string(i)}}, {}));
  }
  EXPECT_OK(store_->LogInputs(run_ids[4], {{{}, {"d", "1", "local", "{}", std::nullopt, std::nullopt}}}));
  EXPECT_OK(store_->DeleteRun(run_ids[0]));

  SearchRunsRequest request;
  request.experiment_ids = {id};
  request.max_results = 3;
  RunPage first = Value(store_->SearchRuns(request));
  ASSERT_EQ(first.runs.size(), 3u);
  EXPECT_EQ(first.runs[0].info.run_id, run_ids[4]);  // newest first
  EXPECT_EQ(first.runs[0].data.params[0].value, "4");
  EXPECT_DOUBLE_EQ(first.runs[0].data.metrics[0].value, 0.9);
  EXPECT_EQ(first.runs[0].data.tags.size(), 2u);
  EXPECT_EQ(first.runs[0].inputs.dataset_inputs.size(), 1u);
  request.page_token = first.next_page_token;
  RunPage second = Value(store_->SearchRuns(request));
  ASSERT_EQ(second.runs.size(), 1u);  // the deleted run is left out
  EXPECT_TRUE(second.next_page_token.empty());

  SearchRunsRequest filtered;
  filtered.experiment_ids = {id};
  filtered.filter = "params.depth = '2' and metrics.auc > 0.6";
  filtered.view = ViewType::kAll;
  RunPage found = Value(store_->SearchRuns(filtered));
  ASSERT_EQ(found.runs.size(), 1u);
  EXPECT_EQ(found.runs[0].info.run_id, run_ids[2]);

  SearchRunsRequest none;
  none.experiment_ids = {"not-a-number"};
  EXPECT_TRUE(Value(store_->SearchRuns(none)).runs.empty());
}

// --- Concurrency ---

TEST_P(TrackingStoreTest, ConcurrentMetricLoggingKeepsEveryPoint) {
  std::string run_id = NewRun();
  constexpr int kThreads = 8;
  constexpr int kPerThread = 25;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        int step = t * kPerThread + i;
        if (!store_->LogMetric(run_id, {"loss", double(step), 1000 + step, step}).ok()) ++failures;
        if (!store_->LogMetric(run_id, {"k" + std::to_string(t), 1, 1, i}).ok()) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(History(run_id, "loss").size(), size_t{kThreads * kPerThread});
  tracking::Run run = Value(store_->GetRun(run_id));
  ASSERT_EQ(run.data.metrics.size(), size_t{kThreads + 1});
  EXPECT_EQ(run.data.metrics[kThreads].key, "loss");
  EXPECT_EQ(run.data.metrics[kThreads].step, kThreads * kPerThread - 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, TrackingStoreTest, ::testing::ValuesIn(Backends()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace kiln::tracking
