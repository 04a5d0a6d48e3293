#pragma once
// Test doubles for TrainingService tests (tests only): a fake Executor whose
// executions end at once with a chosen outcome or block until the test
// releases or cancels them, recording what they were asked to run on a
// Board the test keeps; and a Gate a hook can wait on.

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "training/executor.h"

namespace kiln::training::testing {

// How one fake execution behaves.
struct Script {
  ExecutionOutcome outcome = ExecutionOutcome::kSucceeded;
  std::string message;                           // e.g. "exit status 3"
  bool block = false;                            // Wait() blocks until Release() or Cancel()
  std::map<std::string, std::string> out_files;  // written under <work_dir>/out at start
  std::string stdout_text = "training\n";
};

// An execution that waits until the test releases or cancels it.
inline Script Blocking() {
  Script script;
  script.block = true;
  return script;
}
// An execution that ends at once with `outcome`.
inline Script Ending(ExecutionOutcome outcome, std::string message) {
  Script script;
  script.outcome = outcome;
  script.message = std::move(message);
  return script;
}

// What the fake executor's executions did, shared by the executor (owned by
// the service) and the test. Thread-safe.
class Board {
 public:
  using Scripter = std::function<Script(const ExecutionRequest&)>;
  void SetScripter(Scripter scripter) {
    std::lock_guard lock(mutex_);
    scripter_ = std::move(scripter);
  }
  Script ScriptFor(const ExecutionRequest& request) {
    std::lock_guard lock(mutex_);
    return scripter_ ? scripter_(request) : Script{};
  }
  void Started(const ExecutionRequest& request) {
    std::lock_guard lock(mutex_);
    started_.push_back(request);
    changed_.notify_all();
  }
  void Cancelled(const std::string& run_id) {
    std::lock_guard lock(mutex_);
    ++cancels_[run_id];
    changed_.notify_all();
  }
  void Release(const std::string& run_id) {
    std::lock_guard lock(mutex_);
    released_.insert(run_id);
    changed_.notify_all();
  }
  // Blocks until `run_id` is released or cancelled; true when cancelled.
  bool AwaitRelease(const std::string& run_id) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return released_.count(run_id) > 0 || cancels_[run_id] > 0; });
    return cancels_[run_id] > 0;
  }
  void WaitStarted(size_t count) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return started_.size() >= count; });
  }
  std::vector<ExecutionRequest> started() {
    std::lock_guard lock(mutex_);
    return started_;
  }
  std::vector<std::string> started_ids() {
    std::vector<std::string> ids;
    for (const ExecutionRequest& request : started()) ids.push_back(request.run_id);
    return ids;
  }
  int cancels(const std::string& run_id) {
    std::lock_guard lock(mutex_);
    return cancels_[run_id];
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  Scripter scripter_;
  std::vector<ExecutionRequest> started_;
  std::map<std::string, int> cancels_;
  std::set<std::string> released_;
};

class FakeExecution : public Execution {
 public:
  FakeExecution(std::shared_ptr<Board> board, ExecutionRequest request, Script script)
      : board_(std::move(board)), request_(std::move(request)), script_(std::move(script)) {}
  Result<ExecutionResult> Wait() override {
    ExecutionResult result;
    const bool cancelled =
        script_.block ? board_->AwaitRelease(request_.run_id) : board_->cancels(request_.run_id) > 0;
    if (cancelled) {
      result.outcome = ExecutionOutcome::kCancelled;
      result.message = "cancelled";
      return result;
    }
    result.outcome = script_.outcome;
    result.message = script_.message;
    result.exit_code = script_.outcome == ExecutionOutcome::kSucceeded ? 0 : 3;
    return result;
  }
  Status Cancel() override {
    board_->Cancelled(request_.run_id);
    return Status::Ok();
  }
  std::string Describe() const override { return "fake " + request_.run_id; }
  std::string id() const override { return request_.run_id; }

 private:
  std::shared_ptr<Board> board_;
  ExecutionRequest request_;
  Script script_;
};

class FakeExecutor : public Executor {
 public:
  FakeExecutor(std::string name, std::shared_ptr<Board> board)
      : name_(std::move(name)), board_(std::move(board)) {}
  std::string_view name() const override { return name_; }
  Result<std::unique_ptr<Execution>> Start(const ExecutionRequest& request) override {
    Script script = board_->ScriptFor(request);
    const std::filesystem::path out = std::filesystem::path(request.work_dir) / "out";
    for (const auto& [name, text] : script.out_files) {
      std::filesystem::create_directories((out / name).parent_path());
      std::ofstream(out / name, std::ios::binary) << text;
    }
    std::ofstream(request.stdout_path) << script.stdout_text;
    std::ofstream(request.stderr_path) << "";
    board_->Started(request);
    return std::unique_ptr<Execution>(std::make_unique<FakeExecution>(board_, request, std::move(script)));
  }

 private:
  std::string name_;
  std::shared_ptr<Board> board_;
};

// A gate the tracking-socket hook waits on: it runs on the worker after the
// run left the queue and before the executor starts it.
class Gate {
 public:
  void Open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }
  void Pass() {
    std::unique_lock lock(mutex_);
    reached_ = true;
    changed_.notify_all();
    changed_.wait(lock, [this] { return open_; });
  }
  void WaitReached() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return reached_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool open_ = false, reached_ = false;
};

}  // namespace kiln::training::testing
