// Tests of core/malloc_setting.h: what a run records of its allocator, the names fit and
// evaluate accept for it, and the GLIBC_TUNABLES that measure --malloc sets.
#include "core/malloc_setting.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "core/errors.h"

namespace lj {
namespace {

// An environment of `vars` only.
EnvLookup Env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> const char* {
    const auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

TEST(MallocSettingTest, NothingSetIsGlibcsDefault) {
  EXPECT_EQ(DescribeMallocSetting(Env({})), kGlibcDefaultMalloc);
  // Tunables of other parts of glibc, and preloads that are not allocators, change nothing.
  EXPECT_EQ(DescribeMallocSetting(Env({{"GLIBC_TUNABLES", "glibc.cpu.hwcaps=-AVX2"},
                                       {"LD_PRELOAD", "/usr/lib/libfaketime.so"}})),
            kGlibcDefaultMalloc);
}

TEST(MallocSettingTest, RecordsTheMallocTunablesOldVariablesAndPreloadedAllocators) {
  EXPECT_EQ(DescribeMallocSetting(Env({{"GLIBC_TUNABLES", kKeepFreedMemoryTunables}})),
            std::string("GLIBC_TUNABLES=") + kKeepFreedMemoryTunables);
  EXPECT_EQ(DescribeMallocSetting(
                Env({{"GLIBC_TUNABLES", "glibc.cpu.x=1:glibc.malloc.arena_max=2:glibc.rtld.y=3"},
                     {"MALLOC_TRIM_THRESHOLD_", "-1"},
                     {"MALLOC_ARENA_MAX", "1"},
                     {"LD_PRELOAD", "libfaketime.so /usr/lib/x86_64-linux-gnu/libjemalloc.so.2"}})),
            "GLIBC_TUNABLES=glibc.malloc.arena_max=2; MALLOC_ARENA_MAX=1; "
            "MALLOC_TRIM_THRESHOLD_=-1; LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2");
  // Colon-separated preloads, and an allocator's directory named "malloc" is not its file.
  EXPECT_EQ(DescribeMallocSetting(Env({{"LD_PRELOAD", "/opt/malloc/libx.so:libtcmalloc.so.4"}})),
            "LD_PRELOAD=libtcmalloc.so.4");
}

TEST(MallocSettingTest, NamesStandForTheRecordedDescriptions) {
  EXPECT_EQ(CanonicalMallocSetting("default"), kGlibcDefaultMalloc);
  EXPECT_EQ(CanonicalMallocSetting("keep-freed"),
            DescribeMallocSetting(Env({{"GLIBC_TUNABLES", kKeepFreedMemoryTunables}})));
  EXPECT_EQ(CanonicalMallocSetting("MALLOC_ARENA_MAX=1"), "MALLOC_ARENA_MAX=1");
}

TEST(MallocSettingTest, TunablesForKeepsOtherTunablesAndReplacesMallocOnes) {
  EXPECT_EQ(TunablesFor("keep-freed", nullptr), kKeepFreedMemoryTunables);
  EXPECT_EQ(TunablesFor("keep-freed", "glibc.cpu.x=1:glibc.malloc.mmap_max=5"),
            std::string("glibc.cpu.x=1:") + kKeepFreedMemoryTunables);
  EXPECT_EQ(TunablesFor("default", kKeepFreedMemoryTunables), "");
  EXPECT_EQ(TunablesFor("default", "glibc.malloc.arena_max=2:glibc.cpu.x=1"), "glibc.cpu.x=1");
  EXPECT_EQ(TunablesFor("default", nullptr), "");
  // What measure records after setting it is what fit --malloc keep-freed selects.
  EXPECT_EQ(DescribeMallocSetting(Env({{"GLIBC_TUNABLES", TunablesFor("keep-freed", nullptr)}})),
            CanonicalMallocSetting("keep-freed"));
  EXPECT_THROW(TunablesFor("jemalloc", nullptr), ConfigError);
}

}  // namespace
}  // namespace lj
