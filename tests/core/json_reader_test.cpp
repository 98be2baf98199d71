#include "core/json_reader.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "core/bounds.h"
#include "core/errors.h"
#include "tests/support/test_files.h"

namespace lj {
namespace {

std::string Nested(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

std::string ParseError(const std::string& text) {
  try {
    ParseJsonText(text, "in.json");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(JsonReaderTest, NestingUpTo64LevelsParses) {
  EXPECT_TRUE(ParseJsonText(Nested(64), "in.json").is_array());
  EXPECT_TRUE(ParseJsonText("{\"a\":" + Nested(63) + "}", "in.json").is_object());
}

TEST(JsonReaderTest, DeeperNestingIsAClearErrorNotAStackOverflow) {
  EXPECT_EQ(ParseError(Nested(65)), "in.json: invalid JSON: nested deeper than 64 levels");
  // A million levels: without the limit, recursive readers and dump() overflow the stack.
  EXPECT_EQ(ParseError(std::string(1000000, '[')),
            "in.json: invalid JSON: nested deeper than 64 levels");
  std::string objects;
  for (int i = 0; i < 100000; ++i) objects += "{\"a\":";
  EXPECT_EQ(ParseError(objects), "in.json: invalid JSON: nested deeper than 64 levels");
}

TEST(JsonReaderTest, SyntaxErrorsKeepTheParserMessage) {
  const std::string what = ParseError("{\"a\": ");
  EXPECT_EQ(what.rfind("in.json: invalid JSON: ", 0), 0u) << what;
  EXPECT_NE(what.find("line 1"), std::string::npos) << what;
}

// A valid bounds file whose _comment nests deeply used to crash in spec.dump().
TEST(JsonReaderTest, ABoundsFileWithADeepCommentIsRefusedClearly) {
  test::TempDir dir;
  const std::string path = dir.File("conv.json");
  std::ofstream(path) << "{\"_comment\": " << Nested(100000) << ", \"parameters\": {}}";
  try {
    LoadBounds(path);
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), path + ": invalid JSON: nested deeper than 64 levels");
  }
}

TEST(JsonReaderTest, DescribeQuotesSmallValuesAsJson) {
  const nlohmann::json v = {{"b", {1, 2.5, "x"}}, {"a", nullptr}, {"c", true}};
  EXPECT_EQ(Describe(v), v.dump());
  EXPECT_EQ(Describe(nlohmann::json("3")), "\"3\"");
  EXPECT_EQ(Describe(nlohmann::json(-7)), "-7");
}

TEST(JsonReaderTest, DescribeIsBoundedForHugeAndDeepValues) {
  const std::string text = Describe(nlohmann::json(std::string(10000000, 'y')));
  EXPECT_EQ(text.size(), 80u);
  EXPECT_EQ(text.substr(0, 2), "\"y");
  EXPECT_EQ(text.substr(77), "...");

  nlohmann::json deep = nlohmann::json::array();
  for (int i = 0; i < 100000; ++i) deep = nlohmann::json::array({std::move(deep)});
  // Eight levels shown, the ninth as [...].
  EXPECT_EQ(Describe(deep), std::string(9, '[') + "..." + std::string(9, ']'));

  nlohmann::json wide = nlohmann::json::array();
  for (int i = 0; i < 1000000; ++i) wide.push_back(i);
  const std::string w = Describe(wide);
  EXPECT_EQ(w.size(), 80u);
  EXPECT_EQ(w.substr(0, 8), "[0,1,2,3");
}

}  // namespace
}  // namespace lj
