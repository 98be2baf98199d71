// Tests of predict's fresh-memory note (predict/fresh_memory_note.h): said with the host's cost
// and the glibc setting where a page fault is expensive, never where it is cheap or unknown.
#include "predict/fresh_memory_note.h"

#include <gtest/gtest.h>

#include <string>

namespace lj {
namespace {

TEST(FreshMemoryNoteTest, SaidOnlyWhereAFreshPageIsExpensive) {
  ModelBundle b;
  b.hostname = "vm";
  EXPECT_FALSE(FreshMemoryNote(b));  // no probe
  b.first_touch_s_per_page = 3e-7;   // bare metal
  EXPECT_FALSE(FreshMemoryNote(b));
  b.first_touch_s_per_page = kExpensiveFirstTouchS * 0.99;
  EXPECT_FALSE(FreshMemoryNote(b));
  b.first_touch_s_per_page = 1.15e-5;
  const auto note = FreshMemoryNote(b);
  ASSERT_TRUE(note);
  EXPECT_NE(note->find("on vm the first touch of a page costs 11.5 us"), std::string::npos)
      << *note;
  EXPECT_NE(note->find(std::string("GLIBC_TUNABLES=") + kKeepFreedMemoryTunables),
            std::string::npos)
      << *note;
}

// Models measured under another malloc setting say so whatever the fault cost, and name the
// cost glibc's default would add where it is known; glibc's default itself changes nothing.
TEST(FreshMemoryNoteTest, NamesTheMallocSettingOfTheModels) {
  ModelBundle b;
  b.hostname = "vm";
  b.malloc_setting = kGlibcDefaultMalloc;
  EXPECT_FALSE(FreshMemoryNote(b));
  b.malloc_setting = CanonicalMallocSetting("keep-freed");
  auto note = FreshMemoryNote(b);
  ASSERT_TRUE(note);
  EXPECT_NE(note->find("measured under '" + b.malloc_setting + "'"), std::string::npos) << *note;
  EXPECT_EQ(note->find(" us "), std::string::npos) << *note;  // no cost known
  b.first_touch_s_per_page = 3e-7;
  note = FreshMemoryNote(b);
  ASSERT_TRUE(note);
  EXPECT_NE(note->find("each fresh page a step faults in adds 0.3 us on vm"), std::string::npos)
      << *note;
}

// Compute-only models (fit --subtract-fault-time) say that the totals leave out fresh pages,
// before anything else.
TEST(FreshMemoryNoteTest, SaysWhenTheModelsAreComputeOnly) {
  ModelBundle b;
  b.hostname = "vm";
  b.first_touch_s_per_page = 1.15e-5;
  b.fault_time_removed_s_per_fault = 8e-6;
  const auto note = FreshMemoryNote(b);
  ASSERT_TRUE(note);
  EXPECT_EQ(note->rfind("compute only: ", 0), 0u) << *note;
  EXPECT_NE(note->find("(8 us per minor fault, fit --subtract-fault-time)"), std::string::npos)
      << *note;
  EXPECT_NE(note->find("fresh pages a training step faults in on vm"), std::string::npos) << *note;
}

}  // namespace
}  // namespace lj
