#pragma once
// Reading an input file (bounds, sweep, net.json, model bundle, legacy CSV, TorchScript) safely:
// regular files only and a size cap, so that a FIFO cannot block a run forever and /dev/zero or
// a huge file cannot exhaust memory (issue 11, "Hangs").
#include <cstdint>
#include <optional>
#include <string>

namespace lj {

// The largest JSON or CSV input any tool reads: 64 MiB. Real ones are far smaller (a net.json
// is a few kB, a model bundle or a legacy CSV well under 1 MiB).
inline constexpr int64_t kMaxInputFileBytes = int64_t{64} << 20;
// TorchScript archives carry the weights: VGG-16 is 528 MiB, ViT-H/14 and RegNetY-128GF
// 2.5-2.6 GB. Reading one (torch::jit::load, freeze_module, the shape traces) peaked at
// 1.2-1.7 times its size (predict: RegNetY-128GF 3.18 GB resident, ViT-H/14
// 4.35 GB; measure --net's training with momentum needs 3 times or more), so a file may take
// at most a quarter of the memory this process may use (core/physical_memory.h: 6 GiB of
// 24 GiB). Without a known memory size, the cap is 2 GiB.
inline constexpr int64_t kTorchScriptBytesWithoutMemorySize = int64_t{2} << 30;
int64_t TorchScriptByteLimit(std::optional<int64_t> memory_bytes);
// TorchScriptByteLimit(PhysicalMemoryBytes()).
int64_t MaxTorchScriptBytes();

// Checks that `path` names a regular file (symlinks to one are followed) of at most
// `max_bytes` bytes, without blocking: a FIFO is refused before anyone reads from it.
// Returns its size in bytes. Throws ConfigError, e.g.
//   "net.json: cannot open file (No such file or directory)"
//   "/dev/zero: not a regular file (character device)"
//   "big.json: file too large (70000000 bytes, the limit is 67108864)"
int64_t CheckInputFile(const std::string& path, int64_t max_bytes = kMaxInputFileBytes);

// The whole content of a regular file of at most `max_bytes` bytes (CheckInputFile's rules;
// the size is checked again while reading, so a file that grows is still capped).
std::string ReadTextFile(const std::string& path, int64_t max_bytes = kMaxInputFileBytes);

}  // namespace lj
