#include "training/gitignore.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace kiln::training {
namespace {

enum class Wild { kMatch, kNoMatch, kAbortAll, kAbortToStarStar };

bool ClassMatches(std::string_view name, unsigned char c) {
  if (name == "alnum") return std::isalnum(c);
  if (name == "alpha") return std::isalpha(c);
  if (name == "blank") return c == ' ' || c == '\t';
  if (name == "cntrl") return std::iscntrl(c);
  if (name == "digit") return std::isdigit(c);
  if (name == "graph") return std::isgraph(c);
  if (name == "lower") return std::islower(c);
  if (name == "print") return std::isprint(c);
  if (name == "punct") return std::ispunct(c);
  if (name == "space") return std::isspace(c);
  if (name == "upper") return std::isupper(c);
  return std::isxdigit(c);  // caller checked the name is "xdigit"
}

bool KnownClass(std::string_view name) {
  static const char* const kNames[] = {"alnum", "alpha", "blank", "cntrl", "digit", "graph",
                                       "lower", "print", "punct", "space", "upper", "xdigit"};
  return std::find(std::begin(kNames), std::end(kNames), name) != std::end(kNames);
}

// Git's dowild(): p and t are NUL-terminated views into `pattern`/`text`.
Wild DoWild(const char* pattern_start, const char* p, const char* t, bool pathname) {
  for (; *p; ++t, ++p) {
    unsigned char t_ch = static_cast<unsigned char>(*t);
    unsigned char p_ch = static_cast<unsigned char>(*p);
    if (t_ch == '\0' && p_ch != '*') return Wild::kAbortAll;
    switch (p_ch) {
      case '\\':
        p_ch = static_cast<unsigned char>(*++p);  // the next character, literally
        if (t_ch != p_ch) return Wild::kNoMatch;
        break;
      default:
        if (t_ch != p_ch) return Wild::kNoMatch;
        break;
      case '?':
        if (pathname && t_ch == '/') return Wild::kNoMatch;
        break;
      case '*': {
        bool match_slash;
        if (*++p == '*') {
          const char* prev_p = p - 2;
          while (*++p == '*') {
          }
          if ((prev_p < pattern_start || *prev_p == '/') &&
              (*p == '\0' || *p == '/' || (p[0] == '\\' && p[1] == '/'))) {
            // "**/" may match no folder at all: try the rest right here.
            if (p[0] == '/' && DoWild(pattern_start, p + 1, t, pathname) == Wild::kMatch) return Wild::kMatch;
            match_slash = true;
          } else {
            match_slash = false;
          }
        } else {
          match_slash = !pathname;
        }
        if (*p == '\0') {  // trailing star(s)
          if (!match_slash && std::strchr(t, '/') != nullptr) return Wild::kAbortToStarStar;
          return Wild::kMatch;
        }
        if (!match_slash && *p == '/') {
          const char* slash = std::strchr(t, '/');
          if (slash == nullptr) return Wild::kAbortAll;
          t = slash;  // the loop's ++ steps over the slash in both
          break;
        }
        for (; *t != '\0'; ++t) {
          Wild matched = DoWild(pattern_start, p, t, pathname);
          if (matched != Wild::kNoMatch) {
            if (!match_slash || matched != Wild::kAbortToStarStar) return matched;
          } else if (!match_slash && *t == '/') {
            return Wild::kAbortToStarStar;
          }
        }
        return Wild::kAbortAll;
      }
      case '[': {
        p_ch = static_cast<unsigned char>(*++p);
        if (p_ch == '^') p_ch = '!';
        bool negated = p_ch == '!';
        if (negated) p_ch = static_cast<unsigned char>(*++p);
        unsigned char prev_ch = 0;
        bool matched = false;
        do {
          if (p_ch == '\0') return Wild::kAbortAll;
          if (p_ch == '\\') {
            p_ch = static_cast<unsigned char>(*++p);
            if (p_ch == '\0') return Wild::kAbortAll;
            if (t_ch == p_ch) matched = true;
          } else if (p_ch == '-' && prev_ch && p[1] && p[1] != ']') {
            p_ch = static_cast<unsigned char>(*++p);
            if (p_ch == '\\') {
              p_ch = static_cast<unsigned char>(*++p);
              if (p_ch == '\0') return Wild::kAbortAll;
            }
            if (t_ch <= p_ch && t_ch >= prev_ch) matched = true;
            p_ch = 0;  // a range cannot start another range
          } else if (p_ch == '[' && p[1] == ':') {
            const char* name = p += 2;
            while (*p && *p != ']') ++p;
            if (*p == '\0') return Wild::kAbortAll;
            if (p - name - 1 < 0 || p[-1] != ':') {  // no ":]": a plain '['
              p = name - 2;
              p_ch = '[';
              if (t_ch == p_ch) matched = true;
              continue;
            }
            std::string_view class_name(name, static_cast<size_t>(p - name - 1));
            if (!KnownClass(class_name)) return Wild::kAbortAll;
            if (ClassMatches(class_name, t_ch)) matched = true;
            p_ch = 0;
          } else if (t_ch == p_ch) {
            matched = true;
          }
        } while (prev_ch = p_ch, (p_ch = static_cast<unsigned char>(*++p)) != ']');
        if (matched == negated || (pathname && t_ch == '/')) return Wild::kNoMatch;
        break;
      }
    }
  }
  return *t ? Wild::kNoMatch : Wild::kMatch;
}

// Removes trailing spaces that are not escaped with a backslash.
void TrimTrailingSpaces(std::string& line) {
  size_t last_space = std::string::npos;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == ' ') {
      if (last_space == std::string::npos) last_space = i;
    } else if (line[i] == '\\') {
      if (++i == line.size()) return;
      last_space = std::string::npos;
    } else {
      last_space = std::string::npos;
    }
  }
  if (last_space != std::string::npos) line.resize(last_space);
}

