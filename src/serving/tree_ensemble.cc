// TreeEnsemble's layout and prediction: the walk of the flattened trees and
// the float arithmetic that reproduces XGBoost 1.7's CPU predictor bit for
// bit — margin = base_margin, then margin += leaf for every tree in model
// order, in float; then the objective's transform in float. (Reading the
// JSON model is in tree_ensemble_json.cc, PredictBatchParallel in
// tree_ensemble_parallel.cc.)
#include "serving/tree_ensemble.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>
#include <vector>


namespace kiln::serving {
namespace {

using HeapNode = TreeEnsemble::HeapNode;
using Node = TreeEnsemble::Node;
constexpr uint32_t kFeatureMask = ~TreeEnsemble::kDefaultLeft;
constexpr float kInfinity = std::numeric_limits<float>::infinity();

// Trees (single row) or rows (batch) walked in lockstep, so that their
// memory loads overlap instead of waiting on one another; eight fill the
// x86-64 registers without spilling.
constexpr int kLanes = 8;
// Rows a batch walks together, tree by tree, so that a tree's nodes stay in
// cache for the whole block.
constexpr size_t kBlockRows = 64;
// Scratch floats kept on the stack: one row's (PredictMargin) and one
// block's (PredictBatch). Models needing more use a per-thread buffer.
constexpr size_t kRowScratch = 1024;
constexpr size_t kBlockScratch = 8192;

// kLanes walks of `depth` steps down heap-order trees — lane i walks the
// tree at tree + i * tree_step with the scratch row at scratch + i *
// scratch_step — with no data-dependent branch: the comparison's outcome
// would be mispredicted half the time.
inline void WalkLanes(const HeapNode* tree, size_t tree_step, const float* scratch, size_t scratch_step, int depth,
                      float* leaves) {
  uint32_t index[kLanes] = {};
  for (int level = 0; level < depth; ++level) {
#pragma GCC unroll 8
    for (int lane = 0; lane < kLanes; ++lane) {
      const HeapNode& node = tree[lane * tree_step + index[lane]];
      const float value = scratch[lane * scratch_step + node.column];
      index[lane] = 2 * index[lane] + 2 - static_cast<uint32_t>(value < node.value);
    }
  }
#pragma GCC unroll 8
  for (int lane = 0; lane < kLanes; ++lane) leaves[lane] = tree[lane * tree_step + index[lane]].value;
}

inline float WalkHeap(const HeapNode* tree, int depth, const float* scratch) {
  uint32_t index = 0;
  for (int level = 0; level < depth; ++level) {
    const HeapNode& node = tree[index];
    index = 2 * index + 2 - static_cast<uint32_t>(scratch[node.column] < node.value);
  }
  return tree[index].value;
}

// XGBoost's GetNextNode on the row itself: NaN takes the default child.
inline float WalkLinked(const Node* nodes, uint32_t root, const float* row) {
  const Node* node = nodes + root;
  while (node->left != 0) {
    const float value = row[node->feature_default & kFeatureMask];
    const uint32_t left = static_cast<uint32_t>(value < node->value) |
                          (static_cast<uint32_t>(std::isnan(value)) & (node->feature_default >> 31));
    node = nodes + node->left + (left ^ 1u);
  }
  return node->value;
}

int TreeDepth(const std::vector<Node>& tree) {
  std::vector<int> level(tree.size(), 0);  // breadth-first: parents come first
  int depth = 0;
  for (size_t i = 0; i < tree.size(); ++i) {
    if (tree[i].left == 0) continue;
    level[tree[i].left] = level[tree[i].left + 1] = level[i] + 1;
    depth = std::max(depth, level[i] + 1);
  }
  return depth;
}

// A default-left split at -inf cannot tell NaN (read as -inf) from -inf.
bool FitsHeap(const std::vector<Node>& tree, int depth) {
  if (depth > TreeEnsemble::kMaxHeapDepth) return false;
  for (const Node& node : tree) {
    if (node.left != 0 && (node.feature_default & TreeEnsemble::kDefaultLeft) != 0 && node.value == -kInfinity) {
      return false;
    }
  }
  return true;
}

// A scratch buffer of `size` floats: `stack` when it is large enough,
// otherwise this thread's buffer (allocated on the thread's first need).
float* ScratchBuffer(float* stack, size_t stack_size, size_t size) {
  if (size <= stack_size) return stack;
  thread_local std::vector<float> buffer;
  if (buffer.size() < size) buffer.resize(size);
  return buffer.data();
}

}  // namespace

void TreeEnsemble::Layout(const std::vector<std::vector<Node>>& trees) {
  std::vector<int> depths;
  int heap_depth = 0;
  for (const std::vector<Node>& tree : trees) {
    depths.push_back(TreeDepth(tree));
    if (FitsHeap(tree, depths.back())) heap_depth = std::max(heap_depth, depths.back());
  }
  const size_t slots = (size_t{2} << heap_depth) - 1;
  const size_t first_leaf_slot = (size_t{1} << heap_depth) - 1;
  std::unordered_map<uint32_t, uint32_t> slot_of_feature;
  std::vector<uint32_t> source(slots);  // heap slot → tree node
  for (size_t t = 0; t < trees.size(); ++t) {
    const std::vector<Node>& tree = trees[t];
    if (!FitsHeap(tree, depths[t])) {
      const uint32_t offset = static_cast<uint32_t>(linked_nodes_.size());
      for (Node node : tree) {
        if (node.left != 0) node.left += offset;
        linked_nodes_.push_back(node);
      }
      runs_.push_back(TreeRun{offset, 1, -1});
      continue;
    }
    const uint32_t offset = static_cast<uint32_t>(heap_nodes_.size());
    if (runs_.empty() || runs_.back().depth < 0) runs_.push_back(TreeRun{offset, 0, heap_depth});
    ++runs_.back().count;
    heap_nodes_.resize(offset + slots, HeapNode{0, 0});
    HeapNode* heap = heap_nodes_.data() + offset;
    // Top-down: a leaf above the last level becomes a split whose both
    // sides hold that same leaf.
    source[0] = 0;
    for (size_t slot = 0; slot < slots; ++slot) {
      const Node& node = tree[source[slot]];
      if (slot >= first_leaf_slot) {
        heap[slot] = HeapNode{node.value, 0};
      } else if (node.left == 0) {
        heap[slot] = HeapNode{0, 0};
        source[2 * slot + 1] = source[2 * slot + 2] = source[slot];
      } else {
        const uint32_t feature = node.feature_default & kFeatureMask;
        auto [it, added] = slot_of_feature.try_emplace(feature, static_cast<uint32_t>(used_features_.size()));
        if (added) used_features_.push_back(feature);
        const bool default_left = (node.feature_default & kDefaultLeft) != 0;
        heap[slot] = HeapNode{node.value, 2 * it->second + (default_left ? 0u : 1u)};
        source[2 * slot + 1] = node.left;
        source[2 * slot + 2] = node.left + 1;
      }
    }
  }
}

void TreeEnsemble::FillScratch(const float* row, float* scratch) const {
  for (uint32_t feature : used_features_) {
    const float value = row[feature];
    const bool missing = std::isnan(value);
    scratch[0] = missing ? -kInfinity : value;
    scratch[1] = missing ? kInfinity : value;
    scratch += 2;
  }
}

void TreeEnsemble::AddLeaves(const float* rows, size_t count, size_t stride, const float* scratch,
                             float* margins) const {
  const size_t scratch_stride = 2 * used_features_.size();
  float leaves[kLanes];
  for (const TreeRun& run : runs_) {
    if (run.depth < 0) {
      for (size_t i = 0; i < count; ++i) margins[i] += WalkLinked(linked_nodes_.data(), run.offset, rows + i * stride);
      continue;
    }
    const size_t slots = (size_t{2} << run.depth) - 1;
    const HeapNode* tree = heap_nodes_.data() + run.offset;
    if (count == 1) {  // eight trees at a time, summed in tree order
      uint32_t done = 0;
      for (; done + kLanes <= run.count; done += kLanes, tree += kLanes * slots) {
        WalkLanes(tree, slots, scratch, 0, run.depth, leaves);
        for (float leaf : leaves) margins[0] += leaf;
      }
      for (; done < run.count; ++done, tree += slots) margins[0] += WalkHeap(tree, run.depth, scratch);
      continue;
    }
    for (uint32_t t = 0; t < run.count; ++t, tree += slots) {  // eight rows at a time, tree after tree
      size_t i = 0;
      for (; i + kLanes <= count; i += kLanes) {
        WalkLanes(tree, 0, scratch + i * scratch_stride, scratch_stride, run.depth, leaves);
        for (int lane = 0; lane < kLanes; ++lane) margins[i + lane] += leaves[lane];
      }
      for (; i < count; ++i) margins[i] += WalkHeap(tree, run.depth, scratch + i * scratch_stride);
    }
  }
}

float TreeEnsemble::TransformMargin(float margin) const {
  switch (transform_) {
    case Transform::kIdentity:
      return margin;
    case Transform::kSigmoid: {
      // XGBoost 1.7's common::Sigmoid(float), operation for operation.
      constexpr float kEps = 1e-16f;
      const float x = std::min(-margin, 88.7f);
      const float denominator = std::exp(x) + 1.0f + kEps;
      return 1.0f / denominator;
    }
    case Transform::kExp:
      return std::exp(margin);
  }
  return margin;
}

float TreeEnsemble::PredictMargin(const float* row) const {
  float stack[kRowScratch];
  float* scratch = ScratchBuffer(stack, kRowScratch, 2 * used_features_.size());
  FillScratch(row, scratch);
  float margin = base_margin_;
  AddLeaves(row, 1, 0, scratch, &margin);
  return margin;
}

float TreeEnsemble::PredictRow(const float* row) const { return TransformMargin(PredictMargin(row)); }

void TreeEnsemble::PredictBatch(const float* rows, size_t count, size_t stride, float* out) const {
  const size_t scratch_stride = 2 * used_features_.size();
  size_t block_rows = kBlockRows;
  if (scratch_stride > 0) block_rows = std::clamp<size_t>(kBlockScratch / scratch_stride, 1, kBlockRows);
  float stack[kBlockScratch];
  float* scratch = ScratchBuffer(stack, kBlockScratch, block_rows * scratch_stride);
  for (size_t start = 0; start < count; start += block_rows) {
    const size_t block = std::min(block_rows, count - start);
    const float* block_rows_begin = rows + start * stride;
    for (size_t i = 0; i < block; ++i) FillScratch(block_rows_begin + i * stride, scratch + i * scratch_stride);
    float* margins = out + start;
    std::fill(margins, margins + block, base_margin_);
    AddLeaves(block_rows_begin, block, stride, scratch, margins);
    if (transform_ != Transform::kIdentity) {
      for (size_t i = 0; i < block; ++i) margins[i] = TransformMargin(margins[i]);
    }
  }
}

}  // namespace kiln::serving
