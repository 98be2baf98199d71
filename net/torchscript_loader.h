#pragma once
// The layers of a TorchScript file without linking LibTorch: net/torchscript_layers.h's
// LayersFromTorchScript, run inside the plugin liblj_torchscript.so (net/torchscript_plugin.cpp),
// which is loaded with dlopen only when a TorchScript file is read. `predict` on net.json thus
// never loads LibTorch (~0.6 s of start-up; issue 13 § 5).
//
// The plugin is looked up, first found wins: next to the running executable
// (/proc/self/exe's directory), then in ../lib/layerjoule/ from it, then at the build tree's
// bin/ (the path compiled in, for the tests). No environment variable chooses it.
#include <cstdint>
#include <string>
#include <vector>

#include "net/layer_instance.h"
#include "net/net_spec.h"

namespace lj {

// As LayersFromTorchScript(path, input, batch_size). Throws ConfigError with its message, and
// std::runtime_error "cannot read TorchScript: the plugin liblj_torchscript.so was not found
// (looked in ...)" or "...: <dlerror>" when the plugin cannot be loaded.
std::vector<LayerInstance> LoadTorchScriptLayers(const std::string& path, const InputSpec& input,
                                                 int64_t batch_size);

// The name of the one function the plugin exports (extern "C"), and its type. v2: InputSpec has
// sequence_length (token ids), so a v1 plugin of an older build is not used. Returns 0 and
// fills *layers, or 1 (a ConfigError) / 2 (another exception) and fills *error.
inline constexpr char kTorchScriptPluginSymbol[] = "lj_torchscript_layers_v2";
using TorchScriptPluginFn = int (*)(const std::string* path, const InputSpec* input,
                                    int64_t batch_size, std::vector<LayerInstance>* layers,
                                    std::string* error);

}  // namespace lj
