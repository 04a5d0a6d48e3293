#pragma once
// Sliding-window folds for windowed aggregations: the monoids of the
// aggregation functions and SlideWindows, which folds the items inside a
// sequence of windows whose bounds only move forward. It keeps the window as
// a two-stack queue (suffix folds of the older part, one running fold of the
// newer part), so every window costs amortized O(1) combines with no
// subtraction: sums do not drift and min/max need no inverse. Pure
// functions; thread-compatible.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace kiln::features {

// Count and sum of the non-null values (sum, mean).
struct SumMonoid {
  struct State {
    int64_t count = 0;
    double sum = 0;
  };
  static State Lift(double value) { return {1, value}; }
  static State Combine(const State& a, const State& b) { return {a.count + b.count, a.sum + b.sum}; }
};

// Count, mean and sum of squared deviations, combined as Chan et al. do:
// stable without a second pass (stddev).
struct MomentsMonoid {
  struct State {
    int64_t count = 0;
    double mean = 0;
    double squared_deviations = 0;
  };
  static State Lift(double value) { return {1, value, 0}; }
  static State Combine(const State& a, const State& b) {
    if (a.count == 0) return b;
    if (b.count == 0) return a;
    const int64_t count = a.count + b.count;
    const double delta = b.mean - a.mean;
    const double a_count = static_cast<double>(a.count);
    const double b_count = static_cast<double>(b.count);
    const double total = static_cast<double>(count);
    return {count, a.mean + delta * (b_count / total),
            a.squared_deviations + b.squared_deviations + delta * delta * (a_count * b_count / total)};
  }
};

// Minimum (kMax = false) or maximum (kMax = true) of the non-null values.
template <typename T, bool kMax>
struct ExtremeMonoid {
  struct State {
    bool present = false;
    T value{};
  };
  static State Lift(T value) { return {true, value}; }
  static State Combine(const State& a, const State& b) {
    if (!a.present) return b;
    if (!b.present) return a;
    return {true, kMax ? std::max(a.value, b.value) : std::min(a.value, b.value)};
  }
};

// For each window w in [0, count): emit(w, fold of items[lo[w] .. hi[w])).
// REQUIRES: lo and hi are non-decreasing, lo[w] <= hi[w] <= items' size;
// `suffix` is a scratch buffer (resized here).
template <typename Monoid, typename Emit>
void SlideWindows(const typename Monoid::State* items, size_t num_items, const uint32_t* lo,
                  const uint32_t* hi, size_t count, std::vector<typename Monoid::State>& suffix,
                  Emit&& emit) {
  using State = typename Monoid::State;
  if (count == 0) return;
  suffix.resize(num_items);
  // The window is [tail, head): [tail, boundary) is held as suffix folds,
  // [boundary, head) as the single fold `back`.
  size_t tail = lo[0];
  size_t boundary = tail;
  size_t head = tail;
  State back{};
  for (size_t w = 0; w < count; ++w) {
    for (; head < hi[w]; ++head) back = Monoid::Combine(back, items[head]);
    if (lo[w] > tail) {
      tail = lo[w];
      if (tail >= boundary) {
        // The older part is gone: rebuild it from what is left of the newer.
        State fold{};
        for (size_t i = head; i-- > tail;) {
          fold = Monoid::Combine(items[i], fold);
          suffix[i] = fold;
        }
        boundary = head;
        back = State{};
      }
    }
    emit(w, tail < boundary ? Monoid::Combine(suffix[tail], back) : back);
  }
}

}  // namespace kiln::features
