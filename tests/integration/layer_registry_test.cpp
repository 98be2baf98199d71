// Every layer type is registered in every backend: the descriptor (core), its bounds file and
// bounds parameters (core), fit's feature set, measure's runner factory, and, for the types that
// are layers of a network, a net.json leaf (or the block that makes it) and a TorchScript op.
// Adding an enum value without one of these fails here (CONTRIBUTING.md: adding a layer type).
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <string>

#include "core/bounds.h"
#include "core/layer_config.h"
#include "core/layer_type.h"
#include "fit/features.h"
#include "measure/layer_runner.h"
#include "net/net_spec.h"
#include "net/torchscript_layers.h"
#include "tests/support/test_files.h"

namespace lj {
namespace {

TEST(LayerRegistry, EveryTypeHasADescriptorWithItsOwnNames) {
  std::set<std::string> names;
  for (LayerType type : AllLayerTypes()) {
    const LayerDescriptor& d = Describe(type);
    EXPECT_EQ(d.type, type);
    EXPECT_FALSE(d.name.empty());
    EXPECT_TRUE(names.insert(std::string(d.name)).second) << d.name << " is named twice";
    for (std::string_view alias : d.aliases) {
      EXPECT_TRUE(names.insert(std::string(alias)).second) << alias << " is named twice";
      EXPECT_EQ(ParseLayerType(alias), type) << alias;
    }
    EXPECT_EQ(ParseLayerType(d.name), type);
    EXPECT_FALSE(d.fields.empty()) << d.name;
    EXPECT_EQ(FieldNames(type), d.fields);
  }
}

TEST(LayerRegistry, EveryTypeHasAShippedBoundsFileWithItsParameters) {
  for (LayerType type : AllLayerTypes()) {
    const std::string path = test::SourceDir() + "/" + DefaultBoundsPath(type);
    ASSERT_TRUE(std::ifstream(path).good()) << ToString(type) << ": no " << path;
    const LayerBounds bounds = LoadBounds(path);
    EXPECT_EQ(bounds.type, type) << path;
    EXPECT_EQ(BoundsParameterNames(type).size(), Describe(type).bounds_parameters.size());
  }
}

TEST(LayerRegistry, EveryTypeHasAFeatureSetAndARunner) {
  for (LayerType type : AllLayerTypes()) {
    EXPECT_GT(NumBase(type), 0) << ToString(type);
    EXPECT_GE(FeatureNames(type).size(), static_cast<size_t>(NumBase(type))) << ToString(type);
    EXPECT_TRUE(HasLayerRunner(type)) << ToString(type) << ": no runner in measure/layer_ops.cpp";
  }
}

TEST(LayerRegistry, EveryNetworkLayerTypeHasANetJsonFormAndATorchScriptOp) {
  int network_layers = 0;
  for (LayerType type : AllLayerTypes()) {
    if (Describe(type).role == LayerRole::kTrainingStep) {
      // The loss and the parameter-wide steps are parts of the training step, not layers.
      EXPECT_FALSE(IsNetJsonLeaf(type)) << ToString(type);
      continue;
    }
    ++network_layers;
    if (IsTorchScriptOnly(type)) {
      // bmm: two computed operands, no net.json form (net/net_spec.h IsTorchScriptOnly).
      EXPECT_FALSE(IsNetJsonLeaf(type)) << ToString(type);
      EXPECT_TRUE(NetBlockOf(type).empty()) << ToString(type);
      EXPECT_TRUE(HasTorchScriptMapping(type)) << ToString(type);
      continue;
    }
    EXPECT_TRUE(IsNetJsonLeaf(type) || !NetBlockOf(type).empty())
        << ToString(type) << ": neither a net.json leaf (net/net_spec.cpp NetLeaves) nor made by "
        << "a block";
    EXPECT_TRUE(HasTorchScriptMapping(type))
        << ToString(type) << ": no aten op maps to it (net/torchscript_layers.cpp)";
  }
  EXPECT_GT(network_layers, 0);
}

}  // namespace
}  // namespace lj
