// End to end on the prototype's real RAPL data: `measure --import-legacy` then `fit`, and the
// bundle's models checked far outside their training bounds (the prototype's fit predicted
// -114,000 J for AlexNet's forward pass there).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cmath>
#include <string>

#include "core/layer_config.h"
#include "fit/model_bundle.h"
#include "tests/integration/process_util.h"

namespace lj::test {
namespace {

std::string RaptorLakeDir() { return Source("../shared/data/legacy-pyrapl/raptorlake"); }

class FitRaptorLake : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    struct stat st {};
    if (stat(RaptorLakeDir().c_str(), &st) != 0) return;
    dir_ = new std::string(ScratchDir());
    const std::string db = *dir_ + "/rl.sqlite";
    import_ = new CommandResult(RunCommand(
        {Bin("measure"), "--import-legacy", RaptorLakeDir(), "--host", "raptorlake", "--db", db}));
    fit_ = new CommandResult(
        RunCommand({Bin("fit"), "--db", db, "--out", *dir_ + "/raptorlake.json"}));
  }
  void SetUp() override {
    if (dir_ == nullptr) GTEST_SKIP() << "no real RAPL data at " << RaptorLakeDir();
    ASSERT_EQ(import_->exit_code, 0) << import_->output;
    ASSERT_EQ(fit_->exit_code, 0) << fit_->output;
  }
  static inline std::string* dir_ = nullptr;
  static inline CommandResult* import_ = nullptr;
  static inline CommandResult* fit_ = nullptr;
};

// Configs far outside the sampled ranges of the Raptor Lake data, scaled up and down.
std::vector<LayerConfig> FarGrid(LayerType type) {
  std::vector<LayerConfig> grid;
  for (int64_t batch : {1, 8, 512, 8192}) {
    for (int64_t ch : {1, 3, 64, 1024, 4096}) {
      for (int64_t size : {1, 7, 64, 224, 1024}) {
        for (int64_t k : {1, 3, 11}) {
          LayerConfig c;
          c.type = type;
          c.batch_size = batch;
          if (type == LayerType::kLinear) {
            c.in_features = ch * size;
            c.out_features = std::max<int64_t>(1, ch * k);
          } else {
            c.in_channels = ch;
            c.out_channels = type == LayerType::kConv2d ? std::max<int64_t>(1, ch * k / 3) : 0;
            c.height = c.width = size;
            c.kernel_size = k;
            c.stride = k > 1 ? 2 : 1;
            c.padding = k / 2;
          }
          if (IsValid(c)) grid.push_back(c);
        }
      }
    }
  }
  return grid;
}

TEST_F(FitRaptorLake, ImportCountsRejectionsByReason) {
  EXPECT_NE(import_->output.find("4989 samples imported, 11 rejected"), std::string::npos)
      << import_->output;
  EXPECT_NE(import_->output.find("-0.1 sentinel: 3"), std::string::npos) << import_->output;
}

TEST_F(FitRaptorLake, ImportsThePrototypesWholeNetworkMeasurement) {
  const std::string db = *dir_ + "/rl.sqlite";
  EXPECT_NE(import_->output.find("network alexnet_legacy, batch 512"), std::string::npos)
      << import_->output;
  EXPECT_EQ(QueryInt(db,
                     "SELECT COUNT(*) FROM network_samples WHERE network='alexnet_legacy' "
                     "AND batch_size=512 AND phase='forward'"),
            10);
  // nets/alexnet.json: forward energies in uJ, mean of the 10 epochs 18,582,490 uJ.
  const double forward_j =
      std::stod(QueryText(db, "SELECT AVG(energy_j) FROM network_samples WHERE phase='forward'"));
  EXPECT_NEAR(forward_j, 18.5825, 0.001);
  // iteration = forward + (loss + backward + step), so it exceeds forward in every epoch.
  EXPECT_EQ(QueryInt(db,
                     "SELECT COUNT(*) FROM network_samples f JOIN network_samples i "
                     "ON f.iteration = i.iteration AND f.phase='forward' AND "
                     "i.phase='iteration' WHERE i.energy_j > f.energy_j"),
            10);
}

TEST_F(FitRaptorLake, EveryModelIsNonNegativeFarOutsideItsTrainingBounds) {
  const ModelBundle bundle = LoadBundle(*dir_ + "/raptorlake.json");
  ASSERT_GE(bundle.models.size(), 10u);
  int extrapolated = 0, checked = 0;
  for (const Model& model : bundle.models) {
    for (const LayerConfig& config : FarGrid(model.layer)) {
      const Prediction p = Predict(model, config);
      ASSERT_TRUE(std::isfinite(p.value)) << ToJson(config).dump();
      ASSERT_GE(p.value, 0.0) << ToString(model.layer) << " " << ToString(model.pass) << " "
                              << ToJson(config).dump();
      extrapolated += p.extrapolated;
      ++checked;
    }
  }
  EXPECT_GT(checked, 1000);
  EXPECT_GT(extrapolated, checked / 2);  // the grid really is outside the training bounds
}

TEST_F(FitRaptorLake, HeldOutMetricsArePrintedAndStored) {
  EXPECT_NE(fit_->output.find("RMSPE"), std::string::npos) << fit_->output;
  const ModelBundle bundle = LoadBundle(*dir_ + "/raptorlake.json");
  for (const Model& model : bundle.models) {
    ASSERT_TRUE(model.test_metrics.has_value()) << ToString(model.layer);
    EXPECT_GT(model.n_test, 0);
    EXPECT_GT(model.n_train, 3 * model.n_test);
  }
  // Energy models exist (the data has a meter) and say which RAPL domain they model.
  const Model* energy = bundle.Find(LayerType::kConv2d, Pass::kForward, Quantity::kEnergyJ);
  ASSERT_NE(energy, nullptr);
  EXPECT_EQ(energy->rapl_domain, "package");
}

}  // namespace
}  // namespace lj::test
