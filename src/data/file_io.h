#pragma once
// Internal to the data module: whole-file and prefix reads with the error
// wording of the readers ("flights.csv: no such file"). Stateless.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace kiln::data {

// Bytes of a file, owned; view() covers them all.
class FileBytes {
 public:
  FileBytes() = default;
  FileBytes(std::unique_ptr<char[]> data, size_t size) : data_(std::move(data)), size_(size) {}
  std::string_view view() const { return std::string_view(data_.get(), size_); }

 private:
  std::unique_ptr<char[]> data_;
  size_t size_ = 0;
};

// Reads at most `limit` bytes (all when 0); sets *file_size to the file's size.
Result<FileBytes> ReadFileBytes(const std::string& path, size_t limit = 0, size_t* file_size = nullptr);

}  // namespace kiln::data
