#pragma once
// Base64 (RFC 4648) encoding and decoding. Encoding writes the standard
// alphabet with '=' padding; decoding accepts the standard and the URL-safe
// alphabets, with or without padding, so tokens survive a trip through URLs.
// Stateless and thread-safe.

#include <string>
#include <string_view>

#include "common/status.h"

namespace kiln {

// Standard alphabet ('+', '/'), padded with '='.
std::string Base64Encode(std::string_view data);

// URL-safe alphabet ('-', '_'), without padding.
std::string Base64UrlEncode(std::string_view data);

// Accepts either alphabet (they may even be mixed) and optional padding.
// Errors: kInvalidArgument naming the offset of the first bad character, or
// a final group too short to hold a byte.
Result<std::string> Base64Decode(std::string_view text);

}  // namespace kiln
