#include "predict/batch_size_table.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/errors.h"

namespace lj {
namespace {

std::string ErrorOf(const std::string& text, bool memory = false) {
  try {
    if (memory) {
      ParseMemorySize(text);
    } else {
      ParseBatchSizes(text);
    }
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(ParseBatchSizesTest, ListsAndDoublingRanges) {
  EXPECT_EQ(ParseBatchSizes("8,16,32"), (std::vector<int64_t>{8, 16, 32}));
  EXPECT_EQ(ParseBatchSizes("64,8"), (std::vector<int64_t>{64, 8}));
  EXPECT_EQ(ParseBatchSizes("8..64"), (std::vector<int64_t>{8, 16, 32, 64}));
  EXPECT_EQ(ParseBatchSizes("8..100"), (std::vector<int64_t>{8, 16, 32, 64}));
  EXPECT_EQ(ParseBatchSizes("5..5"), (std::vector<int64_t>{5}));
  EXPECT_EQ(ParseBatchSizes("1"), (std::vector<int64_t>{1}));
}

TEST(ParseBatchSizesTest, BadListsSayWhatIsWrong) {
  EXPECT_NE(ErrorOf("8,0").find("must be > 0, got 0"), std::string::npos) << ErrorOf("8,0");
  EXPECT_NE(ErrorOf("-8").find("must be > 0, got -8"), std::string::npos) << ErrorOf("-8");
  EXPECT_NE(ErrorOf("8,,16").find("empty item"), std::string::npos);
  EXPECT_NE(ErrorOf("").find("empty item"), std::string::npos);
  EXPECT_NE(ErrorOf("8,").find("empty item"), std::string::npos);
  EXPECT_NE(ErrorOf("8,x").find("\"x\" is not an integer"), std::string::npos);
  EXPECT_NE(ErrorOf("8.5").find("not an integer"), std::string::npos);
  EXPECT_NE(ErrorOf("1+2").find("not an integer"), std::string::npos);
  EXPECT_NE(ErrorOf("8,16,8").find("8 is repeated"), std::string::npos);
  EXPECT_NE(ErrorOf("64..8").find("ends at 8, below its start 64"), std::string::npos);
  EXPECT_NE(ErrorOf("99999999999999999999").find("larger than 2^31"), std::string::npos);
  EXPECT_NE(ErrorOf("2147483649").find("larger than 2^31"), std::string::npos);
  EXPECT_EQ(ParseBatchSizes("2147483648"), (std::vector<int64_t>{int64_t{1} << 31}));
  EXPECT_EQ(ParseBatchSizes("1..2147483648").size(), 32u);
  EXPECT_EQ(ErrorOf("8,16"), "");
  EXPECT_NE(ErrorOf("8,0").find("--batch-sizes \"8,0\""), std::string::npos);
}

TEST(ParseMemorySizeTest, BinaryAndDecimalUnits) {
  EXPECT_EQ(ParseMemorySize("16GiB"), int64_t{16} << 30);
  EXPECT_EQ(ParseMemorySize("16G"), int64_t{16} << 30);
  EXPECT_EQ(ParseMemorySize("1.5G"), int64_t{3} << 29);
  EXPECT_EQ(ParseMemorySize("512 MB"), 512000000);
  EXPECT_EQ(ParseMemorySize("4096B"), 4096);
  EXPECT_EQ(ParseMemorySize("2K"), 2048);
  EXPECT_EQ(ParseMemorySize("3kB"), 3000);
  EXPECT_EQ(ParseMemorySize("1TiB"), int64_t{1} << 40);
  EXPECT_EQ(ParseMemorySize(" 16 GiB "), int64_t{16} << 30);
  EXPECT_EQ(ParseMemorySize("1.5B"), 1);
}

TEST(ParseMemorySizeTest, UnknownUnitsAndBadValuesAreErrors) {
  EXPECT_NE(ErrorOf("16", true).find("no unit"), std::string::npos) << ErrorOf("16", true);
  EXPECT_NE(ErrorOf("16GB2", true).find("unknown unit \"GB2\""), std::string::npos);
  EXPECT_NE(ErrorOf("16 parsecs", true).find("unknown unit"), std::string::npos);
  EXPECT_NE(ErrorOf("gig", true).find("expected a number"), std::string::npos);
  EXPECT_NE(ErrorOf("0GiB", true).find("at least 1 byte"), std::string::npos);
  EXPECT_NE(ErrorOf("-1GiB", true).find("at least 1 byte"), std::string::npos);
  EXPECT_NE(ErrorOf("nanGiB", true).find("expected a number"), std::string::npos);
  EXPECT_NE(ErrorOf("infGiB", true).find("expected a number"), std::string::npos);
  EXPECT_NE(ErrorOf("0x10G", true).find("decimal number"), std::string::npos);
  EXPECT_NE(ErrorOf("0.1B", true).find("at least 1 byte"), std::string::npos);
  EXPECT_NE(ErrorOf("16gib", true).find("unknown unit \"gib\""), std::string::npos);
  EXPECT_NE(ErrorOf("1e30TB", true).find("2^62"), std::string::npos);
  EXPECT_NE(ErrorOf("1e400G", true).find("2^62"), std::string::npos);
  EXPECT_NE(ErrorOf("", true).find("expected a number"), std::string::npos);
}

NetworkPrediction At(int64_t batch, double epoch_s, std::optional<double> epoch_j,
                     int64_t peak_bytes) {
  NetworkPrediction p;
  p.run.network = "net";
  p.run.batch_size = batch;
  p.run.dataset_size = 1000;
  p.steps_per_epoch = (1000 + batch - 1) / batch;
  p.per_epoch.time_s = epoch_s;
  p.per_epoch.energy_j = epoch_j;
  p.per_batch.time_s = epoch_s / static_cast<double>(p.steps_per_epoch);
  if (epoch_j) p.per_batch.energy_j = *epoch_j / static_cast<double>(p.steps_per_epoch);
  p.memory.peak_bytes = peak_bytes;
  p.memory.peak_at = "backward of fc1";
  return p;
}

// The least energy per epoch and the fastest epoch are marked among the batch sizes that fit;
// the ones that do not fit stay in the table, marked.
TEST(BatchSizeTableTest, MarksMinimaAmongTheBatchSizesThatFit) {
  std::vector<NetworkPrediction> ps{At(64, 50, 900, 3000), At(8, 90, 1500, 500),
                                    At(16, 70, 1000, 900), At(32, 40, 1100, 1500),
                                    At(128, 30, 800, 6000)};
  const BatchSizeTable t = MakeBatchSizeTable(ps, 4000, "--max-memory 4000B");
  ASSERT_EQ(t.rows.size(), 5u);
  std::vector<int64_t> order;
  for (const BatchSizeRow& r : t.rows) order.push_back(r.prediction.run.batch_size);
  EXPECT_EQ(order, (std::vector<int64_t>{8, 16, 32, 64, 128}));
  EXPECT_TRUE(t.has_energy);
  EXPECT_FALSE(t.rows[4].fits);  // 128: 6000 B > 4000 B, cheapest and fastest, does not fit
  EXPECT_FALSE(t.rows[4].least_energy);
  EXPECT_TRUE(t.rows[3].least_energy);  // 64: 900 J
  EXPECT_TRUE(t.rows[2].fastest);       // 32: 40 s
  for (size_t i : {0, 1}) EXPECT_FALSE(t.rows[i].least_energy || t.rows[i].fastest);

  const std::string text = FormatBatchSizeTable(t);
  EXPECT_NE(text.find("does not fit"), std::string::npos) << text;
  EXPECT_NE(text.find("least energy per epoch"), std::string::npos) << text;
  EXPECT_NE(text.find("fastest epoch"), std::string::npos) << text;
  const nlohmann::json j = ToJson(t);
  EXPECT_EQ(j["least_energy_batch_size"], 64);
  EXPECT_EQ(j["fastest_batch_size"], 32);
  EXPECT_EQ(j["rows"].size(), 5u);
  EXPECT_EQ(j["rows"][4]["fits"], false);
  EXPECT_EQ(j["rows"][0]["energy_per_sample_j"].get<double>(), 1500.0 / ps[1].steps_per_epoch / 8);
  EXPECT_EQ(j["rows"][0]["steps_per_epoch"], 125);
}

// The footnote says whether the peaks include LibTorch's own memory, measured on the host.
TEST(BatchSizeTableTest, TheFootnoteSaysWhetherLibTorchsOwnMemoryIsIn) {
  std::vector<NetworkPrediction> ps{At(8, 90, 1500, 500), At(16, 70, 1000, 900)};
  EXPECT_NE(
      FormatBatchSizeTable(MakeBatchSizeTable(ps, 4000, "x")).find("LibTorch itself not measured"),
      std::string::npos);
  for (NetworkPrediction& p : ps) {
    p.bundle_host = "box";
    p.memory.framework_bytes = 3 << 20;
  }
  const std::string text = FormatBatchSizeTable(MakeBatchSizeTable(ps, 4000, "x"));
  EXPECT_NE(text.find("plus LibTorch itself (3.0 MiB, measured on box)"), std::string::npos)
      << text;
  EXPECT_EQ(text.find("OpenBLAS"), std::string::npos) << text;
  // With OpenBLAS's packing buffers in the peaks (predict/blas_workspace.h), it names them.
  for (NetworkPrediction& p : ps) p.memory.blas_workspace_bytes = 1 << 17;
  EXPECT_NE(FormatBatchSizeTable(MakeBatchSizeTable(ps, 4000, "x"))
                .find("largest transients, OpenBLAS's packing buffers, plus LibTorch itself"),
            std::string::npos);
}

TEST(BatchSizeTableTest, WithoutEnergyOnlyTheFastestIsMarkedAndEnergyIsNull) {
  const BatchSizeTable t = MakeBatchSizeTable(
      {At(8, 90, std::nullopt, 500), At(16, 70, std::nullopt, 900)}, 1 << 20, "test");
  EXPECT_FALSE(t.has_energy);
  EXPECT_TRUE(t.rows[1].fastest);
  EXPECT_FALSE(t.rows[0].least_energy || t.rows[1].least_energy);
  const nlohmann::json j = ToJson(t);
  EXPECT_TRUE(j["least_energy_batch_size"].is_null());
  EXPECT_TRUE(j["rows"][0]["energy_per_epoch_j"].is_null());
  EXPECT_NE(FormatBatchSizeTable(t).find("no energy per epoch"), std::string::npos);
}

TEST(BatchSizeTableTest, NothingFitsNothingIsMarkedButEveryRowIsShown) {
  const BatchSizeTable t =
      MakeBatchSizeTable({At(8, 90, 10, 500), At(16, 70, 9, 900)}, 100, "test");
  ASSERT_EQ(t.rows.size(), 2u);
  for (const BatchSizeRow& r : t.rows) {
    EXPECT_FALSE(r.fits);
    EXPECT_FALSE(r.least_energy || r.fastest);
  }
  const nlohmann::json j = ToJson(t);
  EXPECT_TRUE(j["fastest_batch_size"].is_null());
}

}  // namespace
}  // namespace lj
