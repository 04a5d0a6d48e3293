#include "common/progress.h"

#include <unistd.h>

#include <cstdio>

namespace kiln {
namespace {

std::atomic<bool> globally_quiet{false};

std::string FormatRate(double per_second) {
  char buffer[32];
  if (per_second >= 1e6) {
    std::snprintf(buffer, sizeof buffer, "%.1fM", per_second / 1e6);
  } else if (per_second >= 1e3) {
    std::snprintf(buffer, sizeof buffer, "%.1fk", per_second / 1e3);
  } else {
    std::snprintf(buffer, sizeof buffer, "%.0f", per_second);
  }
  return buffer;
}

std::string FormatSeconds(double seconds) {
  char buffer[32];
  if (seconds < 60) {
    std::snprintf(buffer, sizeof buffer, "%.0fs", seconds);
  } else if (seconds < 3600) {
    std::snprintf(buffer, sizeof buffer, "%dm%02ds", static_cast<int>(seconds) / 60,
                  static_cast<int>(seconds) % 60);
  } else {
    std::snprintf(buffer, sizeof buffer, "%dh%02dm", static_cast<int>(seconds) / 3600,
                  (static_cast<int>(seconds) % 3600) / 60);
  }
  return buffer;
}

}  // namespace

std::string FormatCount(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  int count = 0;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    if (count > 0 && count % 3 == 0) out.push_back(',');
    out.push_back(*it);
    ++count;
  }
  if (n < 0) out.push_back('-');
  return std::string(out.rbegin(), out.rend());
}

void Progress::SetGloballyQuiet(bool quiet) { globally_quiet.store(quiet); }

Progress::Progress(std::string label, int64_t total, std::string unit, bool quiet)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total),
      start_(std::chrono::steady_clock::now()) {
  enabled_ = !quiet && !globally_quiet.load() && isatty(STDERR_FILENO) == 1;
}

Progress::~Progress() { Finish(); }

void Progress::Add(int64_t delta) {
  done_.fetch_add(delta, std::memory_order_relaxed);
  if (enabled_) MaybeDraw(false);
}

void Progress::Set(int64_t done) {
  done_.store(done, std::memory_order_relaxed);
  if (enabled_) MaybeDraw(false);
}

void Progress::SetTotal(int64_t total) { total_.store(total); }

void Progress::Finish() {
  if (!enabled_) return;
  std::lock_guard lock(draw_mutex_);
  if (finished_) return;
  finished_ = true;
  double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  int64_t done = done_.load();
  std::fprintf(stderr, "\r\033[K%s  %s %s  %s %s/s  in %s\n", label_.c_str(),
               FormatCount(done).c_str(), unit_.c_str(),
               FormatRate(elapsed > 0 ? done / elapsed : 0).c_str(), unit_.c_str(),
               FormatSeconds(elapsed).c_str());
}

void Progress::MaybeDraw(bool force) {
  auto now = std::chrono::steady_clock::now();
  int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now - start_).count();
  int64_t last = last_draw_ns_.load(std::memory_order_relaxed);
  if (!force && now_ns - last < 200'000'000) return;
  if (!last_draw_ns_.compare_exchange_strong(last, now_ns)) return;
  std::lock_guard lock(draw_mutex_);
  if (finished_) return;
  double elapsed = now_ns / 1e9;
  int64_t done = done_.load();
  int64_t total = total_.load();
  double rate = elapsed > 0 ? done / elapsed : 0;
  std::string line = "\r\033[K" + label_ + "  " + FormatCount(done);
  if (total > 0) line += "/" + FormatCount(total);
  line += " " + unit_ + "  " + FormatRate(rate) + " " + unit_ + "/s";
  if (total > 0 && rate > 0 && done < total) {
    line += "  ETA " + FormatSeconds((total - done) / rate);
  }
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
}

}  // namespace kiln
