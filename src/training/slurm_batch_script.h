#pragma once
// The batch script the Slurm executor submits (docs/training/slurm.md): the
// job's resources as #SBATCH lines, then the same bubblewrap sandbox the
// local executor starts (sandbox.h), with bwrap's options — which hold the
// environment — passed on a descriptor so they stay out of the process
// list. Pure functions: no I/O, thread-safe.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "training/executor.h"
#include "training/sandbox.h"

namespace kiln::training {

// The script text:
//   #!/bin/bash
//   #SBATCH --job-name=kiln-<run id prefix>
//   #SBATCH --output="<stdout_path>"  --error, --open-mode=truncate,
//   #SBATCH --chdir="<work_dir>"  --nodes=1 --ntasks=1 --no-requeue
//   #SBATCH --cpus-per-task=N  [--mem=NM] [--time=MIN] [--partition=P] [--gres=G]
//   ulimit -v KiB                          (when a memory limit is set, as locally)
//   exec BWRAP --args 3 -- COMMAND... 3< <(printf '%s\0' OPTIONS...)
// Errors: kInvalidArgument when a value Slurm cannot take in a #SBATCH line
// (a line break in a path, partition or GRES) names the field.
// `sandbox` is BuildSandboxCommand's result for `request`; `bubblewrap_path`
// is absolute and must be the same on the compute nodes; `default_partition`
// is used when the request names none (empty: Slurm's default).
// REQUIRES: ValidateExecutionRequest(request).ok()
Result<std::string> BuildSlurmBatchScript(const ExecutionRequest& request, const SandboxCommand& sandbox,
                                          std::string_view bubblewrap_path,
                                          std::string_view default_partition);

// "kiln-" and the first 8 letters, digits, '-' or '_' of the run id ("kiln-run"
// without one): short enough for squeue's NAME column.
std::string SlurmJobName(std::string_view run_id);

// Slurm's units, rounded up: --time takes minutes, --mem megabytes (MiB).
int64_t SlurmTimeLimitMinutes(int64_t seconds);
int64_t SlurmMemoryMegabytes(int64_t bytes);

// A value for an #SBATCH line, as sbatch reads it back: double-quoted, with
// '\' and '"' escaped by a backslash.
std::string QuoteSbatchValue(std::string_view value);

// A file name for --output/--error taken literally: Slurm expands %j, %u, …,
// so every '%' is doubled.
std::string EscapeSlurmFilenamePattern(std::string_view path);

}  // namespace kiln::training
