#include "core/file_read.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "core/errors.h"
#include "core/physical_memory.h"
#include "tests/support/test_files.h"

namespace lj {
namespace {

std::string ErrorOf(const std::string& path, int64_t max_bytes = kMaxInputFileBytes) {
  try {
    ReadTextFile(path, max_bytes);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

void Write(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

TEST(FileReadTest, ReadsARegularFileWholeIncludingNulBytes) {
  test::TempDir dir;
  const std::string content = std::string("a\0b\n", 4) + std::string(200000, 'x');
  Write(dir.File("f.json"), content);
  EXPECT_EQ(ReadTextFile(dir.File("f.json")), content);
  EXPECT_EQ(CheckInputFile(dir.File("f.json")), static_cast<int64_t>(content.size()));
}

TEST(FileReadTest, FollowsASymlinkToARegularFile) {
  test::TempDir dir;
  Write(dir.File("real.json"), "{}");
  std::filesystem::create_symlink(dir.File("real.json"), dir.File("link.json"));
  EXPECT_EQ(ReadTextFile(dir.File("link.json")), "{}");
}

TEST(FileReadTest, AMissingFileNamesThePathAndTheCause) {
  test::TempDir dir;
  EXPECT_EQ(ErrorOf(dir.File("none.json")),
            dir.File("none.json") + ": cannot open file (No such file or directory)");
}

// Without O_NONBLOCK and the type check, opening a FIFO for reading waits for a writer: this
// test would hang until ctest's timeout.
TEST(FileReadTest, RefusesAFifoWithoutBlocking) {
  test::TempDir dir;
  const std::string fifo = dir.File("bounds.json");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(ErrorOf(fifo), fifo + ": not a regular file (FIFO)");
  EXPECT_THROW(CheckInputFile(fifo), ConfigError);
}

TEST(FileReadTest, RefusesDevicesAndDirectories) {
  EXPECT_EQ(ErrorOf("/dev/zero"), "/dev/zero: not a regular file (character device)");
  test::TempDir dir;
  EXPECT_EQ(ErrorOf(dir.path()), dir.path() + ": not a regular file (directory)");
}

TEST(FileReadTest, RefusesAFileOverTheLimitAndAcceptsOneAtIt) {
  test::TempDir dir;
  Write(dir.File("f"), std::string(1000, 'x'));
  EXPECT_EQ(ReadTextFile(dir.File("f"), 1000).size(), 1000u);
  EXPECT_EQ(ErrorOf(dir.File("f"), 999),
            dir.File("f") + ": file too large (1000 bytes, the limit is 999)");
}

TEST(FileReadTest, TheDefaultLimitIs64MiB) {
  test::TempDir dir;
  const std::string path = dir.File("huge.json");
  Write(path, "");
  std::filesystem::resize_file(path, kMaxInputFileBytes + 1);  // sparse: no 64 MiB written
  EXPECT_EQ(ErrorOf(path), path + ": file too large (67108865 bytes, the limit is 67108864)");
  std::filesystem::resize_file(path, kMaxInputFileBytes);
  EXPECT_EQ(CheckInputFile(path), kMaxInputFileBytes);
}

TEST(FileReadTest, TheTorchScriptLimitIsAQuarterOfTheMemory) {
  EXPECT_EQ(TorchScriptByteLimit(int64_t{24} << 30), int64_t{6} << 30);
  EXPECT_EQ(TorchScriptByteLimit(int64_t{4} << 30), int64_t{1} << 30);
  EXPECT_EQ(TorchScriptByteLimit(std::nullopt), kTorchScriptBytesWithoutMemorySize);
  EXPECT_EQ(TorchScriptByteLimit(0), kTorchScriptBytesWithoutMemorySize);
  const std::optional<int64_t> memory_bytes = PhysicalMemoryBytes();
  ASSERT_TRUE(memory_bytes.has_value());
  EXPECT_EQ(MaxTorchScriptBytes(), *memory_bytes / 4);
}

}  // namespace
}  // namespace lj
