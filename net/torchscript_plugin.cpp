// liblj_torchscript.so: LayersFromTorchScript (LibTorch) behind one C function, loaded by
// net/torchscript_loader.cpp only when a TorchScript file is read. No exception crosses it.
#include <exception>

#include "core/errors.h"
#include "net/torchscript_layers.h"
#include "net/torchscript_loader.h"

extern "C" __attribute__((visibility("default"))) int lj_torchscript_layers_v2(
    const std::string* path, const lj::InputSpec* input, int64_t batch_size,
    std::vector<lj::LayerInstance>* layers, std::string* error) {
  try {
    *layers = lj::LayersFromTorchScript(*path, *input, batch_size);
    return 0;
  } catch (const lj::ConfigError& e) {
    *error = e.what();
    return 1;
  } catch (const std::exception& e) {
    *error = e.what();
    return 2;
  } catch (...) {
    *error = *path + ": reading the TorchScript file failed";
    return 2;
  }
}
