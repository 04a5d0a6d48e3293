// TrainingService over a real SQLite store, artifact store and feature
// store, with a fake executor standing in for bubblewrap and Slurm (they
// have their own tests): submit and snapshot, how an execution's outcome
// becomes the run's status, what a run leaves behind, cancel while queued,
// starting or running, refusals before anything runs, destruction with runs
// queued and running, AfterRuns and sweeps. Executions block on gates the
// test opens, so nothing depends on timing.

#include "training/training_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "features/feature_store.h"
#include "features/features_testing.h"
#include "features/migrations.h"
#include "storage/artifact_store.h"
#include "storage/migrations.h"
#include "tracking/migrations.h"
#include "tracking/tracking_store.h"
#include "training/sweep.h"
#include "training/training_service_testing.h"

namespace kiln::training {
namespace {

namespace fs = std::filesystem;
using features::testing_support::Value;
using testing::Blocking;
using testing::Board;
using testing::Ending;
using testing::FakeExecutor;
using testing::Gate;
using ::testing::HasSubstr;
using testing::Script;
using ::testing::StartsWith;

class TrainingServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = features::testing_support::MakeTestDirectory("kiln-training-service-test");
    database_ = features::testing_support::OpenTestDatabase(
        directory_, {&storage::Migrations(), &tracking::Migrations(), &features::Migrations()});
    artifacts_ =
        std::make_unique<storage::ArtifactStore>(*database_, (directory_ / "artifacts").string(), clock_);
    tracking_ = std::make_unique<tracking::TrackingStore>(*database_, clock_, ids_);
    features::FeatureStoreOptions feature_options;
    feature_options.data_dir = directory_.string();
    feature_options.threads = 1;
    features_ = std::make_unique<features::FeatureStore>(*database_, *artifacts_, *tracking_, clock_,
                                                         feature_options);
    fs::create_directories(directory_ / "code");
    std::ofstream(directory_ / "code" / "train.py") << "print('training')\n";
    std::ofstream(directory_ / "train.csv") << "x,y\n1,0\n2,1\n3,0\n";
    StartService(1);
  }

  void TearDown() override {
    service_.reset();
    features_.reset();
    tracking_.reset();
    artifacts_.reset();
    database_.reset();
    fs::remove_all(directory_);
  }

  void StartService(int concurrency) {
    TrainingServiceOptions options;
    options.data_dir = (directory_ / "data").string();
    options.kiln_binary = "/bin/true";
    options.tracking_socket = [this]() -> Result<std::string> {
      if (hook_) hook_();
      return std::string();
    };
    service_ = std::make_unique<TrainingService>(*tracking_, *artifacts_, *features_, clock_, options);
    service_->AddExecutor(std::make_unique<FakeExecutor>("local", board_), concurrency);
  }

  RunSpec Spec() const {
    RunSpec spec;
    spec.project = "churn";
    spec.code_dir = (directory_ / "code").string();
    spec.data.file = (directory_ / "train.csv").string();
    spec.data.label = "y";
    spec.trainer = TrainerKind::kCommand;
    spec.command.argv = {"python3", "train.py"};
    spec.params = {{"lr", "0.1"}};
    return spec;
  }

  SubmittedRun Submit(const RunSpec& spec) { return Value(service_->Submit(spec, SubmitOptions{})); }
  SubmittedRun Submit() { return Submit(Spec()); }
  tracking::Run GetRun(const std::string& run_id) { return Value(tracking_->GetRun(run_id)); }

  static std::string Tag(const tracking::Run& run, const std::string& key) {
    for (const tracking::RunTag& tag : run.data.tags) {
      if (tag.key == key) return tag.value;
    }
    return "<no tag " + key + ">";
  }
  static std::string Param(const tracking::Run& run, const std::string& key) {
    for (const tracking::Param& param : run.data.params) {
      if (param.key == key) return param.value;
    }
    return "<no param " + key + ">";
  }
  static std::optional<double> MetricOf(const tracking::Run& run, const std::string& key) {
    for (const tracking::Metric& metric : run.data.metrics) {
      if (metric.key == key) return metric.value;
    }
    return std::nullopt;
  }

