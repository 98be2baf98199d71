#pragma once
// Helpers for core tests: temporary JSON files for bad inputs, and the repository root.
#include <string>

namespace lj::test {

// Repository root: $LJ_SOURCE_DIR (set by lj_add_gtest), else the working directory.
std::string SourceDir();

// A file with the given content in a fresh temporary directory, removed on destruction.
class TempFile {
 public:
  explicit TempFile(const std::string& content, const std::string& name = "config.json");
  ~TempFile();
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string dir_;
  std::string path_;
};

}  // namespace lj::test
