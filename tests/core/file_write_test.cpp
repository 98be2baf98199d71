#include "core/file_write.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/errors.h"
#include "tests/support/test_files.h"

namespace lj {
namespace {

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(FileWriteTest, ReplacesTheFileWholeAndLeavesNoTemporaryFile) {
  test::TempDir dir;
  const std::string path = dir.File("sub/bundle.json");  // parent made as needed
  WriteTextFileAtomically(path, "old\n");
  EXPECT_EQ(Read(path), "old\n");
  WriteTextFileAtomically(path, "new\n");
  EXPECT_EQ(Read(path), "new\n");
  int entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.File("sub"))) {
    ++entries;
  }
  EXPECT_EQ(entries, 1);
}

TEST(FileWriteTest, AFailedWriteLeavesTheOldFileAndNamesIt) {
  test::TempDir dir;
  const std::string path = dir.File("bundle.json");
  WriteTextFileAtomically(path, "old\n");
  // The temporary file cannot be created in a read-only directory (root bypasses the mode, so
  // replace the target by a directory instead: rename onto a non-empty directory fails).
  std::filesystem::remove(path);
  std::filesystem::create_directories(path + "/inside");
  try {
    WriteTextFileAtomically(path, "new\n");
    FAIL() << "no ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path + ": cannot write: ", 0), 0u) << e.what();
  }
  EXPECT_TRUE(std::filesystem::is_directory(path + "/inside"));
  int entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) {
    ++entries;
  }
  EXPECT_EQ(entries, 1);  // the temporary file was removed
}

}  // namespace
}  // namespace lj
