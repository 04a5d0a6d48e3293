// PredictionLog: the bounded queue, drops and their markers, Drain and
// Close, store errors; and the seeded reservoir sampler both stores use.
// Stores here are in memory and can block or fail on command; waits are on
// conditions, never on time.
#include "serving/prediction_log.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "serving/serving_testing.h"

namespace kiln::serving {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing_support::MakeRecord;
using testing_support::Must;
using testing_support::T;

// What a MemoryStore saw; shared with the test, outlives the log.
struct StoreState {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::string> events;  // "write 3", "drops 4", "flush"
  std::vector<PredictionRecord> records;
  std::vector<DropMarker> drops;
  size_t flushed_records = 0;  // records.size() at the last flush
  size_t flushed_drops = 0;
  bool block_writes = false;  // Write waits until this is false again
  bool in_write = false;
  int fail_writes = 0;  // the next this many Writes fail

  void Release() {
    std::lock_guard<std::mutex> lock(mutex);
    block_writes = false;
    changed.notify_all();
  }
  template <typename Predicate>
  void WaitUntil(Predicate predicate) {
    std::unique_lock<std::mutex> lock(mutex);
    changed.wait(lock, predicate);
  }
  // Events without the flushes (whose timing depends on the flush interval).
  std::vector<std::string> Writes() {
    std::lock_guard<std::mutex> lock(mutex);
    std::vector<std::string> writes;
    for (const std::string& event : events) {
      if (event != "flush") writes.push_back(event);
    }
    return writes;
  }
};

class MemoryStore : public PredictionStore {
 public:
  explicit MemoryStore(std::shared_ptr<StoreState> state) : state_(std::move(state)) {}

  Status Write(std::span<const PredictionRecord> records) override {
    std::unique_lock<std::mutex> lock(state_->mutex);
    state_->in_write = true;
    state_->changed.notify_all();
    state_->changed.wait(lock, [&] { return !state_->block_writes; });
    state_->in_write = false;
    if (state_->fail_writes > 0) {
      --state_->fail_writes;
      state_->events.push_back("failed write " + std::to_string(records.size()));
      return Unavailable("disk on fire");
    }
    state_->records.insert(state_->records.end(), records.begin(), records.end());
    state_->events.push_back("write " + std::to_string(records.size()));
    state_->changed.notify_all();
    return Status::Ok();
  }
  Status WriteDrop(const DropMarker& drop) override {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->drops.push_back(drop);
    state_->events.push_back("drops " + std::to_string(drop.count));
    return Status::Ok();
  }
  Status Flush() override {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->flushed_records = state_->records.size();
    state_->flushed_drops = state_->drops.size();
    state_->events.push_back("flush");
    return Status::Ok();
  }
  Result<PredictionReadResult> Read(const PredictionQuery&) override { return PredictionReadResult{}; }
  std::string Describe() const override { return "memory"; }

