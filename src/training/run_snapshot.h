#pragma once
// Private to TrainingService: takes a run's snapshot at submit time — code
// (tarball + git state), dependencies, the spec, the training data and the
// built-in trainer's job — into the run's artifacts under snapshot/ (and the
// data under training_set/ or data/), logs params and tags, and unpacks the
// code into the run folder for the executor. For a reproduction the code,
// spec and data come from the original run's snapshot instead.
// docs/formats/snapshot.md describes what is stored.

#include <string>

#include "common/status.h"
#include "storage/artifact_store.h"
#include "training/training_service_internal.h"

namespace kiln::training {

struct SnapshotContext {
  TrainingService::Impl& impl;
  RunRecord& record;
  const tracking::Run* original;  // the run being reproduced, or null
  const SubmitOptions& options;
};

struct SnapshotSummary {
  std::string code_digest;
  std::string data_digest;
};

Result<SnapshotSummary> TakeRunSnapshot(SnapshotContext& context);

// The spec stored in a run's snapshot (snapshot/spec.json).
Result<RunSpec> LoadSnapshotSpec(storage::ArtifactStore& artifacts, const tracking::Run& run);
// A JSON artifact of a run ("snapshot/data.json").
Result<Json> LoadRunJson(storage::ArtifactStore& artifacts, const tracking::Run& run, const std::string& path);

}  // namespace kiln::training