  // Files under the run's artifacts, as relative paths.
  std::set<std::string> ArtifactFiles(const tracking::Run& run, const std::string& directory = "") {
    std::string root = run.info.artifact_uri.substr(std::string("mlflow-artifacts:/").size());
    while (!root.empty() && root.front() == '/') root.erase(0, 1);
    std::set<std::string> files;
    const std::string full = directory.empty() ? root : root + "/" + directory;
    for (const storage::ArtifactInfo& info : Value(artifacts_->List(full))) {
      const std::string relative = info.path.substr(root.size() + 1);
      if (info.is_dir) {
        for (const std::string& file : ArtifactFiles(run, relative)) files.insert(file);
      } else {
        files.insert(relative);
      }
    }
    return files;
  }

  // Polls the store until the run has ended (for the sweep parent, which no
  // Wait() covers). No deadline: a run that never ends hangs the test.
  tracking::Run WaitUntilEnded(const std::string& run_id) {
    while (true) {
      tracking::Run run = GetRun(run_id);
      if (run.info.status != tracking::RunStatus::kRunning &&
          run.info.status != tracking::RunStatus::kScheduled) {
        return run;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  FakeClock clock_;
  IdGenerator ids_{7};
  fs::path directory_;
  std::unique_ptr<storage::Database> database_;
  std::unique_ptr<storage::ArtifactStore> artifacts_;
  std::unique_ptr<tracking::TrackingStore> tracking_;
  std::unique_ptr<features::FeatureStore> features_;
  std::shared_ptr<Board> board_ = std::make_shared<Board>();
  std::function<void()> hook_;
  std::unique_ptr<TrainingService> service_;
};

TEST_F(TrainingServiceTest, SubmitSchedulesARunWithItsSnapshotAndParams) {
  board_->SetScripter([](const ExecutionRequest&) { return Blocking(); });
  SubmittedRun first = Submit();  // holds the only slot
  board_->WaitStarted(1);
  SubmittedRun second = Submit();

  tracking::Run run = GetRun(second.run_id);
  EXPECT_EQ(run.info.status, tracking::RunStatus::kScheduled) << "queued behind the first run";
  EXPECT_EQ(second.executor, "local");
  EXPECT_EQ(Param(run, "lr"), "0.1");
  EXPECT_EQ(Param(run, "trainer"), "command");
  EXPECT_EQ(Param(run, "data.label"), "y");
  EXPECT_EQ(Tag(run, "kiln.snapshot.code_digest"), second.code_digest);
  EXPECT_EQ(Tag(run, "kiln.data.digest"), second.data_digest);
  EXPECT_EQ(Tag(run, "kiln.executor"), "local");
  EXPECT_EQ(Tag(run, "kiln.trainer"), "command");
  const std::set<std::string> files = ArtifactFiles(run);
  for (const char* file : {"snapshot/code.tar", "snapshot/spec.json", "snapshot/dependencies.json",
                           "snapshot/data.json", "data/train.csv"}) {
    EXPECT_EQ(files.count(file), 1u) << file << " missing from the snapshot";
  }
  std::vector<QueuedRun> queue = service_->Queue();
  ASSERT_EQ(queue.size(), 2u);
  EXPECT_EQ(queue[0].run_id, first.run_id);
  EXPECT_TRUE(queue[0].running);
  EXPECT_EQ(queue[1].run_id, second.run_id);
  EXPECT_FALSE(queue[1].running);
  EXPECT_EQ(queue[1].position, 1);

  board_->Release(first.run_id);
  board_->Release(second.run_id);
  EXPECT_EQ(Value(service_->Wait(second.run_id)).status, tracking::RunStatus::kFinished);
}

TEST_F(TrainingServiceTest, ASucceededExecutionFinishesTheRunWithItsMetricsAndOutputs) {
  board_->SetScripter([](const ExecutionRequest& request) {
    Script script;
    script.out_files["metrics.jsonl"] =
        "{\"key\": \"auc\", \"value\": 0.5, \"step\": 0}\n"
        "{\"key\": \"auc\", \"value\": 0.75, \"step\": 1}\n"
        "{\"key\": \"loss\", \"value\": \"NaN\"}\n";
    script.out_files["model/weights.txt"] = "w=" + request.env.at("KILN_PARAM_LR") + "\n";
    return script;
  });
  SubmittedRun submitted = Submit();
  RunOutcome outcome = Value(service_->Wait(submitted.run_id));
  EXPECT_EQ(outcome.status, tracking::RunStatus::kFinished);
  EXPECT_EQ(outcome.message, "");
  EXPECT_EQ(outcome.metrics.at("auc"), 0.75);

  tracking::Run run = GetRun(submitted.run_id);
  EXPECT_EQ(run.info.status, tracking::RunStatus::kFinished);
  EXPECT_TRUE(run.info.end_time.has_value());
  EXPECT_EQ(Tag(run, "kiln.outcome"), "FINISHED");
  EXPECT_EQ(MetricOf(run, "auc"), 0.75);
  ASSERT_TRUE(MetricOf(run, "loss").has_value());
  EXPECT_TRUE(std::isnan(*MetricOf(run, "loss")));
  const std::set<std::string> files = ArtifactFiles(run);
  EXPECT_EQ(files.count("model/weights.txt"), 1u);
  EXPECT_EQ(files.count("metrics.jsonl"), 1u);
  EXPECT_EQ(files.count("logs/stdout.txt"), 1u);
  EXPECT_FALSE(fs::exists(directory_ / "data" / "runs" / submitted.run_id)) << "the run folder is removed";

  const std::vector<ExecutionRequest> started = board_->started();
  ASSERT_EQ(started.size(), 1u);
  EXPECT_EQ(started[0].env.at("KILN_RUN_ID"), submitted.run_id);
  EXPECT_EQ(started[0].env.at("KILN_DATA"), "/data/train.csv");
  EXPECT_EQ(started[0].argv, (std::vector<std::string>{"python3", "train.py"}));
}

TEST_F(TrainingServiceTest, AFailedExecutionFailsTheRunWithItsMessage) {
  board_->SetScripter(
      [](const ExecutionRequest&) { return Ending(ExecutionOutcome::kFailed, "exit status 3"); });
  SubmittedRun submitted = Submit();
  RunOutcome outcome = Value(service_->Wait(submitted.run_id));
  EXPECT_EQ(outcome.status, tracking::RunStatus::kFailed);
  EXPECT_EQ(outcome.message, "exit status 3");
  tracking::Run run = GetRun(submitted.run_id);
  EXPECT_EQ(run.info.status, tracking::RunStatus::kFailed);
  EXPECT_EQ(Tag(run, "kiln.message"), "exit status 3");
  EXPECT_EQ(Tag(run, "kiln.outcome"), "FAILED");
  EXPECT_EQ(ArtifactFiles(run).count("logs/stdout.txt"), 1u) << "a failed run keeps its logs";
}

TEST_F(TrainingServiceTest, ATimedOutExecutionEndsKilled) {
  board_->SetScripter([](const ExecutionRequest&) {
    return Ending(ExecutionOutcome::kTimedOut, "time limit of 5 s exceeded");
  });
  SubmittedRun submitted = Submit();
  RunOutcome outcome = Value(service_->Wait(submitted.run_id));
  EXPECT_EQ(outcome.status, tracking::RunStatus::kKilled);
  EXPECT_EQ(Tag(GetRun(submitted.run_id), "kiln.message"), "time limit of 5 s exceeded");
}

TEST_F(TrainingServiceTest, AMalformedMetricsFileFailsTheRunNamingTheLine) {
  board_->SetScripter([](const ExecutionRequest&) {
    Script script;
    // A key that is not a string once threw out of the worker thread.
    script.out_files["metrics.jsonl"] = "{\"key\": \"auc\", \"value\": 0.5}\n{\"key\": 5, \"value\": 1}\n";
    return script;
  });
  SubmittedRun submitted = Submit();
  RunOutcome outcome = Value(service_->Wait(submitted.run_id));
  EXPECT_EQ(outcome.status, tracking::RunStatus::kFailed);
  EXPECT_THAT(outcome.message, StartsWith("metrics.jsonl:2: not a metric line"));

  board_->SetScripter([](const ExecutionRequest&) {
    Script script;
    script.out_files["metrics.jsonl"] = "{\"key\": \"auc\", \"value\": 0.5, \"step\": \"one\"}\n";
    return script;
  });
  SubmittedRun second = Submit();
  EXPECT_THAT(Value(service_->Wait(second.run_id)).message, StartsWith("metrics.jsonl:1: not a metric line"));
}

TEST_F(TrainingServiceTest, SymlinksAndFifosTheRunLeavesAreNotRead) {
  const std::string secret = (directory_ / "secret.txt").string();
  std::ofstream(secret) << "host secret\n";
  board_->SetScripter([&](const ExecutionRequest& request) {
    const fs::path out = fs::path(request.work_dir) / "out";
    fs::create_directories(out);
    fs::create_symlink(secret, out / "stolen.txt");
    // Reading a FIFO would block the worker for ever.
    EXPECT_EQ(::mkfifo((out / "metrics.jsonl").c_str(), 0644), 0);
    Script script;
    script.out_files["model.txt"] = "model\n";
    return script;
  });
  SubmittedRun submitted = Submit();
  RunOutcome outcome = Value(service_->Wait(submitted.run_id));
  EXPECT_EQ(outcome.status, tracking::RunStatus::kFinished) << outcome.message;
  const std::set<std::string> files = ArtifactFiles(GetRun(submitted.run_id));
  EXPECT_EQ(files.count("model.txt"), 1u);
  EXPECT_EQ(files.count("stolen.txt"), 0u) << "a symlink could reach any host file";
  EXPECT_EQ(files.count("metrics.jsonl"), 0u);
}

TEST_F(TrainingServiceTest, CancelWhileQueuedKillsTheRunWithoutStartingIt) {
  board_->SetScripter([](const ExecutionRequest&) { return Blocking(); });
  SubmittedRun running = Submit();
  board_->WaitStarted(1);
  SubmittedRun queued = Submit();
  ASSERT_TRUE(service_->Cancel(queued.run_id).ok());

  RunOutcome outcome = Value(service_->Wait(queued.run_id));
  EXPECT_EQ(outcome.status, tracking::RunStatus::kKilled);
  EXPECT_EQ(outcome.message, "cancelled before it started");
  tracking::Run run = GetRun(queued.run_id);
  EXPECT_EQ(run.info.status, tracking::RunStatus::kKilled);
  EXPECT_EQ(Tag(run, "kiln.message"), "cancelled before it started");
  EXPECT_EQ(service_->Queue().size(), 1u);
  Status again = service_->Cancel(queued.run_id);
  EXPECT_EQ(again.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(again.message(), "run " + queued.run_id + " has already ended (KILLED)");

  board_->Release(running.run_id);
  EXPECT_EQ(Value(service_->Wait(running.run_id)).status, tracking::RunStatus::kFinished);
  EXPECT_EQ(board_->started_ids(), std::vector<std::string>{running.run_id})
      << "the cancelled run never started";
  EXPECT_EQ(service_->Cancel("nope").code(), StatusCode::kNotFound);
}

TEST_F(TrainingServiceTest, CancelWhileRunningCancelsTheExecutionAndKillsTheRun) {
  board_->SetScripter([](const ExecutionRequest&) { return Blocking(); });
  SubmittedRun submitted = Submit();
  board_->WaitStarted(1);
  ASSERT_TRUE(service_->Cancel(submitted.run_id).ok());
  RunOutcome outcome = Value(service_->Wait(submitted.run_id));
  EXPECT_EQ(outcome.status, tracking::RunStatus::kKilled);
  EXPECT_EQ(outcome.message, "cancelled");
  EXPECT_EQ(board_->cancels(submitted.run_id), 1);
  EXPECT_EQ(GetRun(submitted.run_id).info.status, tracking::RunStatus::kKilled);
}

TEST_F(TrainingServiceTest, CancelBetweenLeavingTheQueueAndStartingStillStopsTheRun) {
  // The worker has taken the run off the queue but not yet started it:
  // the queue cannot drop it any more, so the worker must notice.
  Gate gate;
  hook_ = [&] { gate.Pass(); };
  board_->SetScripter([](const ExecutionRequest&) { return Blocking(); });
  SubmittedRun submitted = Submit();
  gate.WaitReached();
  ASSERT_TRUE(service_->Cancel(submitted.run_id).ok());
  gate.Open();
  RunOutcome outcome = Value(service_->Wait(submitted.run_id));
  EXPECT_EQ(outcome.status, tracking::RunStatus::kKilled);
  EXPECT_EQ(board_->cancels(submitted.run_id), 1) << "the execution is cancelled as soon as it starts";
}

TEST_F(TrainingServiceTest, AnUnknownExecutorIsRefusedNamingTheAvailableOnes) {
  RunSpec spec = Spec();
  spec.executor = "slurm";
  Result<SubmittedRun> submitted = service_->Submit(spec, SubmitOptions{});
  ASSERT_FALSE(submitted.ok());
  EXPECT_EQ(submitted.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(submitted.status().message(), "executor 'slurm' is not available here (available: local)");
  EXPECT_EQ(tracking_->GetExperimentByName("churn").status().code(), StatusCode::kNotFound)
      << "nothing is created for a refused run";
}

TEST_F(TrainingServiceTest, DataWithoutTheLabelFailsTheRunBeforeItIsQueued) {
  std::ofstream(directory_ / "train.csv") << "x,z\n1,0\n";
  Result<SubmittedRun> submitted = service_->Submit(Spec(), SubmitOptions{});
  ASSERT_FALSE(submitted.ok());
  EXPECT_EQ(submitted.status().code(), StatusCode::kInvalidArgument);
  const std::string column_message =
      "data.label: " + (directory_ / "train.csv").string() + " has no column 'y'";
  EXPECT_THAT(submitted.status().message(), HasSubstr(column_message));

  tracking::SearchRunsRequest search;
  search.experiment_ids = {Value(tracking_->GetExperimentByName("churn")).experiment_id};
  tracking::RunPage page = Value(tracking_->SearchRuns(search));
  ASSERT_EQ(page.runs.size(), 1u);
  const tracking::Run& run = page.runs[0];
  EXPECT_EQ(run.info.status, tracking::RunStatus::kFailed);
  EXPECT_TRUE(run.info.end_time.has_value());
  EXPECT_EQ(Tag(run, "kiln.error"), column_message);
  EXPECT_EQ(submitted.status().message(),
            "run " + run.info.run_id + " failed before it started: " + column_message);
  EXPECT_FALSE(fs::exists(directory_ / "data" / "runs" / run.info.run_id)) << "the run folder is removed";
  EXPECT_TRUE(service_->Queue().empty());
  EXPECT_TRUE(board_->started().empty());
}

TEST_F(TrainingServiceTest, DestroyingTheServiceKillsQueuedAndRunningRuns) {
  board_->SetScripter([](const ExecutionRequest&) { return Blocking(); });
  SubmittedRun running = Submit();
  board_->WaitStarted(1);
  SubmittedRun queued = Submit();
  service_.reset();  // returns only once both runs are recorded as ended

  tracking::Run was_running = GetRun(running.run_id);
  EXPECT_EQ(was_running.info.status, tracking::RunStatus::kKilled);
  EXPECT_EQ(Tag(was_running, "kiln.message"), "cancelled; the training service stopped");
  EXPECT_EQ(board_->cancels(running.run_id), 1);
  tracking::Run was_queued = GetRun(queued.run_id);
  EXPECT_EQ(was_queued.info.status, tracking::RunStatus::kKilled);
  EXPECT_EQ(Tag(was_queued, "kiln.message"), "the training service stopped before the run started");
  EXPECT_EQ(board_->started_ids(), std::vector<std::string>{running.run_id});
}

TEST_F(TrainingServiceTest, AfterRunsReportsOutcomesInOrderOnceAllHaveEnded) {
  board_->SetScripter([](const ExecutionRequest& request) {
    Script script;
    script.block = true;
    if (request.env.at("KILN_PARAM_LR") == "bad") {
      script.outcome = ExecutionOutcome::kFailed;
      script.message = "exit status 3";
    }
    return script;
  });
  SubmittedRun first = Submit();
  RunSpec failing = Spec();
  failing.params["lr"] = "bad";
  SubmittedRun second = Submit(failing);

  std::mutex mutex;
  std::condition_variable called;
  std::vector<RunOutcome> outcomes;
  int calls = 0;
  service_->AfterRuns({second.run_id, "unknown-run", first.run_id},
                      [&](const std::vector<RunOutcome>& ended) {
                        std::lock_guard lock(mutex);
                        outcomes = ended;
                        ++calls;
                        called.notify_all();
                      });
  board_->Release(first.run_id);
  Value(service_->Wait(first.run_id));
  {
    std::lock_guard lock(mutex);
    EXPECT_EQ(calls, 0) << "called before the second run ended";
  }
  board_->Release(second.run_id);
  std::unique_lock lock(mutex);
  called.wait(lock, [&] { return calls > 0; });
  EXPECT_EQ(calls, 1);
  ASSERT_EQ(outcomes.size(), 3u);
  EXPECT_EQ(outcomes[0].run_id, second.run_id);
  EXPECT_EQ(outcomes[0].status, tracking::RunStatus::kFailed);
  EXPECT_EQ(outcomes[1].status, tracking::RunStatus::kFailed);
  EXPECT_EQ(outcomes[1].message, "run 'unknown-run' was not submitted by this process");
  EXPECT_EQ(outcomes[2].run_id, first.run_id);
  EXPECT_EQ(outcomes[2].status, tracking::RunStatus::kFinished);
  lock.unlock();

  // Runs that have all ended (or none at all): called before returning.
  bool immediate = false;
  service_->AfterRuns({first.run_id},
                      [&](const std::vector<RunOutcome>& ended) { immediate = ended.size() == 1; });
  EXPECT_TRUE(immediate);
  bool empty = false;
  service_->AfterRuns({}, [&](const std::vector<RunOutcome>& ended) { empty = ended.empty(); });
  EXPECT_TRUE(empty);
}

TEST_F(TrainingServiceTest, ASweepEndsItsParentWithTheBestChild) {
  board_->SetScripter([](const ExecutionRequest& request) {
    Script script;
    script.out_files["metrics.jsonl"] =
        "{\"key\": \"auc\", \"value\": " + request.env.at("KILN_PARAM_LR") + "}\n";
    return script;
  });
  SweepRequest request;
  request.grid = {Value(ParseSweepDimension("lr=0.6,0.9,0.7"))};
  request.metric = "auc";
  SweepLaunch launch = Value(LaunchSweep(*service_, Spec(), request, SubmitOptions{}));
  ASSERT_EQ(launch.children.size(), 3u);
  tracking::Run parent = WaitUntilEnded(launch.parent_run_id);
  EXPECT_EQ(parent.info.status, tracking::RunStatus::kFinished);
  EXPECT_TRUE(parent.info.end_time.has_value());
  EXPECT_EQ(Tag(parent, "kiln.sweep.best_run_id"), launch.children[1].run_id);
  EXPECT_EQ(MetricOf(parent, "best_auc"), 0.9);
  EXPECT_EQ(Param(parent, "sweep.lr"), "0.6,0.9,0.7");
  EXPECT_EQ(Tag(GetRun(launch.children[2].run_id), "mlflow.parentRunId"), launch.parent_run_id);
  EXPECT_EQ(Tag(GetRun(launch.children[2].run_id), "kiln.sweep.assignment"), "lr=0.7");
}

TEST_F(TrainingServiceTest, ASweepWhoseChildCannotBeSubmittedSaysWhyAndEndsItsParent) {
  std::ofstream(directory_ / "train.csv") << "x,z\n1,0\n";
  SweepRequest request;
  request.grid = {Value(ParseSweepDimension("lr=0.1,0.2"))};
  Result<SweepLaunch> launch = LaunchSweep(*service_, Spec(), request, SubmitOptions{});
  ASSERT_FALSE(launch.ok());
  EXPECT_EQ(launch.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(launch.status().message(),
              HasSubstr("launched 0 of 2 runs: run 1 of 2 could not be submitted"));
  EXPECT_THAT(launch.status().message(), HasSubstr("has no column 'y'"));

  tracking::SearchRunsRequest search;
  search.experiment_ids = {Value(tracking_->GetExperimentByName("churn")).experiment_id};
  search.filter = "tags.kiln.sweep = 'true'";
  tracking::RunPage page = Value(tracking_->SearchRuns(search));
  ASSERT_EQ(page.runs.size(), 1u);
  // Not left RUNNING: no child will end it.
  tracking::Run parent = WaitUntilEnded(page.runs[0].info.run_id);
  EXPECT_EQ(parent.info.status, tracking::RunStatus::kFailed);
  EXPECT_THAT(Tag(parent, "kiln.error"), HasSubstr("has no column 'y'"));
}

}  // namespace
}  // namespace kiln::training
