#include "training/slurm_job_state.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace kiln::training {
namespace {

std::string_view Trim(std::string_view text) {
  size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return {};
  size_t end = text.find_last_not_of(" \t\r\n");
  return text.substr(begin, end - begin + 1);
}

std::string_view FirstLine(std::string_view text) {
  text = Trim(text);
  return text.substr(0, text.find('\n'));
}

// "CANCELLED by 0" → "CANCELLED"; "CANCELLED+" (sacct) → "CANCELLED".
std::string StateWord(std::string_view text) {
  text = Trim(text);
  text = text.substr(0, text.find(' '));
  while (!text.empty() && text.back() == '+') text.remove_suffix(1);
  return std::string(text);
}

bool ParseInt(std::string_view text, int64_t& value) {
  if (text.empty()) return false;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size();
}

// "N:S" → exit code and signal.
bool ParseExitCode(std::string_view text, SlurmJobStatus& status) {
  size_t colon = text.find(':');
  int64_t code = 0;
  int64_t signal = 0;
  if (colon == std::string_view::npos || !ParseInt(text.substr(0, colon), code) ||
      !ParseInt(text.substr(colon + 1), signal)) {
    return false;
  }
  status.exit_code = static_cast<int>(code);
  status.signal = static_cast<int>(signal);
  return true;
}

// The value of " KEY=" in scontrol's one-line output (values with spaces,
// such as Command paths, come after the keys read here).
std::optional<std::string_view> ScontrolField(std::string_view line, std::string_view key) {
  std::string needle = std::string(key) + "=";
  for (size_t at = line.find(needle); at != std::string_view::npos; at = line.find(needle, at + 1)) {
    if (at != 0 && line[at - 1] != ' ') continue;
    std::string_view value = line.substr(at + needle.size());
    return value.substr(0, value.find_first_of(" \n"));
  }
  return std::nullopt;
}

std::string Minutes(int64_t seconds) { return std::to_string((seconds + 59) / 60) + " min"; }

}  // namespace

bool IsFinalSlurmState(std::string_view state) {
  static const std::vector<std::string_view> kFinal = {
      "COMPLETED", "CANCELLED", "FAILED",        "TIMEOUT", "NODE_FAIL",    "BOOT_FAIL",
      "DEADLINE",  "PREEMPTED", "OUT_OF_MEMORY", "REVOKED", "SPECIAL_EXIT",
  };
  return std::find(kFinal.begin(), kFinal.end(), state) != kFinal.end();
}

Result<std::string> ParseSbatchJobId(std::string_view sbatch_stdout) {
  std::string_view line = FirstLine(sbatch_stdout);
  std::string_view id = line.substr(0, line.find(';'));
  int64_t number = 0;
  if (!ParseInt(id, number)) {
    return Unavailable("sbatch printed no job id (expected a number, got '" +
                       std::string(Trim(sbatch_stdout)) + "')");
  }
  return std::string(id);
}

Result<std::optional<SlurmJobStatus>> ParseSqueueLine(std::string_view squeue_stdout) {
  std::string_view line = FirstLine(squeue_stdout);
  if (line.empty()) return std::optional<SlurmJobStatus>();
  SlurmJobStatus status;
  size_t space = line.find(' ');
  status.state = StateWord(line.substr(0, space));
  if (space != std::string_view::npos) status.reason = std::string(Trim(line.substr(space + 1)));
  if (status.state.empty() || !std::isupper(static_cast<unsigned char>(status.state[0]))) {
    return Unavailable("cannot read squeue's output '" + std::string(line) + "' (expected 'STATE REASON')");
  }
  return std::optional<SlurmJobStatus>(std::move(status));
}

Result<SlurmJobStatus> ParseScontrolJob(std::string_view scontrol_stdout) {
  std::string_view line = FirstLine(scontrol_stdout);
  SlurmJobStatus status;
  std::optional<std::string_view> state = ScontrolField(line, "JobState");
  std::optional<std::string_view> exit_code = ScontrolField(line, "ExitCode");
  if (!state || state->empty() || !exit_code || !ParseExitCode(*exit_code, status)) {
    return Unavailable("cannot read scontrol's output (expected JobState=… ExitCode=N:S): '" +
                       std::string(line) + "'");
  }
  status.state = StateWord(*state);
  if (auto reason = ScontrolField(line, "Reason"); reason && *reason != "None")
    status.reason = std::string(*reason);
  if (auto run_time = ScontrolField(line, "RunTime")) {
    if (auto seconds = ParseSlurmDuration(*run_time); seconds.ok()) status.run_seconds = *seconds;
  }
  if (auto limit = ScontrolField(line, "TimeLimit")) {
    if (auto seconds = ParseSlurmDuration(*limit); seconds.ok()) status.time_limit_seconds = *seconds;
  }
  return status;
}

