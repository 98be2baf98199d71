// The text and JSON reports of a prediction (predict/report.h).
#include "predict/report.h"

#include <gtest/gtest.h>

#include <string>

#include "predict/blas_workspace.h"
#include "predict/training_memory.h"
#include "tests/predict/prediction_fixture.h"

namespace lj {
namespace {

using namespace lj::test;  // NOLINT: the fixture's helpers

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(ReportTest, JsonHasEveryLayerAndTotalWithNullsForUnknownValues) {
  const NetworkPrediction p = PredictTraining(SmallNet(), MakeBundle(false), SmallRun());
  const nlohmann::json j = ToJson(p, "models/node7.json");
  ASSERT_EQ(j.at("layers").size(), 5u);
  for (const auto& l : j.at("layers")) {
    for (const char* key : {"path", "type", "output_shape", "macs", "forward_time_s",
                            "forward_energy_j", "backward_time_s", "backward_energy_j", "status"}) {
      EXPECT_TRUE(l.contains(key)) << key;
    }
  }
  const auto& conv = j.at("layers")[0];
  EXPECT_EQ(conv.at("status"), "modelled");
  EXPECT_DOUBLE_EQ(conv.at("forward_time_s").get<double>(), *p.layers[0].forward_time_s);
  EXPECT_TRUE(conv.at("forward_energy_j").is_null());  // no energy models
  EXPECT_EQ(conv.at("output_shape"), nlohmann::json({8, 16, 32, 32}));
  const auto& relu = j.at("layers")[1];
  EXPECT_EQ(relu.at("status"), "unmodelled");
  EXPECT_TRUE(relu.at("forward_time_s").is_null());  // never 0
  EXPECT_TRUE(relu.contains("reason"));
  EXPECT_EQ(j.at("layers")[3].at("status"), "no-cost");

  for (const char* scope : {"per_batch", "per_epoch", "training"}) {
    const auto& t = j.at(scope);
    for (const char* key : {"forward_time_s", "loss_time_s", "backward_time_s", "optimizer_time_s",
                            "time_s", "forward_energy_j", "loss_energy_j", "backward_energy_j",
                            "optimizer_energy_j", "energy_j", "lower_bound"}) {
      EXPECT_TRUE(t.contains(key)) << scope << "." << key;
    }
    EXPECT_TRUE(t.at("optimizer_time_s").is_null()) << scope;
    EXPECT_TRUE(t.at("energy_j").is_null()) << scope;
    EXPECT_TRUE(t.at("lower_bound").get<bool>()) << scope;
  }
  EXPECT_DOUBLE_EQ(j.at("per_batch").at("time_s").get<double>(), p.per_batch.time_s);
  EXPECT_DOUBLE_EQ(j.at("training").at("time_s").get<double>(), p.training.time_s);
  EXPECT_TRUE(j.at("training").at("kwh").is_null());
  EXPECT_EQ(j.at("per_epoch").at("steps"), 13);
  EXPECT_EQ(j.at("coverage").at("layers_modelled"), 2);
  EXPECT_DOUBLE_EQ(j.at("coverage").at("layer_share").get<double>(), 0.5);
  EXPECT_LT(j.at("coverage").at("macs_share").get<double>(), 1.0);
  EXPECT_TRUE(j.at("lower_bound").get<bool>());
  // relu, maxpool2d, loss, optimizer step, grad accumulation, zero_grad
  EXPECT_EQ(j.at("unmodelled").size(), 6u);
  EXPECT_EQ(j.at("zero_grad").at("type"), "zero_grad");
  EXPECT_EQ(j.at("grad_accumulation").at("type"), "grad_accumulate");
  EXPECT_EQ(j.at("loss").at("type"), "cross_entropy");
  EXPECT_EQ(j.at("loss").at("status"), "unmodelled");
  EXPECT_TRUE(j.at("loss").at("forward_time_s").is_null());
  EXPECT_EQ(j.at("optimizer_step").at("type"), "sgd");
  EXPECT_TRUE(j.at("per_batch").at("loss_time_s").is_null());
  EXPECT_EQ(j.at("bundle").at("path"), "models/node7.json");
  EXPECT_EQ(j.at("network").at("batch_size"), 8);
}

TEST(ReportTest, JsonTrainingEnergyInJoulesWattHoursAndKilowattHours) {
  const NetworkPrediction p = PredictTraining(SmallNet(), MakeBundle(true), SmallRun());
  const nlohmann::json j = ToJson(p, "b.json");
  const double joules = j.at("training").at("energy_j").get<double>();
  EXPECT_DOUBLE_EQ(joules, *p.training.energy_j);
  EXPECT_NEAR(j.at("training").at("wh").get<double>(), joules / 3600, 1e-12);
  EXPECT_NEAR(j.at("training").at("kwh").get<double>(), joules / 3.6e6, 1e-15);
  EXPECT_TRUE(j.at("training").at("energy_lower_bound").get<bool>());
  EXPECT_FALSE(j.at("inference_per_sample").at("energy_j").is_null());
}

TEST(ReportTest, TextListsLayersTotalsCoverageAndWhatIsMissing) {
  const NetworkPrediction p = PredictTraining(SmallNet(), MakeBundle(false, 1e6), SmallRun());
  const std::string text = FormatPrediction(p, "models/node7.json");
  EXPECT_TRUE(Contains(text, "models/node7.json")) << text;
  for (const char* path : {"features.0", "features.1", "features.2", "flatten", "fc"}) {
    EXPECT_TRUE(Contains(text, path)) << path << "\n" << text;
  }
  EXPECT_TRUE(Contains(text, "extrapolated")) << text;
  EXPECT_TRUE(Contains(text, "unmodelled")) << text;
  EXPECT_TRUE(Contains(text, "no-cost")) << text;
  EXPECT_TRUE(Contains(text, "per epoch (13 steps)")) << text;
  EXPECT_TRUE(Contains(text, "training (3 epochs)")) << text;
  EXPECT_TRUE(Contains(text, "LOWER BOUND")) << text;
  EXPECT_TRUE(Contains(text, ">= ")) << text;
  EXPECT_TRUE(Contains(text, "no energy model: the data had no meter")) << text;
  EXPECT_TRUE(Contains(text, "coverage: 2 of 4 layers")) << text;
  EXPECT_TRUE(Contains(text, "optimizer step (sgd")) << text;
  EXPECT_TRUE(Contains(text, "features.0 (conv2d): outside the training bounds")) << text;
}

TEST(ReportTest, TextShowsEnergyColumnsWhenTheBundleHasEnergyModels) {
  const NetworkPrediction p = PredictTraining(SmallNet(), MakeBundle(true), SmallRun());
  const std::string text = FormatPrediction(p, "b.json");
  EXPECT_TRUE(Contains(text, "fwd energy")) << text;
  EXPECT_FALSE(Contains(text, "no energy model")) << text;
  EXPECT_TRUE(Contains(text, " Wh = ")) << text;
  EXPECT_TRUE(Contains(text, " kWh")) << text;
}

// The peak memory of a training step (predict/training_memory.h) in the text and the JSON.
TEST(ReportTest, ReportsThePeakMemoryOfATrainingStep) {
  const NetworkPrediction p = PredictTraining(SmallNet(), MakeBundle(false), SmallRun());
  ASSERT_GT(p.memory.peak_bytes, 0);
  EXPECT_EQ(p.memory.layers.size(), SmallNet().size());
  const std::string text = FormatPrediction(p, "bundle.json");
  EXPECT_NE(text.find("peak memory of a training step: " + FormatBytes(p.memory.peak_bytes) +
                      " at " + p.memory.peak_at),
            std::string::npos)
      << text;
  const nlohmann::json j = ToJson(p, "bundle.json");
  EXPECT_EQ(j.at("memory").at("peak_bytes"), p.memory.peak_bytes);
  EXPECT_EQ(j.at("memory").at("parameter_bytes"), p.memory.parameter_bytes);
  ASSERT_EQ(j.at("layers").size(), p.memory.layers.size());
  for (size_t i = 0; i < p.memory.layers.size(); ++i) {
    EXPECT_EQ(j.at("layers")[i].at("saved_bytes"), p.memory.layers[i].saved_bytes);
  }
  // Without the host's framework-memory probes the peak is the tensors', and both say so.
  EXPECT_EQ(p.memory.peak_bytes, p.memory.tensor_peak_bytes);
  EXPECT_TRUE(j.at("memory").at("framework_bytes").is_null());
  EXPECT_TRUE(Contains(text, "LibTorch itself (not measured")) << text;
}

// With the bundle's measured framework memory, the peak is the tensors' plus LibTorch's own.
TEST(ReportTest, AddsTheHostsMeasuredFrameworkMemoryToThePeak) {
  ModelBundle bundle = MakeBundle(false);
  bundle.framework_memory = FrameworkMemory{3 << 20, 1 << 18, 4};
  const NetworkPrediction p = PredictTraining(SmallNet(), bundle, SmallRun());
  ASSERT_TRUE(p.memory.framework_bytes);
  EXPECT_EQ(*p.memory.framework_bytes, (3 << 20) + p.memory.distinct_conv2d * (1 << 18));
  EXPECT_EQ(p.memory.peak_bytes, p.memory.tensor_peak_bytes + *p.memory.framework_bytes);
  const std::string text = FormatPrediction(p, "bundle.json");
  EXPECT_TRUE(Contains(text, "LibTorch itself " + FormatBytes(*p.memory.framework_bytes) +
                                 " measured on " + p.bundle_host))
      << text;
  const nlohmann::json j = ToJson(p, "bundle.json");
  EXPECT_EQ(j.at("memory").at("framework_bytes"), *p.memory.framework_bytes);
  EXPECT_EQ(j.at("memory").at("tensor_peak_bytes"), p.memory.tensor_peak_bytes);
  EXPECT_EQ(j.at("memory").at("peak_bytes"), p.memory.peak_bytes);
}

// On a bundle whose host runs OpenBLAS, the linear layers' packing buffers
// (predict/blas_workspace.h) join the peak on the bundle's threads, in the text and the JSON.
TEST(ReportTest, AddsOpenBlasPackingBuffersForAnOpenBlasHost) {
  ModelBundle bundle = MakeBundle(false);
  bundle.blas = "OpenBLAS 0.3.21 (pthread, Haswell)";
  bundle.threads_used = 2;
  const NetworkPrediction p = PredictTraining(SmallNet(), bundle, SmallRun());
  const int64_t expected = OpenBlasPackingBytes(LinearLayerGemms(SmallNet()), 2);
  ASSERT_GT(expected, 0) << "the small net needs a linear layer for this test";
  EXPECT_EQ(p.memory.blas_workspace_bytes, expected);
  EXPECT_EQ(p.memory.peak_bytes, p.memory.tensor_peak_bytes + expected);
  EXPECT_TRUE(Contains(FormatPrediction(p, "bundle.json"),
                       "OpenBLAS packing buffers " + FormatBytes(expected)));
  EXPECT_EQ(ToJson(p, "bundle.json").at("memory").at("blas_workspace_bytes"), expected);
  // Another BLAS: nothing is counted.
  bundle.blas = "MKL";
  EXPECT_EQ(PredictTraining(SmallNet(), bundle, SmallRun()).memory.blas_workspace_bytes, 0);
}

TEST(ReportTest, FormatsUnits) {
  EXPECT_EQ(FormatSeconds(std::nullopt), "-");
  EXPECT_EQ(FormatSeconds(0.0), "0 s");
  EXPECT_EQ(FormatSeconds(812.3e-6), "812.3 us");
  EXPECT_EQ(FormatSeconds(1.234e-3), "1.234 ms");
  EXPECT_EQ(FormatSeconds(12.35), "12.35 s");
  EXPECT_EQ(FormatSeconds(600), "10 min");
  EXPECT_EQ(FormatSeconds(36000), "10 h");
  EXPECT_EQ(FormatJoules(std::nullopt), "-");
  EXPECT_EQ(FormatJoules(3.1e-3), "3.1 mJ");
  EXPECT_EQ(FormatJoules(12.35), "12.35 J");
  EXPECT_EQ(FormatJoules(4.2e3), "4200 J");
  EXPECT_EQ(FormatJoules(4.2e4), "42 kJ");
  EXPECT_EQ(FormatJoules(1.25e7), "12.5 MJ");
  EXPECT_EQ(FormatMacs(850), "850");
  EXPECT_EQ(FormatMacs(7.526e6), "7.526 M");
  EXPECT_EQ(FormatMacs(1.82e9), "1.82 G");
}

}  // namespace
}  // namespace lj