 private:
  std::shared_ptr<StoreState> state_;
};

PredictionRecord At(const std::string& id, std::string_view iso) { return MakeRecord(id, iso); }

std::vector<std::string> Ids(const std::vector<PredictionRecord>& records) {
  std::vector<std::string> ids;
  for (const PredictionRecord& record : records) ids.push_back(record.id);
  return ids;
}

TEST(PredictionLogTest, DrainReturnsOnceEverythingAppendedBeforeIsWrittenAndFlushed) {
  auto state = std::make_shared<StoreState>();
  PredictionLogOptions options;
  options.batch = 7;
  PredictionLog log(std::make_unique<MemoryStore>(state), options);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(log.Append(At("p" + std::to_string(i), "2001-04-01T08:00:00Z")));

  Must(log.Drain());

  {
    std::lock_guard<std::mutex> lock(state->mutex);
    ASSERT_EQ(state->records.size(), 1000u);
    EXPECT_EQ(state->flushed_records, 1000u);
    for (int i = 0; i < 1000; ++i) EXPECT_EQ(state->records[i].id, "p" + std::to_string(i));  // in append order
    for (const std::string& event : state->events) {
      if (event != "flush") {
        EXPECT_THAT(std::stoi(event.substr(6)), ::testing::Le(7)) << event;
      }
    }
  }
  PredictionLogStats stats = log.stats();
  EXPECT_EQ(stats.appended, 1000);
  EXPECT_EQ(stats.written, 1000);
  EXPECT_EQ(stats.dropped, 0);
  EXPECT_EQ(stats.write_errors, 0);
  EXPECT_EQ(stats.queue_depth, 0);
  EXPECT_EQ(stats.capacity, 100'000);
}

TEST(PredictionLogTest, DrainWaitsForTheStoreToFinish) {
  auto state = std::make_shared<StoreState>();
  state->block_writes = true;
  PredictionLog log(std::make_unique<MemoryStore>(state));
  ASSERT_TRUE(log.Append(At("p0", "2001-04-01T08:00:00Z")));
  state->WaitUntil([&] { return state->in_write; });
  ASSERT_TRUE(log.Append(At("p1", "2001-04-01T08:00:01Z")));

  size_t flushed_when_drained = 0;
  std::thread drainer([&] {
    Must(log.Drain());
    std::lock_guard<std::mutex> lock(state->mutex);
    flushed_when_drained = state->flushed_records;
  });
  state->Release();
  drainer.join();
  EXPECT_EQ(flushed_when_drained, 2u);
}

TEST(PredictionLogTest, AFullQueueDropsWithoutBlockingAndTheLogRecordsAMarker) {
  auto state = std::make_shared<StoreState>();
  state->block_writes = true;
  PredictionLogOptions options;
  options.capacity = 3;
  PredictionLog log(std::make_unique<MemoryStore>(state), options);
  ASSERT_TRUE(log.Append(At("p0", "2001-04-01T08:00:00Z")));
  state->WaitUntil([&] { return state->in_write; });  // the writer holds p0 until released

  // Had Append waited for room, this thread would hang here (the store is blocked).
  EXPECT_TRUE(log.Append(At("p1", "2001-04-01T08:00:01Z")));
  EXPECT_TRUE(log.Append(At("p2", "2001-04-01T08:00:02Z")));
  EXPECT_TRUE(log.Append(At("p3", "2001-04-01T08:00:03Z")));
  EXPECT_FALSE(log.Append(At("d1", "2001-04-01T08:01:30Z")));
  EXPECT_FALSE(log.Append(At("d2", "2001-04-01T08:01:00Z")));
  EXPECT_FALSE(log.Append(At("d3", "2001-04-01T08:02:00Z")));
  EXPECT_FALSE(log.Append(At("d4", "2001-04-01T08:01:45Z")));

  PredictionLogStats stats = log.stats();
  EXPECT_EQ(stats.appended, 4);
  EXPECT_EQ(stats.dropped, 4);
  EXPECT_EQ(stats.queue_depth, 3);
  EXPECT_EQ(stats.capacity, 3);
  EXPECT_EQ(stats.written, 0);

  state->Release();
  Must(log.Drain());

  EXPECT_THAT(state->Writes(), ElementsAre("write 1", "write 3", "drops 4"));
  {
    std::lock_guard<std::mutex> lock(state->mutex);
    EXPECT_THAT(Ids(state->records), ElementsAre("p0", "p1", "p2", "p3"));
    ASSERT_EQ(state->drops.size(), 1u);
    EXPECT_EQ(state->drops[0].count, 4);
    EXPECT_EQ(state->drops[0].first_micros, T("2001-04-01T08:01:00Z"));  // earliest dropped
    EXPECT_EQ(state->drops[0].last_micros, T("2001-04-01T08:02:00Z"));   // latest dropped
    EXPECT_EQ(state->flushed_drops, 1u);
  }
  stats = log.stats();
  EXPECT_EQ(stats.written, 4);
  EXPECT_EQ(stats.dropped, 4);
  EXPECT_EQ(stats.queue_depth, 0);
}

TEST(PredictionLogTest, DrainAlsoCoversDropMarkers) {
  auto state = std::make_shared<StoreState>();
  PredictionLogOptions options;
  options.capacity = 0;  // everything is dropped
  PredictionLog log(std::make_unique<MemoryStore>(state), options);
  EXPECT_FALSE(log.Append(At("d1", "2001-04-01T08:00:00Z")));
  EXPECT_FALSE(log.Append(At("d2", "2001-04-01T09:00:00Z")));

  Must(log.Drain());

  std::lock_guard<std::mutex> lock(state->mutex);
  int64_t dropped = 0;
  for (const DropMarker& drop : state->drops) dropped += drop.count;
  EXPECT_EQ(dropped, 2);  // one marker or two, depending on when the writer woke
  EXPECT_EQ(state->drops.front().first_micros, T("2001-04-01T08:00:00Z"));
  EXPECT_EQ(state->drops.back().last_micros, T("2001-04-01T09:00:00Z"));
  EXPECT_EQ(state->flushed_drops, state->drops.size());
  EXPECT_TRUE(state->records.empty());
}

TEST(PredictionLogTest, StoreErrorsAreCountedReportedByDrainAndTheLogKeepsWriting) {
  auto state = std::make_shared<StoreState>();
  state->block_writes = true;
  PredictionLog log(std::make_unique<MemoryStore>(state));
  ASSERT_TRUE(log.Append(At("lost", "2001-04-01T08:00:00Z")));
  state->WaitUntil([&] { return state->in_write; });
  ASSERT_TRUE(log.Append(At("p1", "2001-04-01T08:00:01Z")));
  ASSERT_TRUE(log.Append(At("p2", "2001-04-01T08:00:02Z")));
  {
    std::lock_guard<std::mutex> lock(state->mutex);
    state->fail_writes = 1;  // the held write of "lost" fails
  }
  state->Release();

  Status drained = log.Drain();
  EXPECT_EQ(drained.code(), StatusCode::kUnavailable);
  EXPECT_EQ(drained.message(), "disk on fire");
  EXPECT_THAT(state->Writes(), ElementsAre("failed write 1", "write 2"));
  PredictionLogStats stats = log.stats();
  EXPECT_EQ(stats.write_errors, 1);
  EXPECT_EQ(stats.written, 2);
  EXPECT_EQ(stats.appended, 3);

  // Reported once; later writes work.
  ASSERT_TRUE(log.Append(At("p3", "2001-04-01T08:00:03Z")));
  Must(log.Drain());
  EXPECT_EQ(log.stats().written, 3);
  EXPECT_EQ(log.stats().write_errors, 1);
}

TEST(PredictionLogTest, CloseDrainsStopsAndRefusesLaterAppendsAsDrops) {
  auto state = std::make_shared<StoreState>();
  PredictionLogOptions options;
  options.batch = 8;
  PredictionLog log(std::make_unique<MemoryStore>(state), options);
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(log.Append(At("p" + std::to_string(i), "2001-04-01T08:00:00Z")));

  Must(log.Close());
  {
    std::lock_guard<std::mutex> lock(state->mutex);
    EXPECT_EQ(state->records.size(), 50u);
    EXPECT_EQ(state->flushed_records, 50u);
    EXPECT_EQ(state->events.back(), "flush");
  }

  EXPECT_FALSE(log.Append(At("late", "2001-04-01T09:00:00Z")));
  Must(log.Close());  // idempotent
  Must(log.Drain());  // nothing left to wait for
  PredictionLogStats stats = log.stats();
  EXPECT_EQ(stats.appended, 50);
  EXPECT_EQ(stats.written, 50);
  EXPECT_EQ(stats.dropped, 1);
  std::lock_guard<std::mutex> lock(state->mutex);
  EXPECT_EQ(state->records.size(), 50u);
  EXPECT_TRUE(state->drops.empty());  // no writer is left to write a marker
}

TEST(PredictionLogTest, DestroyingTheLogWritesAndFlushesWhatWasQueued) {
  auto state = std::make_shared<StoreState>();
  {
    PredictionLog log(std::make_unique<MemoryStore>(state));
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(log.Append(At("p" + std::to_string(i), "2001-04-01T08:00:00Z")));
  }
  std::lock_guard<std::mutex> lock(state->mutex);
  EXPECT_EQ(state->records.size(), 20u);
  EXPECT_EQ(state->flushed_records, 20u);
}

TEST(PredictionLogTest, AppendsFromManyThreadsAreAllAccountedFor) {
  auto state = std::make_shared<StoreState>();
  PredictionLogOptions options;
  options.capacity = 64;  // small: some appends may be dropped, none may vanish
  PredictionLog log(std::make_unique<MemoryStore>(state), options);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&log, t] {
      for (int i = 0; i < 2000; ++i) {
        (void)log.Append(At("t" + std::to_string(t) + "-" + std::to_string(i), "2001-04-01T08:00:00Z"));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  Must(log.Close());

  PredictionLogStats stats = log.stats();
  EXPECT_EQ(stats.appended + stats.dropped, 8000);
  EXPECT_EQ(stats.written, stats.appended);
  std::lock_guard<std::mutex> lock(state->mutex);
  EXPECT_EQ(static_cast<int64_t>(state->records.size()), stats.appended);
  int64_t marked = 0;
  for (const DropMarker& drop : state->drops) marked += drop.count;
  EXPECT_EQ(marked, stats.dropped);
  std::set<std::string> ids;
  for (const PredictionRecord& record : state->records) ids.insert(record.id);
  EXPECT_EQ(ids.size(), state->records.size());
}

std::vector<int64_t> Sample(int64_t size, uint64_t seed, int64_t stream) {
  ReservoirSampler sampler(size, seed);
  std::vector<int64_t> kept;
  for (int64_t item = 0; item < stream; ++item) {
    int64_t slot = sampler.Offer();
    if (slot < 0) continue;
    if (slot == static_cast<int64_t>(kept.size())) {
      kept.push_back(item);
    } else {
      kept[slot] = item;
    }
  }
  std::sort(kept.begin(), kept.end());
  return kept;
}

TEST(ReservoirSamplerTest, ASeedAlwaysPicksTheSameItems) {
  EXPECT_EQ(Sample(5, 42, 1000), Sample(5, 42, 1000));
  EXPECT_NE(Sample(5, 42, 1000), Sample(5, 43, 1000));
  EXPECT_EQ(Sample(5, 42, 1000).size(), 5u);
  // Pinned: the same picks on every platform and build.
  EXPECT_THAT(Sample(3, 1, 20), ElementsAre(2, 13, 15));
}

TEST(ReservoirSamplerTest, KeepsEverythingWhenTheStreamIsShort) {
  EXPECT_THAT(Sample(5, 7, 3), ElementsAre(0, 1, 2));
  EXPECT_TRUE(Sample(0, 7, 3).empty());
}

TEST(ReservoirSamplerTest, EveryItemIsEquallyLikely) {
  std::vector<int> hits(10, 0);
  for (uint64_t seed = 1; seed <= 20'000; ++seed) {
    for (int64_t item : Sample(2, seed, 10)) ++hits[item];
  }
  for (int item = 0; item < 10; ++item) {
    EXPECT_NEAR(hits[item], 4000, 250) << "item " << item;  // 2/10 of 20,000 draws
  }
}

}  // namespace
}  // namespace kiln::serving
