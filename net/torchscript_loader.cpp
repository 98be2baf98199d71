#include "net/torchscript_loader.h"

#include <dlfcn.h>
#include <unistd.h>

#include <climits>
#include <mutex>
#include <stdexcept>

#include "core/errors.h"

namespace lj {
namespace {

constexpr char kPluginFile[] = "liblj_torchscript.so";

std::string ExecutableDir() {
  char buf[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "";
  std::string path(buf, static_cast<size_t>(n));
  return path.substr(0, path.find_last_of('/'));
}

TorchScriptPluginFn LoadPlugin() {
  static std::once_flag once;
  static TorchScriptPluginFn fn = nullptr;
  static std::string failure;
  std::call_once(once, [] {
    std::vector<std::string> candidates;
    const std::string dir = ExecutableDir();
    if (!dir.empty()) {
      candidates.push_back(dir + "/" + kPluginFile);
      candidates.push_back(dir + "/../lib/layerjoule/" + kPluginFile);
    }
#ifdef LJ_TORCHSCRIPT_PLUGIN_BUILD_PATH
    candidates.push_back(LJ_TORCHSCRIPT_PLUGIN_BUILD_PATH);
#endif
    std::string looked;
    for (const std::string& candidate : candidates) {
      looked += (looked.empty() ? "" : ", ") + candidate;
      if (access(candidate.c_str(), R_OK) != 0) continue;
      void* handle = dlopen(candidate.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (handle == nullptr) {
        failure = "cannot read TorchScript: " + candidate + ": " + dlerror();
        return;
      }
      fn = reinterpret_cast<TorchScriptPluginFn>(dlsym(handle, kTorchScriptPluginSymbol));
      if (fn == nullptr) failure = "cannot read TorchScript: " + candidate + ": " + dlerror();
      return;
    }
    failure = std::string("cannot read TorchScript: the plugin ") + kPluginFile +
              " was not found (looked in " + looked + ")";
  });
  if (fn == nullptr) throw std::runtime_error(failure);
  return fn;
}

}  // namespace

std::vector<LayerInstance> LoadTorchScriptLayers(const std::string& path, const InputSpec& input,
                                                 int64_t batch_size) {
  const TorchScriptPluginFn fn = LoadPlugin();
  std::vector<LayerInstance> layers;
  std::string error;
  const int status = fn(&path, &input, batch_size, &layers, &error);
  if (status == 1) throw ConfigError(error);
  if (status != 0) throw std::runtime_error(error);
  return layers;
}

}  // namespace lj