std::string_view Basename(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

}  // namespace

bool WildMatch(std::string_view pattern, std::string_view text, bool pathname) {
  std::string p(pattern), t(text);  // NUL-terminated copies
  return DoWild(p.c_str(), p.c_str(), t.c_str(), pathname) == Wild::kMatch;
}

void GitignoreMatcher::AddRules(const std::string& dir, std::string_view text) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 BOM
  std::vector<Rule>& rules = rules_by_dir_[dir];
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string line(text.substr(start, end - start));
    start = end + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    TrimTrailingSpaces(line);
    Rule rule;
    std::string_view pattern = line;
    if (!pattern.empty() && pattern[0] == '!') {
      rule.negated = true;
      pattern.remove_prefix(1);
    }
    if (!pattern.empty() && pattern.back() == '/') {
      rule.directory_only = true;
      pattern.remove_suffix(1);
    }
    if (pattern.empty()) continue;
    rule.match_basename = pattern.find('/') == std::string_view::npos;
    if (pattern[0] == '/') pattern.remove_prefix(1);
    rule.pattern = std::string(pattern);
    rules.push_back(std::move(rule));
  }
}

Status GitignoreMatcher::AddRulesFromFile(const std::string& root, const std::string& dir,
                                          const std::string& file_name) {
  std::string path = root + "/" + (dir.empty() ? "" : dir + "/") + file_name;
  struct stat info;
  if (::stat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) return Status::Ok();
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::string message = "cannot read ignore file '" + path + "': " + std::strerror(errno);
    return errno == EACCES ? PermissionDenied(std::move(message)) : Internal(std::move(message));
  }
  std::stringstream text;
  text << in.rdbuf();
  AddRules(dir, text.str());
  return Status::Ok();
}

