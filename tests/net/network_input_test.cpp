// Loading the network predict and measure --net work on (net/network_input.h).
#include "net/network_input.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "core/errors.h"
#include "tests/support/config_error.h"
#include "tests/support/layer_configs.h"

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

// --input-ids S: token ids of sequence length S, int64, 8 bytes each; an image otherwise.
TEST(NetworkInputTest, ParsesTokenIds) {
  const InputSpec ids = ParseInputIdsSpec("128");
  EXPECT_TRUE(ids.IsTokenIds());
  EXPECT_EQ(ids.sequence_length, 128);
  EXPECT_EQ(ids.SampleShape(), (std::vector<int64_t>{128}));
  EXPECT_EQ(ids.SampleBytes(), 128 * 8);
  EXPECT_EQ(InputToString(ids), "128 token ids");
  const InputSpec image = ParseInputSpec("3x64x48");
  EXPECT_FALSE(image.IsTokenIds());
  EXPECT_EQ(image.SampleShape(), (std::vector<int64_t>{3, 64, 48}));
  EXPECT_EQ(image.SampleBytes(), 3 * 64 * 48 * 4);
  EXPECT_EQ(InputToString(image), "3x64x48");
  for (const char* bad : {"0", "3x64x64", "-5", "", "12a", "1e3"}) {
    EXPECT_EQ(
        test::ConfigErrorOf([&] { ParseInputIdsSpec(bad); }),
        std::string("--input-ids must be a sequence length, an integer > 0, e.g. 128, got '") +
            bad + "'");
  }
}

// An image net.json refuses --input-ids naming the file and its input; a TorchScript file
// without either input says both options.
TEST(NetworkInputTest, TokenIdsNeedASequenceInputOrATorchScriptFile) {
  NetworkOverrides o;
  o.input = ParseInputIdsSpec("16");
  EXPECT_EQ(test::ConfigErrorOf([&] { LoadNetworkLayers("configs/nets/lenet5.json", o); }),
            "configs/nets/lenet5.json: --input-ids needs a sequence input; this file's input is "
            "the image 1x32x32 (give --input CxHxW)");
  EXPECT_EQ(test::ConfigErrorOf([&] { LoadNetworkLayers("m.pt", NetworkOverrides{}); }),
            "m.pt: a TorchScript file has no input size; give --input CxHxW or --input-ids S");
}

// A sequence net.json: token ids through an embedding. --input-ids replaces its sequence length
// (the vocabulary stays the file's); --input is refused naming the file and its input.
TEST(NetworkInputTest, ASequenceNetJsonTakesInputIds) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("lj_tokens_" + std::to_string(::getpid()) + ".json"))
                               .string();
  std::ofstream(path) << R"({"name": "tokens",
      "input": {"sequence_length": 16, "vocabulary": 100},
      "batch_size": 4, "dataset_size": 40, "epochs": 1,
      "layers": [{"type": "embedding", "name": "tok", "num_embeddings": 100, "embedding_dim": 8},
                 {"type": "flatten"}, {"type": "linear", "name": "fc", "out_features": 10}]})";
  NetworkOverrides o;
  o.input = ParseInputIdsSpec("32");
  const NetworkLayers n = LoadNetworkLayers(path, o);
  EXPECT_EQ(n.run.input.sequence_length, 32);
  EXPECT_EQ(n.run.input.vocabulary, 100);
  ASSERT_EQ(n.layers.size(), 3u);
  EXPECT_EQ(n.layers[0].path, "tok");
  EXPECT_EQ(n.layers[0].input_shape, (std::vector<int64_t>{4, 32}));
  ASSERT_TRUE(n.layers[0].config.has_value());
  EXPECT_EQ(*n.layers[0].config, test::Embedding(4, 32, 100, 8));
  ASSERT_TRUE(n.layers[2].config.has_value());
  EXPECT_EQ(n.layers[2].config->in_features, 32 * 8);
  o.input = ParseInputSpec("3x8x8");
  EXPECT_EQ(test::ConfigErrorOf([&] { LoadNetworkLayers(path, o); }),
            path +
                ": --input needs an image input; this file's input is 16 token ids (give "
                "--input-ids S)");
  std::filesystem::remove(path);
}

// InputFromSampleShape reads back what SampleShape wrote (evaluate reads measure's stored input).
TEST(NetworkInputTest, InputFromSampleShapeInvertsSampleShape) {
  const InputSpec image = ParseInputSpec("3x64x48");
  const InputSpec back = InputFromSampleShape(image.SampleShape(), image.IsTokenIds());
  EXPECT_EQ(back.channels, 3);
  EXPECT_EQ(back.height, 64);
  EXPECT_EQ(back.width, 48);
  EXPECT_FALSE(back.IsTokenIds());
  const InputSpec ids = ParseInputIdsSpec("128");
  const InputSpec ids_back = InputFromSampleShape(ids.SampleShape(), ids.IsTokenIds());
  EXPECT_TRUE(ids_back.IsTokenIds());
  EXPECT_EQ(ids_back.sequence_length, 128);
  EXPECT_EQ(ids_back.SampleShape(), ids.SampleShape());
  EXPECT_THROW(InputFromSampleShape({128}, false), ConfigError);
  EXPECT_THROW(InputFromSampleShape({3, 64, 64}, true), ConfigError);
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
