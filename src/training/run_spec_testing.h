#pragma once
// Test helpers for run specs: a scratch folder holding the data files a
// spec names, removed afterwards. Tests only.

#include <filesystem>
#include <fstream>
#include <string>

#include "common/clock.h"

namespace kiln::training::testing {

// A fresh folder with data/train.csv, data/entities.csv and src/, removed
// when it goes out of scope. The spec's folder is `path()`.
class SpecFolder {
 public:
  SpecFolder()
      : path_(std::filesystem::temp_directory_path() / ("kiln-run-spec-" + IdGenerator().RandomHex(8))) {
    std::filesystem::create_directories(path_ / "data");
    std::filesystem::create_directories(path_ / "src");
    Write("data/train.csv", "x,delayed\n1,0\n");
    Write("data/entities.csv", "flight_id,origin,event_timestamp,delay\n1,ORD,2001-01-05T00:00:00Z,20\n");
  }
  ~SpecFolder() { std::filesystem::remove_all(path_); }
  SpecFolder(const SpecFolder&) = delete;
  SpecFolder& operator=(const SpecFolder&) = delete;

  std::string Write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name, std::ios::binary) << text;
    return (path_ / name).string();
  }
  // An absolute path inside the folder.
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace kiln::training::testing
