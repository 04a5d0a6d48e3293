#pragma once
// Helpers shared by the Slurm executor's tests: a temporary folder removed
// afterwards, file reading/writing, and fake Slurm tools (shell scripts).
// Test-only; not thread-safe.

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace kiln::training::slurm_testing {

namespace fs = std::filesystem;

// A fresh folder under /tmp, deleted with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/kiln-slurm-test.XXXXXX";
    const char* made = ::mkdtemp(pattern);
    EXPECT_NE(made, nullptr);
    path_ = made == nullptr ? fs::path("/tmp/kiln-slurm-test.failed") : fs::path(made);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

inline std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

inline void WriteFile(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// Writes an executable /bin/sh script with `body`.
inline std::string WriteScript(const fs::path& path, const std::string& body) {
  WriteFile(path, "#!/bin/sh\n" + body);
  ::chmod(path.c_str(), 0755);
  return path.string();
}

}  // namespace kiln::training::slurm_testing
