#include "db/store.h"

#include "db/connection.h"
#include "db/failures_table.h"
#include "db/hosts_table.h"
#include "db/idle_power_table.h"
#include "db/network_samples_table.h"
#include "db/run_options_table.h"
#include "db/runs_table.h"
#include "db/samples_table.h"
#include "db/speed_probes_table.h"

namespace lj {

Store::Store(const std::string& path) : Store(path, Access::kReadWrite) {}

Store::Store(const std::string& path, Access access)
    : connection_(std::make_unique<Connection>(path, access == Access::kReadOnly
                                                         ? Connection::Access::kReadOnly
                                                         : Connection::Access::kReadWrite)),
      schema_version_(OpenSchema(*connection_)) {}

Store::~Store() = default;

const std::string& Store::path() const { return connection_->path(); }

sqlite3* Store::handle() { return connection_->handle(); }

int64_t Store::UpsertHost(const HostInfo& host) { return HostsTable(*connection_).Upsert(host); }

std::optional<HostInfo> Store::GetHost(int64_t host_id) {
  return HostsTable(*connection_).Get(host_id);
}

int64_t Store::CreateRun(const RunInfo& run) {
  return RunsTable(*connection_, schema_version_).Insert(run);
}

std::optional<RunInfo> Store::GetRun(int64_t run_id) {
  return RunsTable(*connection_, schema_version_).Get(run_id);
}

std::optional<RunInfo> Store::LastUnfinishedRun(const std::string& kind) {
  return RunsTable(*connection_, schema_version_).LastUnfinished(kind);
}

void Store::SetRunStatus(int64_t run_id, const std::string& status) {
  RunsTable(*connection_, schema_version_).SetStatus(run_id, status);
}

std::optional<int64_t> Store::FindRunBySourceHash(const std::string& kind, const std::string& file,
                                                  const std::string& content_hash) {
  return RunsTable(*connection_, schema_version_).FindBySourceHash(kind, file, content_hash);
}

std::vector<RunInfo> Store::ReadRuns() {
  return RunsTable(*connection_, schema_version_).ReadAll();
}

std::string Store::HostnameOfRun(int64_t run_id) {
  return RunsTable(*connection_, schema_version_).HostnameOf(run_id);
}

void Store::SetRunOption(int64_t run_id, const std::string& name, const std::string& value) {
  RunOptionsTable(*connection_).Set(run_id, name, value);
}

std::optional<std::string> Store::GetRunOption(int64_t run_id, const std::string& name) {
  return RunOptionsTable(*connection_).Get(run_id, name);
}

void Store::InsertSamples(const std::vector<SampleRow>& rows) {
  Transaction txn(*this);
  SamplesTable samples(*connection_, schema_version_);
  for (const SampleRow& row : rows) samples.Insert(row);
  txn.Commit();
}

void Store::InsertFailure(const FailureRow& failure) {
  FailuresTable(*connection_).Insert(failure);
}

void Store::InsertIdle(const IdleRow& idle) { IdlePowerTable(*connection_).Insert(idle); }

void Store::InsertNetworkSamples(const std::vector<NetworkSampleRow>& rows) {
  Transaction txn(*this);
  NetworkSamplesTable table(*connection_, schema_version_);
  for (const NetworkSampleRow& row : rows) table.Insert(row);
  txn.Commit();
}

void Store::InsertSpeedProbe(const std::vector<SpeedProbeRow>& rows) {
  Transaction txn(*this);
  SpeedProbesTable table(*connection_, schema_version_);
  for (const SpeedProbeRow& row : rows) table.Insert(row);
  txn.Commit();
}

int64_t Store::CountStoredConfigs(int64_t run_id) {
  return SamplesTable(*connection_, schema_version_).CountConfigs(run_id);
}

int64_t Store::CountFailures(int64_t run_id) {
  return FailuresTable(*connection_).CountConfigs(run_id);
}

int64_t Store::CountSamples(int64_t run_id) {
  return SamplesTable(*connection_, schema_version_).CountRows(run_id);
}

int64_t Store::MaxAttemptedIndex(int64_t run_id) {
  return SamplesTable(*connection_, schema_version_).MaxAttemptedIndex(run_id);
}

std::vector<SampleRow> Store::ReadSamples(const std::string& layer) {
  return SamplesTable(*connection_, schema_version_).Read(layer);
}

std::vector<FailureRow> Store::ReadFailures(int64_t run_id) {
  return FailuresTable(*connection_).Read(run_id);
}

std::vector<IdleRow> Store::ReadIdle(int64_t run_id) {
  return IdlePowerTable(*connection_).Read(run_id);
}

std::vector<NetworkSampleRow> Store::ReadNetworkSamples(const std::string& network) {
  return NetworkSamplesTable(*connection_, schema_version_).Read(network);
}

std::vector<SpeedProbeRow> Store::ReadSpeedProbes() {
  return SpeedProbesTable(*connection_, schema_version_).Read();
}

}  // namespace lj
