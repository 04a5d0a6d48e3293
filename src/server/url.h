#pragma once
// URL pieces: percent-decoding and query strings.

#include <map>
#include <string>
#include <string_view>

namespace kiln::server {

std::string PercentDecode(std::string_view text, bool plus_is_space);
std::string PercentEncode(std::string_view text);
std::multimap<std::string, std::string> ParseQueryString(std::string_view query);

}  // namespace kiln::server
