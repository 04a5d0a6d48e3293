#pragma once
// TreeEnsemble: an XGBoost tree model compiled for fast in-process
// prediction. XGBoost's general-purpose predict costs ~25 µs per call for a
// single row (DMatrix proxy, thread pool, configuration); this walks flat,
// cache-friendly node arrays directly and returns exactly what XGBoost
// returns: the same float32 sum of leaf values in the same tree order, the
// same base margin, the same output transform.
//
// Supported: gbtree boosters (tree_method exact/approx/hist, any depth) with
// numerical splits, missing values (NaN) following each node's default
// direction, objectives binary:logistic, binary:logitraw, reg:squarederror,
// reg:linear, reg:logistic, reg:absoluteerror, reg:pseudohubererror, count:poisson,
// reg:gamma, reg:tweedie (a single output group). Anything else (dart,
// gblinear, categorical splits, multi-class, vector leaves) is refused with
// a message naming it, and the caller falls back to XGBoost's predictor.
//
// Immutable after construction: PredictRow/PredictBatch are safe from any
// number of threads and allocate nothing (for a model whose trees split on
// more than 512 distinct features, a per-thread scratch buffer is allocated
// on a thread's first call). See docs/serving/fast-predictor.md.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace kiln::serving {

class TreeEnsemble {
 public:
  // Compiles XGBoost's JSON model (Booster::SaveModel("json")). Only the
  // first `rounds` boosting rounds are used when rounds > 0 (as XGBoost's
  // iteration_range [0, rounds)). Errors: kFailedPrecondition for what the
  // fast predictor does not support ("model uses booster 'dart'; the fast
  // predictor supports gbtree", "objective 'multi:softprob' is not supported
  // by the fast predictor", "model has categorical splits (tree 3); …");
  // kInvalidArgument for a malformed model ("XGBoost model JSON: missing
  // field 'learner.gradient_booster.model.trees'", …) or rounds beyond the
  // model's.
  static Result<TreeEnsemble> FromXGBoostJson(std::string_view json, int rounds = 0);

  size_t num_features() const { return num_features_; }
  size_t num_trees() const { return num_trees_; }
  const std::string& objective() const { return objective_; }

  // The transformed prediction (probability for binary:logistic) of one row
  // of num_features() floats; NaN is missing. REQUIRES: row has
  // num_features() values.
  float PredictRow(const float* row) const;
  // The untransformed margin of one row.
  float PredictMargin(const float* row) const;
  // `rows` dense rows, row-major with `stride` floats between row starts,
  // into out[0..rows). Single-threaded; callers split large batches across
  // threads (PredictBatchParallel).
  void PredictBatch(const float* rows, size_t count, size_t stride, float* out) const;

  // The model's feature names in column order (empty when it has none).
  const std::vector<std::string>& feature_names() const { return feature_names_; }
  // The margin every row starts from: XGBoost's base_score mapped through the
  // objective's ProbToMargin, in float as XGBoost computes it.
  float base_margin() const { return base_margin_; }

  // Internal layout, public so the .cc's helpers can name it.
  //
  // A split sends a row left when value < threshold, or, when the value is
  // NaN (missing), when the split's default direction is left.
  //
  // Trees of depth ≤ kMaxHeapDepth are padded to one common depth and stored
  // as complete binary trees in heap order (children of i at 2i+1 and 2i+2;
  // a leaf above the last level fills every slot below it), so a row takes
  // the same number of branch-free steps in every tree and eight trees (or,
  // in a batch, eight rows) are walked in lockstep. Missing values are
  // resolved before the walk: the row's used features are copied twice into
  // a scratch row, NaN becoming -inf in one copy and +inf in the other, and
  // a split reads the copy that sends NaN its default way, so that
  // `value < threshold` alone decides each step.
  struct HeapNode {
    float value;      // split threshold; on the last level, the leaf value
    uint32_t column;  // index in the scratch row: 2 * slot, +1 when NaN goes right
  };
  // Other trees (deeper, or with a default-left split at -inf) keep their
  // shape, breadth-first: a split's children are nodes[left] and
  // nodes[left + 1]; a leaf has left == 0. They read the row itself.
  struct Node {
    float value;               // split threshold, or leaf value
    uint32_t left;             // index of the left child; 0 for a leaf
    uint32_t feature_default;  // feature index | kDefaultLeft
  };
  static constexpr uint32_t kDefaultLeft = 0x80000000u;
  static constexpr int kMaxHeapDepth = 8;

 private:
  // How the margin becomes the prediction.
  enum class Transform { kIdentity, kSigmoid, kExp };
  // Consecutive trees in one layout: `count` heap trees of depth `depth`
  // from heap_nodes_[offset], or (depth -1) one tree rooted at
  // linked_nodes_[offset].
  struct TreeRun {
    uint32_t offset;
    uint32_t count;
    int32_t depth;
  };

  TreeEnsemble() = default;

  // Lays out validated trees, each given breadth-first with tree-local child
  // indices (tree[0] is the root), in model order.
  void Layout(const std::vector<std::vector<Node>>& trees);
  // The scratch row of `row` (2 * used_features_.size() floats).
  void FillScratch(const float* row, float* scratch) const;
  // Adds each tree's leaf, tree after tree in model order, to margins[i] for
  // `count` rows: the rows themselves (row-major, `stride` apart) for linked
  // trees, their scratch rows (FillScratch, back to back) for heap trees.
  void AddLeaves(const float* rows, size_t count, size_t stride, const float* scratch, float* margins) const;
  // Applies transform_ to a margin as XGBoost's objective does.
  float TransformMargin(float margin) const;

  size_t num_features_ = 0;
  size_t num_trees_ = 0;
  std::string objective_;
  std::vector<std::string> feature_names_;
  float base_margin_ = 0;
  Transform transform_ = Transform::kIdentity;
  // Trees in XGBoost's order, which is the order of the float sum.
  std::vector<TreeRun> runs_;
  std::vector<HeapNode> heap_nodes_;
  std::vector<Node> linked_nodes_;
  // The features heap trees split on; scratch slot s holds used_features_[s].
  std::vector<uint32_t> used_features_;
};

// Splits `count` rows across up to `threads` threads (0: all cores) when the
// batch is large enough to pay for it (small batches run on the caller).
// The caller works too, with a process-wide pool of cores - 1 helper threads
// started on first use; it never waits for a helper that has not started.
void PredictBatchParallel(const TreeEnsemble& model, const float* rows, size_t count, size_t stride, float* out,
                          int threads = 0);

}  // namespace kiln::serving
