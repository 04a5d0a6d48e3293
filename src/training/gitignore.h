#pragma once
// A matcher for git's ignore rules (gitignore(5)), used to snapshot folders
// that are not git work trees and to read .kilnignore files, plus a walker
// that lists a folder's files the way `git ls-files --others
// --exclude-standard` would.
//
// Supported: comments, blank lines, trailing spaces (unless escaped), "\#"
// and "\!", negation "!", trailing "/" (folders only), anchoring by a leading
// or middle "/", "*", "?", "[...]" (ranges, "!"/"^" negation, [:class:]),
// "**/", "/**", "/**/", and ignore files in subfolders applying relative to
// their folder. Precedence as git's: within one folder the last matching rule
// wins; rules of a deeper folder win over shallower ones; a path inside an
// ignored folder is ignored whatever later rules say. ".git" is always
// ignored. Matching is case-sensitive (core.ignoreCase=false).
//
// Thread safety: const methods may be called concurrently; adding rules may not.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace kiln::training {

// Git's wildmatch: `pattern` against `text`. With `pathname`, "*", "?" and
// "[...]" never match '/', and "**" between slashes matches across folders.
bool WildMatch(std::string_view pattern, std::string_view text, bool pathname);

class GitignoreMatcher {
 public:
  // Adds the rules of an ignore file that lives in folder `dir` (relative to
  // the root, '/'-separated, "" for the root). For one folder, rules added
  // later win over rules added earlier (so add .gitignore, then .kilnignore).
  void AddRules(const std::string& dir, std::string_view text);
  // Adds `<root>/<dir>/<file_name>` when it exists (a missing file is fine).
  // Errors: kPermissionDenied / kInternal naming the file.
  Status AddRulesFromFile(const std::string& root, const std::string& dir, const std::string& file_name);

  // Whether `path` (relative to the root, '/'-separated; `is_dir` for a real
  // folder, not a symlink to one) is ignored by its own rules or because a
  // parent folder is.
  bool IsIgnored(std::string_view path, bool is_dir) const;
  // Only `path`'s own rules, for callers that already know its parents are
  // not ignored (a walker).
  bool IsIgnoredItself(std::string_view path, bool is_dir) const;

  size_t rule_count() const;

 private:
  struct Rule {
    std::string pattern;  // without "!", leading "/" and trailing "/"
    bool negated = false;
    bool directory_only = false;
    bool match_basename = false;  // no "/" in the pattern: matches the last segment at any depth
  };
  std::map<std::string, std::vector<Rule>, std::less<>> rules_by_dir_;
};

// One entry found by WalkUnignored.
struct WalkedEntry {
  enum class Kind { kFile, kSymlink };
  std::string path;  // relative to the root, '/'-separated
  Kind kind = Kind::kFile;
  int64_t size = 0;         // bytes of a file; 0 for a symlink
  bool executable = false;  // owner-executable file (git's rule for mode 100755)
};

struct WalkResult {
  std::vector<WalkedEntry> entries;          // sorted by path
  std::vector<std::string> unreadable_dirs;  // folders that could not be listed
};

// Lists the regular files and symlinks under `root` that are not ignored,
// reading `ignore_file_names` (e.g. {".gitignore", ".kilnignore"}, in that
// order of precedence) in each folder as it is entered, never following
// symlinks and skipping other file types (FIFOs, sockets, devices), like git.
// `max_depth` limits how deep it goes: 1 lists only the root's own entries, 2
// also those of its subfolders; 0 means no limit. Errors: kNotFound when
// `root` is not a folder; errors reading an ignore file.
Result<WalkResult> WalkUnignored(const std::string& root, const std::vector<std::string>& ignore_file_names,
                                 int max_depth = 0);

}  // namespace kiln::training
