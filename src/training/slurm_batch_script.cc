#include "training/slurm_batch_script.h"

#include <cctype>
#include <vector>

namespace kiln::training {
namespace {

// sbatch reads #SBATCH lines one by one: a value cannot span lines.
Status CheckSingleLine(std::string_view field, std::string_view value) {
  if (value.find_first_of("\r\n") == std::string_view::npos) return Status::Ok();
  return InvalidArgument(std::string(field) + ": Slurm cannot take a line break in '" + std::string(value) +
                         "'");
}

void AddDirective(std::string& script, std::string_view option, std::string_view value) {
  script += "#SBATCH --";
  script += option;
  script += '=';
  script += value;
  script += '\n';
}

}  // namespace

std::string SlurmJobName(std::string_view run_id) {
  std::string name = "kiln-";
  for (char c : run_id) {
    if (name.size() == 13) break;
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') name += c;
  }
  return name.size() == 5 ? "kiln-run" : name;
}

int64_t SlurmTimeLimitMinutes(int64_t seconds) { return seconds <= 0 ? 0 : (seconds + 59) / 60; }

int64_t SlurmMemoryMegabytes(int64_t bytes) {
  constexpr int64_t kMegabyte = 1 << 20;
  return bytes <= 0 ? 0 : (bytes + kMegabyte - 1) / kMegabyte;
}

std::string QuoteSbatchValue(std::string_view value) {
  std::string quoted = "\"";
  for (char c : value) {
    if (c == '\\' || c == '"') quoted += '\\';
    quoted += c;
  }
  quoted += '"';
  return quoted;
}

std::string EscapeSlurmFilenamePattern(std::string_view path) {
  std::string escaped;
  for (char c : path) {
    escaped += c;
    if (c == '%') escaped += '%';
  }
  return escaped;
}

Result<std::string> BuildSlurmBatchScript(const ExecutionRequest& request, const SandboxCommand& sandbox,
                                          std::string_view bubblewrap_path,
                                          std::string_view default_partition) {
  const ResourceLimits& resources = request.resources;
  std::string partition = resources.partition.empty() ? std::string(default_partition) : resources.partition;
  KILN_RETURN_IF_ERROR(CheckSingleLine("stdout_path", request.stdout_path));
  KILN_RETURN_IF_ERROR(CheckSingleLine("stderr_path", request.stderr_path));
  KILN_RETURN_IF_ERROR(CheckSingleLine("work_dir", request.work_dir));
  KILN_RETURN_IF_ERROR(CheckSingleLine("resources.partition", partition));
  KILN_RETURN_IF_ERROR(CheckSingleLine("resources.gres", resources.gres));

  std::string script = "#!/bin/bash\n";
  script += "# Kiln training run";
  if (!request.run_id.empty() && request.run_id.find_first_of("\r\n") == std::string::npos) {
    script += " " + request.run_id;
  }
  script += ": written by Kiln's Slurm executor (docs/training/slurm.md).\n";
  AddDirective(script, "job-name", SlurmJobName(request.run_id));
  AddDirective(script, "output", QuoteSbatchValue(EscapeSlurmFilenamePattern(request.stdout_path)));
  AddDirective(script, "error", QuoteSbatchValue(EscapeSlurmFilenamePattern(request.stderr_path)));
  AddDirective(script, "open-mode", "truncate");
  AddDirective(script, "chdir", QuoteSbatchValue(request.work_dir));
  AddDirective(script, "nodes", "1");
  AddDirective(script, "ntasks", "1");
  if (resources.cpus > 0) AddDirective(script, "cpus-per-task", std::to_string(resources.cpus));
  if (resources.memory_bytes > 0) {
    AddDirective(script, "mem", std::to_string(SlurmMemoryMegabytes(resources.memory_bytes)) + "M");
  }
  if (resources.time_limit_seconds > 0) {
    AddDirective(script, "time", std::to_string(SlurmTimeLimitMinutes(resources.time_limit_seconds)));
  }
  if (!partition.empty()) AddDirective(script, "partition", QuoteSbatchValue(partition));
  if (!resources.gres.empty()) AddDirective(script, "gres", QuoteSbatchValue(resources.gres));
  // A run is one attempt: after a node failure it fails instead of starting
  // again over its own half-written work dir.
  script += "#SBATCH --no-requeue\n";

  script += "set -e\n";
  if (resources.memory_bytes > 0) {
    script += "# The same address-space limit as the local executor, besides Slurm's --mem.\n";
    script += "ulimit -v " + std::to_string(resources.memory_bytes / 1024) + "\n";
  }
  script += "# bwrap reads its options (with the environment) from descriptor 3, so that\n";
  script += "# they stay out of the process list.\n";
  std::vector<std::string> head = {std::string(bubblewrap_path), "--args", "3", "--"};
  head.insert(head.end(), sandbox.command.begin(), sandbox.command.end());
  script += "exec " + ShellQuote(head);
  if (sandbox.options.empty()) {
    script += " 3</dev/null\n";  // printf with no words would still print one NUL
    return script;
  }
  script += " 3< <(printf '%s\\0'";
  for (const std::string& option : sandbox.options) script += " \\\n  " + ShellQuote({option});
  script += ")\n";
  return script;
}

}  // namespace kiln::training
