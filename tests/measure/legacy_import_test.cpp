#include "measure/legacy_import.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/test_files.h"

namespace lj {
namespace {

namespace fs = std::filesystem;

// TempDir::Path(name): the directory itself, or a file in it.
class TempDir : public test::TempDir {
 public:
  std::string Path(const std::string& name = "") const {
    return name.empty() ? path() : File(name);
  }
};

// The prototype's data, or "" when it is not there.
std::string RealDataDir() {
  const char* source = std::getenv("LJ_SOURCE_DIR");
#ifdef LJ_SOURCE_DIR_FALLBACK
  if (source == nullptr) source = LJ_SOURCE_DIR_FALLBACK;
#endif
  if (source == nullptr) return "";
  const fs::path dir = fs::path(source) / ".." / "shared" / "data" / "legacy-pyrapl" / "raptorlake";
  return fs::is_directory(dir) ? dir.string() : "";
}

#define REQUIRE_REAL_DATA(dir)                                                               \
  const std::string dir = RealDataDir();                                                     \
  if (dir.empty()) {                                                                         \
    std::cout << "skipped: $LJ_SOURCE_DIR/../shared/data/legacy-pyrapl/raptorlake not found" \
              << std::endl;                                                                  \
    GTEST_SKIP() << "legacy-pyrapl data not found next to the repository";                   \
  }

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

void WriteLines(const std::string& path, const std::vector<std::string>& lines) {
  std::ofstream out(path, std::ios::binary);
  for (const std::string& l : lines) out << l << "\r\n";  // the prototype wrote CRLF
}

std::vector<std::string> Split(const std::string& line) {
  std::vector<std::string> fields;
  std::stringstream ss(line);
  std::string f;
  while (std::getline(ss, f, ',')) fields.push_back(f);
  return fields;
}

int64_t Count(sqlite3* db, const std::string& table) {
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, ("SELECT count(*) FROM " + table).c_str(), -1, &stmt, nullptr),
            SQLITE_OK);
  sqlite3_step(stmt);
  int64_t n = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  return n;
}

void ExpectEmpty(Store& store) {
  EXPECT_EQ(Count(store.handle(), "samples"), 0);
  EXPECT_EQ(Count(store.handle(), "runs"), 0);
  EXPECT_EQ(Count(store.handle(), "hosts"), 0);
}

int64_t Rejected(const ImportFileSummary& f, RejectReason reason) {
  auto it = f.rejected.find(reason);
  return it == f.rejected.end() ? 0 : it->second;
}

const ImportFileSummary& FileOf(const ImportSummary& s, const std::string& layer) {
  for (const ImportFileSummary& f : s.files) {
    if (f.layer == layer) return f;
  }
  throw std::runtime_error("no summary for " + layer);
}

