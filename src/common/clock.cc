#include "common/clock.h"

#include <chrono>

namespace kiln {

int64_t SystemClock::NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

SystemClock& SystemClock::Instance() {
  static SystemClock clock;
  return clock;
}

IdGenerator::IdGenerator(uint64_t seed) : engine_(seed) {}

IdGenerator::IdGenerator() {
  std::random_device device;
  std::seed_seq seq{device(), device(), device(), device(), device(), device()};
  engine_.seed(seq);
}

std::string IdGenerator::NewId() { return RandomHex(16); }

std::string IdGenerator::RandomHex(size_t bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes * 2);
  std::lock_guard lock(mutex_);
  uint64_t word = 0;
  for (size_t i = 0; i < bytes; ++i) {
    if (i % 8 == 0) word = engine_();
    unsigned byte = word & 0xff;
    word >>= 8;
    out.push_back(kHex[byte >> 4]);
    out.push_back(kHex[byte & 0xf]);
  }
  return out;
}

}  // namespace kiln
