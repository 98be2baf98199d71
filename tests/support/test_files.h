#pragma once
// Files for tests: the repository root, fresh temporary directories and files, removed on
// destruction. Shared by every test executable (lj_test_files, linked by lj_add_gtest).
#include <string>

namespace lj::test {

// Repository root: $LJ_SOURCE_DIR (set by lj_add_gtest), else the working directory.
std::string SourceDir();

// A fresh directory $TMPDIR/<prefix>XXXXXX (mkdtemp, mode 0700), not removed. Throws
// std::runtime_error when it cannot be made.
std::string MakeTempDir(const std::string& prefix = "lj_test_");

// A fresh temporary directory, removed with everything in it on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "lj_test_");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  // path() + "/" + name (the file need not exist).
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Writes `text` to `path`, creating its parent directories (fake /proc and /sys trees).
// Throws std::runtime_error when it cannot.
void WriteCreatingDirs(const std::string& path, const std::string& text);

// A file with the given content in a fresh temporary directory, removed on destruction.
class TempFile {
 public:
  explicit TempFile(const std::string& content, const std::string& name = "config.json");
  const std::string& path() const { return path_; }

 private:
  TempDir dir_;
  std::string path_;
};

}  // namespace lj::test
