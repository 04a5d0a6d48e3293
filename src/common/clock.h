#pragma once
// Time and randomness are injected (STYLE.md rule 4): production code takes a
// Clock& / IdGenerator&, tests pass fakes. Implementations are thread-safe.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <random>
#include <string>

namespace kiln {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch.
  virtual int64_t NowMillis() = 0;
};

class SystemClock : public Clock {
 public:
  int64_t NowMillis() override;
  static SystemClock& Instance();
};

// A clock tests set by hand.
class FakeClock : public Clock {
 public:
  explicit FakeClock(int64_t now_millis = 1'700'000'000'000) : now_(now_millis) {}
  int64_t NowMillis() override { return now_.load(); }
  void Set(int64_t millis) { now_.store(millis); }
  void Advance(int64_t millis) { now_.fetch_add(millis); }

 private:
  std::atomic<int64_t> now_;
};

// 128-bit random ids as 32 lower-case hex characters (MLflow's run id shape).
class IdGenerator {
 public:
  explicit IdGenerator(uint64_t seed);
  IdGenerator();  // seeded from std::random_device
  std::string NewId();
  // Random bytes as hex; length in bytes. Not cryptographically secure:
  // secrets (tokens) use OpenSSL RAND_bytes instead.
  std::string RandomHex(size_t bytes);

 private:
  std::mutex mutex_;
  std::mt19937_64 engine_;
};

}  // namespace kiln
