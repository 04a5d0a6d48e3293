#pragma once
// Progress: one self-overwriting line on stderr for long work — "ingest
// flights.csv  1,200,000/3,000,000 rows  2.1M rows/s  ETA 1s" — shown only
// when stderr is a terminal and not quiet; silent when piped. Update() is
// cheap (it redraws at most every 200 ms) and thread-safe.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace kiln {

class Progress {
 public:
  // total 0 means unknown (no ETA). unit names what is counted ("rows").
  Progress(std::string label, int64_t total, std::string unit, bool quiet);
  ~Progress();  // Finish()es
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void Add(int64_t delta);
  void Set(int64_t done);
  void SetTotal(int64_t total);
  // Prints the final line (with elapsed time) and a newline, once.
  void Finish();
  bool enabled() const { return enabled_; }

  // Set by the CLI's --quiet; Progress lines are off everywhere when true.
  static void SetGloballyQuiet(bool quiet);

 private:
  void MaybeDraw(bool force);

  std::string label_;
  std::string unit_;
  std::atomic<int64_t> total_;
  std::atomic<int64_t> done_{0};
  bool enabled_ = false;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::atomic<int64_t> last_draw_ns_{0};
  std::mutex draw_mutex_;
};

// "1,234,567"
std::string FormatCount(int64_t n);

}  // namespace kiln
