#include "core/malloc_setting.h"

#include <cstdlib>
#include <sstream>
#include <string_view>
#include <vector>

#include "core/errors.h"

namespace lj {
namespace {

std::vector<std::string> Split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, separator)) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

std::string Join(const std::vector<std::string>& parts, const std::string& separator) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : separator) + p;
  return out;
}

bool IsMallocTunable(const std::string& entry) { return entry.rfind("glibc.malloc.", 0) == 0; }

}  // namespace

std::string DescribeMallocSetting(const EnvLookup& env) {
  std::vector<std::string> parts;
  if (const char* tunables = env("GLIBC_TUNABLES")) {
    std::vector<std::string> malloc_entries;
    for (const std::string& entry : Split(tunables, ':')) {
      if (IsMallocTunable(entry)) malloc_entries.push_back(entry);
    }
    if (!malloc_entries.empty()) parts.push_back("GLIBC_TUNABLES=" + Join(malloc_entries, ":"));
  }
  for (const char* name : kGlibcMallocVariables) {
    if (const char* value = env(name)) parts.push_back(std::string(name) + "=" + value);
  }
  if (const char* preload = env("LD_PRELOAD")) {
    std::vector<std::string> allocators;
    // ld.so separates LD_PRELOAD entries by spaces or colons.
    for (const std::string& chunk : Split(preload, ' ')) {
      for (const std::string& entry : Split(chunk, ':')) {
        const std::string file = entry.substr(entry.find_last_of('/') + 1);
        if (file.find("malloc") != std::string::npos) allocators.push_back(entry);
      }
    }
    if (!allocators.empty()) parts.push_back("LD_PRELOAD=" + Join(allocators, ":"));
  }
  return parts.empty() ? kGlibcDefaultMalloc : Join(parts, "; ");
}

std::string DescribeMallocSetting() {
  return DescribeMallocSetting([](const char* name) { return std::getenv(name); });
}

std::string CanonicalMallocSetting(const std::string& name) {
  if (name == "default") return kGlibcDefaultMalloc;
  if (name == "keep-freed") {  // what a run under measure --malloc keep-freed records
    return DescribeMallocSetting([](const char* variable) {
      return std::string_view(variable) == "GLIBC_TUNABLES" ? kKeepFreedMemoryTunables : nullptr;
    });
  }
  return name;
}

std::string TunablesFor(const std::string& choice, const char* current) {
  if (choice != "keep-freed" && choice != "default") {
    throw ConfigError("--malloc: expected keep-freed or default, got '" + choice + "'");
  }
  std::vector<std::string> kept;
  if (current != nullptr) {
    for (const std::string& entry : Split(current, ':')) {
      if (!IsMallocTunable(entry)) kept.push_back(entry);
    }
  }
  if (choice == "keep-freed") kept.push_back(kKeepFreedMemoryTunables);
  return Join(kept, ":");
}

}  // namespace lj
