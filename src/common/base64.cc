#include "common/base64.h"

#include <array>
#include <cstdint>

namespace kiln {
namespace {

constexpr std::string_view kStandardAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kUrlSafeAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr int kInvalid = -1;

// Maps a character of either alphabet to its 6-bit value, others to kInvalid.
constexpr std::array<int, 256> MakeDecodeTable() {
  std::array<int, 256> table{};
  for (int& entry : table) entry = kInvalid;
  for (size_t i = 0; i < 64; ++i) {
    table[static_cast<unsigned char>(kStandardAlphabet[i])] = static_cast<int>(i);
    table[static_cast<unsigned char>(kUrlSafeAlphabet[i])] = static_cast<int>(i);
  }
  return table;
}

constexpr std::array<int, 256> kDecodeTable = MakeDecodeTable();

std::string Encode(std::string_view data, std::string_view alphabet, bool pad) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t group = (static_cast<uint8_t>(data[i]) << 16) | (static_cast<uint8_t>(data[i + 1]) << 8) |
                     static_cast<uint8_t>(data[i + 2]);
    out.push_back(alphabet[(group >> 18) & 63]);
    out.push_back(alphabet[(group >> 12) & 63]);
    out.push_back(alphabet[(group >> 6) & 63]);
    out.push_back(alphabet[group & 63]);
  }
  size_t rest = data.size() - i;
  if (rest == 0) return out;
  uint32_t group = static_cast<uint8_t>(data[i]) << 16;
  if (rest == 2) group |= static_cast<uint8_t>(data[i + 1]) << 8;
  out.push_back(alphabet[(group >> 18) & 63]);
  out.push_back(alphabet[(group >> 12) & 63]);
  if (rest == 2) out.push_back(alphabet[(group >> 6) & 63]);
  if (pad) out.append(rest == 2 ? 1 : 2, '=');
  return out;
}

}  // namespace

std::string Base64Encode(std::string_view data) { return Encode(data, kStandardAlphabet, true); }

std::string Base64UrlEncode(std::string_view data) { return Encode(data, kUrlSafeAlphabet, false); }

Result<std::string> Base64Decode(std::string_view text) {
  // Padding may only close the text: strip up to two trailing '='.
  size_t end = text.size();
  for (int padding = 0; padding < 2 && end > 0 && text[end - 1] == '='; ++padding) --end;

  std::string out;
  out.reserve(end / 4 * 3 + 2);
  uint32_t bits = 0;
  int bit_count = 0;
  for (size_t i = 0; i < end; ++i) {
    int value = kDecodeTable[static_cast<unsigned char>(text[i])];
    if (value == kInvalid) {
      return InvalidArgument("invalid base64: unexpected character at offset " + std::to_string(i));
    }
    bits = (bits << 6) | static_cast<uint32_t>(value);
    bit_count += 6;
    if (bit_count >= 8) {
      bit_count -= 8;
      out.push_back(static_cast<char>((bits >> bit_count) & 0xff));
    }
  }
  // A final group of one character carries only 6 bits: not a whole byte.
  if (end % 4 == 1) return InvalidArgument("invalid base64: truncated final group");
  // With padding, the padded length must be a multiple of four.
  if (end != text.size() && text.size() % 4 != 0) {
    return InvalidArgument("invalid base64: wrong amount of padding");
  }
  return out;
}

}  // namespace kiln