Result<SlurmJobStatus> ParseSacctJob(std::string_view sacct_stdout) {
  std::string_view line = FirstLine(sacct_stdout);
  if (line.empty()) return NotFound("sacct does not know the job");
  SlurmJobStatus status;
  size_t first = line.find('|');
  size_t second = first == std::string_view::npos ? first : line.find('|', first + 1);
  if (second == std::string_view::npos ||
      !ParseExitCode(line.substr(first + 1, second - first - 1), status)) {
    return Unavailable("cannot read sacct's output (expected State|ExitCode|Elapsed): '" + std::string(line) +
                       "'");
  }
  status.state = StateWord(line.substr(0, first));
  if (auto seconds = ParseSlurmDuration(line.substr(second + 1)); seconds.ok()) status.run_seconds = *seconds;
  return status;
}

Result<std::optional<int64_t>> ParseSlurmDuration(std::string_view text) {
  text = Trim(text);
  if (text.empty() || std::isalpha(static_cast<unsigned char>(text[0]))) return std::optional<int64_t>();
  const Status invalid = InvalidArgument("not a Slurm duration: '" + std::string(text) + "'");
  int64_t days = 0;
  size_t dash = text.find('-');
  if (dash != std::string_view::npos) {
    if (!ParseInt(text.substr(0, dash), days)) return invalid;
    text = text.substr(dash + 1);
  }
  std::vector<int64_t> parts;
  while (true) {
    size_t colon = text.find(':');
    int64_t part = 0;
    if (!ParseInt(text.substr(0, colon), part)) return invalid;
    parts.push_back(part);
    if (colon == std::string_view::npos) break;
    text = text.substr(colon + 1);
  }
  if (parts.size() > 3) return invalid;
  int64_t seconds = 0;
  if (dash != std::string_view::npos) {
    // D-HH, D-HH:MM, D-HH:MM:SS
    int64_t multipliers[] = {3600, 60, 1};
    for (size_t i = 0; i < parts.size(); ++i) seconds += parts[i] * multipliers[i];
  } else if (parts.size() == 1) {
    seconds = parts[0] * 60;  // MM
  } else {
    for (int64_t part : parts) seconds = seconds * 60 + part;  // MM:SS or HH:MM:SS
  }
  return std::optional<int64_t>(days * 86400 + seconds);
}

const std::vector<std::string_view> kSlurmUnrunnableReasons = {
    "PartitionConfig", "PartitionTimeLimit", "BadConstraints", "InvalidAccount",
    "InvalidQOS",      "AccountNotAllowed",  "QOSNotAllowed",
};

std::string DescribeSlurmReason(std::string_view reason) {
  if (reason == "PartitionConfig") {
    return "the request exceeds what the nodes of its partition have (CPUs, memory or GRES)";
  }
  if (reason == "PartitionTimeLimit") return "the time limit exceeds the partition's MaxTime";
  if (reason == "BadConstraints") return "its constraints cannot be satisfied";
  if (reason == "InvalidAccount" || reason == "AccountNotAllowed")
    return "its account may not use the partition";
  if (reason == "InvalidQOS" || reason == "QOSNotAllowed") return "its QOS may not use the partition";
  return "Slurm reason " + std::string(reason);
}

ExecutionResult SlurmExecutionResult(const SlurmJobStatus& status, const SlurmJobEnd& end) {
  ExecutionResult result;
  result.wall_seconds =
      status.run_seconds ? static_cast<double>(*status.run_seconds) : end.fallback_wall_seconds;
  result.signal = status.signal;
  result.exit_code = status.signal != 0 ? -1 : status.exit_code;
  std::string exit_text = status.signal != 0 ? "killed by signal " + std::to_string(status.signal)
                                             : "exit status " + std::to_string(status.exit_code);
  std::string job = "slurm job " + end.job_id;
  if (status.state == "COMPLETED") {
    result.outcome = ExecutionOutcome::kSucceeded;
    result.message = exit_text;
  } else if (status.state == "TIMEOUT") {
    result.outcome = ExecutionOutcome::kTimedOut;
    result.exit_code = -1;
    result.message = status.time_limit_seconds
                         ? "Slurm time limit of " + Minutes(*status.time_limit_seconds) + " exceeded"
                         : "Slurm time limit exceeded";
  } else if (status.state == "CANCELLED" && !end.unrunnable.empty()) {
    result.outcome = ExecutionOutcome::kFailed;
    result.exit_code = -1;
    result.message = end.unrunnable;
  } else if (status.state == "CANCELLED" && end.cancel_requested) {
    result.outcome = ExecutionOutcome::kCancelled;
    result.exit_code = -1;
    result.message = "cancelled (" + job + " cancelled with scancel)";
  } else if (status.state == "CANCELLED") {
    result.outcome = ExecutionOutcome::kFailed;
    result.exit_code = -1;
    result.message = job + " was cancelled outside Kiln (by scancel or an administrator)";
  } else if (status.state == "OUT_OF_MEMORY") {
    result.outcome = ExecutionOutcome::kFailed;
    result.message = "Slurm stopped " + job + ": out of memory (" + exit_text + ")";
  } else if (status.state == "FAILED") {
    result.outcome = ExecutionOutcome::kFailed;
    result.message = exit_text + " (Slurm job state FAILED)";
  } else {
    result.outcome = ExecutionOutcome::kFailed;
    result.message = job + " ended in Slurm state " + status.state + " (" + exit_text +
                     (status.reason.empty() ? "" : ", reason " + status.reason) + ")";
  }
  return result;
}

}  // namespace kiln::training
