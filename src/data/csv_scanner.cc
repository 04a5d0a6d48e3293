#include "data/csv_scanner.h"

namespace kiln::data {

std::vector<size_t> SplitAtRecords(std::string_view text, size_t begin, size_t parts) {
  std::vector<size_t> cuts = {begin};
  const size_t size = text.size();
  if (parts <= 1 || begin >= size) {
    cuts.push_back(size);
    return cuts;
  }
  const char* data = text.data();
  const bool has_quotes = std::memchr(data + begin, '"', size - begin) != nullptr;
  size_t pos = begin;
  bool quoted = false;
  for (size_t part = 1; part < parts; ++part) {
    const size_t target = begin + (size - begin) / parts * part;
    if (target <= cuts.back()) continue;
    if (!has_quotes) {
      const void* newline = std::memchr(data + target, '\n', size - target);
      if (newline == nullptr) break;
      const size_t cut = static_cast<const char*>(newline) - data + 1;
      if (cut >= size) break;
      if (cut > cuts.back()) cuts.push_back(cut);
      continue;
    }
    // Track quote parity up to the target, then find a line feed outside quotes.
    while (pos < target) {
      const void* quote = std::memchr(data + pos, '"', target - pos);
      if (quote == nullptr) {
        pos = target;
        break;
      }
      quoted = !quoted;
      pos = static_cast<const char*>(quote) - data + 1;
    }
    while (pos < size && (quoted || data[pos] != '\n')) {
      if (data[pos] == '"') quoted = !quoted;
      ++pos;
    }
    if (pos + 1 >= size) break;
    ++pos;
    cuts.push_back(pos);
  }
  cuts.push_back(size);
  return cuts;
}

}  // namespace kiln::data
