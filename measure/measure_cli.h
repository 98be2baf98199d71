#pragma once
// measure's command line (CLI11): its options, filled into the option structs of the paths
// they select, and the validators that give hostile input a clear error naming the option and
// the value, never a silent wrap or an octal surprise (issue 11).
#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "measure/measurement_run.h"
#include "measure/network_run.h"

namespace lj {

// Everything the command line can say. AddMeasureOptions registers it with the app;
// FinishMeasureOptions, after parsing, fills in what depends on several options and copies the
// shared session and protocol into both paths' options.
struct MeasureCommand {
  SessionOptions session;
  RunOptions run;          // --layer, --sweep, --resume (random, near, sweep runs)
  NetworkRunOptions net;   // --net
  std::string import_dir;  // --import-legacy
  std::string import_host;
  // As given, converted by FinishMeasureOptions:
  std::string meter = "auto";
  double max_memory_gib = 4.0;
  int64_t batch_size = 0;
  std::string input;
  std::string input_ids;           // --input-ids S (token ids)
  std::string shard;               // "K/N"
  std::vector<std::string> merge;  // --merge OUT IN...
  bool check = false;              // --check
  std::string malloc_setting;      // --malloc keep-freed|default ("" = as started)
  std::string blas_coretype;       // --blas-coretype auto|NAME
};

void AddMeasureOptions(CLI::App& app, MeasureCommand& command);
// Throws ConfigError for a bad --meter, --input or --input-ids.
void FinishMeasureOptions(const CLI::App& app, MeasureCommand& command, int argc, char** argv);

// A finite number in [lo, hi] ((lo, hi] when !lo_inclusive): rejects nan, inf and values such
// as 1e300 that would overflow the calibration.
CLI::Validator FiniteIn(double lo, double hi, bool lo_inclusive, const std::string& what);

// A plain decimal integer in [lo, hi]: no sign, no leading zero (CLI11 reads "010" as octal 8
// and "-1" into a uint64 as 2^64 - 1), no exponent.
CLI::Validator DecimalIn(uint64_t lo, uint64_t hi, const std::string& what);

// A database file: not empty, not SQLite's ":memory:" or a "file:" URI (either would silently
// discard a night of measurements). The type of an existing path is Store's check.
CLI::Validator DatabaseFile();

}  // namespace lj