TEST(LegacyImportTest, ImportsTheRaptorLakeDataWithCountsThatAddUp) {
  REQUIRE_REAL_DATA(data);
  TempDir tmp;
  Store store(tmp.Path("m.sqlite"));
  const ImportSummary summary = ImportLegacy(data, "raptorlake", store, "measure --import-legacy");
  std::cout << FormatImportSummary(summary);

  ASSERT_EQ(summary.files.size(), 3u);
  EXPECT_EQ(store.GetHost(summary.host_id)->hostname, "raptorlake");
  EXPECT_EQ(store.GetHost(summary.host_id)->rapl_domains, "package");
  for (const ImportFileSummary& f : summary.files) {
    SCOPED_TRACE(f.file);
    const int64_t lines = static_cast<int64_t>(ReadLines(f.file).size()) - 1;  // minus header
    EXPECT_EQ(f.rows_read, lines);
    EXPECT_EQ(f.samples_imported + f.RejectedSamples(), f.rows_read * f.passes_per_row);
    EXPECT_EQ(store.CountSamples(f.run_id), f.samples_imported);
    std::optional<RunInfo> run = store.GetRun(f.run_id);
    ASSERT_TRUE(run.has_value());
    EXPECT_EQ(run->kind, "import");
    EXPECT_EQ(run->status, "finished");
    EXPECT_EQ(run->meter, "pyrapl");
    EXPECT_EQ(run->layer, f.layer);
    EXPECT_EQ(run->host_id, summary.host_id);
  }
  EXPECT_EQ(FileOf(summary, "conv2d").passes_per_row, 2);
  EXPECT_EQ(FileOf(summary, "linear").passes_per_row, 2);
  EXPECT_EQ(FileOf(summary, "maxpool2d").passes_per_row, 1);

  // Every stored sample is in joules and seconds, positive, with the protocol's metadata.
  const std::vector<SampleRow> samples = store.ReadSamples();
  int64_t pool_backward = 0;
  for (const SampleRow& s : samples) {
    ASSERT_TRUE(s.energy_j.has_value());
    EXPECT_GT(*s.energy_j, 0);
    EXPECT_LT(*s.energy_j, 1e4);  // per batch; microjoules read as joules would be ~1e6 larger
    EXPECT_GT(s.time_s, 0);
    EXPECT_LT(s.time_s, 60);
    EXPECT_EQ(s.repetitions, 50);
    EXPECT_EQ(s.trials, 1);
    EXPECT_EQ(s.meter, "pyrapl");
    EXPECT_FALSE(s.idle_power_w.has_value());
    if (s.layer == "maxpool2d" && s.pass == "backward") ++pool_backward;
    if (s.pass == "backward") {
      ASSERT_TRUE(s.notes.has_value());
      EXPECT_NE(s.notes->find("includes MSE loss and SGD(momentum 0.9) step"), std::string::npos);
    }
  }
  EXPECT_EQ(pool_backward, 0);
  EXPECT_EQ(store.ReadSamples("maxpool2d").size(),
            static_cast<size_t>(FileOf(summary, "maxpool2d").samples_imported));

  // Defect counts, counted here independently from the raw text.
  int64_t sentinel_rows = 0;
  for (const std::string& line : ReadLines(data + "/pool.csv")) {
    for (const std::string& field : Split(line)) {
      if (field == "-0.1") {
        ++sentinel_rows;
        break;
      }
    }
  }
  EXPECT_GT(sentinel_rows, 0);
  EXPECT_EQ(Rejected(FileOf(summary, "maxpool2d"), RejectReason::kSentinel), sentinel_rows);
  int64_t zero_energies = 0;
  std::vector<std::string> linear = ReadLines(data + "/linear.csv");
  for (size_t i = 1; i < linear.size(); ++i) {
    std::vector<std::string> f = Split(linear[i]);
    zero_energies += (std::stod(f[3]) == 0) + (std::stod(f[5]) == 0);
  }
  EXPECT_EQ(Rejected(FileOf(summary, "linear"), RejectReason::kZeroEnergy), zero_energies);
}

TEST(LegacyImportTest, ConvertsOneConvRowToJoulesAndSeconds) {
  REQUIRE_REAL_DATA(data);
  // conv.csv line 2, checked by hand:
  // 1162,2,31,61,7,1,8663269.959999999,61874.8358,33571630.46,255121.14612000002
  ASSERT_EQ(ReadLines(data + "/conv.csv")[1],
            "1162,2,31,61,7,1,8663269.959999999,61874.8358,33571630.46,255121.14612000002");
  Store store(":memory:");
  ImportLegacy(data, "raptorlake", store, "");
  std::vector<SampleRow> conv = store.ReadSamples("conv2d");
  ASSERT_GE(conv.size(), 2u);
  const SampleRow& fwd = conv[0];
  const SampleRow& bwd = conv[1];
  EXPECT_EQ(fwd.sample_index, 0);
  EXPECT_EQ(fwd.pass, "forward");
  EXPECT_NEAR(*fwd.energy_j, 8.66326996, 1e-8);  // 8663269.96 uJ
  EXPECT_NEAR(fwd.time_s, 0.0618748358, 1e-10);  // 61874.8358 us
  EXPECT_EQ(bwd.sample_index, 0);
  EXPECT_EQ(bwd.pass, "backward");
  EXPECT_NEAR(*bwd.energy_j, 33.57163046, 1e-8);
  EXPECT_NEAR(bwd.time_s, 0.25512114612, 1e-10);
  const nlohmann::json config = nlohmann::json::parse(fwd.config);
  EXPECT_EQ(config.at("batch_size"), 1162);
  EXPECT_EQ(config.at("in_channels"), 2);
  EXPECT_EQ(config.at("out_channels"), 31);
  EXPECT_EQ(config.at("height"), 61);
  EXPECT_EQ(config.at("width"), 61);
  EXPECT_EQ(config.at("kernel_size"), 7);
  EXPECT_EQ(config.at("stride"), 1);
  EXPECT_EQ(config.at("padding"), 0);
  // The prototype's backward computed no input gradient (its x required none).
  nlohmann::json backward_config = nlohmann::json::parse(bwd.config);
  EXPECT_EQ(backward_config.at("input_grad"), false);
  backward_config.erase("input_grad");
  EXPECT_EQ(config, backward_config);
}

