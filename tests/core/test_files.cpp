#include "tests/core/test_files.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <vector>

namespace lj::test {

std::string SourceDir() {
  const char* dir = std::getenv("LJ_SOURCE_DIR");
  return dir && *dir ? dir : ".";
}

TempFile::TempFile(const std::string& content, const std::string& name) {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/lj_core_test_XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed for " + pattern);
  dir_ = buf.data();
  path_ = dir_ + "/" + name;
  std::ofstream out(path_);
  out << content;
  if (!out) throw std::runtime_error("cannot write " + path_);
}

TempFile::~TempFile() {
  std::remove(path_.c_str());
  rmdir(dir_.c_str());
}

}  // namespace lj::test
