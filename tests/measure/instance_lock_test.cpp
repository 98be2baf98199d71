// measure/instance_lock.h: the host-wide lock refuses files that are not its own, so that a
// root `measure` never truncates what a symbolic link or a hard link points to (issue 11).
#include "measure/instance_lock.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace lj {
namespace {

namespace fs = std::filesystem;

class InstanceLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("lj_lock_test_" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  static std::string Read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  static std::string ErrorOf(const std::string& path) {
    try {
      InstanceLock lock(path);
    } catch (const std::exception& e) {
      return e.what();
    }
    return "";
  }
  fs::path dir_;
};

TEST_F(InstanceLockTest, TakesAFreshLockAndWritesItsPid) {
  {
    InstanceLock lock(Path("a.lock"));
    EXPECT_EQ(Read(Path("a.lock")), std::to_string(getpid()) + "\n");
    // A second lock in the same process is refused with the holder's pid.
    const std::string err = ErrorOf(Path("a.lock"));
    EXPECT_NE(err.find("pid " + std::to_string(getpid())), std::string::npos) << err;
  }
  EXPECT_EQ(ErrorOf(Path("a.lock")), "") << "released when the lock object is destroyed";
}

TEST_F(InstanceLockTest, RefusesASymlinkAndLeavesItsTargetUntouched) {
  const std::string target = Path("precious");
  std::ofstream(target) << "do not truncate me\n";
  fs::create_symlink(target, Path("link.lock"));
  const std::string err = ErrorOf(Path("link.lock"));
  EXPECT_NE(err.find("symbolic link"), std::string::npos) << err;
  EXPECT_EQ(Read(target), "do not truncate me\n");
}

TEST_F(InstanceLockTest, RefusesAHardLinkAFifoAndAnotherUsersFile) {
  const std::string target = Path("precious");
  std::ofstream(target) << "keep\n";
  fs::create_hard_link(target, Path("hard.lock"));
  EXPECT_NE(ErrorOf(Path("hard.lock")).find("2 hard links"), std::string::npos);
  EXPECT_EQ(Read(target), "keep\n");

  ASSERT_EQ(mkfifo(Path("fifo.lock").c_str(), 0644), 0);
  EXPECT_NE(ErrorOf(Path("fifo.lock")).find("not a regular file"), std::string::npos);

  if (geteuid() != 0) GTEST_SKIP() << "changing a file's owner needs root";
  std::ofstream(Path("other.lock")) << "4242\n";
  ASSERT_EQ(chown(Path("other.lock").c_str(), 65534, 65534), 0);
  const std::string err = ErrorOf(Path("other.lock"));
  EXPECT_NE(err.find("belongs to uid 65534"), std::string::npos) << err;
  EXPECT_EQ(Read(Path("other.lock")), "4242\n");
}

}  // namespace
}  // namespace lj
