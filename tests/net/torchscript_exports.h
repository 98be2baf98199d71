#pragma once
// TorchScript files for the predict tests, exported with tools/export_torchscript.py by a
// python3 that has torchvision (LJ_PYTHON, /usr/bin/python3 or python3 on PATH); without one
// the tests are skipped with the reason printed.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace lj::test {

namespace fs = std::filesystem;

inline std::string SourceDir() {
  const char* dir = std::getenv("LJ_SOURCE_DIR");
  return dir ? dir : ".";
}

// Exports models on first use into a per-process temporary directory (ctest runs each test in
// its own process, so each exports only what it needs).
class TorchScriptExports {
 public:
  static TorchScriptExports& Get() {
    static TorchScriptExports exports;
    return exports;
  }
  // The exported file; "" when python is missing (skip_reason) or the export failed (error).
  std::string Path(const std::string& method, const std::string& name) {
    if (!skip_reason.empty()) return "";
    const fs::path out = dir_ / method;
    const fs::path file = out / (name + ".pt");
    if (fs::exists(file)) return file.string();
    const std::string command = python_ + " " + SourceDir() + "/tools/export_torchscript.py " +
                                out.string() + " --models " + name + " --method " + method +
                                " >/dev/null";
    if (std::system(command.c_str()) != 0) {
      error = "export failed: " + command;
      return "";
    }
    return file.string();
  }
  // Runs `code` with the python that has torchvision; false on failure (sets error).
  bool RunPython(const std::string& code) {
    if (!skip_reason.empty()) return false;
    fs::create_directories(dir_);
    const fs::path script = dir_ / "script.py";
    std::ofstream(script) << code;
    const std::string command = python_ + " " + script.string() + " >/dev/null";
    if (std::system(command.c_str()) != 0) {
      error = "failed: " + command;
      return false;
    }
    return true;
  }
  fs::path dir() const { return dir_; }
  // Set when no python3 with torchvision was found.
  std::string skip_reason;
  // Set when python3-torchvision is there but the export failed.
  std::string error;

 private:
  TorchScriptExports() {
    std::vector<std::string> candidates;
    if (const char* env = std::getenv("LJ_PYTHON")) candidates.push_back(env);
    candidates.push_back("/usr/bin/python3");
    candidates.push_back("python3");
    for (const std::string& c : candidates) {
      if (std::system((c + " -c 'import torchvision' >/dev/null 2>&1").c_str()) == 0) {
        python_ = c;
        break;
      }
    }
    if (python_.empty()) {
      skip_reason = "no python3 with torchvision (install python3-torchvision or set LJ_PYTHON)";
      return;
    }
    dir_ = fs::temp_directory_path() /
           ("lj_torchscript_test_" + std::to_string(static_cast<long>(::getpid())));
  }
  ~TorchScriptExports() {
    std::error_code ignored;
    if (!dir_.empty()) fs::remove_all(dir_, ignored);
  }
  std::string python_;
  fs::path dir_;
};

// Sets `var` to the exported file; skips the test without python3-torchvision and fails it
// when the export fails.
#define EXPORTED_OR_SKIP(var, method, name)                                         \
  const std::string var = ::lj::test::TorchScriptExports::Get().Path(method, name); \
  if (var.empty() && !::lj::test::TorchScriptExports::Get().skip_reason.empty()) {  \
    GTEST_SKIP() << ::lj::test::TorchScriptExports::Get().skip_reason;              \
  }                                                                                 \
  ASSERT_FALSE(var.empty()) << ::lj::test::TorchScriptExports::Get().error

}  // namespace lj::test
