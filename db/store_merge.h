#pragma once
// Merging measurement databases (issue 14): the shards of a campaign measured on several nodes,
// or the nights of several hosts, into one file that fit and notebooks read.
//
// Hosts are matched by their description (hosts' UNIQUE columns) and runs by runs.uuid: a run
// already in the output (the same uuid) is kept once, so merging a file twice, or two copies
// of it, adds nothing. Every row of a table that refers to a run (samples, failures,
// idle_power, network_samples, run_options) moves with its run, with the run's new id.
// Inputs are opened read-only (an input that measure is still writing is read as of its last
// commit: SQLite's WAL snapshot).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "db/store.h"

namespace lj {

struct MergeSummary {
  std::string input;
  int64_t runs_added = 0;
  int64_t runs_already_there = 0;  // same uuid in the output
  int64_t hosts_added = 0;
  std::map<std::string, int64_t> rows_added;  // per table that refers to runs
};

// Checks every input before anything is written: each must be a layerjoule database of
// exactly the output's schema version (Store::kSchemaVersion) and not the output file itself.
// Then merges them into `output` (created or migrated as Store does), one transaction per
// input. Returns one summary per input, in order.
// Throws StoreError naming the file and the values: "b.sqlite: schema version 3, but the
// output has 4 ...", "a.sqlite: is the output file", a run without a uuid, a table this merge
// does not know (one without run_id).
std::vector<MergeSummary> MergeDatabases(const std::string& output,
                                         const std::vector<std::string>& inputs);

// "b.sqlite: 3 runs added (1 already there), 1 host added; samples 240, failures 2".
std::string FormatMergeSummary(const MergeSummary& summary);

}  // namespace lj
