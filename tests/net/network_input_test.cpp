// Loading the network predict and measure --net work on (net/network_input.h).
#include "net/network_input.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "core/errors.h"
#include "tests/support/config_error.h"

namespace lj {
namespace {

TEST(NetworkInputTest, ParsesChannelsHeightWidth) {
  const InputSpec in = ParseInputSpec("3x64x48");
  EXPECT_EQ(in.channels, 3);
  EXPECT_EQ(in.height, 64);
  EXPECT_EQ(in.width, 48);
  for (const char* bad : {"3x64", "3x0x8", "axbxc", "", "3x64x64x1", "-3x8x8"}) {
    const std::string what = test::ConfigErrorOf([&] { ParseInputSpec(bad); });
    EXPECT_NE(what.find("--input must be CxHxW"), std::string::npos) << bad << ": " << what;
  }
}

TEST(NetworkInputTest, NamesTorchScriptNetworksAfterTheirFile) {
  EXPECT_TRUE(IsNetJson("configs/nets/lenet5.json"));
  EXPECT_FALSE(IsNetJson("models/resnet18.pt"));
  EXPECT_EQ(TorchScriptNetworkName("models/resnet18.pt"), "resnet18");
  EXPECT_EQ(TorchScriptNetworkName("net"), "net");
}

TEST(NetworkInputTest, CommandLineValuesOverrideTheNetJson) {
  NetworkOverrides o;
  o.batch_size = 16;
  o.epochs = 2;
  o.input = InputSpec{1, 28, 28};
  const NetworkLayers n = LoadNetworkLayers("configs/nets/lenet5.json", o);
  EXPECT_EQ(n.run.network, "lenet5");
  EXPECT_EQ(n.run.batch_size, 16);
  EXPECT_EQ(n.run.epochs, 2);
  EXPECT_EQ(n.run.dataset_size, 50000);  // from the file
  EXPECT_EQ(n.run.optimizer.type, "sgd");
  ASSERT_EQ(n.layers.size(), 12u);
  EXPECT_EQ(n.layers[0].path, "conv1");
  EXPECT_EQ(n.layers[0].input_shape, (std::vector<int64_t>{16, 1, 28, 28}));
  ASSERT_TRUE(n.layers[0].config.has_value());
  EXPECT_EQ(n.layers[0].config->batch_size, 16);
}

TEST(NetworkInputTest, ATorchScriptFileNeedsInputAndTrainingRunFromTheCommandLine) {
  NetworkOverrides o;
  EXPECT_NE(test::ConfigErrorOf([&] {
              LoadNetworkLayers("m.pt", o);
            }).find("m.pt: a TorchScript file has no input size; give --input"),
            std::string::npos);
  o.input = InputSpec{3, 32, 32};
  EXPECT_NE(test::ConfigErrorOf([&] { LoadNetworkLayers("m.pt", o); }).find("give --batch-size"),
            std::string::npos);
  o.batch_size = 0;
  EXPECT_NE(test::ConfigErrorOf([&] {
              LoadNetworkLayers("m.pt", o);
            }).find("m.pt: --batch-size must be > 0, got 0"),
            std::string::npos);
  o.batch_size = 4;
  o.dataset_size = 100;
  o.epochs = 1;
  EXPECT_NE(test::ConfigErrorOf([&] {
              LoadNetworkLayers("/nonexistent/m.pt", o);
            }).find("/nonexistent/m.pt: cannot open file"),
            std::string::npos);
}

}  // namespace
}  // namespace lj
