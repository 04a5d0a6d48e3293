#include "serving/prediction_log.h"

#include <algorithm>
#include <cstdio>
#include <limits>

namespace kiln::serving {

namespace {

constexpr std::chrono::seconds kErrorLogInterval(60);

}  // namespace

uint64_t ReservoirSampler::Next() {  // SplitMix64
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

int64_t ReservoirSampler::Offer() {
  int64_t index = seen_++;
  if (size_ <= 0) return -1;
  if (index < size_) return index;
  // Uniform in [0, index] without modulo bias.
  const uint64_t range = static_cast<uint64_t>(index) + 1;
  const uint64_t limit = std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % range;
  uint64_t draw = Next();
  while (draw >= limit) draw = Next();
  int64_t slot = static_cast<int64_t>(draw % range);
  return slot < size_ ? slot : -1;
}

PredictionLog::PredictionLog(std::unique_ptr<PredictionStore> store, PredictionLogOptions options)
    : store_(std::move(store)), options_(options) {
  if (options_.batch == 0) options_.batch = 1;
  writer_ = std::thread([this] { WriterLoop(); });
}

PredictionLog::~PredictionLog() { (void)Close(); }

bool PredictionLog::Append(PredictionRecord record) {
  const int64_t timestamp = record.timestamp_micros;
  bool accepted = false;
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!closed_ && queue_.size() < options_.capacity) {
      queue_.push_back(std::move(record));
      ++appended_;
      accepted = true;
      // The writer gathers a batch by itself once woken: wake it for the
      // first record and for a full batch only, not for every record (a
      // wake-up per prediction cost more than writing the prediction).
      wake = queue_.size() == 1 || queue_.size() == options_.batch;
    } else {
      wake = pending_drops_.count == 0;
      ++dropped_;
      if (!closed_) {  // a closed log has no writer left to write a marker
        DropMarker& run = pending_drops_;
        run.first_micros = run.count == 0 ? timestamp : std::min(run.first_micros, timestamp);
        run.last_micros = run.count == 0 ? timestamp : std::max(run.last_micros, timestamp);
        ++run.count;
        ++drops_marked_;
      }
    }
  }
  if (wake) work_.notify_one();
  return accepted;
}

bool PredictionLog::FlushRequested() const {
  return drain_waiters_ > 0 && processed_ >= drain_target_ && drops_processed_ >= drain_drops_target_ &&
         (flushed_through_ < drain_target_ || drops_flushed_through_ < drain_drops_target_);
}

void PredictionLog::NoteError(const Status& status, const std::string& what) {
  error_ = status;
  auto now = std::chrono::steady_clock::now();
  if (last_error_logged_ && now - *last_error_logged_ < kErrorLogInterval) return;
  last_error_logged_ = now;
  std::fprintf(stderr, "kiln: prediction log: %s %s failed (%lld records lost so far; logged once a minute): %s\n",
               what.c_str(), store_->Describe().c_str(), static_cast<long long>(write_errors_),
               status.ToString().c_str());
}

void PredictionLog::WriterLoop() {
  const auto interval = std::chrono::milliseconds(std::max(options_.flush_interval_ms, 0));
  std::unique_lock<std::mutex> lock(mutex_);
  auto last_flush = std::chrono::steady_clock::now();
  bool unflushed = false;
  while (true) {
    auto has_work = [&] { return !queue_.empty() || pending_drops_.count > 0 || closed_ || FlushRequested(); };
    if (unflushed) {
      work_.wait_until(lock, last_flush + interval, has_work);
    } else {
      work_.wait(lock, has_work);
    }
    // Let a batch gather (Append wakes the writer again when one is full).
    if (options_.linger_ms > 0 && queue_.size() < options_.batch && !closed_ && drain_waiters_ == 0 &&
        pending_drops_.count == 0) {
      work_.wait_for(lock, std::chrono::milliseconds(options_.linger_ms), [&] {
        return queue_.size() >= options_.batch || closed_ || drain_waiters_ > 0 || pending_drops_.count > 0;
      });
    }

    const size_t take = std::min(queue_.size(), options_.batch);
    std::vector<PredictionRecord> batch(std::make_move_iterator(queue_.begin()),
                                        std::make_move_iterator(queue_.begin() + static_cast<ptrdiff_t>(take)));
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(take));
    const DropMarker drops = pending_drops_;
    pending_drops_ = DropMarker{};

    lock.unlock();
    Status written = batch.empty() ? Status::Ok() : store_->Write(batch);
    Status marked = drops.count == 0 ? Status::Ok() : store_->WriteDrop(drops);
    const size_t batch_size = batch.size();
    batch.clear();  // free the records outside the lock
    lock.lock();

    processed_ += static_cast<int64_t>(batch_size);
    drops_processed_ += drops.count;
    if (written.ok()) {
      written_ += static_cast<int64_t>(batch_size);
    } else {
      write_errors_ += static_cast<int64_t>(batch_size);
      NoteError(written, "writing " + std::to_string(batch_size) + " records to");
    }
    if (!marked.ok()) NoteError(marked, "writing a marker of " + std::to_string(drops.count) + " drops to");
    unflushed = unflushed || batch_size > 0 || drops.count > 0;

    const auto now = std::chrono::steady_clock::now();
    const bool finishing = closed_ && queue_.empty() && pending_drops_.count == 0;
    if (unflushed && (finishing || FlushRequested() || now >= last_flush + interval)) {
      const int64_t through = processed_, drops_through = drops_processed_;
      lock.unlock();
      Status flushed = store_->Flush();
      lock.lock();
      if (!flushed.ok()) NoteError(flushed, "flushing");
      flushed_through_ = through;
      drops_flushed_through_ = drops_through;
      unflushed = false;
      last_flush = now;
      progress_.notify_all();
    } else if (!unflushed) {
      // Nothing reached the store since the last flush (e.g. only failed
      // writes): everything handled counts as flushed.
      flushed_through_ = processed_;
      drops_flushed_through_ = drops_processed_;
      progress_.notify_all();
    }
    if (finishing && !unflushed) break;
  }
  writer_done_ = true;
  progress_.notify_all();
}

Status PredictionLog::Drain() {
  std::unique_lock<std::mutex> lock(mutex_);
  const int64_t target = appended_, drops_target = drops_marked_;
  ++drain_waiters_;
  drain_target_ = std::max(drain_target_, target);
  drain_drops_target_ = std::max(drain_drops_target_, drops_target);
  work_.notify_one();
  progress_.wait(lock, [&] {
    return writer_done_ || (flushed_through_ >= target && drops_flushed_through_ >= drops_target);
  });
  --drain_waiters_;
  return std::exchange(error_, Status::Ok());
}

Status PredictionLog::Close() {
  std::lock_guard<std::mutex> close_lock(close_mutex_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_ && writer_done_) return Status::Ok();
    closed_ = true;
  }
  work_.notify_one();
  if (writer_.joinable()) writer_.join();
  std::lock_guard<std::mutex> lock(mutex_);
  return std::exchange(error_, Status::Ok());
}

PredictionLogStats PredictionLog::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  PredictionLogStats stats;
  stats.appended = appended_;
  stats.written = written_;
  stats.dropped = dropped_;
  stats.write_errors = write_errors_;
  stats.queue_depth = static_cast<int64_t>(queue_.size());
  stats.capacity = static_cast<int64_t>(options_.capacity);
  return stats;
}

}  // namespace kiln::serving
