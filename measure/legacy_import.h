#pragma once
// Import of the Python/pyRAPL prototype's CSV measurements (willowec/characterizing-pytorch-power;
// layout, units and known defects in ../shared/data/legacy-pyrapl/README.md) into the store.
//
// Input files, each optional, in one directory (header line required, exactly these columns):
//   conv.csv:   batch_size,in_chan,out_chan,side_len,k_size,stride,
//               for_energy,for_time,back_energy,back_time
//               -> conv2d: nn.Conv2d(in_chan, out_chan, k_size, stride), padding 0, bias,
//                  input (batch_size, in_chan, side_len, side_len)
//   linear.csv: batch_size,in_size,out_size,for_energy,for_time,back_energy,back_time
//               -> linear: nn.Linear(in_size, out_size), bias, input (batch_size, in_size)
//   pool.csv:   batch_size,k_side_length,stride,in_chan,im_side_length,
//               for_energy,for_time,back_energy,back_time
//               -> maxpool2d: nn.MaxPool2d(k_side_length, stride), padding 0, input
//                  (batch_size, in_chan, im_side_length, im_side_length); no backward was
//                  measured (back_* are 0), so only the forward pass is imported.
// Energies are microjoules and times microseconds per batch (one call of the layer on
// batch_size samples), means over 5 batches x 10 repeats, pyRAPL package domain.
//
// Each row gives one sample per measured pass: forward (`layer(x)` only) and, except for pool,
// backward. The prototype's backward is MSE loss + loss.backward() + one SGD step (lr 0.001,
// momentum 0.9) on a layer whose input requires no gradient; it is stored with pass
// "backward", config input_grad false (conv2d, linear: weight gradients only) and a note. Stored
// values: energy_j = uJ * 1e-6, time_s = us * 1e-6, repetitions 50, trials 1, time_std_s 0,
// idle_power_w NULL, meter "pyrapl", sample_index = 0-based data row number in the file.
//
// Rejected samples, counted by reason (first matching reason wins, in this order):
//   row-level, drop every pass of the row:
//     sentinel            any field of the row is -0.1 (the prototype's mark of a failed batch)
//     impossible geometry lj::Validate refuses the layer (e.g. kernel larger than the input)
//   per pass (forward and backward are separate measurements, so the other pass is kept):
//     negative energy     energy < 0 (an unhandled RAPL counter wraparound)
//     zero energy         energy == 0 (below the RAPL energy resolution)
//     non-positive time   time <= 0
//
// All files are parsed and checked before anything is written; then one transaction stores a
// hosts row (hostname = host_name, other fields "unknown"/0, rapl_domains "package") and, per
// file, one run of kind "import" (status "finished") with its samples. So a file malformed as a
// whole leaves the database untouched.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "db/store.h"

namespace lj {

enum class RejectReason {
  kSentinel,
  kImpossibleGeometry,
  kNegativeEnergy,
  kZeroEnergy,
  kNonPositiveTime,
};
// "-0.1 sentinel", "impossible geometry", "negative energy (wraparound)",
// "zero energy (below RAPL resolution)", "non-positive time".
std::string_view ToString(RejectReason reason);

// Outcome for one CSV file. Counts are of samples (one per row and measured pass), so
// samples_imported + RejectedSamples() == rows_read * passes_per_row.
struct ImportFileSummary {
  std::string file;        // path as read, e.g. "<dir>/conv.csv"
  std::string layer;       // "conv2d", "linear", "maxpool2d"
  int64_t run_id = 0;      // the run holding this file's samples
  int64_t rows_read = 0;   // data rows, header excluded
  int passes_per_row = 0;  // 2 (forward, backward) or 1 (pool: forward only)
  int64_t samples_imported = 0;
  std::map<RejectReason, int64_t> rejected;  // samples per reason; reasons with 0 omitted
  int64_t RejectedSamples() const;
};

// A whole-network measurement of the prototype (dir/nets/<net>.json): per-batch forward and
// "backward" (cross-entropy + backward + SGD step) energy (uJ) and time (us), one value per
// epoch (means over that epoch's batches). Stored in network_samples under the network name
// "<net>_legacy" (the prototype's variant: configs/nets/alexnet_legacy.json is its AlexNet),
// one row per epoch and phase: "forward", and "iteration" = forward + its backward, because
// the prototype's backward also holds the loss and the optimizer step (no phase of ours alone).
struct ImportNetworkSummary {
  std::string file;
  std::string network;  // e.g. "alexnet_legacy"
  int64_t batch_size = 0;
  int64_t run_id = 0;
  int64_t epochs = 0;  // rows per phase
  // Per-epoch forward or backward energies that were not > 0 (an unhandled RAPL wraparound in
  // the prototype): stored as absent energy (NULL) with the phase's time; the iteration of
  // that epoch then has no energy either.
  int64_t rejected_energies = 0;
};

struct ImportSummary {
  std::string host_name;
  int64_t host_id = 0;
  std::vector<ImportFileSummary> files;        // in the order conv.csv, linear.csv, pool.csv
  std::vector<ImportNetworkSummary> networks;  // dir/nets/*.json, by file name
};

// Imports the files present among dir/conv.csv, dir/linear.csv, dir/pool.csv and
// dir/nets/*.json into `store`, recording `command_line` in each run. A nets file must have
// "net", "batch_size" and equally long, non-empty arrays "forward_energy", "forward_time",
// "backward_energy", "backward_time" of finite numbers, the times positive, else the import is
// refused as below; an energy that is not > 0 is stored as absent (rejected_energies).
// Throws ConfigError if none of the files exists; if a file is malformed as a whole (missing or
// wrong header, wrong column count, a non-numeric or non-finite field, a non-integer in an
// integer column), naming the file, line and column (e.g. "d/conv.csv:17: column 7
// (for_energy): 'abc' is not a number"); or if the same file content was already imported
// into this database (naming that run). Nothing is stored in any of these cases.
// Throws StoreError if writing fails (the transaction is rolled back).
// Parses and checks dir as ImportLegacy does, writing nothing: `measure --import-legacy` calls
// it before it creates or opens the database, so a bad directory leaves no database behind.
// Throws ConfigError as ImportLegacy does for a missing or malformed file.
void CheckLegacyDir(const std::string& dir);

ImportSummary ImportLegacy(const std::string& dir, const std::string& host_name, Store& store,
                           const std::string& command_line);

// Human-readable report, one line per file and a total, e.g.
// "linear.csv -> run 2 (linear): 1000 rows, 2000 samples (forward+backward): 1992 imported,
//  8 rejected (zero energy (below RAPL resolution): 8)".
std::string FormatImportSummary(const ImportSummary& summary);

}  // namespace lj
