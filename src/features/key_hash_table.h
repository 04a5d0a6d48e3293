#pragma once
// Open-addressing hash tables that hand out dense int32 ids to distinct keys,
// for dictionary-encoding join keys: IntKeyTable for 64-bit integers,
// StringKeyTable for strings held as views (the caller keeps the bytes
// alive). Linear probing at load ≤ 1/2. Short strings (≤ 8 bytes) are
// compared by length and hash alone, without touching their bytes. Insert is single-threaded; Find is
// const and safe from many threads once inserts have stopped.

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace kiln::features {

// The murmur3 64-bit finalizer: every input bit affects every output bit.
inline uint64_t MixBits(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

// A fast non-cryptographic hash of a byte string, tuned for short keys;
// use its high bits. For strings of at most 8 bytes it is injective among
// strings of one length (the bytes are packed losslessly into one word,
// then multiplied by an odd constant), so equal length and equal hash mean
// equal strings.
inline uint64_t HashBytes(std::string_view bytes) {
  constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ULL;
  const char* data = bytes.data();
  size_t size = bytes.size();
  const uint64_t seed = size * 0xbf58476d1ce4e5b9ULL;
  uint64_t tail = 0;
  if (size > 8) {
    uint64_t hash = seed;
    while (size > 8) {
      uint64_t word;
      std::memcpy(&word, data, 8);
      hash = MixBits(hash ^ word);
      data += 8;
      size -= 8;
    }
    std::memcpy(&tail, data + size - 8, 8);  // the last 8 bytes, overlapping
    return MixBits(hash ^ tail) * kGolden;
  }
  if (size >= 4) {  // two overlapping 4-byte reads cover 4..8 bytes
    uint32_t head_word;
    uint32_t tail_word;
    std::memcpy(&head_word, data, 4);
    std::memcpy(&tail_word, data + size - 4, 4);
    tail = (static_cast<uint64_t>(head_word) << 32) | tail_word;
  } else if (size > 0) {
    const auto* bytes_in = reinterpret_cast<const unsigned char*>(data);
    tail = (static_cast<uint64_t>(bytes_in[0]) << 16) |
           (static_cast<uint64_t>(bytes_in[size / 2]) << 8) | bytes_in[size - 1];
  }
  return (seed ^ tail) * kGolden;
}

class IntKeyTable {
 public:
  IntKeyTable() { Resize(16); }

  int32_t size() const { return count_; }

  // The id of `key`, giving it the next id when new.
  int32_t Insert(int64_t key) {
    uint64_t index = MixBits(static_cast<uint64_t>(key)) & mask_;
    while (true) {
      Slot& slot = slots_[index];
      if (slot.id < 0) break;
      if (slot.key == key) return slot.id;
      index = (index + 1) & mask_;
    }
    const int32_t id = count_++;
    slots_[index] = Slot{key, id};
    if (static_cast<uint64_t>(count_) * 2 > mask_) Resize(slots_.size() * 2);
    return id;
  }

  // The id of `key`, or -1 when absent.
  int32_t Find(int64_t key) const {
    uint64_t index = MixBits(static_cast<uint64_t>(key)) & mask_;
    while (true) {
      const Slot& slot = slots_[index];
      if (slot.id < 0) return -1;
      if (slot.key == key) return slot.id;
      index = (index + 1) & mask_;
    }
  }

 private:
  struct Slot {
    int64_t key = 0;
    int32_t id = -1;
  };

  void Resize(size_t capacity) {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(capacity, Slot{});
    mask_ = capacity - 1;
    for (const Slot& slot : old) {
      if (slot.id < 0) continue;
      uint64_t index = MixBits(static_cast<uint64_t>(slot.key)) & mask_;
      while (slots_[index].id >= 0) index = (index + 1) & mask_;
      slots_[index] = slot;
    }
  }

  std::vector<Slot> slots_;
  uint64_t mask_ = 0;
  int32_t count_ = 0;
};

class StringKeyTable {
 public:
  StringKeyTable() { Resize(16); }

  int32_t size() const { return static_cast<int32_t>(keys_.size()); }

  // The id of `key`, giving it the next id when new. REQUIRES: the bytes of
  // `key` outlive the table.
  int32_t Insert(std::string_view key) {
    const uint64_t hash = HashBytes(key);
    uint64_t index = hash >> shift_;
    while (true) {
      Slot& slot = slots_[index];
      if (slot.id < 0) break;
      if (Matches(slot, hash, key)) return slot.id;
      index = (index + 1) & mask_;
    }
    const auto id = static_cast<int32_t>(keys_.size());
    keys_.push_back(key);
    slots_[index] = Slot{hash, id, static_cast<uint32_t>(std::min<size_t>(key.size(), kLongKey))};
    if (keys_.size() * (slots_.size() < kSparseBelow ? 4 : 2) > slots_.size()) {
      Resize(slots_.size() * 2);
    }
    return id;
  }

  // The id of `key`, or -1 when absent.
  int32_t Find(std::string_view key) const {
    const uint64_t hash = HashBytes(key);
    uint64_t index = hash >> shift_;
    while (true) {
      const Slot& slot = slots_[index];
      if (slot.id < 0) return -1;
      if (Matches(slot, hash, key)) return slot.id;
      index = (index + 1) & mask_;
    }
  }

 private:
  static constexpr size_t kShortKey = 8;
  // Small tables stay at most a quarter full: fewer collisions for the
  // price of a few kilobytes.
  static constexpr size_t kSparseBelow = 1 << 14;
  static constexpr size_t kLongKey = 0xffffffff;

  struct Slot {
    uint64_t hash = 0;
    int32_t id = -1;
    uint32_t size = 0;  // capped at kLongKey
  };

  bool Matches(const Slot& slot, uint64_t hash, std::string_view key) const {
    if (slot.hash != hash || slot.size != std::min<size_t>(key.size(), kLongKey)) return false;
    return key.size() <= kShortKey || keys_[static_cast<size_t>(slot.id)] == key;
  }

  void Resize(size_t capacity) {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(capacity, Slot{});
    mask_ = capacity - 1;
    shift_ = 64 - static_cast<int>(std::countr_zero(capacity));
    for (const Slot& slot : old) {
      if (slot.id < 0) continue;
      uint64_t index = slot.hash >> shift_;
      while (slots_[index].id >= 0) index = (index + 1) & mask_;
      slots_[index] = slot;
    }
  }

  std::vector<Slot> slots_;
  std::vector<std::string_view> keys_;
  uint64_t mask_ = 0;
  int shift_ = 64;
};

}  // namespace kiln::features
