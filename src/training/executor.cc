#include "training/executor.h"

namespace kiln::training {

std::string_view ExecutionOutcomeName(ExecutionOutcome outcome) {
  switch (outcome) {
    case ExecutionOutcome::kSucceeded:
      return "succeeded";
    case ExecutionOutcome::kFailed:
      return "failed";
    case ExecutionOutcome::kTimedOut:
      return "timed out";
    case ExecutionOutcome::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

}  // namespace kiln::training
