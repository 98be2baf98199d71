#pragma once
// The allocator setting a process runs under, recorded with every run (issue 10).
//
// What a layer or a training step costs depends on the allocator. glibc's malloc mmaps every
// block above its mmap threshold (adaptive, 128 KiB up to 32 MiB) afresh and trims the freed
// top of its heap, so the same tensor can come back as fresh pages, each paying a page fault on
// first touch: 10-17 us per page on the paravirtualised guests of JOURNAL.md, ~0.3 us on bare
// metal. A setting that keeps freed memory (kKeepFreedMemoryTunables) removed those faults:
// ResNet-18 at batch 16 went from ~75,000 faults and 1.17-1.34 s to 0-2,100 faults and
// 0.71-0.73 s per iteration (JOURNAL.md 2026-12-06, second session). Measurements taken under
// two settings are two different machines to a model: measure stores the setting of each run
// (run option kMallocRunOption), and fit and evaluate keep them apart (fit/store_samples.h).
#include <functional>
#include <string>

namespace lj {

// The glibc tunables that keep freed memory for reuse: never mmap (every block comes from the
// heap, which reuses it) and never trim the heap's top (64 GiB threshold). glibc refuses an
// mmap_threshold above 32 MiB (HEAP_MAX_SIZE / 2), so mmap_max=0 is the way to stop mmap.
inline constexpr const char* kKeepFreedMemoryTunables =
    "glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736";

// The description of a process with none of the settings DescribeMallocSetting looks at.
inline constexpr const char* kGlibcDefaultMalloc = "glibc default";

// The name of the run option (table run_options) that holds a run's DescribeMallocSetting.
inline constexpr const char* kMallocRunOption = "malloc";

// glibc's older environment variables that change its malloc (read once, at process start).
inline constexpr const char* kGlibcMallocVariables[] = {
    "MALLOC_ARENA_MAX",       "MALLOC_ARENA_TEST", "MALLOC_CHECK_",   "MALLOC_MMAP_MAX_",
    "MALLOC_MMAP_THRESHOLD_", "MALLOC_PERTURB_",   "MALLOC_TOP_PAD_", "MALLOC_TRIM_THRESHOLD_"};

// Looks up an environment variable: nullptr when unset (as std::getenv).
using EnvLookup = std::function<const char*(const char*)>;

// What in `env` changes glibc's malloc, as "; "-joined parts in this order, or
// kGlibcDefaultMalloc when there is nothing:
//   "GLIBC_TUNABLES=<its glibc.malloc.* entries, in their order, ':'-joined>" (other tunables
//     are left out: they do not change the allocator);
//   "<NAME>=<value>" for each of kGlibcMallocVariables that is set;
//   "LD_PRELOAD=<its entries whose file name contains 'malloc'>" (jemalloc, tcmalloc, mimalloc).
// E.g. "GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736".
std::string DescribeMallocSetting(const EnvLookup& env);
// The setting of this process (std::getenv).
std::string DescribeMallocSetting();

// The recorded description that a user's name for a setting stands for (fit and evaluate
// --malloc): "default" -> kGlibcDefaultMalloc, "keep-freed" -> the description of
// GLIBC_TUNABLES=kKeepFreedMemoryTunables; any other text is taken as a description, as given.
std::string CanonicalMallocSetting(const std::string& name);

// The GLIBC_TUNABLES value that gives `choice` ("keep-freed" or "default") from `current`
// (nullptr when unset): the tunables that are not glibc.malloc.* kept in their order, the
// glibc.malloc.* ones replaced by kKeepFreedMemoryTunables ("keep-freed") or dropped
// ("default"). "" when nothing is left (unset the variable). Throws ConfigError for another
// choice.
std::string TunablesFor(const std::string& choice, const char* current);

}  // namespace lj