bool GitignoreMatcher::IsIgnoredItself(std::string_view path, bool is_dir) const {
  if (Basename(path) == ".git") return true;
  // Folders from the path's own folder up to the root: deeper rules win.
  std::string_view dir = path;
  while (true) {
    size_t slash = dir.rfind('/');
    dir = slash == std::string_view::npos ? std::string_view() : dir.substr(0, slash);
    auto found = rules_by_dir_.find(dir);
    if (found != rules_by_dir_.end()) {
      std::string_view relative = dir.empty() ? path : path.substr(dir.size() + 1);
      const std::vector<Rule>& rules = found->second;
      for (auto rule = rules.rbegin(); rule != rules.rend(); ++rule) {
        if (rule->directory_only && !is_dir) continue;
        bool matched = rule->match_basename ? WildMatch(rule->pattern, Basename(relative), false)
                                            : WildMatch(rule->pattern, relative, true);
        if (matched) return !rule->negated;
      }
    }
    if (dir.empty()) return false;
  }
}

bool GitignoreMatcher::IsIgnored(std::string_view path, bool is_dir) const {
  for (size_t slash = path.find('/'); slash != std::string_view::npos; slash = path.find('/', slash + 1)) {
    if (IsIgnoredItself(path.substr(0, slash), true)) return true;
  }
  return IsIgnoredItself(path, is_dir);
}

size_t GitignoreMatcher::rule_count() const {
  size_t count = 0;
  for (const auto& [dir, rules] : rules_by_dir_) count += rules.size();
  return count;
}

namespace {

struct Walker {
  const std::string& root;
  const std::vector<std::string>& ignore_file_names;
  int max_depth;
  GitignoreMatcher matcher;
  WalkResult result;

  Status Walk(const std::string& dir, int depth) {
    for (const std::string& name : ignore_file_names) {
      KILN_RETURN_IF_ERROR(matcher.AddRulesFromFile(root, dir, name));
    }
    std::string full = dir.empty() ? root : root + "/" + dir;
    DIR* handle = ::opendir(full.c_str());
    if (handle == nullptr) {
      result.unreadable_dirs.push_back(dir.empty() ? "." : dir);
      return Status::Ok();
    }
    std::vector<std::string> names;
    while (dirent* entry = ::readdir(handle)) {
      std::string name = entry->d_name;
      if (name != "." && name != "..") names.push_back(std::move(name));
    }
    ::closedir(handle);
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      std::string path = dir.empty() ? name : dir + "/" + name;
      struct stat info;
      if (::lstat((root + "/" + path).c_str(), &info) != 0) continue;  // vanished meanwhile
      bool is_dir = S_ISDIR(info.st_mode);
      if (matcher.IsIgnoredItself(path, is_dir)) continue;
      if (is_dir) {
        if (max_depth == 0 || depth + 1 < max_depth) KILN_RETURN_IF_ERROR(Walk(path, depth + 1));
      } else if (S_ISREG(info.st_mode) || S_ISLNK(info.st_mode)) {
        WalkedEntry entry;
        entry.path = path;
        entry.kind = S_ISLNK(info.st_mode) ? WalkedEntry::Kind::kSymlink : WalkedEntry::Kind::kFile;
        entry.size = S_ISREG(info.st_mode) ? static_cast<int64_t>(info.st_size) : 0;
        entry.executable = S_ISREG(info.st_mode) && (info.st_mode & S_IXUSR);
        result.entries.push_back(std::move(entry));
      }
    }
    return Status::Ok();
  }
};

}  // namespace

Result<WalkResult> WalkUnignored(const std::string& root, const std::vector<std::string>& ignore_file_names,
                                 int max_depth) {
  struct stat info;
  if (::stat(root.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) {
    return NotFound("folder '" + root + "' does not exist");
  }
  Walker walker{root, ignore_file_names, max_depth, {}, {}};
  KILN_RETURN_IF_ERROR(walker.Walk("", 0));
  std::sort(walker.result.entries.begin(), walker.result.entries.end(),
            [](const WalkedEntry& a, const WalkedEntry& b) { return a.path < b.path; });
  return std::move(walker.result);
}

}  // namespace kiln::training
