#include "tracking/run_names.h"

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace kiln::tracking {
namespace {

constexpr std::array<std::string_view, 48> kAdjectives = {
    "amber",   "bold",    "brisk",   "calm",    "clever",  "cosmic",  "crisp",   "dapper",
    "eager",   "earnest", "fancy",   "fearless", "gentle", "glossy",  "golden",  "grand",
    "happy",   "hardy",   "humble",  "jolly",   "keen",    "kind",    "lively",  "lucid",
    "mellow",  "merry",   "mighty",  "nimble",  "noble",   "patient", "plucky",  "polite",
    "quick",   "quiet",   "radiant", "rapid",   "serene",  "shiny",   "silent",  "steady",
    "sunny",   "swift",   "tidy",    "upbeat",  "valiant", "vivid",   "witty",   "zesty"};

constexpr std::array<std::string_view, 48> kNouns = {
    "badger",  "bison",   "canary",  "cedar",   "comet",   "coral",   "crane",   "dolphin",
    "eagle",   "falcon",  "fern",    "finch",   "fox",     "gecko",   "glacier", "harbor",
    "hare",    "heron",   "ibis",    "kestrel", "koala",   "lark",    "lemur",   "lynx",
    "maple",   "meadow",  "moose",   "newt",    "orca",    "otter",   "owl",     "panda",
    "pebble",  "pine",    "quail",   "raven",   "reef",    "robin",   "salmon",  "sparrow",
    "spruce",  "stork",   "tiger",   "trout",   "tundra",  "walrus",  "willow",  "wren"};

}  // namespace

std::string GenerateRunName(IdGenerator& ids) {
  uint64_t draw = std::strtoull(ids.RandomHex(8).c_str(), nullptr, 16);
  std::string_view adjective = kAdjectives[draw % kAdjectives.size()];
  draw /= kAdjectives.size();
  std::string_view noun = kNouns[draw % kNouns.size()];
  draw /= kNouns.size();
  char number[8];
  std::snprintf(number, sizeof number, "%03u", static_cast<unsigned>(draw % 1000));
  return std::string(adjective) + "-" + std::string(noun) + "-" + number;
}

}  // namespace kiln::tracking