TEST(LegacyImportTest, ACorruptedLineRefusesEveryFileAndStoresNothing) {
  REQUIRE_REAL_DATA(data);
  TempDir tmp;
  for (const char* name : {"conv.csv", "linear.csv", "pool.csv"}) {
    fs::copy_file(data + "/" + name, tmp.Path(name));
  }
  // linear.csv is read after conv.csv: conv.csv alone would have been importable.
  std::vector<std::string> lines = ReadLines(tmp.Path("linear.csv"));
  std::vector<std::string> f = Split(lines[9]);  // line 10 of the file
  f[4] = "12x.5";
  lines[9] = f[0] + "," + f[1] + "," + f[2] + "," + f[3] + "," + f[4] + "," + f[5] + "," + f[6];
  WriteLines(tmp.Path("linear.csv"), lines);

  Store store(tmp.Path("m.sqlite"));
  try {
    ImportLegacy(tmp.Path(), "h", store, "");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("linear.csv:10: column 5 (for_time): '12x.5'"),
              std::string::npos)
        << e.what();
  }
  ExpectEmpty(store);
}

TEST(LegacyImportTest, RefusesAWrongHeaderOrColumnCount) {
  TempDir tmp;
  Store store(":memory:");
  WriteLines(tmp.Path("linear.csv"), {"batch_size,in_features,out_size,for_energy,for_time,"
                                      "back_energy,back_time",
                                      "1,2,3,4,5,6,7"});
  EXPECT_THROW(ImportLegacy(tmp.Path(), "h", store, ""), ConfigError);
  WriteLines(tmp.Path("linear.csv"),
             {"batch_size,in_size,out_size,for_energy,for_time,back_energy,back_time",
              "1,2,3,4,5,6,7", "1,2,3,4,5,6"});
  try {
    ImportLegacy(tmp.Path(), "h", store, "");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("linear.csv:3: expected 7 columns"), std::string::npos)
        << e.what();
  }
  WriteLines(tmp.Path("linear.csv"),
             {"batch_size,in_size,out_size,for_energy,for_time,back_energy,back_time",
              "1.5,2,3,4,5,6,7"});  // a fractional batch size
  EXPECT_THROW(ImportLegacy(tmp.Path(), "h", store, ""), ConfigError);
  ExpectEmpty(store);
  EXPECT_THROW(ImportLegacy(tmp.Path("missing"), "h", store, ""), ConfigError);
  TempDir empty;
  EXPECT_THROW(ImportLegacy(empty.Path(), "h", store, ""), ConfigError);
}

TEST(LegacyImportTest, ASentinelRowRejectsExactlyThatRow) {
  REQUIRE_REAL_DATA(data);
  TempDir tmp;
  std::vector<std::string> lines = ReadLines(data + "/conv.csv");
  std::vector<std::string> f = Split(lines[5]);  // data row index 4
  lines[5] = f[0] + "," + f[1] + "," + f[2] + "," + f[3] + "," + f[4] + "," + f[5] + "," + f[6] +
             "," + f[7] + ",-0.1,-0.1";
  WriteLines(tmp.Path("conv.csv"), lines);
  Store store(":memory:");
  const ImportSummary summary = ImportLegacy(tmp.Path(), "h", store, "");
  ASSERT_EQ(summary.files.size(), 1u);
  const ImportFileSummary& conv = summary.files[0];
  EXPECT_EQ(Rejected(conv, RejectReason::kSentinel), 2);  // both passes of one row
  EXPECT_EQ(conv.RejectedSamples(), 2);
  EXPECT_EQ(conv.samples_imported, 2 * (conv.rows_read - 1));
  for (const SampleRow& s : store.ReadSamples()) EXPECT_NE(s.sample_index, 4);
  EXPECT_EQ(store.CountStoredConfigs(conv.run_id), conv.rows_read - 1);
}

