#pragma once
// SHA-256 digests (OpenSSL), incremental so large streams never sit in memory.
// A Sha256 object is single-threaded; Finish() may be called once.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace kiln {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(const void* data, size_t size);
  void Update(std::string_view data) { Update(data.data(), data.size()); }
  // Lower-case hex of the 32-byte digest.
  std::string FinishHex();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

std::string Sha256Hex(std::string_view data);
// Digest of a file's contents, read in fixed-size chunks.
Result<std::string> Sha256File(const std::string& path);

}  // namespace kiln
