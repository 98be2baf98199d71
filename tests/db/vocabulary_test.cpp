// db owns the shared words (db/vocabulary.h); the schema's CHECK constraints list the same
// words, and a word added to one side only fails here.
#include "db/vocabulary.h"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "core/errors.h"
#include "tests/support/test_files.h"

namespace lj {
namespace {

std::string Schema() {
  std::ifstream in(test::SourceDir() + "/db/schema.sql");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The quoted words of "CHECK (<column> IN ('a', 'b', ...))" in the schema.
std::set<std::string> CheckedWords(const std::string& column) {
  const std::string schema = Schema();
  const std::regex check("CHECK \\(" + column + " IN \\(([^)]*)\\)\\)");
  std::smatch m;
  if (!std::regex_search(schema, m, check)) return {};
  std::set<std::string> words;
  const std::regex quoted("'([^']*)'");
  const std::string list = m[1];
  for (std::sregex_iterator it(list.begin(), list.end(), quoted), end; it != end; ++it) {
    words.insert((*it)[1]);
  }
  return words;
}

template <typename E>
std::set<std::string> Words(const std::vector<E>& values) {
  std::set<std::string> out;
  for (E v : values) out.insert(std::string(ToString(v)));
  return out;
}

TEST(VocabularyTest, SchemaChecksListTheEnumsWords) {
  EXPECT_EQ(CheckedWords("status"), Words(AllRunStatuses()));
  EXPECT_EQ(CheckedWords("phase"), Words(AllNetworkPhases()));
  EXPECT_EQ(CheckedWords("pass"), (std::set<std::string>{"forward", "backward"}));
  EXPECT_EQ(CheckedWords("kind"), Words(AllRunKinds()));  // since schema version 2
}

TEST(VocabularyTest, WordsRoundTripAndUnknownWordsNameTheChoices) {
  for (RunKind k : AllRunKinds()) EXPECT_EQ(ParseRunKind(ToString(k)), k);
  for (RunStatus s : AllRunStatuses()) EXPECT_EQ(ParseRunStatus(ToString(s)), s);
  for (NetworkPhase p : AllNetworkPhases()) EXPECT_EQ(ParseNetworkPhase(ToString(p)), p);
  EXPECT_EQ(ToString(RunKind::kNetLayers), "net-layers");
  try {
    ParseRunStatus("done");
    FAIL() << "no StoreError";
  } catch (const StoreError& e) {
    EXPECT_STREQ(e.what(),
                 "unknown run status 'done' (expected running, interrupted, finished or failed)");
  }
  EXPECT_THROW(ParseNetworkPhase("Forward"), StoreError);
  EXPECT_THROW(ParseRunKind(""), StoreError);
}

}  // namespace
}  // namespace lj
