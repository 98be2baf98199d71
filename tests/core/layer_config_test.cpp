#include "core/layer_config.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "core/errors.h"
#include "tests/support/config_error.h"
#include "tests/support/layer_configs.h"

namespace lj {
namespace {

using test::Conv;
using test::Linear;

LayerConfig MaxPool(int64_t n, int64_t c, int64_t hw, int64_t k, int64_t s, int64_t p) {
  return test::Pool(LayerType::kMaxPool2d, n, c, hw, k, s, p);
}

TEST(LayerConfigTest, ParsesTypeNamesAndAliases) {
  EXPECT_EQ(ParseLayerType("conv2d"), LayerType::kConv2d);
  EXPECT_EQ(ParseLayerType("conv"), LayerType::kConv2d);
  EXPECT_EQ(ParseLayerType("maxpool2d"), LayerType::kMaxPool2d);
  EXPECT_EQ(ParseLayerType("maxpool"), LayerType::kMaxPool2d);
  EXPECT_EQ(ParseLayerType("pool"), LayerType::kMaxPool2d);
  EXPECT_EQ(ParseLayerType("linear"), LayerType::kLinear);
  for (LayerType t : AllLayerTypes()) EXPECT_EQ(ParseLayerType(ToString(t)), t);
  EXPECT_EQ(
      test::ConfigErrorOf([] { ParseLayerType("conv3d"); }),
      "unknown layer type 'conv3d' (expected conv2d, maxpool2d, linear, batchnorm2d, relu, "
      "relu6, hardswish, hardsigmoid, sigmoid, avgpool2d, adaptive_avgpool2d, add, mul, "
      "dropout, cross_entropy, sgd, adam, grad_accumulate, zero_grad, silu, gelu, cat, softmax, "
      "layer_norm, contiguous, scale, bmm, embedding, select, mean, tanh, bias_add, norm, div or "
      "clamp_min)");
  EXPECT_EQ(ParsePass("forward"), Pass::kForward);
  EXPECT_EQ(ParsePass("backward"), Pass::kBackward);
  EXPECT_EQ(ToString(Pass::kBackward), "backward");
  EXPECT_NE(test::ConfigErrorOf([] { ParsePass("sideways"); }).find("'sideways'"),
            std::string::npos);
}

// AlexNet conv1 as in torchvision: Conv2d(3, 64, kernel_size=11, stride=4, padding=2) at 224.
// H_out = floor((224 + 2*2 - 11) / 4) + 1 = 55; MACs = 64 * 55 * 55 * 3 * 11 * 11 = 70,276,800.
TEST(LayerConfigTest, AlexNetConv1ShapeAndMacs) {
  const LayerConfig c = Conv(1, 3, 64, 224, 11, 4, 2);
  EXPECT_EQ(OutputShape(c), (std::vector<int64_t>{1, 64, 55, 55}));
  EXPECT_DOUBLE_EQ(ForwardMacs(c), 70276800.0);
  LayerConfig batch8 = c;
  batch8.batch_size = 8;
  EXPECT_DOUBLE_EQ(ForwardMacs(batch8), 8 * 70276800.0);
  const TensorSizes s = Sizes(c);
  EXPECT_DOUBLE_EQ(s.input_elements, 3.0 * 224 * 224);
  EXPECT_DOUBLE_EQ(s.output_elements, 64.0 * 55 * 55);
  EXPECT_DOUBLE_EQ(s.weight_elements, 64.0 * 3 * 11 * 11 + 64);
}

// ResNet-18 layer1 conv: 64 -> 64, 3x3, stride 1, padding 1, 56x56: 56*56*64*64*9 MACs.
TEST(LayerConfigTest, ResNetConvAndNonSquareShapes) {
  const LayerConfig c = Conv(2, 64, 64, 56, 3, 1, 1, 1, false);
  EXPECT_EQ(OutputShape(c), (std::vector<int64_t>{2, 64, 56, 56}));
  EXPECT_DOUBLE_EQ(ForwardMacs(c), 2.0 * 115605504.0);
  EXPECT_DOUBLE_EQ(Sizes(c).weight_elements, 64.0 * 64 * 9);  // no bias

  LayerConfig rect = Conv(1, 1, 1, 10, 3, 2, 0);
  rect.width = 7;  // W_out = floor((7 - 3) / 2) + 1 = 3, H_out = floor((10 - 3) / 2) + 1 = 4
  EXPECT_EQ(OutputShape(rect), (std::vector<int64_t>{1, 1, 4, 3}));
}

// Inception v3's Mixed_6 1x7 conv: 128 -> 128, kernel (1, 7), padding (0, 3) on 17x17 keeps
// 17x17; MACs 17*17*128*128*7, weights 128*128*7. Its 7x1 twin swaps the sides.
TEST(LayerConfigTest, NonSquareConvKernelAndPadding) {
  LayerConfig wide = Conv(2, 128, 128, 17, 1, 1, 0, 1, false);
  wide.kernel_width = 7;
  wide.padding_width = 3;
  EXPECT_EQ(KernelWidth(wide), 7);
  EXPECT_EQ(PaddingWidth(wide), 3);
  EXPECT_EQ(OutputShape(wide), (std::vector<int64_t>{2, 128, 17, 17}));
  EXPECT_DOUBLE_EQ(ForwardMacs(wide), 2.0 * 17 * 17 * 128 * 128 * 7);
  EXPECT_DOUBLE_EQ(Sizes(wide).weight_elements, 128.0 * 128 * 7);
  Validate(wide);

  LayerConfig tall = Conv(2, 128, 128, 17, 7, 1, 3, 1, false);
  tall.kernel_width = 1;
  tall.padding_width = 0;
  EXPECT_EQ(OutputShape(tall), OutputShape(wide));
  EXPECT_DOUBLE_EQ(ForwardMacs(tall), ForwardMacs(wide));
  EXPECT_NE(tall, wide);

  // Without padding the sides shrink by their own kernels: W 17 - 7 + 1 = 11, H 17.
  LayerConfig unpadded = wide;
  unpadded.padding_width = 0;
  EXPECT_EQ(OutputShape(unpadded), (std::vector<int64_t>{2, 128, 17, 11}));

  // JSON: the width's fields only when they differ, and back.
  const nlohmann::json j = ToJson(wide);
  EXPECT_EQ(j.at("kernel_size"), 1);
  EXPECT_EQ(j.at("kernel_width"), 7);
  EXPECT_EQ(j.at("padding"), 0);
  EXPECT_EQ(j.at("padding_width"), 3);
  EXPECT_EQ(LayerConfigFromJson(LayerType::kConv2d, j), wide);
  EXPECT_EQ(KernelWidth(LayerConfigFromJson(LayerType::kConv2d, j)), 7);

  // A square kernel written out explicitly is the square config, with the square text.
  LayerConfig square = Conv(2, 64, 64, 17, 3, 1, 1);
  LayerConfig explicit_square = square;
  explicit_square.kernel_width = 3;
  explicit_square.padding_width = 1;
  EXPECT_EQ(explicit_square, square);
  EXPECT_EQ(ToJson(explicit_square), ToJson(square));
  EXPECT_FALSE(ToJson(square).contains("kernel_width"));
  EXPECT_FALSE(ToJson(square).contains("padding_width"));

  // The kernel must fit the padded width; a negative width is an error, not "square".
  LayerConfig too_wide = wide;
  too_wide.kernel_width = 24;
  EXPECT_EQ(test::ConfigErrorOf([&] { Validate(too_wide); }),
            "conv2d: kernel_width 24 exceeds padded input width 17 + 2*3 = 23");
  // A square kernel given with both sides (as net.json gives it) is named as written.
  LayerConfig narrow = explicit_square;
  narrow.width = 2;
  narrow.padding = narrow.padding_width = 0;
  EXPECT_EQ(test::ConfigErrorOf([&] { Validate(narrow); }),
            "conv2d: kernel_size 3 exceeds padded input width 2 + 2*0 = 2");
  nlohmann::json negative = j;
  negative["padding_width"] = -1;
  EXPECT_EQ(test::ConfigErrorOf([&] { LayerConfigFromJson(LayerType::kConv2d, negative, "x"); }),
            "x: padding_width must be >= 0, got -1");
  negative["padding_width"] = 0;
  negative["kernel_width"] = 0;
  EXPECT_EQ(test::ConfigErrorOf([&] { LayerConfigFromJson(LayerType::kConv2d, negative, "x"); }),
            "x: kernel_width must be > 0, got 0");
}

// MobileNet depthwise conv: groups = in = out = 32, 3x3 on 112, padding 1: 112*112*32*1*9.
TEST(LayerConfigTest, DepthwiseConvCountsOneInputChannelPerGroup) {
  const LayerConfig c = Conv(1, 32, 32, 112, 3, 1, 1, 32);
  EXPECT_DOUBLE_EQ(ForwardMacs(c), 112.0 * 112 * 32 * 9);
  EXPECT_DOUBLE_EQ(Sizes(c).weight_elements, 32.0 * 9 + 32);
  Validate(c);
}

// ResNet stem max pool: k3 s2 p1 on 112 -> floor((112 + 2 - 3) / 2) + 1 = 56.
TEST(LayerConfigTest, MaxPoolShapeAndComparisons) {
  const LayerConfig c = MaxPool(4, 64, 112, 3, 2, 1);
  EXPECT_EQ(OutputShape(c), (std::vector<int64_t>{4, 64, 56, 56}));
  EXPECT_DOUBLE_EQ(ForwardMacs(c), 4.0 * 64 * 56 * 56 * 9);
  EXPECT_DOUBLE_EQ(Sizes(c).weight_elements, 0.0);
  EXPECT_DOUBLE_EQ(Sizes(c).input_elements, 4.0 * 64 * 112 * 112);
}

// bias_add reads x and one (C, H, W) bias, writes x's shape, and its bias is the weight whose
// gradient the backward pass sums over N (MaxViT's relative-position bias: 64 windows x batch 8,
// 2 heads, 49 x 49).
TEST(LayerConfigTest, BiasAddCountsItsBroadcastBiasOnce) {
  LayerConfig c = test::Nchw(LayerType::kBiasAdd, 512, 2, 49, 49);
  Validate(c);
  const TensorSizes s = Sizes(c);
  EXPECT_DOUBLE_EQ(s.output_elements, 512.0 * 2 * 49 * 49);
  EXPECT_DOUBLE_EQ(s.input_elements, 512.0 * 2 * 49 * 49 + 2.0 * 49 * 49);
  EXPECT_DOUBLE_EQ(s.weight_elements, 2.0 * 49 * 49);
  EXPECT_DOUBLE_EQ(ForwardMacs(c), 512.0 * 2 * 49 * 49);
  c.type = LayerType::kAdd;  // the same-shape add reads two x-sized tensors and has no weight
  EXPECT_DOUBLE_EQ(Sizes(c).input_elements, 2 * 512.0 * 2 * 49 * 49);
  EXPECT_DOUBLE_EQ(Sizes(c).weight_elements, 0.0);
}

// ceil_mode as ATen's pooling_output_shape: rounded up, minus one when that last window would
// start at or beyond height + padding.
TEST(LayerConfigTest, CeilModePoolsRoundUpButKeepTheLastWindowInside) {
  LayerConfig c = MaxPool(1, 64, 112, 3, 2, 0);  // GoogLeNet's maxpool1: 112 -> 55 / 56
  EXPECT_EQ(OutputShape(c)[2], 55);
  c.ceil_mode = true;
  EXPECT_EQ(OutputShape(c), (std::vector<int64_t>{1, 64, 56, 56}));
  EXPECT_DOUBLE_EQ(ForwardMacs(c), 64.0 * 56 * 56 * 9);
  // 3 + 2*1 - 2 = 3: ceil(3 / 2) + 1 = 3, but window 2 would start at 4 = height + padding.
  LayerConfig edge = MaxPool(1, 1, 3, 2, 2, 1);
  edge.ceil_mode = true;
  EXPECT_EQ(OutputShape(edge)[2], 2);
  // A side that divides evenly is the same in both modes.
  LayerConfig even = MaxPool(1, 1, 8, 2, 2, 0);
  even.ceil_mode = true;
  EXPECT_EQ(OutputShape(even)[2], 4);
  // avgpool2d too; conv2d has no ceil_mode (the field is not its own and is ignored).
  LayerConfig avg = test::Pool(LayerType::kAvgPool2d, 1, 1, 5, 2, 2, 0);
  avg.ceil_mode = true;
  EXPECT_EQ(OutputShape(avg)[2], 3);
  LayerConfig conv = Conv(1, 1, 1, 5, 2, 2, 0);
  conv.ceil_mode = true;
  EXPECT_EQ(OutputShape(conv)[2], 2);
}

TEST(LayerConfigTest, CeilModeIsWrittenOnlyWhenTrue) {
  LayerConfig c = MaxPool(2, 3, 9, 2, 2, 0);
  EXPECT_FALSE(ToJson(c).contains("ceil_mode"));  // configs stored before the field keep their text
  EXPECT_EQ(LayerConfigFromJson(LayerType::kMaxPool2d, ToJson(c)), c);
  c.ceil_mode = true;
  EXPECT_EQ(ToJson(c).at("ceil_mode"), true);
  const LayerConfig back = LayerConfigFromJson(LayerType::kMaxPool2d, ToJson(c));
  EXPECT_TRUE(back.ceil_mode);
  EXPECT_EQ(back, c);
  EXPECT_NE(back, MaxPool(2, 3, 9, 2, 2, 0));
  // Not a field of conv2d: rejected there as any unknown key.
  nlohmann::json conv = ToJson(Conv(1, 1, 1, 5, 2, 2, 0));
  conv["ceil_mode"] = true;
  EXPECT_THROW(LayerConfigFromJson(LayerType::kConv2d, conv), ConfigError);
}

// VGG-16 fc6: 25088 -> 4096.
TEST(LayerConfigTest, LinearShapeAndMacs) {
  const LayerConfig c = Linear(16, 25088, 4096);
  EXPECT_EQ(OutputShape(c), (std::vector<int64_t>{16, 4096}));
  EXPECT_DOUBLE_EQ(ForwardMacs(c), 16.0 * 25088 * 4096);
  const TensorSizes s = Sizes(c);
  EXPECT_DOUBLE_EQ(s.input_elements, 16.0 * 25088);
  EXPECT_DOUBLE_EQ(s.output_elements, 16.0 * 4096);
  EXPECT_DOUBLE_EQ(s.weight_elements, 25088.0 * 4096 + 4096);
}

// bmm: ViT-B/16's attention scores at batch 8, (8 x 12, 197, 64) x (8 x 12, 64, 197), and its
// product with the values, (96, 197, 197) x (96, 197, 64).
TEST(LayerConfigTest, BmmShapeMacsSizesAndJson) {
  const LayerConfig scores = test::Bmm(96, 197, 64, 197);
  EXPECT_EQ(OutputShape(scores), (std::vector<int64_t>{96, 197, 197}));
  EXPECT_DOUBLE_EQ(ForwardMacs(scores), 96.0 * 197 * 64 * 197);
  const TensorSizes s = Sizes(scores);
  EXPECT_DOUBLE_EQ(s.input_elements, 96.0 * 197 * 64 + 96.0 * 64 * 197);  // both operands
  EXPECT_DOUBLE_EQ(s.output_elements, 96.0 * 197 * 197);
  EXPECT_DOUBLE_EQ(s.weight_elements, 0.0);
  const LayerConfig values = test::Bmm(96, 197, 197, 64);
  EXPECT_EQ(OutputShape(values), (std::vector<int64_t>{96, 197, 64}));
  EXPECT_DOUBLE_EQ(ForwardMacs(values), 96.0 * 197 * 197 * 64);
  EXPECT_DOUBLE_EQ(Sizes(values).input_elements, 96.0 * 197 * 197 + 96.0 * 197 * 64);
  EXPECT_EQ(ToJson(values),
            nlohmann::json::parse(R"({"batch_size":96,"rows":197,"inner_size":197,"columns":64})"));
  EXPECT_EQ(LayerConfigFromJson(LayerType::kBmm, ToJson(values)), values);
  EXPECT_NE(values, scores);
  EXPECT_EQ(FieldNames(LayerType::kBmm),
            (std::vector<std::string>{"batch_size", "rows", "inner_size", "columns"}));
  EXPECT_EQ(ParseLayerType("bmm"), LayerType::kBmm);
  EXPECT_FALSE(HasInputGradField(LayerType::kBmm));
  EXPECT_NO_THROW(Validate(test::Bmm(1, 1, 1, 1)));
  EXPECT_EQ(test::ConfigErrorOf([] { Validate(test::Bmm(0, 4, 4, 4)); }),
            "bmm: batch_size must be > 0, got 0");
  EXPECT_EQ(test::ConfigErrorOf([] { Validate(test::Bmm(2, 0, 4, 4), "model.pt: aten::bmm"); }),
            "model.pt: aten::bmm: rows must be > 0, got 0");
  EXPECT_EQ(test::ConfigErrorOf([] { Validate(test::Bmm(2, 4, -3, 4)); }),
            "bmm: inner_size must be > 0, got -3");
  EXPECT_EQ(test::ConfigErrorOf([] { Validate(test::Bmm(2, 4, 4, 0)); }),
            "bmm: columns must be > 0, got 0");
  EXPECT_THROW(
      LayerConfigFromJson(LayerType::kBmm, nlohmann::json::parse(R"({"batch_size":2,"rows":3,
          "inner_size":4})")),
      ConfigError);
}

// embedding: BERT-base's token embedding (30522 x 768) on 8 sequences of 128 ids. No
// multiply-accumulates: its "MACs" are the elements gathered (the output), its input the ids, its
// weights the table.
TEST(LayerConfigTest, EmbeddingShapeMacsSizesAndJson) {
  const LayerConfig bert = test::Embedding(8, 128, 30522, 768);
  EXPECT_EQ(OutputShape(bert), (std::vector<int64_t>{8, 128, 768}));
  EXPECT_DOUBLE_EQ(ForwardMacs(bert), 8.0 * 128 * 768);
  const TensorSizes s = Sizes(bert);
  EXPECT_DOUBLE_EQ(s.input_elements, 8.0 * 128);
  EXPECT_DOUBLE_EQ(s.output_elements, 8.0 * 128 * 768);
  EXPECT_DOUBLE_EQ(s.weight_elements, 30522.0 * 768);
  EXPECT_EQ(ToJson(bert), nlohmann::json::parse(R"({"batch_size":8,"sequence_length":128,
      "num_embeddings":30522,"embedding_dim":768})"));
  EXPECT_EQ(LayerConfigFromJson(LayerType::kEmbedding, ToJson(bert)), bert);
  EXPECT_NE(test::Embedding(8, 128, 30522, 512), bert);
  EXPECT_EQ(FieldNames(LayerType::kEmbedding),
            (std::vector<std::string>{"batch_size", "sequence_length", "num_embeddings",
                                      "embedding_dim"}));
  EXPECT_EQ(ParseLayerType("embedding"), LayerType::kEmbedding);
  EXPECT_EQ(ParseLayerType("Embedding"), LayerType::kEmbedding);
  EXPECT_FALSE(HasInputGradField(LayerType::kEmbedding));
  EXPECT_TRUE(HasBackwardPass(LayerType::kEmbedding));
  EXPECT_NO_THROW(Validate(test::Embedding(1, 1, 1, 1)));
  EXPECT_EQ(test::ConfigErrorOf([] { Validate(test::Embedding(0, 4, 4, 4)); }),
            "embedding: batch_size must be > 0, got 0");
  EXPECT_EQ(test::ConfigErrorOf([] { Validate(test::Embedding(2, 0, 4, 4)); }),
            "embedding: sequence_length must be > 0, got 0");
  EXPECT_EQ(test::ConfigErrorOf(
                [] { Validate(test::Embedding(2, 4, 0, 4), "model.pt: aten::embedding"); }),
            "model.pt: aten::embedding: num_embeddings must be > 0, got 0");
  EXPECT_EQ(test::ConfigErrorOf([] { Validate(test::Embedding(2, 4, 4, -1)); }),
            "embedding: embedding_dim must be > 0, got -1");
  EXPECT_EQ(test::ConfigErrorOf([] {
              LayerConfigFromJson(LayerType::kEmbedding, nlohmann::json::parse(R"({"batch_size":2,
                  "sequence_length":3,"num_embeddings":4})"));
            }),
            "embedding: missing key 'embedding_dim'");
}

// Adaptive pooling's MACs: the sum of ATen's window lengths, brute-forced here, against the
// closed form; and an output_size of 2^40 must not loop (it did, once per draw: issue 11).
TEST(LayerConfigTest, AdaptiveAvgPoolMacsSumTheAtenWindows) {
  const auto brute = [](int64_t n, int64_t o) {
    double sum = 0;
    for (int64_t i = 0; i < o; ++i)
      sum += static_cast<double>((((i + 1) * n + o - 1) / o) - i * n / o);
    return sum;
  };
  for (int64_t side = 1; side <= 20; ++side) {
    for (int64_t o = 1; o <= 25; ++o) {
      LayerConfig c;
      c.type = LayerType::kAdaptiveAvgPool2d;
      c.batch_size = 2;
      c.in_channels = 3;
      c.height = side;
      c.width = side + 1;
      c.output_size = o;
      EXPECT_DOUBLE_EQ(ForwardMacs(c), 6.0 * brute(side, o) * brute(side + 1, o))
          << side << " " << o;
    }
  }
  LayerConfig huge;
  huge.type = LayerType::kAdaptiveAvgPool2d;
  huge.batch_size = 1;
  huge.in_channels = 1;
  huge.height = huge.width = 7;
  huge.output_size = int64_t{1} << 40;
  EXPECT_DOUBLE_EQ(ForwardMacs(huge), std::pow(7.0 + std::ldexp(1.0, 40) - 1.0, 2));
}

TEST(LayerConfigTest, ValidateAcceptsCommonLayers) {
  EXPECT_NO_THROW(Validate(Conv(1, 3, 64, 224, 11, 4, 2)));
  EXPECT_NO_THROW(Validate(Conv(1, 8, 8, 1, 1, 1, 0)));  // 1x1 on 1x1
  EXPECT_NO_THROW(Validate(Conv(1, 8, 8, 1, 3, 1, 1)));  // 3x3 fits 1 + 2*1
  EXPECT_NO_THROW(Validate(MaxPool(1, 3, 4, 2, 2, 1)));  // padding == k/2 allowed
  EXPECT_NO_THROW(Validate(Linear(1, 1, 1, false)));
  std::string reason = "unchanged";
  EXPECT_TRUE(IsValid(Linear(1, 1, 1), &reason));
  EXPECT_EQ(reason, "");
}

TEST(LayerConfigTest, ValidateNamesFieldAndValue) {
  EXPECT_EQ(test::ConfigErrorOf(
                [] { Validate(Conv(1, 3, 8, 32, 0, 1, 0), "net.json: layer 3 (conv2d)"); }),
            "net.json: layer 3 (conv2d): kernel_size must be > 0, got 0");
  EXPECT_EQ(test::ConfigErrorOf([] { Validate(Conv(0, 3, 8, 32, 3, 1, 0)); }),
            "conv2d: batch_size must be > 0, got 0");
  EXPECT_EQ(test::ConfigErrorOf([] { Validate(Conv(1, 3, 8, 32, 3, 0, 0)); }),
            "conv2d: stride must be > 0, got 0");
  EXPECT_EQ(test::ConfigErrorOf([] { Validate(Conv(1, 3, 8, 32, 3, 1, -1)); }),
            "conv2d: padding must be >= 0, got -1");
  EXPECT_EQ(test::ConfigErrorOf([] { Validate(Conv(1, 3, 8, 32, 3, 1, 1, 0)); }),
            "conv2d: groups must be > 0, got 0");
  EXPECT_EQ(test::ConfigErrorOf([] { Validate(Conv(1, 6, 8, 32, 3, 1, 1, 3)); }),
            "conv2d: groups 3 must divide in_channels 6 and out_channels 8");
  EXPECT_EQ(test::ConfigErrorOf([] { Validate(Conv(1, 3, 8, 4, 7, 1, 1), "x.json"); }),
            "x.json: kernel_size 7 exceeds padded input height 4 + 2*1 = 6");
  LayerConfig wide = Conv(1, 3, 8, 8, 5, 1, 0);
  wide.width = 3;
  EXPECT_EQ(test::ConfigErrorOf([&] { Validate(wide); }),
            "conv2d: kernel_size 5 exceeds padded input width 3 + 2*0 = 3");
  EXPECT_EQ(test::ConfigErrorOf([] { Validate(MaxPool(1, 3, 32, 3, 1, 2)); }),
            "maxpool2d: padding 2 must be <= kernel_size / 2 = 1 for maxpool2d");
  EXPECT_EQ(test::ConfigErrorOf([] { Validate(MaxPool(1, 0, 32, 3, 1, 0)); }),
            "maxpool2d: in_channels must be > 0, got 0");
  EXPECT_EQ(test::ConfigErrorOf([] { Validate(Linear(1, 0, 5)); }),
            "linear: in_features must be > 0, got 0");
  std::string reason;
  EXPECT_FALSE(IsValid(Linear(1, 5, -2), &reason));
  EXPECT_EQ(reason, "out_features must be > 0, got -2");
}

TEST(LayerConfigTest, JsonRoundTripForEveryType) {
  for (const LayerConfig& c :
       {Conv(8, 3, 16, 32, 3, 1, 1, 1, false), MaxPool(2, 5, 9, 3, 2, 1), Linear(4, 7, 9)}) {
    const nlohmann::json j = ToJson(c);
    // Exactly the fields of the type; input_grad only when false, ceil_mode only when true,
    // kernel_width and padding_width only when not square.
    for (const std::string& key : FieldNames(c.type))
      EXPECT_EQ(j.contains(key), key != "input_grad" && key != "ceil_mode" &&
                                     key != "kernel_width" && key != "padding_width")
          << key;
    EXPECT_EQ(LayerConfigFromJson(c.type, j), c);
    EXPECT_EQ(LayerConfigFromJson(c.type, nlohmann::json::parse(j.dump())), c);
    LayerConfig first = c;
    first.input_grad = false;
    const nlohmann::json f = ToJson(first);
    const bool has_input_grad = c.type == LayerType::kConv2d || c.type == LayerType::kLinear;
    EXPECT_EQ(f.contains("input_grad"), has_input_grad) << f.dump();
    if (has_input_grad) {
      EXPECT_EQ(f.at("input_grad"), false);
      EXPECT_FALSE(LayerConfigFromJson(c.type, f).input_grad);
      EXPECT_NE(LayerConfigFromJson(c.type, f), c);  // the flag is part of the config
    }
  }
  const nlohmann::json conv = ToJson(Conv(8, 3, 16, 32, 3, 1, 1, 1, false));
  EXPECT_EQ(conv, nlohmann::json::parse(R"({"batch_size":8,"in_channels":3,"out_channels":16,
      "height":32,"width":32,"kernel_size":3,"stride":1,"padding":1,"groups":1,"bias":false})"));
  EXPECT_FALSE(ToJson(Linear(1, 2, 3)).contains("height"));
}

TEST(LayerConfigTest, EqualityIgnoresFieldsTheTypeDoesNotUse) {
  LayerConfig a = Linear(4, 7, 9);
  LayerConfig b = a;
  b.height = 99;
  b.kernel_size = 5;
  EXPECT_EQ(a, b);
  b.out_features = 10;
  EXPECT_NE(a, b);
  LayerConfig pool = MaxPool(1, 3, 8, 2, 2, 0);
  LayerConfig pool2 = pool;
  pool2.out_channels = 3;
  pool2.bias = false;
  EXPECT_EQ(pool, pool2);
  LayerConfig conv = pool;
  conv.type = LayerType::kConv2d;
  EXPECT_NE(pool, conv);
}

TEST(LayerConfigTest, FromJsonRejectsUnknownMissingAndWrongTypes) {
  const std::string ctx = "net.json: layer 2 (linear)";
  nlohmann::json good = ToJson(Linear(4, 7, 9));

  nlohmann::json unknown = good;
  unknown["in_feature"] = 3;
  EXPECT_EQ(test::ConfigErrorOf([&] { LayerConfigFromJson(LayerType::kLinear, unknown, ctx); }),
            ctx +
                ": unknown key 'in_feature' (expected batch_size, in_features, out_features, "
                "bias, input_grad)");

  nlohmann::json missing = good;
  missing.erase("out_features");
  EXPECT_EQ(test::ConfigErrorOf([&] { LayerConfigFromJson(LayerType::kLinear, missing, ctx); }),
            ctx + ": missing key 'out_features'");

  nlohmann::json text = good;
  text["batch_size"] = "4";
  EXPECT_EQ(test::ConfigErrorOf([&] { LayerConfigFromJson(LayerType::kLinear, text, ctx); }),
            ctx + ": batch_size must be an integer, got \"4\"");

  nlohmann::json fraction = good;
  fraction["in_features"] = 3.5;
  EXPECT_EQ(test::ConfigErrorOf([&] { LayerConfigFromJson(LayerType::kLinear, fraction, ctx); }),
            ctx + ": in_features must be an integer, got 3.5");

  nlohmann::json bool_as_int = good;
  bool_as_int["in_features"] = true;
  EXPECT_EQ(test::ConfigErrorOf([&] { LayerConfigFromJson(LayerType::kLinear, bool_as_int, ctx); }),
            ctx + ": in_features must be an integer, got true");

  nlohmann::json int_as_bool = good;
  int_as_bool["bias"] = 1;
  EXPECT_EQ(test::ConfigErrorOf([&] { LayerConfigFromJson(LayerType::kLinear, int_as_bool, ctx); }),
            ctx + ": bias must be true or false, got 1");

  EXPECT_EQ(test::ConfigErrorOf(
                [&] { LayerConfigFromJson(LayerType::kLinear, nlohmann::json::array(), ctx); }),
            ctx + " must be a JSON object, got []");

  // A conv2d field is unknown to linear; the empty context falls back to the type name.
  nlohmann::json conv_field = good;
  conv_field["kernel_size"] = 3;
  EXPECT_NE(test::ConfigErrorOf([&] {
              LayerConfigFromJson(LayerType::kLinear, conv_field);
            }).find("linear: unknown key 'kernel_size'"),
            std::string::npos);

  // Integral floats are integers (1e3 is how some tools write 1000); FromJson does not Validate.
  nlohmann::json integral = good;
  integral["in_features"] = 1e3;
  integral["out_features"] = 0;
  const LayerConfig c = LayerConfigFromJson(LayerType::kLinear, integral, ctx);
  EXPECT_EQ(c.in_features, 1000);
  EXPECT_EQ(c.out_features, 0);
}

}  // namespace
}  // namespace lj