TEST(LegacyImportTest, RejectsDefectiveMeasurementsByReasonAndKeepsTheOtherPass) {
  TempDir tmp;
  WriteLines(tmp.Path("conv.csv"),
             {"batch_size,in_chan,out_chan,side_len,k_size,stride,for_energy,for_time,"
              "back_energy,back_time",
              "4,3,8,16,3,1,1000,10,2000,20",        // fine
              "4,3,8,16,3,1,-4294967.0,10,2000,20",  // wraparound forward, backward kept
              "4,3,8,16,3,1,1000,10,0.0,20",         // zero backward energy
              "4,3,8,16,3,1,1000,0,2000,20",         // zero forward time
              "4,3,8,2,3,1,1000,10,2000,20",         // kernel 3 > input 2
              "4,3,8,16,3,1,1000,10,2000,-0.1"});    // sentinel
  Store store(":memory:");
  const ImportSummary summary = ImportLegacy(tmp.Path(), "h", store, "cmd");
  const ImportFileSummary& conv = summary.files.at(0);
  EXPECT_EQ(conv.rows_read, 6);
  EXPECT_EQ(Rejected(conv, RejectReason::kNegativeEnergy), 1);
  EXPECT_EQ(Rejected(conv, RejectReason::kZeroEnergy), 1);
  EXPECT_EQ(Rejected(conv, RejectReason::kNonPositiveTime), 1);
  EXPECT_EQ(Rejected(conv, RejectReason::kImpossibleGeometry), 2);
  EXPECT_EQ(Rejected(conv, RejectReason::kSentinel), 2);
  EXPECT_EQ(conv.samples_imported, 5);
  const std::vector<SampleRow> rows = store.ReadSamples();
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[2].sample_index, 1);
  EXPECT_EQ(rows[2].pass, "backward");
  EXPECT_DOUBLE_EQ(*rows[2].energy_j, 2000e-6);
  EXPECT_EQ(store.GetRun(conv.run_id)->command_line, "cmd");
  const std::string text = FormatImportSummary(summary);
  EXPECT_NE(text.find("conv.csv -> run " + std::to_string(conv.run_id)), std::string::npos) << text;
  EXPECT_NE(text.find("negative energy (wraparound): 1"), std::string::npos) << text;
}

// The Broadwell-EP prototype's resnet18.json holds forward_energy -1312611965.3 uJ (a RAPL
// wraparound): that energy is absent, the times and the other energies are kept.
TEST(LegacyImportTest, ANetworkEnergyFromAWraparoundIsAbsentAndItsTimesAreKept) {
  TempDir tmp;
  fs::create_directories(tmp.Path("nets"));
  std::ofstream(tmp.Path("nets/resnet18.json"))
      << R"({"net": "resnet18", "batch_size": 512, "im_side_len": 64,)"
      << R"( "forward_energy": [-1312611965.3, 20000000], "forward_time": [550000, 540000],)"
      << R"( "backward_energy": [82720000, 80000000], "backward_time": [1730000, 1700000]})";
  Store store(":memory:");
  const ImportSummary summary = ImportLegacy(tmp.Path(), "broadwell", store, "cmd");
  ASSERT_EQ(summary.networks.size(), 1u);
  EXPECT_EQ(summary.networks[0].rejected_energies, 1);
  const std::vector<NetworkSampleRow> rows = store.ReadNetworkSamples("resnet18_legacy");
  ASSERT_EQ(rows.size(), 4u);
  int checked = 0;
  for (const NetworkSampleRow& r : rows) {
    if (r.iteration == 0) {
      EXPECT_FALSE(r.energy_j.has_value()) << r.phase;  // forward and forward + backward
      EXPECT_NEAR(r.time_s, r.phase == "forward" ? 0.55 : 2.28, 1e-12) << r.phase;
      ++checked;
    } else {
      ASSERT_TRUE(r.energy_j.has_value()) << r.phase;
      EXPECT_NEAR(*r.energy_j, r.phase == "forward" ? 20.0 : 100.0, 1e-9) << r.phase;
    }
  }
  EXPECT_EQ(checked, 2);
  const std::string text = FormatImportSummary(summary);
  EXPECT_NE(text.find("1 energies not > 0 (wraparound) stored as absent"), std::string::npos)
      << text;
}

TEST(LegacyImportTest, ANetworkTimeThatIsNotPositiveRefusesTheImport) {
  TempDir tmp;
  fs::create_directories(tmp.Path("nets"));
  std::ofstream(tmp.Path("nets/alexnet.json"))
      << R"({"net": "alexnet", "batch_size": 512, "forward_energy": [1], "forward_time": [0],)"
      << R"( "backward_energy": [1], "backward_time": [1]})";
  Store store(":memory:");
  try {
    ImportLegacy(tmp.Path(), "h", store, "");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("'forward_time' must hold positive numbers, got 0"),
              std::string::npos)
        << e.what();
  }
  ExpectEmpty(store);
}

TEST(LegacyImportTest, RefusesToImportTheSameFileTwice) {
  TempDir tmp;
  WriteLines(tmp.Path("pool.csv"),
             {"batch_size,k_side_length,stride,in_chan,im_side_length,for_energy,for_time,"
              "back_energy,back_time",
              "8,2,2,3,32,500,5,0.0,0.0"});
  Store store(":memory:");
  const ImportSummary first = ImportLegacy(tmp.Path(), "h", store, "");
  EXPECT_EQ(first.files.at(0).samples_imported, 1);
  try {
    ImportLegacy(tmp.Path(), "h", store, "");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("already imported"), std::string::npos) << e.what();
  }
  EXPECT_EQ(Count(store.handle(), "samples"), 1);
  EXPECT_EQ(Count(store.handle(), "runs"), 1);
}

}  // namespace
}  // namespace lj
